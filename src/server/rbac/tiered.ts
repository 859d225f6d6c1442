// Calico's tiered-policy RBAC (docs: "Configure RBAC for tiered policies"; code: projectcalico/calico
// apiserver/pkg/registry/projectcalico/authorizer/authorizer.go AuthorizeTierOperation and
// registry/projectcalico/util/rbac.go EnsureTierSelector). A request on a policy that lives in a tier is allowed
// when the caller may
//   1. `get` the Tier (`tiers` in projectcalico.org, resourceName = the tier, cluster scope), and
//   2. do the verb on the pseudo-resource `tier.<plural>` (`tier.networkpolicies`, `tier.globalnetworkpolicies`,
//      `tier.stagednetworkpolicies`, `tier.stagedglobalnetworkpolicies`), in the request's namespace, with
//      resourceName `<tier>.*` (every policy of the tier) or the policy's own name.
// Calico's API server installs a pass-through ClusterRole that lets every authenticated user through the plain
// `networkpolicies` check, so the tier check alone decides; Tabby does the same (no pass-through role to create).
//
// Kubernetes NetworkPolicies (networking.k8s.io) and StagedKubernetesNetworkPolicies are not tiered in Calico's
// API server (their storage has no tier check; they always sit in tier default): plain RBAC on their own resource.
//
// The exact-name check uses the request's name, as Calico does. Calico ≤ 3.31 required non-default-tier names to
// be `<tier>.<name>`, so a resourceName `security.block` named one policy; since 3.32 names need not carry the
// tier, so Tabby also accepts `<tier>.<name>` for a policy whose name does not start with its tier.

import { DEFAULT_TIER_NAME, type Resource } from '../../api/index.js';
import type { RequestAttributes } from './attributes.js';

export const CALICO_GROUP = 'projectcalico.org';

/** The plurals of the kinds whose objects live in a tier and whose RBAC goes through the tier check. */
export const TIERED_PLURALS: ReadonlySet<string> = new Set([
  'networkpolicies', 'globalnetworkpolicies', 'stagednetworkpolicies', 'stagedglobalnetworkpolicies',
]);

export function isTieredRequest(req: RequestAttributes): boolean {
  return req.resource !== '' && req.apiGroup === CALICO_GROUP && TIERED_PLURALS.has(req.resource);
}

/** Calico's GetTierFromPolicyName: the part before the first dot, `default` without one. */
export function tierFromPolicyName(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? DEFAULT_TIER_NAME : name.slice(0, dot);
}

/** The tier a stored or submitted policy is in: spec.tier, `default` when empty (§2.5). */
export function tierOfPolicy(policy: Resource): string {
  const tier = (policy as { spec?: { tier?: unknown } }).spec?.tier;
  return typeof tier === 'string' && tier !== '' ? tier : DEFAULT_TIER_NAME;
}

/** The three questions step 1 and 2 above ask of plain RBAC (any answering yes for 2 is enough). */
export function tierCheckRequests(req: RequestAttributes, tier: string): {
  getTier: RequestAttributes;
  names: RequestAttributes[];
} {
  const base = { user: req.user, groups: req.groups, apiGroup: CALICO_GROUP };
  const getTier: RequestAttributes = { ...base, verb: 'get', resource: 'tiers', name: tier };
  const scoped = (name: string | undefined): RequestAttributes => ({
    ...base, verb: req.verb, resource: `tier.${req.resource}`,
    ...(req.subresource ? { subresource: req.subresource } : {}),
    ...(req.namespace ? { namespace: req.namespace } : {}),
    ...(name !== undefined && name !== '' ? { name } : {}),
  });
  const names = [scoped(`${tier}.*`), scoped(req.name)];
  if (req.name && !req.name.startsWith(`${tier}.`)) names.push(scoped(`${tier}.${req.name}`));
  return { getTier, names };
}

export type TierSelection = { ok: true; tiers: string[] | undefined } | { ok: false; message: string };

const TIER_LABEL = 'projectcalico.org/tier';

/** Splits a selector on commas outside parentheses. */
function requirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out.filter((r) => r !== '');
}

/**
 * The tiers a list or watch selects (Calico's getTiersFromSelector): field selector `spec.tier=T` (or `==`),
 * else label selector `projectcalico.org/tier=T`, `==T` or `in (A,B)`; undefined when neither names a tier. Any
 * other operator on the tier is refused, with Calico's message, as a bad request.
 */
export function tiersFromSelectors(labelSelector: string | undefined, fieldSelector: string | undefined): TierSelection {
  for (const req of requirements(fieldSelector ?? '')) {
    const m = /^spec\.tier\s*(==|=|!=)\s*(.*)$/.exec(req);
    if (!m) continue;
    if (m[1] === '!=') return { ok: false, message: 'non equal selector operator not supported for field spec.tier' };
    return { ok: true, tiers: [m[2]!.trim()] };
  }
  const refused: TierSelection = { ok: false, message: `non equal selector operator not supported for label ${TIER_LABEL}` };
  for (const req of requirements(labelSelector ?? '')) {
    // `!key` (does not exist) names the tier label with an operator Calico refuses.
    if (/^!\s*/.test(req)) {
      if (req.replace(/^!\s*/, '') === TIER_LABEL) return refused;
      continue;
    }
    if (!req.startsWith(TIER_LABEL)) continue;
    const rest = req.slice(TIER_LABEL.length);
    // Another key that starts with this one (`projectcalico.org/tiers=x`).
    if (rest !== '' && !/^[\s=!]/.test(rest)) continue;
    const inSet = /^\s+in\s*\((.*)\)\s*$/.exec(rest);
    if (inSet) return { ok: true, tiers: inSet[1]!.split(',').map((t) => t.trim()).filter((t) => t !== '') };
    const eq = /^\s*(==|=)\s*(\S*)\s*$/.exec(rest);
    if (eq) return { ok: true, tiers: [eq[2]!] };
    return refused;
  }
  return { ok: true, tiers: undefined };
}
