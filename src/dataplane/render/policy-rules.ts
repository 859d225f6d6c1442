// Policy and profile rules as the nft rules of a chain: the matches of rules.ts, the verdict (verdicts.ts) and the
// rule ID comment (rule-ids.ts).
//
// A copy for one family is written only while it can match (issue 11 §5): a match that requires the packet's
// address to be in an IP set (a selector, a named port) can never fire while that set holds no element of the
// family, so it is left out — and so is the set, unless another rule refers to it. The bench spec (2,000 policies
// × 10 rules against IPv4-only network sets) otherwise doubles into 42,039 rules and 4,000 sets, half of them
// never matching. Each such set is recorded as a gate of the chain (set-references.ts), so the copy comes back in
// the transaction that brings the set's first element of the family. Negated matches (notSelector, notNets) are
// never gated: against an empty set they match everything. Rules without a positive set match keep both copies,
// whichever addresses the endpoints have: a chain is shared by every endpoint it applies to, and an endpoint
// without IPv6 addresses still sends and receives IPv6 link-local packets that the copies decide.

import type { CompiledPolicy, CompiledProfile, CompiledRule } from '../../engine/index.js';
import { policyKey, type FeedState } from './feed-state.js';
import type { Dir } from './names.js';
import { comment, kindRef, policyRef, type Meaning, type RuleIds } from './rule-ids.js';
import { renderRuleMatches, type Gate, type IpSetRef } from './rules.js';
import type { ChainBody } from './set-references.js';
import type { Verdicts } from './verdicts.js';

export class RuleWriter {
  private readonly canMatch: (ref: IpSetRef) => boolean;

  constructor(private readonly feed: FeedState, private readonly ids: RuleIds, private readonly verdicts: Verdicts) {
    this.canMatch = (ref) => this.feed.hasElements(ref);
  }

  /** Appends one policy rule's copies to `body` (the policy's chain, or a tier chain that inlines it). */
  policyRule(body: ChainBody, chain: string, p: CompiledPolicy, dir: Dir, r: CompiledRule, tier = p.tier): void {
    this.copies(body, chain, r, `p|${policyKey(p.id)}|${dir}|${r.index}`, {
      what: 'policy-rule', direction: dir, tier, policy: policyRef(p.id), index: r.index, action: r.action,
      label: `${kindRef(p.id)} ${dir} ${r.index} ${r.action}`,
    }, dir);
  }

  profileRule(body: ChainBody, chain: string, p: CompiledProfile, dir: Dir, r: CompiledRule): void {
    this.copies(body, chain, r, `r|${p.name}|${dir}|${r.index}`, {
      what: 'profile-rule', direction: dir, profile: p.name, index: r.index, action: r.action,
      label: `profile ${p.name} ${dir} ${r.index} ${r.action}`,
    }, dir);
  }

  private copies(body: ChainBody, chain: string, r: CompiledRule, key: string, meaning: Meaning, dir: Dir): void {
    const id = this.ids.id(key, meaning);
    const verdict = this.verdicts.action(r.action, id, dir);
    const text = comment(id, meaning.label);
    const gate: Gate = { canMatch: this.canMatch, asked: body.gates };
    for (const m of renderRuleMatches(r, gate)) {
      body.rules.push({ type: 'rule', chain, rule: m.match === '' ? verdict : `${m.match} ${verdict}`, comment: text });
      body.sets.push(...m.sets);
    }
  }
}
