// The authorizer `tabby server` asks before every request: Kubernetes RBAC as kube-apiserver evaluates it, with
// Calico's tier check in front of tiered policy (./tiered.ts). Pure: it reads an RbacIndex kept in step with the
// datastore by the server (upsert/remove on each watch event) and answers from memory.
//
// Kubernetes' chain is reproduced in order:
//   * the group `system:masters` is allowed everything (kube-apiserver's privileged-group authorizer, before RBAC)
//     — also every step of the tier check, which Calico delegates to the same chain;
//   * every caller that reaches the authorizer is authenticated (no or an unknown token is a 401 before this), so
//     the group `system:authenticated` is implied, as the authenticator adds it;
//   * RBAC allows when any rule of any binding that applies allows (./binding-index.ts, ./rules.ts); it never
//     denies explicitly, so "no rule" is the only refusal.
//
// Lists and watches: Kubernetes answers a list all-or-nothing (allowed for the scope, or 403). For tiered policy
// Tabby does what Calico's API server does (EnsureTierSelector): a list or watch that selects tiers
// (`-l projectcalico.org/tier=T`, `--field-selector spec.tier=T`) is a 403 unless every selected tier passes the
// tier check; one without a tier selector returns only the policies of the tiers that pass, and is a 403 only when
// none does. listFilter() answers that once per request and gives the predicate the server applies to every
// object it lists and to every watch event it sends, so a watch never carries a policy of a tier the caller
// cannot list.

import { DEFAULT_TIER_NAME, kindInfo, type Resource } from '../../api/index.js';
import type { PolicyKind } from '../../engine/index.js';
import { ALLOWED, AUTHENTICATED_GROUP, SUPERUSER_GROUP, type Decision, type RequestAttributes } from './attributes.js';
import type { RbacIndex } from './binding-index.js';
import { authorizeRbacWrite, type RbacObject, type RbacWriteDecision } from './escalation.js';
import {
  forbiddenStatusMessage, kubernetesForbiddenReason, NO_READABLE_TIER_REASON, tierForbiddenReason,
} from './messages.js';
import { ruleAllows } from './rules.js';
import { isTieredRequest, tierCheckRequests, tierFromPolicyName, tierOfPolicy } from './tiered.js';


/** A list or watch: the request, and the tiers its selectors name (tiersFromSelectors), if any. */
export interface ListRequest extends RequestAttributes {
  tierSelector?: readonly string[];
}

export type ListDecision =
  | { allowed: true; admits(object: Resource): boolean }
  | Extract<Decision, { allowed: false }>;

/** A policy as traces name it: its kind, tier, namespace (namespaced kinds) and name. */
export interface PolicyRef {
  kind: PolicyKind;
  tier: string;
  namespace?: string;
  name: string;
}

const EVERYTHING = (): boolean => true;

export class Authorizer {
  constructor(private readonly index: RbacIndex) {}

  /** Whether the request is allowed; for tiered policy with the Calico tier check. */
  authorize(req: RequestAttributes): Decision {
    if (this.isSuperuser(req)) return ALLOWED;
    if (isTieredRequest(req)) return this.tierDecision(req, req.tier ?? tierFromPolicyName(req.name ?? ''));
    return this.rbacDecision(req);
  }

  /**
   * A list or watch: refused as a whole, or allowed with the predicate every listed object and watch event must
   * pass. `existingTiers` are the tiers that exist now (stored and built-in), for a tiered list without a tier
   * selector.
   */
  listFilter(req: ListRequest, existingTiers: readonly string[]): ListDecision {
    const superuser = this.isSuperuser(req);
    if (!isTieredRequest(req)) {
      const d = superuser ? ALLOWED : this.rbacDecision(req);
      return d.allowed ? { allowed: true, admits: EVERYTHING } : d;
    }
    let readable: Set<string>;
    if (req.tierSelector !== undefined) {
      for (const tier of superuser ? [] : req.tierSelector) {
        const d = this.tierDecision(req, tier);
        if (!d.allowed) return d;
      }
      // Only the selected tiers, whoever asks: the predicate does the selection, not only the label selector.
      readable = new Set(req.tierSelector);
    } else if (superuser) {
      return { allowed: true, admits: EVERYTHING };
    } else {
      readable = new Set(existingTiers.filter((t) => this.tierDecision(req, t).allowed));
      if (readable.size === 0 && existingTiers.length > 0) {
        return { allowed: false, reason: NO_READABLE_TIER_REASON, message: forbiddenStatusMessage({ ...req, name: '' }, NO_READABLE_TIER_REASON) };
      }
    }
    return { allowed: true, admits: (object) => readable.has(tierOfPolicy(object)) };
  }

  /** Whether the caller may `get` this policy: what decides if explain may show its name and rules. */
  canReadPolicy(user: string, groups: readonly string[], policy: PolicyRef): boolean {
    const info = kindInfo(policy.kind);
    return this.authorize({
      user, groups, verb: 'get', apiGroup: info.group === 'core' ? '' : info.group, resource: info.plural,
      name: policy.name, tier: policy.tier,
      ...(info.namespaced && policy.namespace ? { namespace: policy.namespace } : {}),
    }).allowed;
  }

  /**
   * Kubernetes' escalation check for a create, update or patch of a Role, ClusterRole or binding, after
   * authorize() allowed the write: the caller must hold what the object grants, or may `escalate` / `bind`
   * (./escalation.ts). `object` is the object as it would be stored.
   */
  authorizeRbacWrite(user: string, groups: readonly string[], object: RbacObject): RbacWriteDecision {
    return authorizeRbacWrite((req) => this.authorize(req), this.index, user, groups, object);
  }

  /** Whether the caller may `get` the Tier itself (step 1 of the tier check; what Calico's UI shows a tier for). */
  tierReadable(user: string, groups: readonly string[], tier: string): boolean {
    return this.authorize({ user, groups, verb: 'get', apiGroup: 'projectcalico.org', resource: 'tiers', name: tier }).allowed;
  }

  private isSuperuser(req: RequestAttributes): boolean {
    return req.groups.includes(SUPERUSER_GROUP);
  }

  /** Plain RBAC: allowed, or the refusal with RBAC's errors (bindings to missing roles). */
  private rbac(req: RequestAttributes): { allowed: boolean; errors: string[] } {
    const groups = req.groups.includes(AUTHENTICATED_GROUP) ? req.groups : [...req.groups, AUTHENTICATED_GROUP];
    const visit = this.index.visit(req.user, groups, req.namespace ?? '');
    for (const { rule } of visit.rules) if (ruleAllows(rule, req)) return { allowed: true, errors: [] };
    return { allowed: false, errors: visit.errors };
  }

  private rbacDecision(req: RequestAttributes): Decision {
    const r = this.rbac(req);
    if (r.allowed) return ALLOWED;
    const reason = kubernetesForbiddenReason(req, r.errors);
    return { allowed: false, reason, message: forbiddenStatusMessage(req, reason) };
  }

  /** Calico's tier check (the caller is not a superuser: authorize and listFilter answered that first). */
  private tierDecision(req: RequestAttributes, requestedTier: string): Decision {
    const tier = requestedTier || DEFAULT_TIER_NAME;
    const { getTier, names } = tierCheckRequests(req, tier);
    const canGetTier = this.rbac(getTier).allowed;
    if (canGetTier && names.some((n) => this.rbac(n).allowed)) return ALLOWED;
    const reason = tierForbiddenReason(req, tier, canGetTier);
    return { allowed: false, reason, message: forbiddenStatusMessage(req, reason) };
  }
}
