// `tabby lint` with the rules built on the exact shadow analysis: shadowed-rule, redundant-rule, broad-allow,
// kubernetes-order. Each rule's own bad example (what `--explain` prints) triggers it and its good example — the
// closest correct manifest — does not, in text, JSON and SARIF; plus the Calico-order cases the issue names.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ruleById } from '../../src/analysis/index.js';
import { captureCli } from './captureCli.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-lint-shadow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function manifest(text: string): string {
  const path = join(dir, `m${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  file?: string;
  line?: number;
  resource: { kind: string; namespace?: string; name: string };
  related: Array<{ resource: { kind: string; name: string }; rule?: string; line?: number }>;
}

async function lintJson(path: string, only: string): Promise<{ code: number; findings: JsonFinding[] }> {
  const run = await captureCli(['lint', '-f', path, '-o', 'json', '--enable', only]);
  const parsed = JSON.parse(run.stdout) as { findings: JsonFinding[] };
  return { code: run.code, findings: parsed.findings };
}

const IDS = ['shadowed-rule', 'redundant-rule', 'broad-allow', 'kubernetes-order'] as const;

describe.each(IDS)('%s: its bad example triggers it, its good example does not', (id) => {
  const rule = ruleById(id)!;
  const bad = manifest(rule.bad);
  const good = manifest(rule.good);

  it('json', async () => {
    const b = await lintJson(bad, id);
    expect(b.findings.length).toBeGreaterThan(0);
    expect(b.findings.every((f) => f.rule === id && f.severity === rule.severity)).toBe(true);
    expect(b.findings[0]!.file).toBe(bad);
    expect(b.findings[0]!.line).toBeGreaterThan(0);
    // Fails CI at the default --fail-on warning for warnings; info does not.
    expect(b.code).toBe(rule.severity === 'info' ? 0 : 1);
    const g = await lintJson(good, id);
    expect(g.findings).toEqual([]);
    expect(g.code).toBe(0);
  });

  it('text', async () => {
    const b = await captureCli(['lint', '-f', bad, '--enable', id]);
    expect(b.stdout).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: ${rule.severity} ${id} `, 'm'));
    const g = await captureCli(['lint', '-f', good, '--enable', id]);
    expect(g.stdout).not.toContain(id);
  });

  it('sarif', async () => {
    const b = await captureCli(['lint', '-f', bad, '-o', 'sarif', '--enable', id]);
    const sarif = JSON.parse(b.stdout) as { version: string; runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { region: { startLine: number } } }> }> }> };
    expect(sarif.version).toBe('2.1.0');
    const results = sarif.runs[0]!.results;
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((r) => r.ruleId === id)).toBe(true);
    expect(results[0]!.locations[0]!.physicalLocation.region.startLine).toBeGreaterThan(0);
    const g = await captureCli(['lint', '-f', good, '-o', 'sarif', '--enable', id]);
    expect((JSON.parse(g.stdout) as typeof sarif).runs[0]!.results).toEqual([]);
  });
});

const POD = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: node-1, containers: [{name: db}]}
status: {podIP: 10.0.0.2}
---
`;

describe('shadowed-rule names the shadowing rules', () => {
  it('a Deny after an Allow of the same traffic in one policy: related names the Allow, with its line', async () => {
    const path = manifest(`${POD}apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  selector: app == 'web'
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [http]}
  - action: Deny
    protocol: TCP
    source: {selector: app == 'db'}
    destination: {ports: [8080]}
`);
    const { findings } = await lintJson(path, 'shadowed-rule');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      resource: { kind: 'NetworkPolicy', namespace: 'shop', name: 'web' },
      line: 22,
      related: [{ resource: { kind: 'NetworkPolicy', name: 'web' }, rule: 'ingress[0]', line: 19 }],
    });
    expect(findings[0]!.message).toContain('this Deny never happens');
  });

  it('an unreachable rule says why', async () => {
    const path = manifest(`${POD}apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
  selector: app == 'web'
  egress:
  - action: Allow
    destination: {selector: app == 'dbb'}
  - action: Allow
`);
    const { findings } = await lintJson(path, 'shadowed-rule');
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('matches no endpoint or network set')]);
  });

  it('a default deny with an allow before it, tiers with Pass: no finding', async () => {
    const path = manifest(`${POD}apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security-pass}
spec:
  tier: security
  selector: all()
  types: [Ingress, Egress]
  ingress: [{action: Pass}]
  egress: [{action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec:
  order: 100
  selector: all()
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 5432}]
`);
    const run = await captureCli(['lint', '-f', path, '-o', 'json', '--enable', IDS.join(',')]);
    expect(JSON.parse(run.stdout).findings).toEqual([]);
    expect(run.code).toBe(0);
  });
});

describe('kubernetes-order', () => {
  it('a GNP block list at order 2000 after a Kubernetes allow; at order 999 none', async () => {
    const k8s = `${POD}apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{}]
---
`;
    const gnp = (order: number): string => `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: block-feed}
spec:
  order: ${order}
  selector: all()
  ingress:
  - action: Deny
    source: {nets: [203.0.113.0/24]}
`;
    const late = await lintJson(manifest(k8s + gnp(2000)), 'kubernetes-order');
    expect(late.findings).toHaveLength(1);
    expect(late.findings[0]!.message).toContain('order 2000');
    expect(late.findings[0]!.related.map((r) => r.resource.kind)).toEqual(['GlobalNetworkPolicy', 'KubernetesNetworkPolicy']);
    expect((await lintJson(manifest(k8s + gnp(999)), 'kubernetes-order')).findings).toEqual([]);
  });
});
