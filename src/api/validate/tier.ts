// Tier (§2.5, §5.6). The built-in tiers' fixed order and default action are CEL rules in Calico v3.32; they run
// after admission defaulting, so `default` with only an order is valid while `kube-admin` with an empty spec is not
// (its order defaults to 1e6).

import { BUILTIN_TIERS } from '../defaults.js';
import type { Tier } from '../types.js';
import type { CalicoKindValidation } from './kind.js';
import { msg } from './messages.js';
import { num, obj, str } from './schema.js';

export const TIER_DEFAULT_ACTIONS = ['Deny', 'Pass'] as const;

export const tierKind: CalicoKindValidation<Tier> = {
  nameRule: 'tier',
  spec: obj('TierSpec', { order: num(), defaultAction: str({ enum: TIER_DEFAULT_ACTIONS }) }),
  hasStatus: true,
  check(ctx, tier) {
    const builtin = BUILTIN_TIERS.find((t) => t.name === tier.metadata.name);
    if (!builtin) return;
    if (tier.spec.defaultAction !== builtin.defaultAction && ctx.intact(['spec', 'defaultAction'])) {
      ctx.report('tier.builtin', ['spec', 'defaultAction'], msg.builtinTierAction(builtin.name, builtin.defaultAction),
        tier.spec.defaultAction);
    }
    if (tier.spec.order !== builtin.order && ctx.intact(['spec', 'order'])) {
      ctx.report('tier.builtin', ['spec', 'order'], msg.builtinTierOrder(builtin.name, builtin.order), tier.spec.order);
    }
  },
};
