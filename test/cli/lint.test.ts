// `tabby lint` as a user runs it: every rule on a manifest that triggers it and on the closest correct manifest
// (no finding), each through the CLI in text, JSON and SARIF; SARIF validated against the OASIS 2.1.0 schema;
// the seeds' recommended setups (examples/) without a warning or error; suppression, config, exit codes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AjvDraft04 from 'ajv-draft-04';
import { afterAll, describe, expect, it } from 'vitest';

import { ruleById } from '../../src/analysis/index.js';
import { captureCli } from './captureCli.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-lint-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// https://github.com/oasis-tcs/sarif-spec/blob/main/sarif-2.1/schema/sarif-schema-2.1.0.json (draft-04)
const schema = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/lint/sarif-schema-2.1.0.json'), 'utf8')) as object;
// ajv-draft-04 is CommonJS: its default export arrives as the module under NodeNext.
const Ajv = AjvDraft04.default;
const validateSarif = new Ajv({ allErrors: true, strict: false, logger: false }).compile(schema);

const examples = join(import.meta.dirname, '../../examples');

const CLUSTER = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: storefront}}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: shop, labels: {app: frontend}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.1.10}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: shop, labels: {app: backend}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.1.20}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.0.10}
`;

const ALLOW_DNS = `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec:
  order: 100
  selector: projectcalico.org/namespace not in {'kube-system'}
  types: [Egress]
  egress:
    - action: Allow
      protocol: UDP
      destination: {namespaceSelector: projectcalico.org/name == 'kube-system', selector: k8s-app == 'kube-dns', ports: [53]}
`;

interface Case {
  rule: string;
  severity: 'error' | 'warning' | 'info';
  bad: string;
  good: string;
  /** Text the finding's message must hold. */
  says?: RegExp;
}

const gnp = (name: string, spec: string): string => `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: ${name}}\nspec:\n${spec}`;

const CASES: Case[] = [
  {
    rule: 'default-deny-without-dns', severity: 'error',
    bad: gnp('default-deny', "  selector: projectcalico.org/namespace not in {'kube-system'}\n  types: [Ingress, Egress]"),
    good: `${ALLOW_DNS}---\n${gnp('default-deny', "  order: 1000\n  selector: projectcalico.org/namespace not in {'kube-system'}\n  types: [Ingress, Egress]")}`,
    says: /DNS \(UDP 53 to kube-system\/coredns \(10\.244\.0\.10\)\) is denied in tier 'default' for 2 endpoints/,
  },
  {
    rule: 'default-deny-system-namespace', severity: 'error',
    bad: gnp('default-deny', '  selector: all()\n  types: [Ingress, Egress]'),
    good: gnp('default-deny', "  selector: projectcalico.org/namespace not in {'kube-system'}\n  types: [Ingress, Egress]"),
    says: /DNS lookups \(UDP 53 in from a workload\) are denied for 1 endpoint \(kube-system\/coredns\)/,
  },
  {
    rule: 'unmatched-selector', severity: 'warning',
    bad: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-frontend, namespace: shop}
spec:
  selector: app == 'backend'
  ingress:
    - action: Allow
      source: {selector: app == 'fronted'}`,
    good: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-frontend, namespace: shop}
spec:
  selector: app == 'backend'
  ingress:
    - action: Allow
      source: {selector: app == 'frontend'}`,
    says: /ingress\[0\] source matches nothing .*: no endpoint or network set has app = 'fronted' \(did you mean 'frontend'\?\)/,
  },
  {
    rule: 'network-set-label-missing', severity: 'warning',
    bad: gnp('block-feed', "  selector: all()\n  types: [Egress]\n  egress:\n    - action: Deny\n      destination: {selector: feed == 'threat-intel'}\n    - action: Pass"),
    good: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: threat-feed, labels: {feed: threat-intel}}
spec: {nets: [198.51.100.0/24]}
---
${gnp('block-feed', "  selector: all()\n  types: [Egress]\n  egress:\n    - action: Deny\n      destination: {selector: feed == 'threat-intel'}\n    - action: Pass")}`,
    says: /egress\[0\] Deny destination selects feed == "threat-intel", which no network set carries/,
  },
  {
    rule: 'rule-direction-not-in-types', severity: 'warning',
    bad: gnp('backend', "  selector: app == 'backend'\n  types: [Ingress]\n  egress:\n    - action: Allow\n      protocol: TCP\n      destination: {ports: [5432]}"),
    good: gnp('backend', "  selector: app == 'backend'\n  types: [Ingress, Egress]\n  egress:\n    - action: Allow\n      protocol: TCP\n      destination: {ports: [5432]}"),
    says: /1 egress rule never apply: types is \[Ingress\], without Egress/,
  },
  {
    rule: 'log-only-policy', severity: 'error',
    bad: gnp('log-all', '  selector: all()\n  types: [Ingress]\n  ingress:\n    - action: Log'),
    good: gnp('log-all', '  selector: all()\n  types: [Ingress]\n  ingress:\n    - action: Log\n    - action: Pass'),
    says: /its ingress rules are all Log, and it is the only policy of tier 'default' for 3 endpoints/,
  },
  {
    rule: 'pass-to-profile', severity: 'warning',
    bad: `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
${gnp('security.pass-web', "  tier: security\n  selector: app == 'frontend'\n  types: [Ingress]\n  ingress:\n    - action: Pass")}`,
    good: `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
${gnp('security.pass-web', "  tier: security\n  selector: app == 'frontend'\n  types: [Ingress]\n  ingress:\n    - action: Pass")}
---
${gnp('web-ingress', "  selector: app == 'frontend'\n  types: [Ingress]\n  ingress:\n    - action: Allow\n      protocol: TCP\n      destination: {ports: [80]}")}`,
    says: /ingress\[0\] Pass leads to no later tier for any of the 1 endpoint \(shop\/frontend\) it applies to: .*kns\.shop/,
  },
  {
    rule: 'tier-default-pass', severity: 'warning',
    bad: `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 100, defaultAction: Pass}
---
${gnp('platform.deny-metadata', '  tier: platform\n  selector: all()\n  types: [Egress]\n  egress:\n    - action: Deny\n      destination: {nets: [169.254.169.254/32]}')}`,
    good: `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 100, defaultAction: Pass}
---
${gnp('platform.deny-metadata', '  tier: platform\n  selector: all()\n  types: [Egress]\n  egress:\n    - action: Deny\n      destination: {nets: [169.254.169.254/32]}')}
---
${gnp('allow-egress', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow')}`,
    says: /defaultAction Pass in egress: no later tier has a policy for any of the 3 endpoints/,
  },
  {
    rule: 'template-placeholder', severity: 'error',
    bad: gnp('isolation', "  selector: all()\n  types: [Ingress]\n  ingress:\n    - action: Allow\n      source:\n        selector: \"projectcalico.org/namespace == '{{.Namespace}}'\""),
    good: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: isolation, namespace: shop}
spec:
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      source: {selector: all()}`,
    says: /spec\.ingress\[0\]\.source\.selector holds '\{\{\.Namespace\}\}', which Calico takes literally/,
  },
  {
    rule: 'k8s-peer-or', severity: 'warning',
    bad: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-monitoring, namespace: shop}
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {team: ops}}
        - podSelector: {matchLabels: {app: prometheus}}`,
    good: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-monitoring, namespace: shop}
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {team: ops}}
          podSelector: {matchLabels: {app: prometheus}}`,
    says: /ingress\[0\]\.from has a namespaceSelector peer \(\[0\]\) and a separate podSelector peer \(\[1\]\)/,
  },
  {
    rule: 'endpoint-without-ingress-policy', severity: 'info',
    bad: gnp('egress-only', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow'),
    good: gnp('ingress-all', '  selector: all()\n  types: [Ingress]\n  ingress:\n    - action: Allow'),
    says: /no policy applies to shop\/frontend's ingress: it is decided by its profiles alone/,
  },
  {
    rule: 'endpoint-egress-uncontrolled', severity: 'info',
    bad: gnp('ingress-only', '  selector: all()\n  types: [Ingress]\n  ingress:\n    - action: Allow'),
    good: gnp('egress-all', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      protocol: UDP\n      destination: {ports: [53]}'),
    says: /no policy applies to shop\/backend's egress/,
  },
  {
    rule: 'egress-allow-anywhere', severity: 'warning',
    bad: gnp('allow-internet', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination: {nets: [0.0.0.0/0]}'),
    good: gnp('allow-internet', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      protocol: TCP\n      destination: {nets: [0.0.0.0/0], ports: [443]}'),
    says: /egress\[0\] allows 0\.0\.0\.0\/0 on every port and protocol for 3 endpoints/,
  },
  {
    // The rule's own --explain examples: a deny-all on a node's interface cuts the kubelet (not a failsafe port).
    rule: 'host-critical-flow-cut', severity: 'warning',
    bad: ruleById('host-critical-flow-cut')!.bad,
    good: ruleById('host-critical-flow-cut')!.good,
    says: /kubelet \(TCP 10250 inbound\) of node node-1 \(eth0, hep:node-1-eth0\) is cut from outside .*denied by the end of tier default/,
  },
  {
    rule: 'staged-policy-not-promoted', severity: 'warning',
    bad: `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: restrict-web, namespace: shop, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {selector: app == 'frontend', types: [Ingress]}`,
    good: `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: restrict-web, namespace: shop, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {selector: app == 'frontend', types: [Ingress]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: restrict-web, namespace: shop}
spec: {selector: app == 'frontend', types: [Ingress]}`,
    says: /staged for \d+ days \(since 2024-01-01T00:00:00Z\) and never promoted/,
  },
  {
    rule: 'lint-ignore-unknown-rule', severity: 'warning',
    bad: gnp('egress-all', "  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow").replace('metadata: {name: egress-all}',
      "metadata: {name: egress-all, annotations: {lint.tabby.dev/ignore: 'egress-allow-anywere'}}"),
    good: gnp('egress-all', "  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow").replace('metadata: {name: egress-all}',
      "metadata: {name: egress-all, annotations: {lint.tabby.dev/ignore: 'egress-allow-anywhere'}}"),
    says: /names 'egress-allow-anywere', which is no lint rule \(did you mean 'egress-allow-anywhere'\?\)/,
  },
];

let n = 0;
function manifest(text: string): string {
  const path = join(dir, `m${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

interface JsonFinding {
  rule: string; severity: string; message: string; fix: string;
  file: string | null; line: number | null; column: number | null;
  resource: { kind: string; namespace: string | null; name: string };
}

async function lint(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return captureCli(['lint', ...args], { cwd: dir });
}

describe('tabby lint: every rule, positive and negative, in text, json and sarif', () => {
  for (const c of CASES) {
    it(`${c.rule}: the bad manifest is reported, the closest good one is not`, async () => {
      const cluster = manifest(CLUSTER);
      const bad = manifest(c.bad);
      const good = manifest(c.good);
      const fails = c.severity === 'info' ? 0 : 1;

      const text = await lint(['-f', cluster, '-f', bad, '--enable', c.rule]);
      expect(text.code, text.stderr).toBe(fails);
      const first = text.stdout.split('\n')[0]!;
      expect(first).toMatch(new RegExp(`^${dir.replace(/[/.]/g, '\\$&')}/m\\d+\\.yaml:\\d+:\\d+: ${c.severity} ${c.rule} \\S+ \\S+: `));
      if (c.says) expect(text.stdout).toMatch(c.says);
      expect(text.stdout.split('\n')[1]).toMatch(/^ {2}fix: \S/);

      const json = await lint(['-f', cluster, '-f', bad, '--enable', c.rule, '-o', 'json']);
      expect(json.code).toBe(fails);
      const report = JSON.parse(json.stdout) as { findings: JsonFinding[]; counts: Record<string, number> };
      expect(report.findings.length).toBeGreaterThan(0);
      for (const f of report.findings) {
        expect(f.rule).toBe(c.rule);
        expect(f.severity).toBe(c.severity);
        expect(f.file).toMatch(/m\d+\.yaml$/);
        expect(typeof f.line).toBe('number');
        expect(f.fix.length).toBeGreaterThan(0);
      }
      expect(report.counts[c.severity]).toBe(report.findings.length);

      const sarif = await lint(['-f', cluster, '-f', bad, '--enable', c.rule, '-o', 'sarif']);
      expect(sarif.code).toBe(fails);
      const log = JSON.parse(sarif.stdout) as { runs: Array<{ results: Array<{ ruleId: string; level: string }> }> };
      expect(validateSarif(log), JSON.stringify(validateSarif.errors?.slice(0, 3))).toBe(true);
      expect(log.runs[0]!.results.map((r) => r.ruleId)).toEqual(report.findings.map(() => c.rule));
      expect(log.runs[0]!.results[0]!.level).toBe(c.severity === 'info' ? 'note' : c.severity);

      for (const format of ['text', 'json', 'sarif']) {
        const clean = await lint(['-f', cluster, '-f', good, '--enable', c.rule, '-o', format]);
        expect(clean.code, `${format}: ${clean.stdout}${clean.stderr}`).toBe(0);
        if (format === 'text') expect(clean.stdout).toBe('');
        if (format === 'json') expect((JSON.parse(clean.stdout) as { findings: unknown[] }).findings).toEqual([]);
        if (format === 'sarif') {
          const cleanLog = JSON.parse(clean.stdout) as { runs: Array<{ results: unknown[] }> };
          expect(validateSarif(cleanLog)).toBe(true);
          expect(cleanLog.runs[0]!.results).toEqual([]);
        }
      }
    });
  }

  it('has a case for every registered rule but those another suite covers', async () => {
    const list = await lint(['--list-rules']);
    const ids = list.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]!);
    const covered = new Set(CASES.map((c) => c.rule));
    // The shadowing rules come with their own suite (test/cli/lint-shadow.test.ts).
    const others = ids.filter((id) => !covered.has(id) && !['shadowed-rule', 'redundant-rule', 'broad-allow', 'kubernetes-order'].includes(id));
    expect(others).toEqual([]);
  });
});

describe('tabby lint: what the engine cannot prove is not reported', () => {
  // Regression: DNS (or API-server egress) allowed through `services` was reported as blocked, because the engine
  // has no Service objects and such a rule never matches there; in a cluster it does.
  const viaService = (selector: string, port: number, service: string): string => gnp('allow-via-service',
    `  order: 100\n  selector: ${selector}\n  types: [Egress]\n  egress:\n    - action: Allow\n      protocol: ${port === 53 ? 'UDP' : 'TCP'}\n` +
    `      destination: {services: {name: ${service}, namespace: ${service === 'kube-dns' ? 'kube-system' : 'default'}}}`);

  it('a default deny whose DNS is allowed by a services rule first: no default-deny-without-dns', async () => {
    const deny = gnp('default-deny', "  order: 1000\n  selector: projectcalico.org/namespace not in {'kube-system'}\n  types: [Ingress, Egress]");
    const without = await lint(['-f', manifest(CLUSTER), '-f', manifest(deny), '--enable', 'default-deny-without-dns']);
    expect(without.code).toBe(1);
    const run = await lint(['-f', manifest(CLUSTER), '-f', manifest(`${viaService("projectcalico.org/namespace not in {'kube-system'}", 53, 'kube-dns')}\n---\n${deny}`),
      '--enable', 'default-deny-without-dns']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toBe('');
  });

  it('system endpoints whose API-server egress a services rule allows first: only the DNS problem is reported', async () => {
    const deny = gnp('default-deny', '  order: 1000\n  selector: all()\n  types: [Ingress, Egress]');
    const run = await lint(['-f', manifest(CLUSTER), '-f', manifest(`${viaService('all()', 443, 'kubernetes')}\n---\n${deny}`),
      '--enable', 'default-deny-system-namespace']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/DNS lookups \(UDP 53 in from a workload\) are denied/);
    expect(run.stdout).not.toMatch(/API-server egress/);
  });
});

describe('tabby lint on the seeds\' recommended setups', () => {
  it('examples/ (default deny + allow-dns, frontend/backend with egress, a tier with Pass): no warning or error', async () => {
    const run = await lint(['-f', examples, '-o', 'json']);
    expect(run.code, run.stdout).toBe(0);
    const report = JSON.parse(run.stdout) as { findings: JsonFinding[]; counts: Record<string, number> };
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect((report.counts.error ?? 0) + (report.counts.warning ?? 0)).toBe(0);
  });

  it('--fail-on info fails on the info findings the seeds still have (coverage of kube-system)', async () => {
    const run = await lint(['-f', examples, '--fail-on', 'info']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/info endpoint-without-ingress-policy Pod kube-system\/coredns/);
  });
});

describe('tabby lint: suppression, config, options', () => {
  const bad = (): string => manifest(`${CLUSTER}---\n${gnp('allow-internet', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination: {nets: [0.0.0.0/0]}')}`);

  it('an annotation suppresses a finding: counted, listed with its reason, never silent', async () => {
    const file = manifest(`${CLUSTER}---\n${gnp('allow-internet', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination: {nets: [0.0.0.0/0]}')
      .replace('metadata: {name: allow-internet}', "metadata:\n  name: allow-internet\n  annotations:\n    lint.tabby.dev/ignore: egress-allow-anywhere, template-placeholder\n    lint.tabby.dev/ignore-reason: egress proxy enforces the allow list")}`);
    const text = await lint(['-f', file, '--enable', 'egress-allow-anywhere']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/no findings; 1 rule run\n1 suppressed by lint\.tabby\.dev\/ignore: -o json lists them/);
    const json = JSON.parse((await lint(['-f', file, '--enable', 'egress-allow-anywhere', '-o', 'json'])).stdout) as {
      suppressed: Array<{ rule: string; reason: string | null }>; counts: { suppressed: number };
    };
    expect(json.counts.suppressed).toBe(1);
    expect(json.suppressed[0]).toMatchObject({ rule: 'egress-allow-anywhere', reason: 'egress proxy enforces the allow list' });
    const sarif = JSON.parse((await lint(['-f', file, '--enable', 'egress-allow-anywhere', '-o', 'sarif'])).stdout) as object;
    expect(validateSarif(sarif)).toBe(true);
    expect(JSON.stringify(sarif)).toContain('"suppressions":[{"kind":"inSource","justification":"egress proxy enforces the allow list"}]');
  });

  it('a suppression without a reason still counts, and the summary says it has none', async () => {
    const file = manifest(`${CLUSTER}---\n${gnp('allow-internet', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination: {nets: [0.0.0.0/0]}')
      .replace('metadata: {name: allow-internet}', 'metadata: {name: allow-internet, annotations: {lint.tabby.dev/ignore: egress-allow-anywhere}}')}`);
    const run = await lint(['-f', file, '--enable', 'egress-allow-anywhere']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/1 suppressed by lint\.tabby\.dev\/ignore \(1 without lint\.tabby\.dev\/ignore-reason\)/);
  });

  it('--fail-on error passes a run with only warnings; --disable drops the rule', async () => {
    const file = bad();
    expect((await lint(['-f', file, '--enable', 'egress-allow-anywhere'])).code).toBe(1);
    expect((await lint(['-f', file, '--enable', 'egress-allow-anywhere', '--fail-on', 'error'])).code).toBe(0);
    const off = await lint(['-f', file, '--disable', 'egress-allow-anywhere,endpoint-without-ingress-policy', '-o', 'json']);
    expect((JSON.parse(off.stdout) as { findings: JsonFinding[] }).findings.map((f) => f.rule)).not.toContain('egress-allow-anywhere');
  });

  it('.tabby-lint.yaml: severity overrides and failOn apply; its problems are file:line:col and nothing is linted', async () => {
    const file = bad();
    const cfgDir = mkdtempSync(join(dir, 'cfg-'));
    writeFileSync(join(cfgDir, '.tabby-lint.yaml'), 'enable: [egress-allow-anywhere]\nseverity:\n  egress-allow-anywhere: info\nfailOn: warning\n');
    const ok = await captureCli(['lint', '-f', file], { cwd: cfgDir });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/: info egress-allow-anywhere GlobalNetworkPolicy allow-internet: /);

    writeFileSync(join(cfgDir, 'broken.yaml'), 'enable: [egress-alow-anywhere]\nfailon: error\nsettings:\n  manyEndpoints: 0\n');
    const broken = await captureCli(['lint', '-f', file, '--config', 'broken.yaml'], { cwd: cfgDir });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toContain("broken.yaml:1:10: enable[0]: unknown rule 'egress-alow-anywhere' (did you mean 'egress-allow-anywhere'?)");
    expect(broken.stderr).toContain("broken.yaml:2:1: failon: unknown key 'failon' (did you mean 'failOn'?)");
    expect(broken.stderr).toContain('broken.yaml:4:18: settings.manyEndpoints: expected an integer from 1 to 1000000');
    expect(broken.stderr).toMatch(/3 problems in the lint config broken\.yaml; nothing was linted/);

    const missing = await captureCli(['lint', '-f', file, '--config', 'nope.yaml'], { cwd: cfgDir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.yaml/);
  });

  it('usage errors: an unknown rule (with the nearest), --enable with --disable, a bad --fail-on', async () => {
    const file = bad();
    const unknown = await lint(['-f', file, '--enable', 'egress-allow-anywher']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--enable: unknown rule 'egress-allow-anywher' \(did you mean 'egress-allow-anywhere'\?\)/);
    expect((await lint(['-f', file, '--enable', 'a', '--disable', 'b'])).code).toBe(2);
    expect((await lint(['-f', file, '--fail-on', 'fatal'])).code).toBe(2);
  });

  it('--explain prints the paragraph, the bad and good example and the fix; an unknown ID is exit 3', async () => {
    const run = await lint(['--explain', 'default-deny-without-dns']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^default-deny-without-dns \(error\): /);
    expect(run.stdout).toMatch(/\nBad:\n {4}apiVersion: projectcalico\.org\/v3\n/);
    expect(run.stdout).toMatch(/\nGood:\n {4}apiVersion/);
    expect(run.stdout).toMatch(/\nFix: Add an Egress policy/);
    for (const line of run.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(104);
    expect((await lint(['--explain', 'nope'])).code).toBe(3);
  });

  it('invalid manifests are reported as validate reports them, and nothing is linted', async () => {
    const file = manifest('apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\nspec: {selector: "app ==", types: [Ingress]}\n');
    const run = await lint(['-f', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/m\d+\.yaml:4:\d+: GlobalNetworkPolicy x: spec\.selector: /);
  });

  it('lint changes nothing: the manifests are byte for byte as before', async () => {
    const file = bad();
    const before = readFileSync(file, 'utf8');
    await lint(['-f', file, '-o', 'sarif']);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});

describe('tabby lint on a datastore', () => {
  it('reads the stored objects when no -f is given; findings have no position (file, line, column null)', async () => {
    const location = `file:${join(dir, 'store')}`;
    const file = manifest(`${CLUSTER}---\n${gnp('allow-internet', '  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination: {nets: [0.0.0.0/0]}')}`);
    expect((await captureCli(['apply', '-f', file, '--datastore', location], { cwd: dir })).code).toBe(0);
    const text = await lint(['--datastore', location, '--enable', 'egress-allow-anywhere']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^warning egress-allow-anywhere GlobalNetworkPolicy allow-internet: egress\[0\] allows 0\.0\.0\.0\/0/);
    const json = JSON.parse((await lint(['--datastore', location, '--enable', 'egress-allow-anywhere', '-o', 'json'])).stdout) as { findings: JsonFinding[] };
    expect(json.findings[0]).toMatchObject({ file: null, line: null, column: null, resource: { kind: 'GlobalNetworkPolicy', namespace: null, name: 'allow-internet' } });
    const sarif = JSON.parse((await lint(['--datastore', location, '--enable', 'egress-allow-anywhere', '-o', 'sarif'])).stdout) as object;
    expect(validateSarif(sarif)).toBe(true);
  });
});
