// IPv6 copies on real traffic (issue 11 §5): a dual-stack node whose network set starts IPv4-only. The IPv6 copy
// of the allow rule and the s6- set are absent from the kernel's table, IPv6 from the set's address is denied;
// an IPv6 member added later is enforced (allowed) by the agent's next incremental transaction, and removing it
// denies again. A notSelector against a set with no IPv6 member still matches every IPv6 source.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GlobalNetworkPolicy, GlobalNetworkSet, IPPool } from '../../src/api/index.js';
import { netnsExec } from '../../src/dataplane/nft/index.js';
import { TestCluster } from './cluster.js';
import { KERNEL_SKIP_REASON, sweepPrefix, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

const pools: IPPool[] = [
  { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v4' }, spec: { cidr: '10.1.0.0/16' } },
  { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'v6' }, spec: { cidr: 'fd00:1::/64' } },
];

function networkSet(name: string, role: string, nets: string[]): GlobalNetworkSet {
  return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name, labels: { role } }, spec: { nets } };
}

const onlyTrusted: GlobalNetworkPolicy = {
  apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'only-trusted' },
  spec: { selector: "pod == 'b'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "role == 'trusted'" } }] },
};
const notBlocked: GlobalNetworkPolicy = {
  apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'not-blocked' },
  spec: { selector: "pod == 'c'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { notSelector: "role == 'blocked'" } }] },
};

describe.skipIf(KERNEL_SKIP_REASON)('IPv6 copies on real traffic', () => {
  const prefix = uniquePrefix();
  let c: TestCluster;
  const v4: Record<string, string> = {};
  const v6: Record<string, string> = {};
  const reach = async (from: string, to: string, family: 4 | 6): Promise<boolean> =>
    (await c.connect(`x/${from}`, 'tcp', (family === 4 ? v4 : v6)[to]!, 80, { timeoutMs: 700 })).ok;
  const table = async (): Promise<string> => {
    const res = await netnsExec(c.nodeNetns)(['nft', 'list', 'table', 'inet', 'tabby']);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout;
  };

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    c = await TestCluster.create(prefix);
    for (const p of pools) await c.store.apply(p);
    for (const name of ['a', 'b', 'c']) {
      const res = await c.workloads.create({ namespace: 'x', name, node: c.node, labels: { pod: name } });
      if (!res.ok) throw new Error(res.issues[0]!.message);
      const w = (await c.workloads.get('x', name))!;
      v4[name] = w.addresses.find((a) => !a.includes(':'))!.split('/')[0]!;
      v6[name] = w.addresses.find((a) => a.includes(':'))!.split('/')[0]!;
      await c.startProbe(`x/${name}`, w.netns);
      await c.serve(`x/${name}`, 'tcp', 80);
    }
    await c.store.apply(networkSet('trusted', 'trusted', [`${v4.a}/32`]));
    await c.store.apply(networkSet('blocked', 'blocked', ['10.99.0.1/32']));
    await c.store.apply(onlyTrusted);
    await c.store.apply(notBlocked);
    await c.startAgent({ debounceMs: 1 });
    await c.enforced();
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    await sweepPrefix(prefix);
  });

  it('has no IPv6 copy while the set is IPv4-only, and IPv6 from its owner is denied', async () => {
    const t = await table();
    expect(t).toMatch(/ip saddr @s4-\S+ counter packets \d+ bytes \d+ (?:log prefix "[^"]+" group \d+ snaplen \d+ )?accept/);
    // Two IPv4 sets (trusted, blocked); one IPv6 set, the blocked one's, which the negated match needs.
    expect(t.match(/\bset s4-/g)).toHaveLength(2);
    expect(t.match(/\bset s6-/g)).toHaveLength(1);
    expect(t).not.toMatch(/ip6 saddr @s6-/);
    expect(await reach('a', 'b', 4)).toBe(true);
    expect(await reach('a', 'b', 6)).toBe(false);
  });

  it('keeps a notSelector against a set with no IPv6 member: every IPv6 source matches it', async () => {
    expect(t6Negated(await table())).toBe(true);
    expect(await reach('a', 'c', 4)).toBe(true);
    expect(await reach('a', 'c', 6)).toBe(true);
  });

  it('enforces an IPv6 member added later, and denies again once it is removed', async () => {
    await c.store.apply(networkSet('trusted', 'trusted', [`${v4.a}/32`, `${v6.a}/128`]));
    await c.enforced();
    expect(await table()).toMatch(/ip6 saddr @s6-\S+ counter packets \d+ bytes \d+ (?:log prefix "[^"]+" group \d+ snaplen \d+ )?accept/);
    expect(await reach('a', 'b', 6)).toBe(true);
    expect(await reach('a', 'b', 4)).toBe(true);
    await c.store.apply(networkSet('trusted', 'trusted', [`${v4.a}/32`]));
    await c.enforced();
    const after = await table();
    expect(after).not.toMatch(/ip6 saddr @s6-/);
    expect(after.match(/\bset s6-/g)).toHaveLength(1);
    expect(await reach('a', 'b', 6)).toBe(false);
    expect(await reach('a', 'b', 4)).toBe(true);
  });
});

/** Whether the table holds the negated IPv6 match against the blocked set. */
function t6Negated(table: string): boolean {
  return /ip6 saddr != @s6-\S+ counter packets \d+ bytes \d+ (?:log prefix "[^"]+" group \d+ snaplen \d+ )?accept/.test(table);
}
