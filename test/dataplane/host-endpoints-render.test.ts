// Host-endpoint chains on FakeNft (no root): after any sequence of host endpoint, profile and policy changes fed
// through the real engine, the incrementally maintained table equals a fresh full render of the same resources —
// every stage (normal, applyOnForward, preDNAT, doNotTrack), named interfaces and `*`, interface takeovers.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/index.js';
import { FakeNft } from '../../src/dataplane/nft/index.js';
import { Renderer } from '../../src/dataplane/render/index.js';
import { PolicyEngine } from '../../src/engine/index.js';
import { Tracer } from './tracer.js';

async function sync(r: Renderer, nft: FakeNft): Promise<void> {
  r.settle();
  const plan = r.ruleset.plan();
  await nft.run(plan.tx);
  plan.commit();
}

const contents = (nft: FakeNft): unknown => ({
  chains: [...nft.state!.chains].map(([n, c]) => [n, c.rules.map((r) => `${r.rule} # ${r.comment}`)]).sort(),
  sets: [...nft.state!.sets].map(([n, s]) => [n, [...s.elements.keys()].sort()]).sort(),
  maps: [...nft.state!.maps].map(([n, m]) => [n, [...m.elements.entries()].map(([k, v]) => `${k}:${JSON.stringify(v)}`).sort()]).sort(),
});

const HEPS: Record<string, Resource> = Object.fromEntries([
  ['a', { interfaceName: 'eth0' }, { role: 'host' }],
  ['b', { interfaceName: 'eth0', profiles: ['open'] }, { role: 'host' }],
  ['c', { interfaceName: 'eth1', expectedIPs: ['172.31.0.9'] }, { role: 'other' }],
  ['d', { interfaceName: '*', profiles: ['open'] }, { role: 'host' }],
  ['e', { interfaceName: 'eth0', node: 'node2' }, { role: 'host' }],
].map(([name, spec, labels]) => [name as string, {
  apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name, labels },
  spec: { node: 'node1', ...(spec as object) },
} as unknown as Resource]));

const POLICIES: Record<string, Resource> = Object.fromEntries(([
  ['normal', { types: ['Ingress', 'Egress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }], egress: [{ action: 'Deny' }] }],
  ['pass', { order: 5, types: ['Ingress'], ingress: [{ action: 'Pass', source: { selector: 'role == "other"' } }, { action: 'Deny' }] }],
  ['fwd', { applyOnForward: true, types: ['Ingress', 'Egress'], ingress: [{ action: 'Deny', protocol: 'UDP' }], egress: [{ action: 'Allow' }] }],
  ['pre', { preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny', source: { nets: ['10.0.0.0/8'] } }] }],
  ['untracked', { doNotTrack: true, applyOnForward: true, types: ['Ingress', 'Egress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }], egress: [{ action: 'Allow' }] }],
] as const).map(([name, spec]) => [name, {
  apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name },
  spec: { selector: 'role == "host"', ...spec },
} as unknown as Resource]));

const PROFILE = { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'open' }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } } as unknown as Resource;

const ALL: Record<string, Resource> = { ...Object.fromEntries(Object.entries(HEPS).map(([k, v]) => [`hep:${k}`, v])), ...Object.fromEntries(Object.entries(POLICIES).map(([k, v]) => [`gnp:${k}`, v])), profile: PROFILE };

describe('host-endpoint chains: incremental == full render', () => {
  it('after every change of host endpoints, profiles and policies of every stage', async () => {
    const keys = Object.keys(ALL);
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ key: fc.constantFrom(...keys), put: fc.boolean() }), { minLength: 1, maxLength: 14 }), async (steps) => {
      const present = new Set<string>();
      const engine = new PolicyEngine();
      engine.load([]);
      const r = new Renderer({ node: 'node1' });
      const nft = new FakeNft();
      r.apply(engine.flush());
      await sync(r, nft);
      for (const s of steps) {
        const res = ALL[s.key]!;
        if (s.put) {
          present.add(s.key);
          engine.apply({ type: 'upsert', resource: res });
        } else {
          present.delete(s.key);
          engine.apply({ type: 'delete', key: { kind: res.kind as never, name: res.metadata.name } as never });
        }
        r.apply(engine.flush());
        await sync(r, nft);
        const fresh = new PolicyEngine();
        fresh.load([...present].map((k) => ALL[k]!));
        const full = new Renderer({ node: 'node1' });
        const fullNft = new FakeNft();
        full.apply(fresh.flush());
        await sync(full, fullNft);
        expect(contents(nft)).toEqual(contents(fullNft));
      }
    }), { numRuns: 60 });
  });

  it('renders each stage where dataplane.md §1.12 puts it', async () => {
    const engine = new PolicyEngine();
    engine.load([HEPS.a!, HEPS.d!, PROFILE, ...Object.values(POLICIES)]);
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    r.apply(engine.flush());
    await sync(r, nft);
    const chains = [...nft.state!.chains.keys()];
    // eth0 (a): every stage; * (d): all but untracked (ignored on an all-interfaces endpoint).
    for (const c of ['hni-eth0', 'hne-eth0', 'hfi-eth0', 'hfe-eth0', 'hpi-eth0', 'hui-eth0', 'hue-eth0', 'hni.all', 'hne.all', 'hfi.all', 'hpi.all']) {
      expect(chains, c).toContain(c);
    }
    expect(chains).not.toContain('hui.all');
    expect(chains).not.toContain('hpe-eth0');
    const rules = (name: string): string[] => nft.state!.chains.get(name)!.rules.map((x) => x.rule);
    expect(rules('hni-eth0').slice(0, 3)).toEqual(['ct state established,related counter accept', 'ct state invalid counter drop', 'counter jump failsafe-in']);
    expect(rules('hni-eth0').at(-1)).toMatch(/drop$/);
    expect(rules('hui-eth0')[0]).toBe('counter jump failsafe-raw-in');
    expect(rules('failsafe-raw-in')).toContain('udp sport 53 counter accept');
    expect(rules('failsafe-in')).toContain('tcp dport 22 counter accept');
    expect(rules('hep-in-any')).toEqual(['counter goto hni.all']);
    expect([...nft.state!.maps.get('hep-in')!.elements.keys()]).toEqual(['"eth0"']);
  });
});

describe('a named host endpoint owns its interface in every stage', () => {
  // Regression: a named endpoint whose forward (or preDNAT, untracked) stage had no policy got no map element, so
  // its interface fell to the all-interfaces endpoint's chain of that stage — while the engine (and Felix's
  // endpoint_mgr.go) resolve the interface to the named endpoint alone.
  it('forwarded traffic through eth0 is not policed by the * endpoint when the eth0 endpoint has no applyOnForward policy', async () => {
    const star = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'star', labels: { role: 'star' } }, spec: { node: 'node1', interfaceName: '*' } } as unknown as Resource;
    const eth0 = { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'eth0', labels: { role: 'named' } }, spec: { node: 'node1', interfaceName: 'eth0' } } as unknown as Resource;
    const fwdDeny = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'star-fwd-deny' }, spec: {
      selector: 'role == "star"', applyOnForward: true, types: ['Ingress', 'Egress'], ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }],
    } } as unknown as Resource;
    const preDeny = { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'star-pre-deny' }, spec: {
      selector: 'role == "star"', preDNAT: true, applyOnForward: true, types: ['Ingress'], ingress: [{ action: 'Deny' }],
    } } as unknown as Resource;
    const engine = new PolicyEngine();
    engine.load([star, eth0, fwdDeny, preDeny]);
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    r.apply(engine.flush());
    await sync(r, nft);
    const element = (map: string): unknown => nft.state!.maps.get(map)!.elements.get('"eth0"')?.value;
    for (const map of ['hepfw-in', 'hepfw-out', 'hep-pre', 'hep-raw-in', 'hep-raw-out']) expect(element(map), map).toBe('accept');
    expect(element('hep-in')).toBe('goto hni-eth0');
    const packet = { family: 4, saddr: '172.31.0.9', daddr: '10.65.0.2', proto: 6, sport: 40000, dport: 80, ct: 'new' } as const;
    // eth0 → eth1: eth0's own (empty) forward stage accepts; eth1 has no named endpoint, so * polices it.
    expect(new Tracer(nft.state!).forward({ ...packet, iif: 'eth0', oif: 'eth9' }).verdict).toBe('drop');
    expect(new Tracer(nft.state!).forward({ ...packet, iif: 'eth9', oif: 'eth0' }).verdict).toBe('drop');
    // Forwarded eth0 → eth0 (hairpin through the host): named on both sides, no forward policy: allowed.
    expect(new Tracer(nft.state!).forward({ ...packet, iif: 'eth0', oif: 'eth0' }).verdict).toBe('accept');
  });
});

describe('a host endpoint with expectedIPs and no interface name', () => {
  const hepOf = (name: string, spec: Record<string, unknown>): Resource =>
    ({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name, labels: { role: 'host' } }, spec: { node: 'node1', ...spec } }) as unknown as Resource;

  it('governs the interfaces holding one of them (never lo or a workload veth); the first ref wins over a named endpoint', async () => {
    const engine = new PolicyEngine();
    engine.load([hepOf('b-by-ip', { expectedIPs: ['172.31.0.2', 'fd00:ab::2'] }), PROFILE]);
    const r = new Renderer({ node: 'node1' });
    const nft = new FakeNft();
    r.apply(engine.flush());
    await sync(r, nft);
    const elements = (): string[] => [...nft.state!.maps.get('hep-in')!.elements].map(([k, v]) => `${k}:${v.value}`).sort();
    expect(elements()).toEqual([]);
    r.setHostInterfaces(new Map([
      ['lo', ['127.0.0.1', '172.31.0.2']], ['cali1234', ['172.31.0.2']], ['eth0', ['172.31.0.2']], ['eth1', ['FD00:AB:0::2']], ['eth2', ['10.9.9.9']],
      // Linux allows a quote in a name; quoted into a map element it would add an element of its own.
      ['x":accept,"', ['172.31.0.2']],
    ]));
    await sync(r, nft);
    expect(elements()).toEqual(['"eth0":goto hni-eth0', '"eth1":goto hni-eth1']);
    // A named endpoint whose name sorts first takes eth0; one that sorts after does not.
    engine.apply({ type: 'upsert', resource: hepOf('a-named', { interfaceName: 'eth0', profiles: ['open'] }) });
    engine.apply({ type: 'upsert', resource: hepOf('c-named', { interfaceName: 'eth1', profiles: ['open'] }) });
    r.apply(engine.flush());
    await sync(r, nft);
    expect(nft.state!.chains.get('hni-eth0')!.rules.some((x) => x.rule.includes('ri-open'))).toBe(true);
    expect(nft.state!.chains.get('hni-eth1')!.rules.some((x) => x.rule.includes('ri-open'))).toBe(false);
    // The address leaves eth1: its chains go.
    r.setHostInterfaces(new Map([['eth0', ['172.31.0.2']], ['eth1', []]]));
    await sync(r, nft);
    expect(elements()).toEqual(['"eth0":goto hni-eth0', '"eth1":goto hni-eth1']);
    engine.apply({ type: 'delete', key: { kind: 'HostEndpoint', name: 'c-named' } as never });
    r.apply(engine.flush());
    await sync(r, nft);
    expect(elements()).toEqual(['"eth0":goto hni-eth0']);
  });
});
