// Policy and profile chains (`pe-`/`pi-`, `re-`/`ri-`), shared by every local endpoint that jumps to them: written
// when the first endpoint needs one, rewritten when its policy or profile changes, removed with the last user.

import type { PolicyId } from '../../engine/index.js';
import { policyKey, type FeedState } from './feed-state.js';
import { policyChain, profileChain, type Dir } from './names.js';
import type { RuleWriter } from './policy-rules.js';
import { shortKind, type RuleIds } from './rule-ids.js';
import { emptyBody, type SetReferences } from './set-references.js';

export type SharedSource = { type: 'policy'; id: PolicyId; dir: Dir } | { type: 'profile'; name: string; dir: Dir };

const DIRS: readonly Dir[] = ['egress', 'ingress'];

export function sharedPolicyChain(id: PolicyId, dir: Dir): string {
  return policyChain(dir, shortKind(id.kind), id.namespace, id.name);
}

export class SharedChains {
  private readonly users = new Map<string, number>();
  private readonly sources = new Map<string, SharedSource>();
  /** Policy key → its chain per direction, while in use. */
  private readonly byPolicy = new Map<string, Map<Dir, string>>();

  constructor(
    private readonly feed: FeedState,
    private readonly writer: RuleWriter,
    private readonly ids: RuleIds,
    private readonly refs: SetReferences,
  ) {}

  has(name: string): boolean {
    return this.users.has(name);
  }

  /** One more endpoint jumps to `name`; the first one writes the chain. */
  acquire(name: string, source: SharedSource): void {
    const n = this.users.get(name) ?? 0;
    this.users.set(name, n + 1);
    if (n > 0) return;
    this.sources.set(name, source);
    if (source.type === 'policy') {
      const key = policyKey(source.id);
      let dirs = this.byPolicy.get(key);
      if (!dirs) this.byPolicy.set(key, (dirs = new Map()));
      dirs.set(source.dir, name);
    }
    this.render(name);
  }

  release(name: string): void {
    const n = (this.users.get(name) ?? 0) - 1;
    if (n > 0) {
      this.users.set(name, n);
      return;
    }
    this.users.delete(name);
    const source = this.sources.get(name);
    this.sources.delete(name);
    if (source?.type === 'policy') {
      const key = policyKey(source.id);
      const dirs = this.byPolicy.get(key);
      dirs?.delete(source.dir);
      if (dirs?.size === 0) this.byPolicy.delete(key);
    }
    this.refs.deleteChain(name);
  }

  /** The chains in use of a policy (by policyKey), to write again after it changed. */
  chainsOfPolicy(key: string): string[] {
    return [...(this.byPolicy.get(key)?.values() ?? [])];
  }

  /** The chains in use of a profile. */
  chainsOfProfile(name: string): string[] {
    return DIRS.map((dir) => profileChain(dir, name)).filter((c) => this.users.has(c));
  }

  /** Writes the chain from the policy or profile as the feed has it now. */
  render(name: string): void {
    const src = this.sources.get(name);
    if (!src) return;
    const body = emptyBody();
    if (src.type === 'policy') {
      const compiled = this.feed.policies.get(policyKey(src.id));
      // A policy the engine no longer has contributes nothing until the endpoint is re-rendered without it.
      if (compiled) for (const r of compiled.rules[src.dir]) this.writer.policyRule(body, name, compiled, src.dir, r);
    } else {
      const profile = this.feed.profiles.get(src.name);
      if (!profile) {
        // §1.9: a profile that is referenced but missing denies (Felix's DummyDropRules): fail closed.
        body.rules.push(this.ids.rule(name, `counter drop`,
          { what: 'missing-profile', direction: src.dir, profile: src.name, action: 'Deny', label: `missing profile ${src.name}` },
          `rmiss|${src.name}|${src.dir}`));
      } else {
        for (const r of profile.rules[src.dir]) this.writer.profileRule(body, name, profile, src.dir, r);
      }
    }
    this.refs.writeChain({ type: 'chain', name }, body);
  }
}
