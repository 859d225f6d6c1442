// Property: after any sequence of upserts and deletes, the incrementally maintained engine equals one built from
// scratch from the final resources — per-endpoint tier/policy lists in every stage, effective labels, IP set
// members, the change-feed view a dataplane rebuilds, and every flow verdict with its trace. Resources come from
// a small universe of names so updates and deletes hit existing objects often.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Resource, ResourceUpdate, Rule } from '../../src/api/index.js';
import { PolicyEngine, type Flow } from '../../src/engine/index.js';
import {
  FeedMirror,
  globalNetworkSet,
  gnp,
  hostEndpoint,
  identity,
  keyOf,
  knp,
  namespace,
  networkSet,
  np,
  pod,
  profile,
  serviceAccount,
  sgnp,
  snapshot,
  tier,
} from './support.js';

const SELECTORS = [
  'all()', "app == 'web'", "app in {'web', 'db'}", 'has(tier)', '!has(tier)', "role == 'node'", "app != 'db'",
  "extra == 'yes'", "pcns.env == 'prod'", "tier == 'fe' || app == 'api'",
];
const NAMESPACES = ['ns-a', 'ns-b'];
const PODS = ['p0', 'p1', 'p2', 'p3', 'p4'];
const IPS = ['10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.1.1', 'fd00::1'];
const NETS = ['10.9.0.0/24', '10.9.0.1/32', '0.0.0.0/0', 'fd00::/64', '192.0.2.0/24'];

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const labelsArb = fc.record({
  app: opt(fc.constantFrom('web', 'db', 'api')),
  tier: opt(fc.constantFrom('fe', 'be')),
  role: opt(fc.constantFrom('node')),
}).map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) as Record<string, string>);

const entityArb = fc.record({
  selector: opt(fc.constantFrom(...SELECTORS)),
  notSelector: opt(fc.constantFrom(...SELECTORS)),
  nets: opt(fc.subarray(NETS.filter((n) => n !== '0.0.0.0/0'), { minLength: 1, maxLength: 2 })),
  ports: opt(fc.subarray<number | string>([80, 443, 'http', '1000:2000'], { minLength: 1, maxLength: 2 })),
  namespaceSelector: opt(fc.constantFrom("env == 'prod'", 'all()', 'global()')),
}).map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));

const ruleArb: fc.Arbitrary<Rule> = fc.record({
  action: fc.constantFrom('Allow', 'Deny', 'Pass', 'Log'),
  source: opt(entityArb),
  destination: opt(entityArb),
}).map((r) => {
  const rule: Record<string, unknown> = { action: r.action };
  if (r.source && Object.keys(r.source).length) rule.source = r.source;
  if (r.destination && Object.keys(r.destination).length) rule.destination = r.destination;
  // Numeric ports need a protocol (§5.5); named ports without one exercise the TCP default.
  const ports = [r.source, r.destination].flatMap((e) => ((e as { ports?: unknown[] } | undefined)?.ports ?? []));
  if (ports.some((p) => typeof p === 'number' || /^[0-9:]+$/.test(String(p)))) rule.protocol = 'TCP';
  return rule as unknown as Rule;
});

const policyOpts = fc.record({
  tier: fc.constantFrom(undefined, 't1', 't2', 'ghost'),
  order: fc.constantFrom(undefined, 1, 2),
  selector: fc.constantFrom(...SELECTORS),
  ingress: fc.array(ruleArb, { maxLength: 2 }),
  egress: fc.array(ruleArb, { maxLength: 2 }),
});

const podArb: fc.Arbitrary<Resource> = fc.record({
    ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...PODS), ip: fc.constantFrom(...IPS), labels: labelsArb,
    node: fc.constantFrom('n1', 'n2'), sa: opt(fc.constantFrom('sa1')), http: fc.boolean(),
  }).map(({ ns, name, ip, labels, node, sa, http }) => {
    const p = pod(ns, name, ip, labels, { node, ...(sa && { sa }) });
    if (http && p.kind === 'Pod') p.spec!.containers = [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }] }];
    return p;
  });

const gnpArb = fc.record({ name: fc.constantFrom('gp0', 'gp1', 'gp2'), o: policyOpts, ns: opt(fc.constantFrom("env == 'prod'")) })
  .map(({ name, o, ns }) => gnp(name, { ...o, ...(ns && { namespaceSelector: ns }) }));
const npArb = fc.record({ ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom('np0', 'np1'), o: policyOpts })
  .map(({ ns, name, o }) => np(ns, name, { ...o, tier: o.tier === 'ghost' ? undefined : o.tier }));
const policyArb: fc.Arbitrary<Resource> = fc.oneof(gnpArb, npArb);

const resourceArb: fc.Arbitrary<Resource> = fc.oneof(
  fc.record({ ns: fc.constantFrom(...NAMESPACES), env: opt(fc.constantFrom('prod', 'dev')) })
    .map(({ ns, env }) => namespace(ns, env ? { env } : {})),
  { weight: 4, arbitrary: podArb },
  fc.record({ ns: fc.constantFrom(...NAMESPACES), team: fc.constantFrom('a', 'b') }).map(({ ns, team }) => serviceAccount(ns, 'sa1', { team })),
  fc.record({ name: fc.constantFrom('h0', 'h1'), node: fc.constantFrom('n1', 'n2'), ip: fc.constantFrom('192.0.2.1', '192.0.2.2'), prof: fc.boolean() })
    .map(({ name, node, ip, prof }) => hostEndpoint(name, node, [ip], { role: 'node' }, 'eth0', prof ? ['prof-x'] : undefined)),
  fc.record({ name: fc.constantFrom('g0', 'g1'), nets: fc.subarray(NETS, { minLength: 1, maxLength: 3 }), labels: labelsArb })
    .map(({ name, nets, labels }) => globalNetworkSet(name, nets, labels)),
  fc.record({ nets: fc.subarray(NETS, { minLength: 1, maxLength: 2 }), labels: labelsArb })
    .map(({ nets, labels }) => networkSet('ns-a', 's0', nets, labels)),
  fc.record({ extra: fc.constantFrom('yes', 'no') }).map(({ extra }) => profile('prof-x', { extra }, { ingress: [{ action: 'Allow' }] })),
  fc.record({ name: fc.constantFrom('t1', 't2'), order: fc.constantFrom(10, 30), action: fc.constantFrom<'Deny' | 'Pass'>('Deny', 'Pass') })
    .map(({ name, order, action }) => tier(name, order, action)),
  { weight: 3, arbitrary: gnpArb },
  fc.record({ name: fc.constantFrom('gp0', 'sp1'), o: policyOpts }).map(({ name, o }) => sgnp(name, o)),
  { weight: 2, arbitrary: npArb },
  fc.record({ ns: fc.constantFrom(...NAMESPACES), app: fc.constantFrom('web', 'db'), from: fc.constantFrom('api', 'web') })
    .map(({ ns, app, from }) => knp(ns, 'kp0', {
      podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: from } } }], ports: [{ port: 'http' }, { port: 80 }] }],
    })),
);

type Op = { type: 'upsert'; resource: Resource } | { type: 'delete'; resource: Resource };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: resourceArb.map((resource): Op => ({ type: 'upsert', resource })) },
  { weight: 1, arbitrary: resourceArb.map((resource): Op => ({ type: 'delete', resource })) },
);

function flowsFor(engine: PolicyEngine): Flow[] {
  const peers: Flow['from'][] = [...engine.endpoints().map((e) => e.ref), { ip: '192.0.2.200' }, { ip: '10.9.0.2' }];
  const flows: Flow[] = [];
  for (const from of peers) for (const to of peers) if (from !== to) flows.push({ from, to, protocol: 'TCP', port: 8080 });
  return flows;
}

function verdicts(engine: PolicyEngine, flows: Flow[]): unknown[] {
  return flows.map((f) => {
    const r = engine.evaluate(f);
    return r.ok ? r.value : r.issues.map((i) => i.code);
  });
}

describe('incremental engine', () => {
  it('equals a full rebuild after any sequence of updates (state, change feed, verdicts)', () => {
    fc.assert(
      fc.property(
        fc.array(podArb, { minLength: 3, maxLength: 8 }),
        fc.array(policyArb, { minLength: 2, maxLength: 5 }),
        fc.array(opArb, { maxLength: 40 }),
        fc.nat(60),
        (pods, policies, rest, syncAt) => {
          // A populated cluster first (namespaces, pods, policies), then random churn.
          const ops: Op[] = [...NAMESPACES.map((ns): Op => ({ type: 'upsert', resource: namespace(ns) })),
            ...[...pods, ...policies].map((resource): Op => ({ type: 'upsert', resource })), ...rest];
          const engine = new PolicyEngine();
          const mirror = new FeedMirror();
          const state = new Map<string, Resource>();
          ops.forEach((op, i) => {
            if (i === syncAt) engine.markInSync();
            const update: ResourceUpdate = op.type === 'upsert' ? { type: 'upsert', resource: op.resource } : { type: 'delete', key: keyOf(op.resource) };
            engine.apply(update);
            if (op.type === 'upsert') state.set(identity(op.resource), op.resource);
            else state.delete(identity(op.resource));
            if (i % 4 === 3) mirror.apply(engine.flush());
          });
          engine.markInSync();
          mirror.apply(engine.flush());

          const fresh = new PolicyEngine();
          fresh.load([...state.values()]);
          const want = snapshot(fresh);
          expect(snapshot(engine)).toEqual(want);
          expect(mirror.view()).toEqual({
            endpoints: Object.fromEntries(Object.entries(want.endpoints as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))),
            ipSets: want.ipSets,
            policies: want.policies,
          });
          const flows = flowsFor(fresh);
          expect(verdicts(engine, flows)).toEqual(verdicts(fresh, flows));
        },
      ),
      { numRuns: 150 },
    );
  });
});
