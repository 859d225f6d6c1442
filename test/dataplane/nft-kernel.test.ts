// Keeps FakeNft honest: one sequence of transactions — successes and failures of every kind the fake
// models — runs through the fake and through the real `nft` inside a throwaway network namespace, and after
// each step both must agree on success or failure (with the same error code) and on the table's contents.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNamespace, deleteNamespace } from '../../src/dataplane/netns/namespace.js';
import {
  FakeNft,
  NftError,
  NftTables,
  netnsExec,
  type ListedTable,
  type Nft,
  type Transaction,
} from '../../src/dataplane/nft/index.js';
import { KERNEL_SKIP_REASON, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

/** What both must agree on: chains with base-chain fields and rule comments in order, sets and maps with elements. */
function shape(t: ListedTable | undefined): unknown {
  if (!t) return null;
  return {
    chains: [...t.chains.values()].map(({ chain, rules }) => ({
      name: chain.name, hook: chain.hook ?? null, policy: chain.policy ?? null,
      rules: rules.map((r) => r.comment ?? '(none)'),
    })).sort((a, b) => a.name.localeCompare(b.name)),
    sets: [...t.sets.values()].map(({ set, elements }) => ({
      name: set.name, type: set.keyType, flags: set.flags ?? [], elements: [...elements.keys()].sort(),
    })).sort((a, b) => a.name.localeCompare(b.name)),
    maps: [...t.maps.values()].map(({ map, elements }) => ({
      name: map.name, type: `${map.keyType} : ${map.valueType}`,
      elements: [...elements.values()].map((e) => `${e.key} => ${e.value}`).sort(),
    })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

type Step = [name: string, build: (tx: Transaction) => Transaction, expectError?: NftError['code']];

const STEPS: Step[] = [
  ['skeleton', (t) => t
    .add({ type: 'table', comment: 'tabby test' })
    .add({ type: 'chain', name: 'fwd-egress', chainType: 'filter', hook: 'forward', priority: 'filter - 10', policy: 'accept' })
    .add({ type: 'chain', name: 'we-cali1' })
    .add({ type: 'chain', name: 'p-e-x' })
    .add({ type: 'set', name: 's4-a', keyType: 'ipv4_addr', flags: ['interval'] })
    .add({ type: 'set', name: 's6-a', keyType: 'ipv6_addr', flags: ['interval'] })
    .add({ type: 'set', name: 'n4-a', keyType: 'ipv4_addr . inet_proto . inet_service' })
    .add({ type: 'map', name: 'wl-from', keyType: 'ifname', valueType: 'verdict' })
    .add({ type: 'rule', chain: 'fwd-egress', rule: 'iifname "cali*" iifname vmap @wl-from', comment: 'dispatch' })
    .add({ type: 'rule', chain: 'fwd-egress', rule: 'iifname "cali*" counter drop', comment: 'unknown' })
    .add({ type: 'rule', chain: 'we-cali1', rule: 'ct state established,related accept', comment: 'ct' })
    .add({ type: 'rule', chain: 'we-cali1', rule: 'jump p-e-x', comment: 'p' })
    .add({ type: 'rule', chain: 'p-e-x', rule: 'meta l4proto tcp th dport { 80, 8000-8100 } ip daddr @s4-a counter accept', comment: 'r0' })
    .add({ type: 'rule', chain: 'p-e-x', rule: 'ip6 daddr @s6-a counter accept', comment: 'r0v6' })
    .add({ type: 'rule', chain: 'p-e-x', rule: 'ip daddr . meta l4proto . th dport @n4-a counter log prefix "L" group 3', comment: 'r1' })
    .add({ type: 'rule', chain: 'p-e-x', rule: 'icmp type . icmp code != { 8 . 0 } counter drop', comment: 'r2' })
    .add({ type: 'element', set: 's4-a', key: '10.0.0.1' })
    .add({ type: 'element', set: 's4-a', key: '10.1.0.0/16' })
    .add({ type: 'element', set: 's4-a', key: '10.2.0.0/25' })
    .add({ type: 'element', set: 's4-a', key: '10.2.0.128/25' })
    .add({ type: 'element', set: 's6-a', key: 'fd00::1/128' })
    .add({ type: 'element', set: 'n4-a', key: '10.0.0.1 . tcp . 80' })
    .add({ type: 'element', set: 'wl-from', key: '"cali1"', value: 'goto we-cali1' })],
  ['idempotent adds', (t) => t
    .add({ type: 'table' }).add({ type: 'chain', name: 'we-cali1' })
    .add({ type: 'set', name: 's4-a', keyType: 'ipv4_addr', flags: ['interval'] })
    .add({ type: 'element', set: 's4-a', key: '10.0.0.1' })],
  ['delete a missing element (whole transaction fails)', (t) => t
    .add({ type: 'element', set: 's4-a', key: '10.9.0.1' })
    .delete({ type: 'element', set: 's4-a', key: '10.9.9.9' }), 'notFound'],
  ['overlapping interval', (t) => t.add({ type: 'element', set: 's4-a', key: '10.1.2.0/24' }), 'exists'],
  ['jump to a missing chain', (t) => t.add({ type: 'rule', chain: 'we-cali1', rule: 'jump nope' }), 'notFound'],
  ['rule in a missing chain', (t) => t.add({ type: 'rule', chain: 'nope', rule: 'accept' }), 'notFound'],
  ['missing set', (t) => t.add({ type: 'rule', chain: 'we-cali1', rule: 'ip saddr @nope accept' }), 'notFound'],
  ['delete a chain with rules', (t) => t.delete({ type: 'chain', name: 'p-e-x' }), 'busy'],
  ['delete a referenced set', (t) => t.delete({ type: 'set', name: 's4-a', keyType: '' }), 'busy'],
  ['create an existing set', (t) => t.create({ type: 'set', name: 'n4-a', keyType: 'ipv4_addr . inet_proto . inet_service' }), 'exists'],
  ['re-add a set with another type', (t) => t.add({ type: 'set', name: 'n4-a', keyType: 'ipv6_addr' }), 'exists'],
  ['map element to a missing chain', (t) => t.add({ type: 'element', set: 'wl-from', key: '"cali9"', value: 'goto nope' }), 'notFound'],
  ['move a base chain', (t) => t.add({ type: 'chain', name: 'fwd-egress', chainType: 'filter', hook: 'input', priority: 0 }), 'unsupported'],
  ['rewrite a chain, swap elements', (t) => t
    .flush({ type: 'chain', name: 'p-e-x' })
    .add({ type: 'rule', chain: 'p-e-x', rule: 'ip daddr @s4-a counter drop', comment: 'r0b' })
    .delete({ type: 'element', set: 's4-a', key: '10.1.0.0/16' })
    .add({ type: 'element', set: 's4-a', key: '10.1.2.0/24' })
    .add({ type: 'element', set: 's4-a', key: '10.1.3.0/24' })],
  ['unhook an endpoint: map element, chain, unused sets', (t) => t
    .delete({ type: 'element', set: 'wl-from', key: '"cali1"', value: 'goto we-cali1' })
    .flush({ type: 'chain', name: 'we-cali1' })
    .delete({ type: 'chain', name: 'we-cali1' })
    .flush({ type: 'chain', name: 'p-e-x' })
    .delete({ type: 'set', name: 'n4-a', keyType: '' })
    .delete({ type: 'set', name: 's6-a', keyType: '' })],
  ['full replace', (t) => t
    .add({ type: 'table' }).delete({ type: 'table' }).add({ type: 'table' })
    .add({ type: 'chain', name: 'fwd-ingress', chainType: 'filter', hook: 'forward', priority: 0, policy: 'accept' })
    .add({ type: 'rule', chain: 'fwd-ingress', rule: 'oifname "cali*" counter drop', comment: 'fresh' })],
  ['delete the table', (t) => t.delete({ type: 'table' })],
  ['delete it again', (t) => t.delete({ type: 'table' }), 'notFound'],
];

describe.skipIf(KERNEL_SKIP_REASON)('FakeNft agrees with the kernel', () => {
  const ns = `${uniquePrefix()}nft`;
  let real: Nft;
  const fake = new FakeNft('inet', 'tabbytest');

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    await createNamespace(ns);
    real = new NftTables({ family: 'inet', table: 'tabbytest', exec: netnsExec(ns) });
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('on every step of a mixed sequence', async () => {
    for (const [name, build, expectError] of STEPS) {
      const outcome = async (nft: Nft): Promise<string> => {
        try {
          await nft.run(build(nft.newTransaction()));
          return 'ok';
        } catch (e) {
          if (e instanceof NftError) return e.code;
          throw e;
        }
      };
      const [r, f] = [await outcome(real), await outcome(fake)];
      expect({ step: name, real: r, fake: f }).toEqual({ step: name, real: expectError ?? 'ok', fake: expectError ?? 'ok' });
      expect({ step: name, state: shape(await fake.list()) }).toEqual({ step: name, state: shape(await real.list()) });
    }
  });

  it('check() validates without applying, in both', async () => {
    for (const nft of [real, fake]) {
      const tx = nft.newTransaction().add({ type: 'table' }).add({ type: 'chain', name: 'checked' });
      await nft.check(tx);
      const bad = nft.newTransaction().add({ type: 'rule', chain: 'absent', rule: 'accept' });
      await expect(nft.check(bad)).rejects.toMatchObject({ code: 'notFound' });
    }
    expect(await real.list()).toBeUndefined();
    expect(await fake.list()).toBeUndefined();
  });

  it('surfaces the first error with the script line it points at', async () => {
    const tx = real.newTransaction().add({ type: 'table' }).add({ type: 'rule', chain: 'absent', rule: 'accept' });
    const err = await real.run(tx).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NftError);
    expect((err as NftError).line).toBe('add rule inet tabbytest absent accept');
    expect((err as NftError).message).toMatch(/^nft: Could not process rule: No such file or directory \(script line 2: /);
  });

  it('reports a missing namespace as an exec failure', async () => {
    const gone = new NftTables({ family: 'inet', table: 't', exec: netnsExec(`${ns}-missing`) });
    await expect(gone.run(gone.newTransaction().add({ type: 'table' }))).rejects.toMatchObject({ code: 'exec' });
  });
});
