// Template text left in a manifest: `{{.Namespace}}`, `${NAMESPACE}`. Calico expands no templates, so a
// selector comparing with it compares with that literal text and matches nothing — the seed's own
// namespace-isolation example has `projectcalico.org/namespace == '{{.Namespace}}'`.

import type { PathSegment } from '../../../api/index.js';
import type { FindingDraft, LintRule } from '../types.js';

const PLACEHOLDER = /\{\{[^{}]*\}\}|\$\{[^{}]*\}/;

const POLICY_AND_SET_KINDS = new Set([
  'NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy', 'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy', 'NetworkSet', 'GlobalNetworkSet', 'Tier',
]);

export const rule: LintRule = {
  id: 'template-placeholder',
  severity: 'error',
  title: 'A template placeholder that Calico never expands',
  explanation:
    'Calico takes every selector and value literally: it has no templates. A placeholder such as {{.Namespace}} or ' +
    '${NAMESPACE} left in a policy (from a Helm chart rendered without values, or copied from documentation) is ' +
    'compared as that text, which no label has, so the rule matches nothing. To apply the same policy to each ' +
    'namespace, write a namespaced NetworkPolicy per namespace (its selectors are already limited to its own ' +
    "namespace), or one GlobalNetworkPolicy with a namespaceSelector; within a namespaced policy, a rule's peers " +
    'default to the policy\'s own namespace, which is what "same namespace" templates usually mean.',
  bad: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: namespace-isolation
spec:
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        selector: projectcalico.org/namespace == '{{.Namespace}}'`,
  good: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: namespace-isolation
  namespace: shop
spec:
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        selector: all()`,
  fix: 'Replace the template by a namespaced NetworkPolicy per namespace (rule selectors in it match its own ' +
    'namespace), or by a namespaceSelector; render templates before linting and applying.',
  check(ctx) {
    const out: FindingDraft[] = [];
    for (const at of ctx.resources) {
      if (!POLICY_AND_SET_KINDS.has(at.ref.kind)) continue;
      const r = at.resource as { metadata: unknown; spec?: unknown };
      for (const hit of placeholders(r.spec, ['spec'])) {
        out.push({ at, path: hit.path, message: `${pathText(hit.path)} holds '${hit.text}', which Calico takes literally: it matches nothing` });
      }
      const labels = (at.resource.metadata.labels ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(labels)) {
        const m = PLACEHOLDER.exec(v);
        if (m) out.push({ at, path: ['metadata', 'labels', k], message: `label ${k} holds '${m[0]}', which Calico takes literally` });
      }
    }
    return out;
  },
};

function placeholders(value: unknown, path: PathSegment[]): Array<{ path: PathSegment[]; text: string }> {
  if (typeof value === 'string') {
    const m = PLACEHOLDER.exec(value);
    return m ? [{ path, text: m[0] }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholders(v, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => placeholders(v, [...path, k]));
  }
  return [];
}

function pathText(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
