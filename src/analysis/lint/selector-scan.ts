// Selectors that match nothing, found through the engine: a rule peer's selector is compiled into an IP set
// (after Calico's rewrites, §1.8: the namespace clause, namespaceSelector → pcns.*, serviceAccounts → pcsa.*),
// and an IP set with no members matches no endpoint, namespace or network set. A policy's own selector matches
// nothing when engine.endpointsSelectedBy is empty. The label that explains it — a key nothing carries, or a value
// no object has — is found from the selector's label restrictions, with the nearest existing key or value as a
// typo hint. Shared by unmatched-selector and network-set-label-missing, computed once per context.

import type { PathSegment } from '../../api/index.js';
import type { CompiledRule, Direction } from '../../engine/index.js';
import { trySelector } from '../../selector/index.js';
import { DIRECTIONS, isK8sPolicy, rulePath } from './facts.js';
import { nearest } from './nearest.js';
import type { LintContext, LintPolicy } from './types.js';

export interface EmptySelector {
  lp: LintPolicy;
  /** Undefined for the policy's own selector. */
  direction?: Direction;
  rule?: CompiledRule;
  side?: 'source' | 'destination';
  /** Canonical selector text as the engine evaluates it. */
  selector: string;
  path: PathSegment[];
  /** What nothing has, with a "did you mean" when a close key or value exists. */
  reason: string;
  /** A hint to put in the fix. */
  suggestion?: string;
  /** Every label the selector requires is carried by no endpoint: it can only have been meant for a network set. */
  networkSetOnly: boolean;
}

const IGNORED = new Set(['projectcalico.org/orchestrator']);
const TEMPLATE = /\{\{[^{}]*\}\}|\$\{[^{}]*\}/;

interface Universe {
  keys: Map<string, Set<string>>;
  endpointKeys: Set<string>;
  networkSetKeys: Set<string>;
}

function universe(labels: Iterable<Record<string, string>>): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const l of labels) {
    for (const [k, v] of Object.entries(l)) {
      let vs = keys.get(k);
      if (!vs) keys.set(k, (vs = new Set()));
      vs.add(v);
    }
  }
  return keys;
}

const cache = new WeakMap<LintContext, EmptySelector[]>();

export function emptySelectors(ctx: LintContext): EmptySelector[] {
  let found = cache.get(ctx);
  if (!found) cache.set(ctx, (found = scan(ctx)));
  return found;
}

function scan(ctx: LintContext): EmptySelector[] {
  const out: EmptySelector[] = [];
  if (ctx.endpoints.length === 0 && ctx.networkSets.length === 0) return out;
  const u: Universe = {
    keys: universe([...ctx.endpoints.map((e) => e.labels), ...ctx.networkSets.map((s) => s.labels)]),
    endpointKeys: new Set(ctx.endpoints.flatMap((e) => Object.keys(e.labels))),
    networkSetKeys: new Set(ctx.networkSets.flatMap((s) => Object.keys(s.labels))),
  };
  const endpointUniverse = universe(ctx.endpoints.map((e) => e.labels));
  const ipSets = new Map(ctx.engine.ipSets().map((s) => [s.id, s]));

  for (const lp of ctx.policies) {
    const c = lp.compiled;
    if (!c) continue;
    if (ctx.endpoints.length > 0 && nontrivialSelector(lp) && !TEMPLATE.test(c.selector) && ctx.engine.endpointsSelectedBy(c.id).length === 0) {
      const why = explain(c.selector, { ...u, keys: endpointUniverse }, 'endpoint');
      out.push({ lp, selector: c.selector, path: policySelectorPath(lp, why.field), reason: why.reason, ...(why.suggestion ? { suggestion: why.suggestion } : {}), networkSetOnly: false });
    }
    for (const direction of DIRECTIONS) {
      for (const rule of c.rules[direction]) {
        for (const side of ['source', 'destination'] as const) {
          const entity = side === 'source' ? rule.src : rule.dst;
          for (const id of entity.ipSets) {
            const info = ipSets.get(id);
            if (!info || info.service !== undefined || (ctx.engine.ipSetMembers(id)?.length ?? 0) > 0) continue;
            // A template placeholder is template-placeholder's finding; reporting it twice says nothing more.
            if (TEMPLATE.test(info.selector)) continue;
            const why = explain(info.selector, u, 'endpoint or network set');
            const parsed = trySelector(info.selector);
            const plain = parsed.ok
              ? [...parsed.selector.labelRestrictions().labels.keys()].filter((k) => !k.startsWith('pcns.') && !k.startsWith('pcsa.') && !k.startsWith('projectcalico.org/'))
              : [];
            const networkSetOnly = plain.length > 0 && plain.every((k) => !u.endpointKeys.has(k)) &&
              (plain.some((k) => u.networkSetKeys.has(k)) || rule.action === 'Deny' || rule.action === 'Log');
            out.push({
              lp, direction, rule, side, selector: info.selector,
              path: rulePath(lp, direction, rule, side, why.field),
              reason: why.reason, ...(why.suggestion ? { suggestion: why.suggestion } : {}), networkSetOnly,
            });
          }
        }
      }
    }
  }
  return out;
}

/** Whether the manifest's own selector says something (all() and an empty podSelector select every endpoint). */
function nontrivialSelector(lp: LintPolicy): boolean {
  const spec = (lp.at.resource as { spec?: Record<string, unknown> }).spec;
  if (!spec) return false;
  if (isK8sPolicy(lp)) {
    const ps = spec.podSelector as { matchLabels?: object; matchExpressions?: unknown[] } | undefined;
    return Object.keys(ps?.matchLabels ?? {}).length > 0 || (ps?.matchExpressions?.length ?? 0) > 0;
  }
  const sel = typeof spec.selector === 'string' ? spec.selector.trim() : '';
  return (sel !== '' && sel !== 'all()') || typeof spec.serviceAccountSelector === 'string' || typeof spec.namespaceSelector === 'string';
}

function policySelectorPath(lp: LintPolicy, field: string): PathSegment[] {
  if (isK8sPolicy(lp)) return ['spec', 'podSelector'];
  if (field === 'serviceAccounts') return ['spec', 'serviceAccountSelector'];
  if (field === 'namespaceSelector' && lp.at.ref.kind.includes('Global')) return ['spec', 'namespaceSelector'];
  return ['spec', 'selector'];
}

interface Explanation {
  reason: string;
  field: 'selector' | 'namespaceSelector' | 'serviceAccounts';
  suggestion?: string;
}

/** The first required label nothing has, named as the user wrote it (pcns.x is the namespace label x). */
function explain(selector: string, u: Universe, what: string): Explanation {
  const parsed = trySelector(selector);
  if (!parsed.ok) return { reason: `selector ${selector} matches no ${what}`, field: 'selector' };
  for (const [key, r] of parsed.selector.labelRestrictions().labels) {
    if (IGNORED.has(key) || (!r.mustBePresent && r.values === undefined)) continue;
    const { field, owner, prefix, shown } = describe(key, what);
    const sameKind = [...u.keys.keys()].filter((k) => describe(k, what).prefix === prefix).map((k) => k.slice(prefix.length));
    const values = u.keys.get(key);
    if (!values) {
      const near = nearest(shown, sameKind);
      return {
        reason: `no ${owner} has the label '${shown}'${near ? ` (did you mean '${near}'?)` : ''}`, field,
        ...(near ? { suggestion: `Use the label '${near}' instead of '${shown}'.` } : {}),
      };
    }
    if (r.values && ![...r.values].some((v) => values.has(v))) {
      const wanted = [...r.values];
      const near = wanted.length === 1 ? nearest(wanted[0]!, values) : undefined;
      const list = wanted.map((v) => `'${v}'`).join(', ');
      const subject = key === 'projectcalico.org/namespace' ? `no ${what} is in namespace ${list}` :
        key === 'projectcalico.org/serviceaccount' ? `no service account is named ${list}` :
        `no ${owner} has ${shown} = ${list}`;
      return {
        reason: `${subject}${near ? ` (did you mean '${near}'?)` : ''}`, field,
        ...(near ? { suggestion: `Use '${near}' instead of '${wanted[0]!}'.` } : {}),
      };
    }
  }
  return { reason: `no ${what} has all the labels ${selector} requires`, field: 'selector' };
}

function describe(key: string, what: string): { field: Explanation['field']; owner: string; prefix: string; shown: string } {
  if (key.startsWith('pcns.')) return { field: 'namespaceSelector', owner: 'namespace', prefix: 'pcns.', shown: key.slice(5) };
  if (key.startsWith('pcsa.') || key === 'projectcalico.org/serviceaccount') {
    return { field: 'serviceAccounts', owner: 'service account', prefix: key.startsWith('pcsa.') ? 'pcsa.' : '', shown: key.startsWith('pcsa.') ? key.slice(5) : key };
  }
  return { field: 'selector', owner: what, prefix: '', shown: key };
}
