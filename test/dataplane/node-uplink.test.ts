// Issue 17 §1: a node's uplink eth0 to the shared outside namespace — `tabby node create|get|exec|delete` and
// `tabby external exec|delete` through the CLI, real traffic between the outside network and two nodes' hosts.
// Run with: flock /tmp/tabby-netns.lock npx vitest run test/dataplane/node-uplink.test.ts

import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNode, namespaceExists, namespaceOwned, ProbeAgent } from '../../src/dataplane/index.js';
import { assertBuilt, builtCli } from '../cli/built-cli.js';
import { captureCli, type CliRun } from '../cli/captureCli.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe.skipIf(KERNEL_SKIP_REASON !== undefined)('node uplinks and the outside network', () => {
  const prefix = uniquePrefix();
  const env = { TABBY_NETNS_PREFIX: prefix, TABBY_DATASTORE: `file:/tmp/${prefix}store` };
  const tabby = (args: string[]): Promise<CliRun> => captureCli(args, { env: { ...process.env, ...env }, cwd: repoRoot });
  const agents: ProbeAgent[] = [];

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
  });
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await sweepPrefix(prefix);
  });

  it('creates nodes with uplinks, reports them, and carries traffic outside ↔ host', async () => {
    const a = await tabby(['node', 'create', 'alpha']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/uplink eth0 172\.31\.0\.2\/16 fd00:ab::2\/64/);
    expect((await tabby(['node', 'create', 'beta'])).code).toBe(0);
    const outside = `${prefix}x`;
    expect(await namespaceOwned(outside)).toBe(true);

    const got = await tabby(['node', 'get', 'beta', '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual({
      name: 'beta', namespace: `${prefix}n-beta`,
      uplink: { interface: 'eth0', addresses: ['172.31.0.3/16', 'fd00:ab::3/64'], outsideNamespace: outside, outsideInterface: expect.stringMatching(/^tu[0-9a-f]{11}$/) },
    });
    expect((await tabby(['node', 'get', 'beta'])).stdout).toMatch(/Uplink: +eth0 172\.31\.0\.3\/16/);
    expect((await tabby(['node', 'get', 'gamma'])).code).toBe(3);

    // `node exec` runs in the host's namespace; `external exec` in the outside one.
    const inNode = await tabby(['node', 'exec', 'alpha', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    expect(inNode.code, inNode.stderr).toBe(0);
    expect(inNode.stdout).toMatch(/172\.31\.0\.2\/16/);
    const inOutside = await tabby(['external', 'exec', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'br0']);
    expect(inOutside.stdout).toMatch(/172\.31\.0\.1\/16/);
    expect((await tabby(['node', 'exec', 'alpha', '--', 'sh', '-c', 'exit 4'])).code).toBe(4);

    // Real traffic: outside → each host, host → host over the bridge, host → outside; IPv4 and IPv6.
    const hostA = await ProbeAgent.start(`${prefix}n-alpha`);
    const hostB = await ProbeAgent.start(`${prefix}n-beta`);
    const ext = await ProbeAgent.start(outside);
    agents.push(hostA, hostB, ext);
    await hostA.listen('tcp', 8080);
    await hostB.listen('tcp', 8080);
    await ext.listen('tcp', 9090);
    expect((await ext.connect('tcp', '172.31.0.2', 8080)).ok).toBe(true);
    expect((await ext.connect('tcp', 'fd00:ab::3', 8080)).ok).toBe(true);
    expect((await hostA.connect('tcp', '172.31.0.3', 8080)).ok).toBe(true);
    expect((await hostB.connect('tcp', '172.31.0.1', 9090)).ok).toBe(true);
    expect((await ext.connect('tcp', '172.31.0.2', 8081, 500)).ok).toBe(false);
  });

  it('a node made without an uplink keeps working and says so', async () => {
    const res = await createNode({ prefix }, 'legacy', undefined, { uplink: false });
    expect(res.ok).toBe(true);
    const got = await tabby(['node', 'get', 'legacy', '-o', 'json']);
    expect(JSON.parse(got.stdout)).toMatchObject({ name: 'legacy', uplink: null });
    expect((await tabby(['node', 'get', 'legacy'])).stdout).toMatch(/Uplink: +none/);
  });

  it('node delete removes the uplink; the outside network goes with the last node; external delete', async () => {
    const outside = `${prefix}x`;
    for (const a of agents.splice(0)) await a.stop();
    expect((await tabby(['node', 'delete', 'alpha'])).code).toBe(0);
    expect(namespaceExists(`${prefix}n-alpha`)).toBe(false);
    const peers = await tabby(['external', 'exec', '--', 'ip', '-o', 'link', 'show', 'master', 'br0']);
    expect(peers.stdout.trim().split('\n')).toHaveLength(1);
    expect((await tabby(['node', 'delete', 'legacy'])).code).toBe(0);
    expect(namespaceExists(outside)).toBe(true);
    expect((await tabby(['node', 'delete', 'beta'])).code).toBe(0);
    expect(namespaceExists(outside)).toBe(false);
    expect((await tabby(['external', 'exec', '--', 'true'])).code).toBe(3);

    expect((await tabby(['node', 'create', 'delta'])).code).toBe(0);
    const del = await tabby(['external', 'delete']);
    expect(del.code, del.stderr).toBe(0);
    expect(namespaceExists(outside)).toBe(false);
    expect((await tabby(['external', 'delete'])).code).toBe(3);
    // The node lives on without its uplink.
    expect(JSON.parse((await tabby(['node', 'get', 'delta', '-o', 'json'])).stdout)).toMatchObject({ uplink: null });
    expect((await tabby(['node', 'delete', 'delta'])).code).toBe(0);
  });

  it('node creates and deletes in several processes at once: distinct uplink addresses, the outside network goes last', async () => {
    // Regression: the lowest free index was picked per process, so two `tabby node create` at once took the same one.
    assertBuilt();
    const p2 = `${prefix}c`;
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((done) => {
      execFile(process.execPath, [builtCli, ...args], { env: { ...process.env, ...env, TABBY_NETNS_PREFIX: p2 } }, (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
    try {
      const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
      const created = await Promise.all(names.map((n) => run(['node', 'create', n])));
      for (const c of created) expect(c.code, c.stderr).toBe(0);
      const addresses = created.map((c) => /uplink eth0 (172\.31\.\d+\.\d+)\/16/.exec(c.stdout)?.[1]);
      expect(addresses.every((a) => a !== undefined)).toBe(true);
      expect(new Set(addresses).size).toBe(names.length);
      const deleted = await Promise.all(names.map((n) => run(['node', 'delete', n])));
      for (const d of deleted) expect(d.code, d.stderr).toBe(0);
      expect(namespaceExists(`${p2}x`)).toBe(false);
    } finally {
      await sweepPrefix(p2);
    }
  }, 120_000);
});
