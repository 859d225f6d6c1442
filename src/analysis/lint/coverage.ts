// Endpoints that no enforced policy covers in a direction (normal stage): their traffic that way is decided by
// their profiles alone (for pods kns.<namespace>: allow everything).

import type { Direction, EndpointInfo } from '../../engine/index.js';
import type { FindingDraft, LintContext, LintRule } from './types.js';

export function uncovered(ctx: LintContext, direction: Direction): EndpointInfo[] {
  return ctx.endpoints.filter((e) => {
    const tiers = ctx.engine.policiesFor(e.ref)?.[direction] ?? [];
    return !tiers.some((t) => t.policies.some((p) => !p.staged));
  });
}

export function coverageCheck(direction: Direction): LintRule['check'] {
  return (ctx) => {
    const out: FindingDraft[] = [];
    for (const e of uncovered(ctx, direction)) {
      const at = ctx.endpointResource(e);
      if (!at) continue;
      const profiles = e.profiles.length > 0 ? e.profiles.join(', ') : 'none';
      out.push({
        at,
        path: ['metadata', 'labels'],
        message: `no policy applies to ${e.ref}'s ${direction}: it is decided by its profiles alone (${profiles})`,
      });
    }
    return out;
  };
}
