// `tabby describe` of a policy with a running agent (issue 12 §3): each rule's hit count is read from the nft
// counters of the rules the agent wrote for it, on real namespaces; when the agent stops, describe says there
// are no hit counts rather than print zeros. Needs root and nftables (run under flock /tmp/tabby-netns.lock).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from '../dataplane/support.js';
import { captureCli, type CliRun } from './captureCli.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe.skipIf(KERNEL_SKIP_REASON)('tabby describe with a running agent', () => {
  const prefix = uniquePrefix();
  let dir: string;
  let env: Record<string, string>;
  let agent: ChildProcess | undefined;
  const tabby = (args: string[]): Promise<CliRun> => captureCli(args, { env: { ...process.env, ...env }, cwd: repoRoot });

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    dir = await mkdtemp(join(tmpdir(), 'tabby-describe-hits-'));
    env = { TABBY_DATASTORE: `file:${join(dir, 'store')}`, TABBY_NETNS_PREFIX: prefix, TABBY_STATE_DIR: join(dir, 'state') };
  });
  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent!.once('exit', r));
    }
    await sweepPrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  it('shows per-rule hit counts from the node\'s nft counters, and says so when no agent runs', async () => {
    expect((await tabby(['node', 'create', 'node1'])).code).toBe(0);
    await writeFile(join(dir, 'objects.yaml'), `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: v4}
spec: {cidr: 10.67.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: backend-in, namespace: shop}
spec:
  selector: app == 'backend'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: app == 'frontend'}, destination: {ports: [8080]}}
  - {action: Deny, protocol: UDP}
`);
    expect((await tabby(['apply', '-f', join(dir, 'objects.yaml')])).code).toBe(0);
    expect((await tabby(['workload', 'create', 'shop/frontend', '--node', 'node1', '--labels', 'app=frontend', '--ip', '10.67.0.1'])).code).toBe(0);
    expect((await tabby(['workload', 'create', 'shop/backend', '--node', 'node1', '--labels', 'app=backend', '--ip', '10.67.0.2'])).code).toBe(0);

    // No agent yet: no counts, and no zeros pretending to be counts.
    const before = await tabby(['describe', 'np', 'backend-in', '-n', 'shop']);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain('Hit counts:   no agent running: no hit counts (nodes node1)\n');
    expect(before.stdout).not.toContain('hits:');

    agent = spawn(process.execPath, [join(repoRoot, 'node_modules/.bin/vite-node'), join(repoRoot, 'test/dataplane/run-cli.ts'), 'agent', '--node', 'node1'],
      { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let state = '';
    for (let i = 0; i < 600 && state !== 'in-sync'; i++) {
      const res = await tabby(['agent', 'status', '--node', 'node1', '-o', 'json']);
      if (res.code === 0) state = (JSON.parse(res.stdout) as { state: string }).state;
      if (state !== 'in-sync') await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe('in-sync');

    // Three connection attempts to backend:8080 (refused: nothing listens; the SYN still passes rule 0).
    for (let i = 0; i < 3; i++) {
      await tabby(['workload', 'exec', 'shop/frontend', '--', 'bash', '-c', 'timeout 2 bash -c "</dev/tcp/10.67.0.2/8080" 2>/dev/null; true']);
    }
    const run = await tabby(['describe', 'np', 'backend-in', '-n', 'shop', '-o', 'json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      policy: { rules: { ingress: Array<{ index: number; hits: { packets: number; bytes: number } | null }> } };
      hitCounts: { available: boolean; nodes: string[]; reason: string | null };
    };
    expect(report.hitCounts).toEqual({ available: true, nodes: ['node1'], reason: null });
    const [allow, deny] = report.policy.rules.ingress;
    // Each attempt's SYN (and its retransmission, if any) is counted once it matched rule 0; nothing matched rule 1.
    expect(allow!.hits!.packets).toBeGreaterThanOrEqual(3);
    expect(allow!.hits!.bytes).toBeGreaterThan(0);
    expect(deny!.hits).toEqual({ packets: 0, bytes: 0 });
    const text = (await tabby(['describe', 'np', 'backend-in', '-n', 'shop'])).stdout;
    expect(text).toMatch(/\n {2}0\. Allow TCP from selector \(.*app == "frontend".*\) to ports 8080 {3}hits: \d+ packets, \d+ bytes\n/);
    expect(text).toContain('  1. Deny UDP   hits: 0 packets, 0 bytes\n');
    expect(text).toContain('Hit counts:   from the agents of node1\n');

    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
    const after = await tabby(['describe', 'np', 'backend-in', '-n', 'shop']);
    expect(after.stdout).toContain('Hit counts:   no agent running: no hit counts (nodes node1)\n');
  }, 120_000);
});
