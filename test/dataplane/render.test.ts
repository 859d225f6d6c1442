import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { FakeNft, NftError } from '../../src/dataplane/nft/index.js';
import { netElements, netElementsByFamily, renderRuleMatches, Renderer, type IpSetRef } from '../../src/dataplane/render/index.js';
import { allowAll, endpoint, endpointUpdate, policy, rule, tier } from './render-fixtures.js';

async function sync(r: Renderer, nft: FakeNft, options: { full?: boolean } = {}): Promise<string> {
  r.settle();
  const plan = r.ruleset.plan(options);
  const script = plan.tx.toString();
  await nft.run(plan.tx);
  plan.commit();
  return script;
}

const chainOf = (nft: FakeNft, name: string): string[] =>
  (nft.state?.chains.get(name)?.rules ?? []).map((r) => r.rule);

describe('renderRuleMatches', () => {
  it('renders a rule without address matches once, for both families', () => {
    expect(renderRuleMatches(rule(0, 'Allow', { protocol: 6, dst: { ports: [{ first: 80, last: 80 }] } })))
      .toEqual([{ match: 'meta l4proto tcp th dport 80', sets: [], requires: [] }]);
  });

  it('renders address matches per family, dropping a rule whose nets have none of the family', () => {
    const m = renderRuleMatches(rule(0, 'Allow', { src: { nets: ['10.0.0.0/8'], ipSets: ['s:x'] } }));
    expect(m.map((x) => x.match)).toEqual(['ip saddr 10.0.0.0/8 ip saddr @s4-h.' + m[0]!.sets[0]!.name.slice(5)]);
    expect(m[0]!.sets[0]).toMatchObject({ id: 's:x', kind: 'net', family: 4 });
  });

  it('lists the sets a match requires, and with a gate leaves out a match whose required set fails it', () => {
    const r = rule(0, 'Allow', { src: { ipSets: ['a'], notIpSets: ['b'] } });
    const all = renderRuleMatches(r);
    expect(all.map((m) => m.requires.map((x) => x.name))).toEqual([['s4-a'], ['s6-a']]);
    const asked: IpSetRef[] = [];
    const gated = renderRuleMatches(r, { canMatch: (ref) => ref.family === 4, asked });
    expect(gated.map((m) => m.match)).toEqual(['ip saddr @s4-a ip saddr != @s4-b']);
    // Negated sets are never asked: against an empty set they match everything.
    expect(asked.map((x) => x.name)).toEqual(['s4-a', 's6-a']);
  });

  it('drops a family whose notNets hold its catch-all, or none of its CIDRs (as Felix does)', () => {
    const m = renderRuleMatches(rule(0, 'Deny', { dst: { notNets: ['0.0.0.0/0', 'fd00::/8'] } }));
    expect(m.map((x) => x.match)).toEqual(['ip6 daddr != fd00::/8']);
    expect(renderRuleMatches(rule(0, 'Allow', { dst: { notNets: ['fd00::/64'] } })).map((x) => x.match))
      .toEqual(['ip6 daddr != fd00::/64']);
  });

  it('adds the family qualifier when ipVersion is the only family-specific field', () => {
    expect(renderRuleMatches(rule(0, 'Allow', { ipVersion: 6, protocol: 17 })).map((x) => x.match))
      .toEqual(['meta nfproto ipv6 meta l4proto udp']);
  });

  it('renders ICMP per family, repeating the protocol before code, and negates type+code with a set', () => {
    expect(renderRuleMatches(rule(0, 'Allow', { ipVersion: 4, protocol: 1, icmp: { type: 8, code: 0 } })).map((x) => x.match))
      .toEqual(['meta l4proto icmp icmp type 8 icmp code 0']);
    expect(renderRuleMatches(rule(0, 'Allow', { ipVersion: 6, protocol: 58, notIcmp: { type: 128, code: 0 } })).map((x) => x.match))
      .toEqual(['meta l4proto ipv6-icmp icmpv6 type . icmpv6 code != { 128 . 0 }']);
    // A numeric ICMP protocol with no ipVersion cannot match ICMPv6 types: the IPv6 variant is left out.
    expect(renderRuleMatches(rule(0, 'Allow', { protocol: 1, icmp: { type: 8 } })).map((x) => x.match))
      .toEqual(['meta l4proto icmp icmp type 8']);
  });

  it('ORs numeric and named ports as separate rules, disjoint for Log', () => {
    const r = rule(0, 'Allow', { protocol: 6, dst: { ports: [{ first: 80, last: 81 }], namedPortIpSets: ['n:p'] } });
    const m = renderRuleMatches(r).map((x) => x.match);
    expect(m).toHaveLength(3);
    expect(m[0]).toBe('meta l4proto tcp th dport 80-81');
    expect(m[1]).toMatch(/^meta l4proto tcp ip daddr \. meta l4proto \. th dport @n4-/);
    expect(m[2]).toMatch(/^meta l4proto tcp ip6 daddr \. meta l4proto \. th dport @n6-/);
    const log = renderRuleMatches({ ...r, action: 'Log' }).map((x) => x.match);
    expect(log[1]).toMatch(/th dport != 80-81 ip daddr \. meta l4proto \. th dport @n4-/);
  });
});

describe('literal lists', () => {
  it('name lists of ports and CIDRs as shared sets with merged contents; single values stay inline', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const ports = [{ first: 8050, last: 8200 }, { first: 80, last: 80 }, { first: 8000, last: 8100 }, { first: 443, last: 443 }];
    const p1 = policy('one', { ingress: [rule(0, 'Allow', { protocol: 6, src: { nets: ['10.0.0.0/8', '10.1.0.0/16', '192.168.0.0/16'] }, dst: { ports } })] });
    const p2 = policy('two', { ingress: [rule(0, 'Deny', { protocol: 6, dst: { notPorts: ports } }), rule(1, 'Allow', { protocol: 17, dst: { ports: [{ first: 53, last: 53 }] } })] });
    r.apply([
      { type: 'policy-updated', policy: p1 },
      { type: 'policy-updated', policy: p2 },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1'], { profiles: [] }), [tier('default', [p1, p2])], []),
    ]);
    await sync(r, nft);
    const one = chainOf(nft, 'pi-gnp.one');
    const two = chainOf(nft, 'pi-gnp.two');
    const portSet = /th dport (@lp-[0-9a-f]{16})/.exec(one[0]!)![1]!;
    expect(one[0]).toMatch(/^meta l4proto tcp ip saddr @l4-[0-9a-f]{16} th dport @lp-[0-9a-f]{16} counter accept$/);
    expect(two[0]).toBe(`meta l4proto tcp th dport != ${portSet} counter drop`);
    expect(two[1]).toBe('meta l4proto udp th dport 53 counter accept');
    const sets = nft.state!.sets;
    expect([...sets.get(portSet.slice(1))!.elements.keys()]).toEqual(['80', '443', '8000-8200']);
    const netSet = /ip saddr @(l4-\S+)/.exec(one[0]!)![1]!;
    expect([...sets.get(netSet)!.elements.keys()]).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    // When no rule uses a list any more, its set goes.
    r.apply([{ type: 'policy-updated', policy: policy('one', { ingress: [] }) }, { type: 'policy-updated', policy: policy('two', { ingress: [] }) }]);
    await sync(r, nft);
    expect([...nft.state!.sets.keys()].filter((n) => n.startsWith('l'))).toEqual([]);
  });
});

describe('netElements', () => {
  it('leaves out members covered by a broader one, and writes host prefixes bare', () => {
    expect([...netElements(['10.0.0.1/32', '10.0.0.0/24', '10.0.1.5/32', '10.0.0.128/25', 'fd00::1/128'], 4)].sort())
      .toEqual(['10.0.0.0/24', '10.0.1.5']);
    expect([...netElements(['fd00::1/128', 'fd00::/64'], 6)]).toEqual(['fd00::/64']);
  });

  it('both families at once (the renderer caches them per IP set) equal netElements per family', () => {
    const v4 = fc.tuple(fc.ipV4(), fc.constantFrom(8, 16, 24, 30, 32, 32, 32)).map(([a, n]) => `${a}/${n}`);
    const v6 = fc.tuple(fc.constantFrom('fd00::1', 'fd00::2', 'fd00:0:0:1::', '2001:db8::5'), fc.constantFrom(48, 64, 128, 128))
      .map(([a, n]) => `${a}/${n}`);
    fc.assert(fc.property(fc.uniqueArray(fc.oneof(v4, v6), { maxLength: 12 }), (members) => {
      // Engine members are canonical CIDRs (network address, host bits clear) — netElements assumes it.
      const canonical = [...new Set(members.map((m) => m.includes(':') || m.endsWith('/32') ? m : canonicalV4(m)))];
      const both = netElementsByFamily(new Set(canonical));
      expect([...both[4]].sort()).toEqual([...netElements(canonical, 4)].sort());
      expect([...both[6]].sort()).toEqual([...netElements(canonical, 6)].sort());
    }));
  });
});

function canonicalV4(cidr: string): string {
  const [addr, len] = cidr.split('/');
  const n = addr!.split('.').reduce((v, o) => v * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  const net = Math.floor(n / size) * size;
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${len}`;
}

describe('Renderer', () => {
  it('installs the fail-closed skeleton first, in one full transaction', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const script = await sync(r, nft);
    expect(script.split('\n').slice(0, 3)).toEqual(['add table inet tabby', 'delete table inet tabby',
      'add table inet tabby { comment "managed by tabby; do not edit" ; }']);
    expect(chainOf(nft, 'fwd-egress')).toEqual(['iifname "cali*" counter iifname vmap @wl-from', 'iifname "cali*" counter drop']);
    expect(chainOf(nft, 'fwd-ingress')).toEqual(['oifname "cali*" counter oifname vmap @wl-to', 'oifname "cali*" counter drop']);
    // Every rule carries a counter and a rule ID.
    for (const { rules } of nft.state!.chains.values()) {
      for (const rule of rules) {
        expect(rule.rule).toMatch(/\bcounter\b/);
        expect(rule.comment).toMatch(/^[0-9a-f]{10} /);
      }
    }
    expect(chainOf(nft, 'out-host')).toEqual(['oifname "cali*" counter accept']);
    expect(nft.state!.maps.get('wl-from')!.elements.size).toBe(0);
  });

  it('renders an endpoint: conntrack, tiers, profiles, final drop; only its own node', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const deny = policy('deny-all', { ingress: [] }, { namespace: 'x' });
    const allowFrom = policy('allow-b', { ingress: [rule(0, 'Allow', { src: { ipSets: ['sel-b'] } })] }, { namespace: 'x' });
    r.apply([
      { type: 'ipset-added', ipSet: { id: 'sel-b', kind: 'net', selector: "pod == 'b'" }, members: ['10.1.0.2/32', 'fd00::2/128'] },
      { type: 'policy-updated', policy: deny },
      { type: 'policy-updated', policy: allowFrom },
      { type: 'profile-updated', profile: allowAll('kns.x') },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1']), [tier('default', [deny, allowFrom])], []),
      endpointUpdate(endpoint('x', 'elsewhere', 'calizzzz', ['10.9.0.1'], { node: 'node2' }), [tier('default', [deny])], []),
    ]);
    await sync(r, nft);
    expect(chainOf(nft, 'wi-caliaaaa')).toEqual([
      'ct state established,related counter accept',
      'ct state invalid counter drop',
      'counter jump ti-caliaaaa-default',
      'counter jump ri-kns.x',
      'counter drop',
    ]);
    expect(chainOf(nft, 'we-caliaaaa')).toEqual([
      'ct state established,related counter accept',
      'ct state invalid counter drop',
      'meta l4proto udp th dport 4789 counter drop',
      'meta l4proto 4 counter drop',
      'counter jump re-kns.x',
      'counter drop',
    ]);
    expect(chainOf(nft, 'ti-caliaaaa-default')).toEqual(['counter jump pi-np.x.deny-all', 'counter jump pi-np.x.allow-b', 'counter drop']);
    const allow = chainOf(nft, 'pi-np.x.allow-b');
    expect(allow).toHaveLength(2);
    expect(allow[0]).toMatch(/^ip saddr @s4-\S+ counter accept$/);
    expect(allow[1]).toMatch(/^ip6 saddr @s6-\S+ counter accept$/);
    expect([...nft.state!.maps.get('wl-to')!.elements.entries()]).toEqual([['"caliaaaa"', { type: 'element', set: 'wl-to', key: '"caliaaaa"', value: 'goto wi-caliaaaa' }]]);
    // Every rule carries a rule ID that maps back to what it enforces.
    const comment = nft.state!.chains.get('pi-np.x.allow-b')!.rules[0]!.comment!;
    const id = comment.split(' ')[0]!;
    expect(r.meanings.get(id)).toMatchObject({ what: 'policy-rule', tier: 'default', direction: 'ingress', index: 0, action: 'Allow', policy: { ref: 'x/allow-b' } });
    expect(comment).toBe(`${id} np:x/allow-b ingress 0 Allow`);
    expect(nft.state!.chains.has('wi-calizzzz')).toBe(false);
  });

  it('updates incrementally: one changed policy rewrites only its chain', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const p = policy('web', { ingress: [rule(0, 'Allow', { protocol: 6, dst: { ports: [{ first: 80, last: 80 }] } })] });
    r.apply([
      { type: 'policy-updated', policy: p },
      { type: 'profile-updated', profile: allowAll('kns.x') },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1']), [tier('default', [p])], []),
      endpointUpdate(endpoint('x', 'b', 'calibbbb', ['10.1.0.2']), [tier('default', [p])], []),
    ]);
    await sync(r, nft);
    const changed = policy('web', { ingress: [rule(0, 'Allow', { protocol: 6, dst: { ports: [{ first: 81, last: 81 }] } })] });
    r.apply([{ type: 'policy-updated', policy: changed }]);
    const script = await sync(r, nft);
    const id = r.meanings.size > 0 ? [...r.meanings.values()].find((m) => m.what === 'policy-rule')!.id : '';
    expect(script).toBe([
      'add table inet tabby',
      'flush chain inet tabby pi-gnp.web',
      `add rule inet tabby pi-gnp.web meta l4proto tcp th dport 81 counter accept comment "${id} gnp:web ingress 0 Allow"`,
      '',
    ].join('\n'));
    // Nothing left to do afterwards.
    r.settle();
    expect(r.ruleset.plan().tx.size).toBe(0);
  });

  it('sends IP set membership changes as element deltas', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const p = policy('from-b', { ingress: [rule(0, 'Allow', { src: { ipSets: ['b'] } })] });
    r.apply([
      { type: 'ipset-added', ipSet: { id: 'b', kind: 'net', selector: 'b' }, members: ['10.1.0.2/32'] },
      { type: 'policy-updated', policy: p },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1'], { profiles: [] }), [tier('default', [p])], []),
    ]);
    await sync(r, nft);
    r.apply([{ type: 'ipset-members', id: 'b', added: ['10.1.0.0/24', '10.1.7.7/32'], removed: ['10.1.0.2/32'] }]);
    const script = await sync(r, nft);
    expect(script).toBe([
      'add table inet tabby',
      'delete element inet tabby s4-b { 10.1.0.2 }',
      'add element inet tabby s4-b { 10.1.0.0/24, 10.1.7.7 }',
      '',
    ].join('\n'));
    // A broader member that covers a narrower one: the narrower one is left out, and comes back when it goes.
    r.apply([{ type: 'ipset-members', id: 'b', added: ['10.1.0.9/32'], removed: [] }]);
    expect((await sync(r, nft)).trim()).toBe('');
    r.apply([{ type: 'ipset-members', id: 'b', added: [], removed: ['10.1.0.0/24'] }]);
    expect(await sync(r, nft)).toBe([
      'add table inet tabby',
      'delete element inet tabby s4-b { 10.1.0.0/24 }',
      'add element inet tabby s4-b { 10.1.0.9 }',
      '',
    ].join('\n'));
  });

  it('never programs staged policies, and a tier of only staged policies takes no part', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const staged = policy('later', { ingress: [rule(0, 'Deny')] }, { kind: 'StagedGlobalNetworkPolicy', tier: 'sec', staged: true });
    r.apply([
      { type: 'policy-updated', policy: staged },
      { type: 'profile-updated', profile: allowAll('kns.x') },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1']), [tier('sec', [staged])], []),
    ]);
    await sync(r, nft);
    expect(chainOf(nft, 'wi-caliaaaa')).not.toContain('counter jump ti-caliaaaa-sec');
    expect([...nft.state!.chains.keys()].filter((n) => n.includes('later'))).toEqual([]);
  });

  it('inlines a policy with Pass rules into its tier chain, Pass = return; a Pass tier has no end-of-tier drop', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const pass = policy('pass-web', { ingress: [rule(0, 'Pass', { protocol: 6 }), rule(1, 'Deny', { protocol: 17 })] }, { tier: 'admin' });
    const other = policy('other', { ingress: [rule(0, 'Log')] }, { tier: 'open' });
    r.apply([
      { type: 'policy-updated', policy: pass },
      { type: 'policy-updated', policy: other },
      { type: 'profile-updated', profile: allowAll('kns.x') },
      endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1']), [tier('admin', [pass]), tier('open', [other], 'Pass')], []),
    ]);
    await sync(r, nft);
    expect(chainOf(nft, 'ti-caliaaaa-admin')).toEqual(['meta l4proto tcp counter return', 'meta l4proto udp counter drop', 'counter drop']);
    expect(chainOf(nft, 'ti-caliaaaa-open')).toEqual(['counter jump pi-gnp.other']);
    expect(chainOf(nft, 'pi-gnp.other')[0]).toMatch(/^counter log prefix "L [0-9a-f]{10}" group 3 snaplen 80 queue-threshold 1$/);
    expect(nft.state!.chains.has('pi-gnp.pass-web')).toBe(false);
  });

  it('removes an endpoint with everything only it used, in one transaction the kernel accepts', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    const p = policy('from-b', { ingress: [rule(0, 'Allow', { src: { ipSets: ['b'] } })] });
    const ep = endpoint('x', 'a', 'caliaaaa', ['10.1.0.1']);
    r.apply([
      { type: 'ipset-added', ipSet: { id: 'b', kind: 'net', selector: 'b' }, members: ['10.1.0.2/32'] },
      { type: 'policy-updated', policy: p },
      { type: 'profile-updated', profile: allowAll('kns.x') },
      endpointUpdate(ep, [tier('default', [p])], []),
    ]);
    await sync(r, nft);
    const before = nft.dump();
    r.apply([{ type: 'endpoint-removed', ref: ep.ref }]);
    await sync(r, nft);
    const fresh = new Renderer({ node: 'node1' });
    const empty = new FakeNft();
    await sync(fresh, empty);
    expect(nft.dump()).toBe(empty.dump());
    expect(before).not.toBe(empty.dump());
  });

  it('fails closed for a profile that is referenced but missing', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    r.apply([endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1'], { profiles: ['ghost'] }), [], [])]);
    await sync(r, nft);
    expect(chainOf(nft, 'ri-ghost')).toEqual(['counter drop']);
  });

  it('renders the owner of a contested interface only: the lowest endpoint ref', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    r.apply([
      { type: 'profile-updated', profile: allowAll('kns.x') },
      { type: 'profile-updated', profile: allowAll('kns.y') },
      endpointUpdate(endpoint('y', 'b', 'calishared', ['10.1.0.2']), [], []),
      endpointUpdate(endpoint('x', 'a', 'calishared', ['10.1.0.1']), [], []),
    ]);
    await sync(r, nft);
    expect(chainOf(nft, 'wi-calishared')).toContain('counter jump ri-kns.x');
    r.apply([{ type: 'endpoint-removed', ref: 'x/a' }]);
    await sync(r, nft);
    expect(chainOf(nft, 'wi-calishared')).toContain('counter jump ri-kns.y');
  });

  it('keeps failed changes pending and retries them', async () => {
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    await sync(r, nft);
    r.apply([{ type: 'profile-updated', profile: allowAll('kns.x') }, endpointUpdate(endpoint('x', 'a', 'caliaaaa', ['10.1.0.1']), [], [])]);
    r.settle();
    const plan = r.ruleset.plan();
    nft.failNext = () => new NftError('unknown', 'injected');
    await expect(nft.run(plan.tx)).rejects.toThrow('injected');
    expect(r.ruleset.pending).toBe(true);
    const retry = r.ruleset.plan();
    expect(retry.tx.toString()).toBe(plan.tx.toString());
    await nft.run(retry.tx);
    retry.commit();
    expect(r.ruleset.pending).toBe(false);
  });
});
