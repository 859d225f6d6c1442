import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const examples = path.join(repoRoot, 'examples');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tabby-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a copy of an example with one textual change (which must apply exactly once). */
async function brokenCopy(example: string, name: string, from: string, to: string): Promise<string> {
  const text = await readFile(path.join(examples, example), 'utf8');
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`'${from}' must occur exactly once in ${example}`);
  const file = path.join(dir, name);
  await writeFile(file, text.slice(0, at) + to + text.slice(at + from.length));
  return file;
}

describe('tabby validate: the examples', () => {
  it('are all valid (exit 0, nothing on stdout, a summary on stderr)', async () => {
    const run = await captureCli(['validate', '-f', 'examples'], { cwd: repoRoot });
    expect(run).toEqual({ code: 0, stdout: '', stderr: '21 resources valid\n' });
  });

  it('accept several -f, --filename and stdin', async () => {
    const stdin = await readFile(path.join(examples, 'allow-dns.yaml'), 'utf8');
    const run = await captureCli(
      ['validate', '-f', 'examples/default-deny.yaml', '--filename', 'examples/threat-feed.yaml', '-f', '-'],
      { cwd: repoRoot, stdin },
    );
    expect(run).toEqual({ code: 0, stdout: '', stderr: '5 resources valid\n' });
  });
});

describe('tabby validate: one line per problem, at the offending node', () => {
  const cases: Array<{ what: string; example: string; from: string; to: string; expected: (f: string) => string }> = [
    {
      what: 'port out of range',
      example: 'backend-egress.yaml', from: '          - 5432\n---', to: '          - 99999\n---',
      expected: (f) => `${f}:20:13: NetworkPolicy shop/backend-egress: spec.egress[0].destination.ports[0]: ` +
        'port range invalid, port number must be between 1 and 65535',
    },
    {
      what: 'selector syntax',
      example: 'backend-egress.yaml', from: "\n  selector: app == 'database'\n", to: "\n  selector: app == 'database\n",
      expected: (f) => `${f}:29:3: NetworkPolicy shop/database-ingress: spec.selector: invalid selector ` +
        `"app == 'database": unterminated string (at character 8); selectors look like app == "web" && has(tier)`,
    },
    {
      what: 'protocol in lower case',
      example: 'threat-feed.yaml', from: '    - action: Pass', to: '    - action: Pass\n      protocol: tcp',
      expected: (f) => `${f}:43:7: GlobalNetworkPolicy security.block-threat-feed: spec.egress[2].protocol: ` +
        'protocol name invalid: "tcp"; a protocol is TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (exact case) or a number 1-255',
    },
    {
      what: 'host bits set in a rule CIDR',
      example: 'threat-feed.yaml', from: '    - action: Pass', to: '    - action: Pass\n      destination:\n        nets: [10.0.0.1/8]',
      expected: (f) => `${f}:44:16: GlobalNetworkPolicy security.block-threat-feed: spec.egress[2].destination.nets[0]: ` +
        'invalid network "10.0.0.1/8": host bits are set; write the network address 10.0.0.0/8',
    },
    {
      what: 'unknown field',
      example: 'default-deny.yaml', from: '  order: 1000\n', to: '  order: 1000\n  orderr: 5\n',
      expected: (f) => `${f}:16:3: GlobalNetworkPolicy default-deny: spec.orderr: unknown field "orderr" in ` +
        'GlobalNetworkPolicySpec; allowed fields: tier, order, selector, types, ingress, egress, serviceAccountSelector, ' +
        'performanceHints, namespaceSelector, doNotTrack, preDNAT, applyOnForward',
    },
    {
      what: 'YAML syntax error',
      example: 'allow-dns.yaml', from: '  name: allow-dns', to: '  name: "allow-dns',
      expected: (f) => `${f}:10:9: invalid YAML: missing closing " quote: the string that starts here is never closed`,
    },
  ];

  for (const c of cases) {
    it(c.what, async () => {
      const file = await brokenCopy(c.example, `${c.what.replace(/\W+/g, '-')}.yaml`, c.from, c.to);
      const run = await captureCli(['validate', '-f', file]);
      expect(run.stdout).toBe(`${c.expected(file)}\n`);
      expect(run.stderr).toMatch(/^1 problem found; \d+ resources? valid\n$/);
      expect(run.code).toBe(1);
    });
  }

  it('lists every problem of every file, ordered by position, with -o json for machines', async () => {
    const port = await brokenCopy('backend-egress.yaml', 'json-port.yaml', '          - 5432\n---', '          - 0\n---');
    const field = await brokenCopy('default-deny.yaml', 'json-field.yaml', '  types:', '  typos: 1\n  types:');
    const text = await captureCli(['validate', '-f', field, '-f', port]);
    expect(text.code).toBe(1);
    expect(text.stdout.trim().split('\n').map((l) => l.slice(0, l.indexOf(': ')))).toEqual([`${field}:17:3`, `${port}:20:13`]);

    const json = await captureCli(['validate', '-f', field, '-f', port, '-o', 'json']);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    const report = JSON.parse(json.stdout) as { valid: boolean; resources: number; issues: Array<Record<string, unknown>> };
    expect(report.valid).toBe(false);
    expect(report.resources).toBe(1); // database-ingress; the other two each have a problem
    expect(report.issues).toEqual([
      {
        file: field, line: 17, col: 3, resource: 'GlobalNetworkPolicy default-deny', path: 'spec.typos',
        code: expect.any(String) as unknown, message: expect.stringContaining('unknown field "typos"') as unknown,
      },
      {
        file: port, line: 20, col: 13, resource: 'NetworkPolicy shop/backend-egress', path: 'spec.egress[0].destination.ports[0]',
        code: expect.any(String) as unknown, message: expect.stringContaining('port range invalid') as unknown,
      },
    ]);
    const ok = await captureCli(['validate', '-f', 'examples', '-o', 'json'], { cwd: repoRoot });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ valid: true, resources: 21, issues: [] });
  });

  it('reports duplicates across files', async () => {
    const copy = path.join(dir, 'copy-of-allow-dns.yaml');
    await writeFile(copy, await readFile(path.join(examples, 'allow-dns.yaml')));
    const run = await captureCli(['validate', '-f', path.join(examples, 'allow-dns.yaml'), '-f', copy]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`${copy}:10:3: GlobalNetworkPolicy allow-dns: metadata.name: defined twice: the same ` +
      `resource is already defined at ${path.join(examples, 'allow-dns.yaml')}:7:1; keep one of them\n`);
  });
});

describe('tabby validate: paths and usage', () => {
  it('a missing path is a problem (exit 1) naming the path', async () => {
    const run = await captureCli(['validate', '-f', 'no/such/file.yaml', '-f', 'examples/allow-dns.yaml'], { cwd: repoRoot });
    expect(run).toEqual({
      code: 1,
      stdout: 'cannot read no/such/file.yaml: no such file or directory\n',
      stderr: '1 problem found; 1 resource valid\n',
    });
  });

  it('input without resources is a problem', async () => {
    const run = await captureCli(['validate', '-f', '-'], { stdin: '# nothing here\n' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('no resources found in - (directories are searched for .yaml, .yml and .json files)\n');
  });

  it('binary input gets one clear line', async () => {
    const run = await captureCli(['validate', '-f', '-'], { stdin: 'kind: \u0000\u0001\u0002' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('<stdin>:1:7: not a text manifest: byte 0x00 at line 1, column 7 is not UTF-8 text ' +
      '(expected UTF-8 YAML or JSON)\n');
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['no -f', ['validate'], /^error: no manifests given: use -f PATH/],
    ['a positional path', ['validate', 'policy.yaml'], /^error: unexpected argument 'policy.yaml': give manifests with -f \(tabby validate -f policy.yaml\)/],
    ['an unknown flag', ['validate', '-f', 'x.yaml', '--frobnicate'], /^error: unknown flag '--frobnicate' \(see 'tabby validate --help'\)\n$/],
    ['an unknown output format', ['validate', '-f', 'x.yaml', '-o', 'xml'], /^error: unsupported output format 'xml': allowed are text, json/],
    ['-f without a value', ['validate', '-f'], /^error: option '-f, --filename <value>' argument missing/],
  ];
  for (const [what, argv, message] of usage) {
    it(`${what} is a usage error (exit 2)`, async () => {
      const run = await captureCli(argv);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /); // never a stack trace
    });
  }

  it('has help with examples', async () => {
    const run = await captureCli(['validate', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: tabby validate -f PATH... [-o text|json]');
    expect(run.stdout).toContain('Examples:');
  });
});
