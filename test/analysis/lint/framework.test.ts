// The lint framework through the analysis API: the context (positions, namespaces, policy ↔ compiled), rule
// selection, the runner (suppression counted, order), the strict config parser and the typo finder.
import { describe, expect, it } from 'vitest';

import {
  buildLintContext,
  failsOn,
  parseLintConfig,
  RULES,
  runLint,
  selectRules,
  type LintRule,
} from '../../../src/analysis/index.js';
import { editDistance, nearest } from '../../../src/analysis/lint/nearest.js';
import { decodeManifests, admit, type LoadedResource, type Issue } from '../../../src/api/index.js';
import { PolicyEngine } from '../../../src/engine/index.js';

const TEXT = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: storefront}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: p
  namespace: shop
  annotations:
    lint.tabby.dev/ignore: test-rule
    lint.tabby.dev/ignore-reason: known
spec:
  selector: app == 'web'
  types: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: k, namespace: shop}
spec:
  podSelector: {}
`;

function load(text: string): LoadedResource[] {
  const decoded = decodeManifests(text, 'cluster.yaml');
  const issues: Issue[] = [];
  const out = decoded.documents.map((d) => admit(d, true, issues)).filter((r): r is LoadedResource => r !== undefined);
  expect(issues).toEqual([]);
  return out;
}

function context(text = TEXT) {
  const input = load(text);
  const engine = new PolicyEngine();
  engine.load(input.map((r) => r.resource));
  return buildLintContext(engine, input, { now: '2026-01-01T00:00:00Z' });
}

const testRule: LintRule = {
  id: 'test-rule', severity: 'warning', title: 't', explanation: 'e', bad: 'b', good: 'g', fix: 'general fix',
  check: (ctx) => ctx.policies.map((lp) => ({ at: lp.at, path: ['spec', 'types'], message: `policy ${lp.at.ref.name}` })),
};

describe('the lint context', () => {
  it('pairs each policy resource with what the engine compiled, Kubernetes policies by their kind', () => {
    const ctx = context();
    expect(ctx.policies.map((p) => [p.at.ref.kind, p.compiled?.id.kind])).toEqual([
      ['NetworkPolicy', 'NetworkPolicy'], ['KubernetesNetworkPolicy', 'KubernetesNetworkPolicy'],
    ]);
    expect(ctx.policyResource({ kind: 'KubernetesNetworkPolicy', namespace: 'shop', name: 'k' })?.at.ref.name).toBe('k');
  });
  it('locates fields in the manifest; namespaces carry the labels selectors see', () => {
    const ctx = context();
    const p = ctx.find('NetworkPolicy', 'shop', 'p')!;
    expect(ctx.locate(p, ['spec', 'types'])).toEqual({ file: 'cluster.yaml', line: 21, column: 3 });
    expect(ctx.namespaces).toEqual([expect.objectContaining({
      name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'storefront', 'projectcalico.org/name': 'shop' },
    })]);
    expect(ctx.endpointResource(ctx.endpoints[0]!)?.ref).toEqual({ kind: 'Pod', namespace: 'shop', name: 'web' });
  });
  it('datastore input has no positions', () => {
    const input = load(TEXT).map((r) => ({ resource: r.resource }));
    const engine = new PolicyEngine();
    engine.load(input.map((r) => r.resource));
    const ctx = buildLintContext(engine, input);
    expect(ctx.locate(ctx.resources[0]!, ['metadata'])).toBeUndefined();
  });
});

describe('running rules', () => {
  it('suppression by annotation: counted with its reason, the rest reported in position order', () => {
    const report = runLint(context(), [{ rule: testRule, severity: 'warning' }]);
    expect(report.findings.map((f) => [f.resource.name, f.location?.line, f.fix])).toEqual([['k', 26, 'general fix']]);
    expect(report.suppressed).toEqual([{ finding: expect.objectContaining({ rule: 'test-rule' }), reason: 'known' }]);
    expect(report.counts).toEqual({ error: 0, warning: 1, info: 0, suppressed: 1, total: 1 });
    expect(failsOn(report, 'warning')).toBe(true);
    expect(failsOn(report, 'error')).toBe(false);
  });
  it('selection: enable, disable, severity override, unknown IDs named with the nearest', () => {
    const only = selectRules({ enable: ['template-placeholder'], severity: { 'template-placeholder': 'info' } });
    expect(only.ok && only.rules.map((r) => [r.rule.id, r.severity])).toEqual([['template-placeholder', 'info']]);
    const all = selectRules({ disable: ['template-placeholder'] });
    expect(all.ok && all.rules.length).toBe(RULES.length - 1);
    expect(selectRules({ enable: ['template-placeholdr'] })).toEqual({
      ok: false, message: "enable: unknown rule 'template-placeholdr' (did you mean 'template-placeholder'?); tabby lint --list-rules lists the rules",
    });
    expect(selectRules({ enable: [], disable: [] }).ok).toBe(false);
  });
  it('every rule has a stable kebab-case ID, a paragraph, a bad and a good example and a fix', () => {
    const ids = new Set<string>();
    for (const r of RULES) {
      expect(r.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(ids.has(r.id)).toBe(false);
      ids.add(r.id);
      for (const text of [r.title, r.explanation, r.bad, r.good, r.fix]) expect(text.trim().length).toBeGreaterThan(0);
      expect(r.explanation).not.toContain('\n');
    }
  });
});

describe('.tabby-lint.yaml', () => {
  it('reads every key', () => {
    const r = parseLintConfig('disable: [k8s-peer-or]\nseverity: {egress-allow-anywhere: error}\nfailOn: info\n' +
      'settings: {manyEndpoints: 5, stagedMaxAgeDays: 7, clusterDnsAddress: 10.0.0.10}\n', 'c.yaml');
    expect(r).toEqual({ ok: true, value: {
      disable: ['k8s-peer-or'], severity: { 'egress-allow-anywhere': 'error' }, failOn: 'info',
      settings: { manyEndpoints: 5, stagedMaxAgeDays: 7, clusterDnsAddress: '10.0.0.10' },
    } });
    expect(parseLintConfig('', 'c.yaml')).toEqual({ ok: true, value: {} });
  });
  it('rejects what it does not know, each at its file:line:col', () => {
    const r = parseLintConfig('enable: [k8s-peer-or]\ndisable: [x]\nseverity: {k8s-peer-or: fatal}\nsettings: {clusterDnsAddress: nope}\nextra: 1\n', 'c.yaml');
    expect(r.ok).toBe(false);
    const lines = !r.ok ? r.issues.map((i) => `${i.position!.line}:${i.position!.col} ${i.message}`) : [];
    expect(lines).toEqual([
      "2:11 unknown rule 'x'; tabby lint --list-rules lists the rules",
      '3:25 expected a severity: error, warning, info',
      '4:31 expected an IPv4 or IPv6 address',
      "5:1 unknown key 'extra'; allowed are enable, disable, severity, failOn, settings",
      '2:1 give either enable or disable, not both',
    ]);
    expect(parseLintConfig('enable: [a\n', 'c.yaml').ok).toBe(false);
    expect(parseLintConfig('- 1\n', 'c.yaml')).toMatchObject({ ok: false, issues: [{ message: expect.stringMatching(/^expected a mapping/) }] });
  });
});

describe('nearest', () => {
  it('finds a close name and refuses a far one', () => {
    expect(editDistance('fronted', 'frontend')).toBe(1);
    expect(nearest('fronted', ['backend', 'frontend'])).toBe('frontend');
    expect(nearest('db', ['frontend'])).toBeUndefined();
    expect(nearest('app', ['app'])).toBeUndefined();
  });
});
