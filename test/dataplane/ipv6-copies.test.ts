// A family's copy of a rule, and the family's nft set, exist only while they can match (issue 11 §5): on the fake,
// the copies and sets come and go in the one incremental transaction that brings a set's first element of the
// family or removes its last, negated matches against an empty set stay (they match everything), and after any
// sequence of member changes the incrementally maintained table equals a fresh full render of the same feed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { EngineChange } from '../../src/engine/types.js';
import { FakeNft } from '../../src/dataplane/nft/index.js';
import { Renderer } from '../../src/dataplane/render/index.js';
import { endpoint, endpointUpdate, policy, rule, tier } from './render-fixtures.js';

async function sync(r: Renderer, nft: FakeNft): Promise<string> {
  r.settle();
  const plan = r.ruleset.plan();
  const script = plan.tx.toString();
  await nft.run(plan.tx);
  plan.commit();
  return script;
}

const chainOf = (nft: FakeNft, name: string): string[] => (nft.state?.chains.get(name)?.rules ?? []).map((r) => r.rule);
/** The table as comparable data: chains with their rules in order, sets with their elements, in name order. */
const contents = (nft: FakeNft): unknown => ({
  chains: [...nft.state!.chains].map(([n, c]) => [n, c.rules.map((r) => `${r.rule} # ${r.comment}`)]).sort(),
  sets: [...nft.state!.sets].map(([n, s]) => [n, s.set.keyType, [...s.elements.keys()].sort()]).sort(),
  maps: [...nft.state!.maps].map(([n, m]) => [n, [...m.elements.keys()].sort()]).sort(),
});
const setNames = (nft: FakeNft): string[] => [...nft.state!.sets.keys()].sort();
const ipset = (id: string, members: string[], kind: 'net' | 'ip-port' = 'net'): EngineChange =>
  ({ type: 'ipset-added', ipSet: { id, kind, selector: id }, members });
const members = (id: string, added: string[], removed: string[] = []): EngineChange => ({ type: 'ipset-members', id, added, removed });

describe('family copies of rules against IP sets', () => {
  const fromTrusted = policy('from-trusted', { ingress: [rule(0, 'Allow', { protocol: 6, src: { ipSets: ['trusted'] } })] });
  const start = async (trusted: string[]): Promise<{ r: Renderer; nft: FakeNft }> => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    r.apply([
      ipset('trusted', trusted),
      { type: 'policy-updated', policy: fromTrusted },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1'], { profiles: [] }), [tier('default', [fromTrusted])], []),
    ]);
    await sync(r, nft);
    return { r, nft };
  };

  it('renders no IPv6 copy and no s6- set while the set has only IPv4 members', async () => {
    const { nft } = await start(['10.0.0.1/32', '10.0.0.2/32']);
    expect(chainOf(nft, 'pi-gnp.from-trusted')).toEqual(['meta l4proto tcp ip saddr @s4-trusted counter accept']);
    expect(setNames(nft)).toEqual(['s4-trusted']);
  });

  it('switches the IPv6 copy on with the first IPv6 member and off with the last, each in one transaction', async () => {
    const { r, nft } = await start(['10.0.0.1/32']);
    r.apply([members('trusted', ['fd00::1/128'])]);
    const on = await sync(r, nft);
    const id = [...r.meanings.values()].find((m) => m.what === 'policy-rule')!.id;
    expect(on).toBe([
      'add table inet tabby',
      'add set inet tabby s6-trusted { type ipv6_addr ; flags interval ; }',
      'add element inet tabby s6-trusted { fd00::1 }',
      'flush chain inet tabby pi-gnp.from-trusted',
      `add rule inet tabby pi-gnp.from-trusted meta l4proto tcp ip saddr @s4-trusted counter accept comment "${id} gnp:from-trusted ingress 0 Allow"`,
      `add rule inet tabby pi-gnp.from-trusted meta l4proto tcp ip6 saddr @s6-trusted counter accept comment "${id} gnp:from-trusted ingress 0 Allow"`,
      '',
    ].join('\n'));
    // A second IPv6 member is an element delta only.
    r.apply([members('trusted', ['fd00::2/128'])]);
    expect(await sync(r, nft)).toBe('add table inet tabby\nadd element inet tabby s6-trusted { fd00::2 }\n');
    r.apply([members('trusted', [], ['fd00::1/128'])]);
    expect(await sync(r, nft)).toBe('add table inet tabby\ndelete element inet tabby s6-trusted { fd00::1 }\n');
    // The last one goes: the copy goes, then the set, in one transaction the kernel (here: the fake) accepts.
    r.apply([members('trusted', [], ['fd00::2/128'])]);
    const off = await sync(r, nft);
    expect(off.split('\n')).toEqual([
      'add table inet tabby',
      'flush chain inet tabby pi-gnp.from-trusted',
      expect.stringMatching(/^add rule inet tabby pi-gnp\.from-trusted meta l4proto tcp ip saddr @s4-trusted counter accept /),
      'delete set inet tabby s6-trusted',
      '',
    ]);
    expect(setNames(nft)).toEqual(['s4-trusted']);
  });

  it('treats IPv4 alike: an IPv6-only set has no IPv4 copy, and an empty set none at all', async () => {
    const { r, nft } = await start(['fd00::1/128']);
    expect(chainOf(nft, 'pi-gnp.from-trusted')).toEqual(['meta l4proto tcp ip6 saddr @s6-trusted counter accept']);
    r.apply([members('trusted', [], ['fd00::1/128'])]);
    await sync(r, nft);
    expect(chainOf(nft, 'pi-gnp.from-trusted')).toEqual([]);
    expect(setNames(nft)).toEqual([]);
    r.apply([members('trusted', ['10.0.0.9/32'])]);
    await sync(r, nft);
    expect(chainOf(nft, 'pi-gnp.from-trusted')).toEqual(['meta l4proto tcp ip saddr @s4-trusted counter accept']);
  });

  it('keeps negated matches against an empty set, which match every address of the family', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const notBlocked = policy('not-blocked', { ingress: [rule(0, 'Allow', { src: { notIpSets: ['blocked'] } })] });
    r.apply([
      ipset('blocked', ['10.0.0.66/32']),
      { type: 'policy-updated', policy: notBlocked },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1'], { profiles: [] }), [tier('default', [notBlocked])], []),
    ]);
    await sync(r, nft);
    expect(chainOf(nft, 'pi-gnp.not-blocked')).toEqual([
      'ip saddr != @s4-blocked counter accept',
      'ip6 saddr != @s6-blocked counter accept',
    ]);
    expect(nft.state!.sets.get('s6-blocked')!.elements.size).toBe(0);
  });

  it('gates named-port copies on the IP+port set, and rewrites an inlined (Pass) policy in its tier chain', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const web = policy('web', { ingress: [
      rule(0, 'Pass', { protocol: 17 }),
      rule(1, 'Allow', { protocol: 6, dst: { namedPortIpSets: ['http'] } }),
    ] });
    r.apply([
      ipset('http', ['10.1.0.1,tcp:8080'], 'ip-port'),
      { type: 'policy-updated', policy: web },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1'], { profiles: [] }), [tier('default', [web])], []),
    ]);
    await sync(r, nft);
    const tierChain = (): string[] => chainOf(nft, 'ti-caliaaaa-default');
    expect(tierChain()).toEqual([
      'meta l4proto udp counter return',
      'meta l4proto tcp ip daddr . meta l4proto . th dport @n4-http counter accept',
      'counter drop',
    ]);
    r.apply([members('http', ['fd00::1,tcp:8080'])]);
    const script = await sync(r, nft);
    expect(script).toContain('add set inet tabby n6-http { type ipv6_addr . inet_proto . inet_service ; }');
    expect(script).toContain('flush chain inet tabby ti-caliaaaa-default');
    expect(tierChain()[2]).toBe('meta l4proto tcp ip6 daddr . meta l4proto . th dport @n6-http counter accept');
  });

  it('renders the bench spec without IPv6 copies: one rule per Calico rule, one set per selector', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const sets = 20;
    const changes: EngineChange[] = [];
    for (let i = 0; i < sets; i++) changes.push(ipset(`set-${i}`, Array.from({ length: 100 }, (_, j) => `10.${100 + i}.0.${j}/32`)));
    const policies = Array.from({ length: 20 }, (_, i) => policy(`bench-${i}`, {
      ingress: Array.from({ length: 10 }, (_, j) => rule(j, 'Allow', { protocol: 6, src: { ipSets: [`set-${(i * 10 + j) % sets}`] }, dst: { ports: [{ first: 8000 + j, last: 8000 + j }] } })),
    }));
    for (const p of policies) changes.push({ type: 'policy-updated', policy: p });
    changes.push(endpointUpdate(endpoint('bench', 'b', 'calibbbb', ['10.1.0.2'], { profiles: [] }), [tier('default', policies)], []));
    r.apply(changes);
    await sync(r, nft);
    const policyRules = [...nft.state!.chains].filter(([n]) => n.startsWith('pi-')).reduce((n, [, c]) => n + c.rules.length, 0);
    expect(policyRules).toBe(200);
    expect(setNames(nft).filter((n) => n.startsWith('s6-'))).toEqual([]);
    expect(setNames(nft).filter((n) => n.startsWith('s4-'))).toHaveLength(sets);
  });
});

describe('incremental copies agree with a full render', () => {
  const v4 = ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.0/24'];
  const v6 = ['fd00::1/128', 'fd00::2/128', 'fd00::/64'];
  const ids = ['s', 't'];
  const policies = [
    policy('pos', { ingress: [rule(0, 'Allow', { src: { ipSets: ['s'] } }), rule(1, 'Deny', { protocol: 6, src: { ipSets: ['s'] }, dst: { ipSets: ['t'] } })] }),
    policy('neg', { ingress: [rule(0, 'Deny', { src: { notIpSets: ['t'] } }), rule(1, 'Log', { src: { ipSets: ['t'], notIpSets: ['s'] } })] }),
    policy('pass', { egress: [rule(0, 'Pass', { dst: { ipSets: ['t'] } }), rule(1, 'Allow', { dst: { ipSets: ['s'] } })] }, { tier: 'sec' }),
  ];
  const feed = (sets: Map<string, Set<string>>): EngineChange[] => [
    ...ids.map((id) => ipset(id, [...sets.get(id)!])),
    ...policies.map((p): EngineChange => ({ type: 'policy-updated', policy: p })),
    endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1'], { profiles: [] }),
      [tier('default', [policies[0]!, policies[1]!])], [tier('sec', [policies[2]!])]),
  ];
  const step = fc.record({ id: fc.constantFrom(...ids), member: fc.constantFrom(...v4, ...v6), add: fc.boolean() });

  it('after every member change (first, last, covering members of either family)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
      const sets = new Map(ids.map((id) => [id, new Set<string>()]));
      const r = new Renderer({ node: 'node1' });
      const nft = new FakeNft();
      r.apply(feed(sets));
      await sync(r, nft);
      for (const s of steps) {
        const set = sets.get(s.id)!;
        if (s.add === set.has(s.member)) continue;
        if (s.add) set.add(s.member);
        else set.delete(s.member);
        r.apply([members(s.id, s.add ? [s.member] : [], s.add ? [] : [s.member])]);
        await sync(r, nft);
        const fresh = new Renderer({ node: 'node1' });
        const full = new FakeNft();
        fresh.apply(feed(sets));
        await sync(fresh, full);
        expect(contents(nft)).toEqual(contents(full));
      }
    }), { numRuns: 60 });
  });
});
