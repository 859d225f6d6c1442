// Rule IDs and what they mean. Every rule Tabby writes carries `<id> <label>` as its comment; the ID is a hash of
// what the rule enforces (policy, direction, rule index; tier for end-of-tier; profile …), stable across syncs
// and versions, and `meanings` maps it back (`tabby agent rules`, and flow logs through the NFLOG prefixes of
// verdicts.ts).

import { kindInfo } from '../../api/index.js';
import type { PolicyId, PolicyKind } from '../../engine/index.js';
import type { Rule } from '../nft/index.js';
import { ruleIdHash, type Dir } from './names.js';

/** What a rule ID stands for: `tabby agent rules` and flow logs map IDs back through these. */
export interface RuleMeaning {
  id: string;
  what:
    | 'policy-rule' | 'profile-rule' | 'end-of-tier' | 'no-profile' | 'tier-jump' | 'policy-jump' | 'profile-jump'
    | 'missing-profile' | 'conntrack' | 'workload-encap' | 'dispatch' | 'unknown-interface' | 'anti-spoofing'
    | 'endpoint-to-host' | 'host-to-workload' | 'icmpv6-router' | 'flow-offload' | 'failsafe';
  direction?: Dir;
  tier?: string;
  policy?: { kind: PolicyKind; namespace?: string; name: string; ref: string };
  profile?: string;
  /** The rule's index in its policy or profile for this direction. */
  index?: number;
  action?: string;
  /** A short human label, also written into the rule comment. */
  label: string;
}

export type Meaning = Omit<RuleMeaning, 'id'>;

export class RuleIds {
  readonly meanings = new Map<string, RuleMeaning>();

  /** The ID of what `key` names; its meaning is recorded the first time. */
  id(key: string, meaning: Meaning): string {
    const id = ruleIdHash(key);
    if (!this.meanings.has(id)) this.meanings.set(id, { id, ...meaning });
    return id;
  }

  /** A rule with its ID and label as the comment. */
  rule(chain: string, body: string, meaning: Meaning, key: string): Rule {
    return { type: 'rule', chain, rule: body, comment: comment(this.id(key, meaning), meaning.label) };
  }
}

const UNQUOTABLE = /["\\\n]/;

/** `<id> <label>`, at most 128 characters, without characters a comment cannot hold. */
export function comment(id: string, label: string): string {
  const text = `${id} ${UNQUOTABLE.test(label) ? label.replace(/["\\\n]/g, "'") : label}`;
  return text.length <= 128 ? text : text.slice(0, 127) + '…';
}

/** The short kind of chain names and labels (`np`, `gnp`, `knp`, …), from the kind's traits (api/kinds.ts). */
export function shortKind(kind: PolicyKind): string {
  return kindInfo(kind).shortKind;
}

export function policyRef(id: PolicyId): NonNullable<RuleMeaning['policy']> {
  return { kind: id.kind, ...(id.namespace !== undefined ? { namespace: id.namespace } : {}), name: id.name, ref: id.ref };
}

/** `gnp:name`, `np:ns/name`: how labels name a policy. */
export function kindRef(id: PolicyId): string {
  return `${shortKind(id.kind)}:${id.ref}`;
}
