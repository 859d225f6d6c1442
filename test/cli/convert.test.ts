import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { captureCli } from './captureCli.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tabby-convert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const yamlDocs = (text: string): unknown[] => parseAllDocuments(text).map((d) => d.toJS() as unknown);

const K8S_WITH_WARNING = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress]
  ingress:
    - ports:
        - port: 80
        - port: 81
        - protocol: UDP
          port: 53
  egress:
    - to:
        - ipBlock: {cidr: 10.1.2.3/16, except: [10.1.5.0/24]}
---
apiVersion: projectcalico.org/v3
kind: StagedKubernetesNetworkPolicy
metadata:
  name: staged
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;

describe('tabby convert', () => {
  it('converts the Kubernetes policies of frontend-backend.yaml as Calico v3.32 does', async () => {
    const run = await captureCli(['convert', '-f', 'examples/frontend-backend.yaml'], { cwd: repoRoot });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('converted 3 Kubernetes policies\n');
    const docs = yamlDocs(run.stdout);
    expect(docs).toHaveLength(3);
    expect(docs[1]).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'allow-frontend-to-backend',
        namespace: 'shop',
        labels: { 'projectcalico.org/tier': 'default' }, // defaulted as `tabby apply` would store it
        annotations: { 'tabby.io/converted-from': 'networking.k8s.io/v1 NetworkPolicy shop/allow-frontend-to-backend' },
      },
      spec: {
        tier: 'default',
        order: 1000,
        selector: "projectcalico.org/orchestrator == 'k8s' && app == 'backend'",
        types: ['Ingress'],
        ingress: [{
          action: 'Allow',
          protocol: 'TCP',
          source: { selector: "projectcalico.org/orchestrator == 'k8s' && app == 'frontend'" },
          destination: { ports: [8080] },
        }],
      },
    });
  });

  it('names policies knp.default.<name> with --naming knp.default', async () => {
    const run = await captureCli(['convert', '-f', 'examples/namespace-isolation.yaml', '--naming', 'knp.default'], { cwd: repoRoot });
    expect(run.code).toBe(0);
    expect(yamlDocs(run.stdout).map((d) => (d as { metadata: { name: string } }).metadata.name))
      .toEqual(['knp.default.default-deny-all', 'knp.default.allow-same-namespace']);
  });

  it('passes other resources through, defaulted, in input order', async () => {
    const run = await captureCli(['convert', '-f', 'examples/default-deny.yaml', '-f', 'examples/frontend-backend.yaml'], { cwd: repoRoot });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('converted 3 Kubernetes policies; 1 other resource passed through\n');
    const [gnp] = yamlDocs(run.stdout);
    expect(gnp).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'default-deny', labels: { 'projectcalico.org/tier': 'default' } },
      spec: {
        tier: 'default',
        order: 1000,
        selector: "projectcalico.org/namespace not in {'kube-system', 'calico-system', 'calico-apiserver'}",
        types: ['Ingress', 'Egress'],
      },
    });
  });

  it('converts staged Kubernetes policies to StagedNetworkPolicy and prints conversion warnings on stderr', async () => {
    const file = path.join(dir, 'warn.yaml');
    await writeFile(file, K8S_WITH_WARNING);
    const run = await captureCli(['convert', '-f', file]);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')).toEqual([
      `${file}:1:1: NetworkPolicy shop/web: warning: spec.policyTypes: K8s PolicyTypes don't include 'egress', but ` +
        'NetworkPolicy has egress rules.',
      'converted 2 Kubernetes policies',
      '',
    ]);
    const [web, staged] = yamlDocs(run.stdout) as Array<{ kind: string; spec: Record<string, unknown> }>;
    expect(web!.spec.ingress).toEqual([
      { action: 'Allow', protocol: 'TCP', source: {}, destination: { ports: ['80:81'] } },
      { action: 'Allow', protocol: 'UDP', source: {}, destination: { ports: [53] } },
    ]);
    expect(staged!.kind).toBe('StagedNetworkPolicy');
    expect(staged!.spec.stagedAction).toBe('Set');
  });

  it('writes JSON as a v1 List, and its output validates and converts back to itself', async () => {
    const json = await captureCli(['convert', '-f', 'examples', '-o', 'json'], { cwd: repoRoot });
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout) as { apiVersion: string; kind: string; items: Array<{ kind: string }> };
    expect(list.apiVersion).toBe('v1');
    expect(list.kind).toBe('List');
    expect(list.items).toHaveLength(21);
    expect(list.items.some((i) => i.kind === 'NetworkPolicy')).toBe(true);

    const valid = await captureCli(['validate', '-f', '-'], { stdin: json.stdout });
    expect(valid).toEqual({ code: 0, stdout: '', stderr: '21 resources valid\n' });

    const yaml = await captureCli(['convert', '-f', 'examples'], { cwd: repoRoot });
    const again = await captureCli(['convert', '-f', '-'], { stdin: yaml.stdout });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(yaml.stdout); // Calico resources pass through: a fixed point
    expect(yamlDocs(yaml.stdout)).toEqual(list.items);
  });

  it('writes nothing when the input has problems', async () => {
    const file = path.join(dir, 'bad.yaml');
    const text = await readFile(path.join(repoRoot, 'examples/frontend-backend.yaml'), 'utf8');
    await writeFile(file, text.replace('port: 8080', 'port: 0'));
    const run = await captureCli(['convert', '-f', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: NetworkPolicy shop/allow-frontend-to-backend: spec\\.ingress\\[0\\]\\.ports\\[0\\]\\.port: `));
    expect(lines.at(-1)).toMatch(/^nothing converted: fix the 1 problem\(s\) above/);
  });

  it('refuses a conversion whose result Calico would not accept (a knp.default. name over 253 characters)', async () => {
    const file = path.join(dir, 'long.yaml');
    const name = 'a'.repeat(250);
    await writeFile(file, `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: x}\nspec: {podSelector: {}}\n`);
    expect((await captureCli(['convert', '-f', file])).code).toBe(0);
    const run = await captureCli(['convert', '-f', file, '--naming', 'knp.default']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const [line, summary] = run.stderr.split('\n');
    expect(line).toMatch(new RegExp(`^${file}:1:1: NetworkPolicy x/a+: the converted NetworkPolicy knp\\.default\\.a+ is not valid: metadata\\.name: `));
    expect(summary).toBe('nothing converted: 1 converted policy is not valid');
  });

  it('rejects unknown naming schemes and output formats as usage errors', async () => {
    const naming = await captureCli(['convert', '-f', 'x.yaml', '--naming', 'v3.30']);
    expect(naming.code).toBe(2);
    expect(naming.stderr).toBe("error: unsupported naming 'v3.30': allowed are v3.32, knp.default\n");
    const format = await captureCli(['convert', '-f', 'x.yaml', '-o', 'text']);
    expect(format.code).toBe(2);
    const none = await captureCli(['convert']);
    expect(none.code).toBe(2);
  });
});
