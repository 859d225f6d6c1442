// Property (issue 11 §3): the reachability impact agrees with a brute-force evaluation over the endpoints and
// the outside classes' representative addresses — for every probe, every ordered pair of compared endpoints and
// every endpoint with every representative (both directions), the engine's verdict before and after, enforced
// and pending: the impact lists exactly the flows whose verdict changes and counts them exactly. Clusters carry
// what makes outside addresses differ: network sets (matched by rule selectors), nets and notNets that nest and
// overlap, IPv6, and deny-all / allow-all policies.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { reachabilityImpact } from '../../src/analysis/index.js';
import type { Resource } from '../../src/api/index.js';
import { PolicyEngine, type FlowPeer } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';
const NETS = ['203.0.113.0/24', '203.0.113.128/25', '203.0.113.7/32', '198.51.100.0/24', '10.1.0.0/16', '0.0.0.0/0', '2001:db8::/32', '2001:db8:1::/48'];
const SET_NETS = ['203.0.113.0/24', '198.51.100.0/25', '192.0.2.0/24', '2001:db8:1::/48', '10.1.0.0/24'];
const SELECTORS = ["feed == 'bad'", "feed == 'good'", 'has(feed)', "app == 'web'", 'all()'];

const nets = (v6: boolean) => fc.subarray(NETS.filter((n) => n.includes(':') === v6 && n !== '0.0.0.0/0'), { minLength: 1, maxLength: 2 });

const entityArb = fc.boolean().chain((v6) => fc.record({
  selector: fc.option(fc.constantFrom(...SELECTORS), { nil: undefined }),
  nets: fc.option(fc.oneof(nets(v6), fc.constant(v6 ? ['::/0'] : ['0.0.0.0/0'])), { nil: undefined }),
  notNets: fc.option(nets(v6), { nil: undefined }),
  ports: fc.option(fc.constantFrom([443], [80, 8080], ['1000:2000']), { nil: undefined }),
}));

const ruleArb = fc.record({ action: fc.constantFrom('Allow', 'Allow', 'Deny', 'Pass'), source: fc.option(entityArb, { nil: undefined }), destination: fc.option(entityArb, { nil: undefined }) })
  .map(({ action, source, destination }) => {
    const clean = (e: Record<string, unknown> | undefined, ports: boolean) => {
      if (!e) return undefined;
      const out = Object.fromEntries(Object.entries(e).filter(([k, v]) => v !== undefined && (ports || k !== 'ports')));
      return Object.keys(out).length > 0 ? out : undefined;
    };
    const src = clean(source, false);
    const dst = clean(destination, true);
    return { action, ...(dst && 'ports' in dst ? { protocol: 'TCP' } : {}), ...(src && { source: src }), ...(dst && { destination: dst }) };
  });

const policyArb = (name: string) => fc.record({
  order: fc.integer({ min: 1, max: 5 }),
  selector: fc.constantFrom('all()', "app == 'web'", "app == 'db'"),
  types: fc.constantFrom<string[]>(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
  ingress: fc.array(ruleArb, { maxLength: 2 }),
  egress: fc.array(ruleArb, { maxLength: 2 }),
  staged: fc.boolean(),
}).map((p): Resource => ({
  apiVersion: V3, kind: p.staged ? 'StagedGlobalNetworkPolicy' : 'GlobalNetworkPolicy', metadata: { name },
  spec: {
    order: p.order, selector: p.selector, types: p.types,
    ...(p.types.includes('Ingress') && { ingress: p.ingress }), ...(p.types.includes('Egress') && { egress: p.egress }),
  },
}) as unknown as Resource);

const setArb = (name: string) => fc.record({ feed: fc.constantFrom('bad', 'good'), nets: fc.subarray(SET_NETS, { minLength: 1, maxLength: 2 }) })
  .map((s): Resource => ({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name, labels: { feed: s.feed } }, spec: { nets: s.nets } }) as Resource);

const sideArb = (policies: string[], sets: string[]) => fc.tuple(
  fc.subarray(policies).chain((names) => fc.tuple(...names.map(policyArb))),
  fc.subarray(sets).chain((names) => fc.tuple(...names.map(setArb))),
).map(([p, s]) => [...p, ...s]);

const clusterArb = fc.record({
  pods: fc.array(fc.record({ app: fc.constantFrom('web', 'db'), v6: fc.boolean() }), { minLength: 1, maxLength: 3 }),
  before: sideArb(['p1', 'p2', 'p3'], ['s1', 's2']),
  after: sideArb(['p1', 'p2', 'p4'], ['s1', 's3']),
});

function pods(list: Array<{ app: string; v6: boolean }>): Resource[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } as Resource,
    ...list.map((p, i) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'x', labels: { app: p.app } },
      spec: { nodeName: 'n1', containers: [{ name: 'c' }] },
      // 10.1.0.x sits inside a named net: the representative of 10.1.0.0/24 must not be a pod's address.
      status: { podIP: `10.1.0.${i + 1}`, ...(p.v6 && { podIPs: [{ ip: `10.1.0.${i + 1}` }, { ip: `2001:db8:1::${i + 1}` }] }) },
    }) as Resource),
  ];
}

describe('reachability impact = brute force over endpoints and outside representatives', () => {
  it('lists exactly the flows whose verdict changes, enforced and pending, and counts them', () => {
    let flows = 0;
    let outside = 0;
    fc.assert(fc.property(clusterArb, (c) => {
      const b = [...pods(c.pods), ...c.before];
      const a = [...pods(c.pods), ...c.after];
      const impact = reachabilityImpact(b, a, { limit: 1_000_000, maxProbes: 64 });
      if (!impact.changed) return;
      const eb = new PolicyEngine();
      eb.load(b);
      const ea = new PolicyEngine();
      ea.load(a);
      const refs = ea.endpoints().map((e) => e.ref);
      const ends: Array<[FlowPeer, FlowPeer, string, string]> = [];
      for (const from of refs) for (const to of refs) if (from !== to) ends.push([from, to, from, to]);
      for (const x of impact.external) {
        for (const ref of refs) {
          ends.push([ref, { ip: x.address }, ref, x.address], [{ ip: x.address }, ref, x.address, ref]);
        }
      }
      const expected = new Set<string>();
      const counts = { allowed: 0, denied: 0, pendingAllowed: 0, pendingDenied: 0 };
      for (const probe of impact.probes) {
        for (const [from, to, fromText, toText] of ends) {
          const flow = { from, to, protocol: probe.protocol, ...(probe.port !== undefined && { port: probe.port }) };
          const vb = eb.evaluate(flow);
          const va = ea.evaluate(flow);
          // No address family in common: no connection on either side.
          if (!vb.ok && !va.ok && vb.issues[0]?.code === 'flow.no-common-family') continue;
          if (!vb.ok || !va.ok) throw new Error(JSON.stringify(vb.ok ? va : vb));
          const e = vb.value.verdict !== va.value.verdict;
          const p = impact.pendingCompared && vb.value.pending.verdict !== va.value.pending.verdict;
          if (e) counts[va.value.verdict === 'Allow' ? 'allowed' : 'denied']++;
          if (p) counts[va.value.pending.verdict === 'Allow' ? 'pendingAllowed' : 'pendingDenied']++;
          if (e || p) expected.add(`${fromText}|${toText}|${probe.protocol}/${probe.port ?? ''}|${e}|${p}`);
        }
      }
      const got = new Set(impact.flows.map((f) => `${f.from}|${f.to}|${f.protocol}/${f.port ?? ''}|${f.enforced !== null}|${f.pending !== null}`));
      expect([...got].sort()).toEqual([...expected].sort());
      expect(impact.counts).toEqual(counts);
      expect(impact.flowsLeftOut).toBe(0);
      flows += got.size;
      outside += impact.flows.filter((f) => f.external).length;
    }), { numRuns: 150 });
    console.log(`impact external property: ${flows} changed flows checked, ${outside} with an outside end`);
    expect(outside).toBeGreaterThan(50);
  });
});
