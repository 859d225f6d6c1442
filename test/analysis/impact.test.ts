// The reachability impact of a change (src/analysis/impact.ts): scenario tests a Calico user would recognise,
// and a property that checks both claims the analysis rests on against the engine, flow by flow:
//   * every listed flow really changes its verdict, and the counts are exact on the probes;
//   * one port per cell decides the cell: for any port, a pair's verdict before and after equals the verdict on
//     the probe that stands for that port (the cell's first port, or the "other" probe), so a change on any
//     port shows up on some probe.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { reachabilityImpact, type FlowImpact, type ReachabilityImpact } from '../../src/analysis/index.js';
import type { Resource } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';

function ns(name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } as Resource;
}

function pod(namespace: string, name: string, ip: string, labels: Record<string, string>, ports: Array<[string, number]> = []): Resource {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: ports.map(([n, p]) => ({ name: n, containerPort: p })) }] },
    status: { podIP: ip },
  } as Resource;
}

function gnp(name: string, spec: Record<string, unknown>): Resource {
  return { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name }, spec } as Resource;
}

function np(namespace: string, name: string, spec: Record<string, unknown>, kind = 'NetworkPolicy'): Resource {
  return { apiVersion: V3, kind, metadata: { name, namespace }, spec } as Resource;
}

const SHOP = [
  ns('shop'),
  pod('shop', 'frontend', '10.0.0.1', { app: 'frontend' }),
  pod('shop', 'backend', '10.0.0.2', { app: 'backend' }, [['http', 8080]]),
  pod('shop', 'db', '10.0.0.3', { app: 'db' }),
  np('shop', 'backend-from-frontend', {
    order: 100, selector: "app == 'backend'",
    ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "app == 'frontend'" }, destination: { ports: ['http'] } }],
  }),
];

const line = (f: FlowImpact) => `${f.from} → ${f.to} ${f.protocol}/${f.port ?? ''}${f.stands === 'other' ? '*' : ''}: ` +
  `${f.enforced ? `${f.enforced.before.verdict}→${f.enforced.after.verdict}` : '-'} ${f.pending ? `pending ${f.pending.before.verdict}→${f.pending.after.verdict}` : ''}`.trim();

describe('reachability impact', () => {
  it('reports nothing when the resources do not change (server fields aside)', () => {
    const stored = SHOP.map((r) => ({ ...r, metadata: { ...r.metadata, resourceVersion: '7', uid: 'u' } }) as Resource);
    const impact = reachabilityImpact(stored, SHOP);
    expect(impact.changed).toBe(false);
    expect(impact.flows).toEqual([]);
  });

  it('a default deny: which flows it closes, on which ports, and what now denies them', () => {
    const deny = gnp('default-deny', { order: 1000, selector: "projectcalico.org/namespace == 'shop'", types: ['Ingress', 'Egress'] });
    const impact = reachabilityImpact(SHOP, [...SHOP, deny]);
    expect(impact.probes).toEqual([
      { protocol: 'TCP', port: 8080, stands: 'named' },
      { protocol: 'TCP', port: 1024, stands: 'other' },
    ]);
    expect(impact.endpoints).toEqual({ compared: 3, added: [], removed: [] });
    // No policy names an address: the outside world is one class, anywhere else, represented by 1.0.0.1.
    expect(impact.external).toEqual([{ address: '1.0.0.1', cidr: '0.0.0.0/0', namedBy: [], class: '0.0.0.0/0 outside every named net' }]);
    // 6 ordered pairs × 2 probes = 12 flows, all allowed before except frontend → backend on other ports and the
    // two flows into backend from db: backend's ingress allowed only frontend on http. And each pod to and from
    // the outside (× 2 probes), except into backend, which was already closed.
    expect(impact.flows.map(line)).toEqual([
      'shop/backend → shop/db TCP/8080: Allow→Deny',
      'shop/backend → shop/db TCP/1024*: Allow→Deny',
      'shop/backend → shop/frontend TCP/8080: Allow→Deny',
      'shop/backend → shop/frontend TCP/1024*: Allow→Deny',
      'shop/backend → 1.0.0.1 TCP/8080: Allow→Deny',
      'shop/backend → 1.0.0.1 TCP/1024*: Allow→Deny',
      'shop/db → shop/frontend TCP/8080: Allow→Deny',
      'shop/db → shop/frontend TCP/1024*: Allow→Deny',
      'shop/db → 1.0.0.1 TCP/8080: Allow→Deny',
      'shop/db → 1.0.0.1 TCP/1024*: Allow→Deny',
      'shop/frontend → shop/backend TCP/8080: Allow→Deny',
      'shop/frontend → shop/db TCP/8080: Allow→Deny',
      'shop/frontend → shop/db TCP/1024*: Allow→Deny',
      'shop/frontend → 1.0.0.1 TCP/8080: Allow→Deny',
      'shop/frontend → 1.0.0.1 TCP/1024*: Allow→Deny',
      '1.0.0.1 → shop/db TCP/8080: Allow→Deny',
      '1.0.0.1 → shop/db TCP/1024*: Allow→Deny',
      '1.0.0.1 → shop/frontend TCP/8080: Allow→Deny',
      '1.0.0.1 → shop/frontend TCP/1024*: Allow→Deny',
    ]);
    expect(impact.flows.find((x) => x.to === '1.0.0.1')!.external).toEqual({
      end: 'to', address: '1.0.0.1', cidr: '0.0.0.0/0', namedBy: [], class: '0.0.0.0/0 outside every named net',
    });
    expect(impact.counts).toEqual({ allowed: 0, denied: 19, pendingAllowed: 0, pendingDenied: 0 });
    expect(impact.flowsLeftOut).toBe(0);
    // frontend → backend on 8080: backend's ingress still allows it; frontend's egress now hits the end of tier.
    const f = impact.flows.find((x) => x.from === 'shop/frontend' && x.to === 'shop/backend')!;
    expect(f.enforced!.before).toEqual({
      verdict: 'Allow',
      egress: { action: 'Allow', profile: 'kns.shop', rule: 0 },
      ingress: { action: 'Allow', tier: 'default', kind: 'NetworkPolicy', policy: 'shop/backend-from-frontend', rule: 0 },
    });
    expect(f.enforced!.after.egress).toEqual({ action: 'Deny', tier: 'default', kind: 'GlobalNetworkPolicy', policy: 'default-deny', rule: -1 });
    expect(f.enforced!.after.ingress).toEqual(f.enforced!.before.ingress);
    expect(f.pending).toBeNull();
    expect(impact.pendingCompared).toBe(false);
  });

  it('removing an allow: the flows it allowed, now denied by the end of the tier', () => {
    const impact = reachabilityImpact(SHOP, SHOP.filter((r) => r.metadata.name !== 'backend-from-frontend'));
    // Without the policy backend has no policy: its profile allows everything, so flows into it open up.
    expect(impact.flows.map(line)).toEqual([
      'shop/db → shop/backend TCP/8080: Deny→Allow',
      'shop/db → shop/backend TCP/1024*: Deny→Allow',
      'shop/frontend → shop/backend TCP/1024*: Deny→Allow',
      '1.0.0.1 → shop/backend TCP/8080: Deny→Allow',
      '1.0.0.1 → shop/backend TCP/1024*: Deny→Allow',
    ]);
    expect(impact.flows[0]!.enforced!.after.ingress).toEqual({ action: 'Allow', profile: 'kns.shop', rule: 0 });
    expect(impact.counts).toMatchObject({ allowed: 5, denied: 0 });
  });

  it('a staged policy changes pending verdicts only', () => {
    const staged = np('shop', 'lock-db', { selector: "app == 'db'", ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [5432] } }] }, 'StagedNetworkPolicy');
    const impact = reachabilityImpact(SHOP, [...SHOP, staged]);
    expect(impact.pendingCompared).toBe(true);
    // Enforced, the policy would be db's only one in the tier: what its rule does not deny ends the tier, so every
    // port is denied into db, not only 5432.
    expect(impact.counts).toEqual({ allowed: 0, denied: 0, pendingAllowed: 0, pendingDenied: 9 });
    expect(impact.flows.map(line)).toEqual([
      'shop/backend → shop/db TCP/5432: - pending Allow→Deny',
      'shop/backend → shop/db TCP/8080: - pending Allow→Deny',
      'shop/backend → shop/db TCP/1024*: - pending Allow→Deny',
      'shop/frontend → shop/db TCP/5432: - pending Allow→Deny',
      'shop/frontend → shop/db TCP/8080: - pending Allow→Deny',
      'shop/frontend → shop/db TCP/1024*: - pending Allow→Deny',
      '1.0.0.1 → shop/db TCP/5432: - pending Allow→Deny',
      '1.0.0.1 → shop/db TCP/8080: - pending Allow→Deny',
      '1.0.0.1 → shop/db TCP/1024*: - pending Allow→Deny',
    ]);
    expect(impact.flows[0]!.pending!.after.ingress).toEqual({
      action: 'Deny', tier: 'default', kind: 'StagedNetworkPolicy', policy: 'shop/lock-db', rule: 0,
    });
    expect(impact.flows[1]!.pending!.after.ingress).toMatchObject({ policy: 'shop/lock-db', rule: -1 });
    expect(impact.flows[1]!.enforced).toBeNull();
  });

  it('probes each port a named port resolves to, and lists new and removed endpoints apart', () => {
    const before = [...SHOP, pod('shop', 'old', '10.0.0.9', { app: 'backend' }, [['http', 9090]])];
    const after = [...SHOP, pod('shop', 'new', '10.0.0.8', { app: 'backend' }, [['http', 8443]])];
    const impact = reachabilityImpact(before, after);
    // http is 8080 on backend, 9090 on old (before) and 8443 on new (after): each is a cell of its own.
    expect(impact.probes.map((p) => `${p.protocol}/${p.port}${p.stands === 'other' ? '*' : ''}`)).toEqual(['TCP/8080', 'TCP/8443', 'TCP/9090', 'TCP/1024*']);
    expect(impact.endpoints).toEqual({ compared: 3, added: ['shop/new'], removed: ['shop/old'] });
    // The policy and the compared pods are as they were: nothing changes between them.
    expect(impact.flows).toEqual([]);
  });

  it('a tier reordering changes which verdict wins', () => {
    const tiers = (adminOrder: number): Resource[] => [
      { apiVersion: V3, kind: 'Tier', metadata: { name: 'admin' }, spec: { order: adminOrder, defaultAction: 'Pass' } } as Resource,
      { apiVersion: V3, kind: 'Tier', metadata: { name: 'app' }, spec: { order: 200, defaultAction: 'Pass' } } as Resource,
      gnp('admin-block', { tier: 'admin', selector: "app == 'db'", ingress: [{ action: 'Deny', source: { selector: "app == 'frontend'" } }] }),
      gnp('app-allow', { tier: 'app', selector: "app == 'db'", ingress: [{ action: 'Allow', source: { selector: "app == 'frontend'" } }] }),
    ];
    const impact = reachabilityImpact([...SHOP, ...tiers(100)], [...SHOP, ...tiers(300)]);
    expect(impact.flows.map(line)).toEqual([
      'shop/frontend → shop/db TCP/8080: Deny→Allow',
      'shop/frontend → shop/db TCP/1024*: Deny→Allow',
    ]);
    expect(impact.flows[0]!.enforced!.after.ingress).toMatchObject({ tier: 'app', policy: 'app-allow', rule: 0 });
  });

  it('caps the probes, lists flows up to the limit and counts them all', () => {
    const ports = Array.from({ length: 30 }, (_, i) => 2000 + i);
    const allow = gnp('many', { selector: "app == 'db'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports } }] });
    const impact: ReachabilityImpact = reachabilityImpact(SHOP, [...SHOP, allow], { maxProbes: 5, limit: 1 });
    expect(impact.probes).toHaveLength(5);
    expect(impact.probes.some((p) => p.stands === 'other')).toBe(true);
    // 30 new ports and backend's http (8080), one other port: 32 wanted.
    expect(impact.probesLeftOut).toBe(27);
    expect(impact.notes[0]).toMatch(/^27 more ports named by the policies were not probed/);
    // db's ingress now ends in the tier's Deny except on the allowed ports: two pods and the outside, on the
    // other port.
    expect(impact.counts).toMatchObject({ allowed: 0, denied: 3 });
    expect(impact.flows.map(line)).toEqual(['shop/backend → shop/db TCP/1024*: Allow→Deny']);
    expect(impact.flowsLeftOut).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property: against the engine, flow by flow.

const PORT_POOL: Array<number | string> = [80, 443, 8080, 'http', '1000:2000', '1500:3000', 53];
const SELECTORS = ['all()', "app == 'web'", "app == 'db'", "app != 'db'", 'has(tier)'];
const labelsArb = fc.record({ app: fc.constantFrom('web', 'db', 'api'), tier: fc.constantFrom(undefined, 'fe') })
  .map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) as Record<string, string>);

const ruleArb = fc.record({
  action: fc.constantFrom('Allow', 'Deny', 'Pass'),
  protocol: fc.constantFrom('TCP', 'UDP', undefined),
  ports: fc.option(fc.subarray(PORT_POOL, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  notPorts: fc.option(fc.subarray(PORT_POOL, { minLength: 1, maxLength: 1 }), { nil: undefined }),
  selector: fc.option(fc.constantFrom(...SELECTORS), { nil: undefined }),
}).map((r) => {
  const protocol = r.protocol ?? (r.ports || r.notPorts ? 'TCP' : undefined);
  return {
    action: r.action, ...(protocol && { protocol }),
    ...(r.selector && { source: { selector: r.selector } }),
    ...((r.ports || r.notPorts) && { destination: { ...(r.ports && { ports: r.ports }), ...(r.notPorts && { notPorts: r.notPorts }) } }),
  };
});

const policyArb = (name: string) => fc.record({
  order: fc.integer({ min: 1, max: 5 }),
  selector: fc.constantFrom(...SELECTORS),
  ingress: fc.array(ruleArb, { maxLength: 2 }),
  egress: fc.array(ruleArb, { maxLength: 1 }),
  staged: fc.boolean(),
}).map((p): Resource => ({
  apiVersion: V3, kind: p.staged ? 'StagedGlobalNetworkPolicy' : 'GlobalNetworkPolicy', metadata: { name },
  spec: { order: p.order, selector: p.selector, ingress: p.ingress, egress: p.egress, types: ['Ingress', 'Egress'] },
}) as Resource);

const clusterArb = fc.record({
  pods: fc.array(fc.record({ labels: labelsArb, http: fc.constantFrom(8080, 9000, 1500) }), { minLength: 2, maxLength: 4 }),
  before: fc.array(fc.constantFrom('p1', 'p2', 'p3'), { maxLength: 3 }).chain((names) =>
    fc.tuple(...[...new Set(names)].map(policyArb))),
  after: fc.array(fc.constantFrom('p1', 'p2', 'p4'), { maxLength: 3 }).chain((names) =>
    fc.tuple(...[...new Set(names)].map(policyArb))),
});

function verdicts(engine: PolicyEngine, from: string | { ip: string }, to: string | { ip: string }, protocol: string, port: number): [string, string] {
  const r = engine.evaluate({ from, to, protocol, port });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return [r.value.verdict, r.value.pending.verdict];
}

describe('reachability impact against the engine', () => {
  it('lists real changes only, and a change on any port shows on the probe that stands for it', () => {
    fc.assert(fc.property(clusterArb, ({ pods, before, after }) => {
      const base = [ns('x'), ...pods.map((p, i) => pod('x', `p${i}`, `10.1.0.${i + 1}`, p.labels, [['http', p.http]]))];
      const b = [...base, ...before];
      const a = [...base, ...after];
      const impact = reachabilityImpact(b, a, { limit: 100_000 });
      const eb = new PolicyEngine();
      eb.load(b);
      const ea = new PolicyEngine();
      ea.load(a);
      const listed = new Set(impact.flows.map((f) => `${f.from}|${f.to}|${f.protocol}|${f.port}`));
      // An outside end is evaluated as the bare address it was compared on.
      const end = (f: FlowImpact, e: 'from' | 'to') => (f.external?.end === e ? { ip: f[e] } : f[e]);
      for (const f of impact.flows) {
        const [vb, pb] = verdicts(eb, end(f, 'from'), end(f, 'to'), f.protocol, f.port!);
        const [va, pa] = verdicts(ea, end(f, 'from'), end(f, 'to'), f.protocol, f.port!);
        expect(f.enforced !== null).toBe(vb !== va);
        expect(f.pending !== null).toBe(impact.pendingCompared && pb !== pa);
      }
      expect(impact.flowsLeftOut).toBe(0);
      // Which probe stands for a port: the named probe that starts its cell, else the other probe.
      const refs = pods.map((_, i) => `x/p${i}`);
      for (const protocol of ['TCP', 'UDP']) {
        const named = impact.probes.filter((p) => p.protocol === protocol && p.stands === 'named').map((p) => p.port!);
        const other = impact.probes.find((p) => p.protocol === protocol && p.stands === 'other')?.port;
        for (const port of [1, 53, 79, 80, 81, 443, 999, 1000, 1200, 1500, 1999, 2000, 2500, 3000, 3001, 8080, 9000, 40000]) {
          const covered = named.includes(port) || isCovered(b, a, protocol, port, pods);
          const rep = covered ? Math.max(...named.filter((n) => n <= port)) : other;
          if (rep === undefined || !Number.isFinite(rep)) continue;
          for (const from of refs) {
            for (const to of refs) {
              if (from === to) continue;
              const changed = verdicts(eb, from, to, protocol, port)[0] !== verdicts(ea, from, to, protocol, port)[0];
              expect(verdicts(eb, from, to, protocol, port)).toEqual(verdicts(eb, from, to, protocol, rep));
              expect(verdicts(ea, from, to, protocol, port)).toEqual(verdicts(ea, from, to, protocol, rep));
              if (changed) expect(listed.has(`${from}|${to}|${protocol}|${rep}`)).toBe(true);
            }
          }
        }
      }
    }), { numRuns: 60 });
  });
});

/** Whether some rule of either side names the port (numbers, ranges, or the pods' http numbers for `http`). */
function isCovered(b: readonly Resource[], a: readonly Resource[], protocol: string, port: number, pods: Array<{ http: number }>): boolean {
  for (const r of [...b, ...a]) {
    const spec = (r as { spec?: { ingress?: unknown[]; egress?: unknown[] } }).spec;
    for (const rule of [...(spec?.ingress ?? []), ...(spec?.egress ?? [])] as Array<{ protocol?: string; destination?: { ports?: Array<number | string>; notPorts?: Array<number | string> } }>) {
      if ((rule.protocol ?? 'TCP') !== protocol) continue;
      for (const p of [...(rule.destination?.ports ?? []), ...(rule.destination?.notPorts ?? [])]) {
        if (typeof p === 'number' && p === port) return true;
        // The pods' http ports are TCP: a UDP rule's named port resolves to nothing.
        if (p === 'http' && protocol === 'TCP' && pods.some((x) => x.http === port)) return true;
        if (typeof p === 'string' && /^\d+:\d+$/.test(p)) {
          const [lo, hi] = p.split(':').map(Number) as [number, number];
          if (lo <= port && port <= hi) return true;
        }
      }
    }
  }
  return false;
}
