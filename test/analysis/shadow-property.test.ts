// Property: the exact shadow analysis equals the brute force — for random small clusters, a rule is reported
// (shadowed or unreachable) iff engine.evaluate() shows it deciding no probe flow, where the probes are every
// address class (each endpoint address, each outside class) × every service class, plus random addresses and
// services outside the classes (which must change nothing: a class's members are decided alike). And every
// rule named as a shadower really takes flows the shadowed rule matches: at least one probe the shadowed rule
// matches (alone) is decided by one of them.
//
// Clusters carry what shadowing depends on: tiers with Deny / Pass defaults, policy order and names, Allow / Deny /
// Pass / Log rules, staged policies, Kubernetes policies, ports (ranges, named ports resolving differently per
// pod), protocols and notProtocol, ICMP type / code, nets / notNets, selectors / notSelectors, namespaceSelector,
// serviceAccounts, network sets, dual-stack pods.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { classProbes, decidedByEvaluate, neverDecided, shadowAnalysis, shadowKey, type Probes } from '../../src/analysis/index.js';
import { validateResource, type Resource } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';
const NAMESPACES = ['ns-a', 'ns-b'];
const V4 = ['10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.1.1', '10.9.0.4', '10.9.0.5'];
const V6 = ['fd00::1', 'fd00::2'];
const NETS = ['10.9.0.0/24', '10.9.0.1/32', '10.9.0.2/31', '192.0.2.0/24', '0.0.0.0/0'];
const SELECTORS = ['all()', "app == 'web'", "app in {'web', 'db'}", "app != 'db'", 'has(tier)', "kind == 'set'"];

const compact = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
const rare = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });

const portsArb = fc.subarray<number | string>([80, 53, '80:90', 'http', 443], { minLength: 1, maxLength: 2 });

const entityArb = fc.record({
  selector: rare(fc.constantFrom(...SELECTORS)),
  notSelector: rare(fc.constantFrom("tier == 'be'", '!has(tier)')),
  nets: rare(fc.subarray(NETS.filter((n) => n !== '0.0.0.0/0'), { minLength: 1, maxLength: 2 })),
  notNets: rare(fc.subarray(NETS, { minLength: 1, maxLength: 1 })),
  ports: rare(portsArb),
  notPorts: rare(portsArb),
  namespaceSelector: rare(fc.constantFrom("env == 'prod'", 'all()')),
  serviceAccounts: rare(fc.constantFrom({ names: ['sa1'] }, { selector: "role == 'r1'" })),
}).map(compact);

const ruleArb = fc.record({
  action: fc.constantFrom('Allow', 'Allow', 'Deny', 'Deny', 'Pass', 'Log'),
  protocol: fc.constantFrom(undefined, undefined, 'TCP', 'TCP', 'UDP', 'ICMP'),
  notProtocol: fc.constantFrom(undefined, undefined, undefined, 'UDP'),
  icmp: fc.constantFrom(undefined, { type: 8 }, { type: 8, code: 0 }, { type: 3, code: 1 }),
  source: fc.option(entityArb, { nil: undefined }),
  destination: fc.option(entityArb, { nil: undefined }),
}).map((r) => {
  const rule: Record<string, unknown> = compact(r);
  const ported = ['source', 'destination'].some((s) => {
    const e = rule[s] as { ports?: unknown[]; notPorts?: unknown[] } | undefined;
    return (e?.ports?.length ?? 0) > 0 || (e?.notPorts?.length ?? 0) > 0;
  });
  if (rule.protocol === 'ICMP') {
    // ICMP has no ports (§5.5).
    for (const s of ['source', 'destination']) {
      const e = rule[s] as Record<string, unknown> | undefined;
      if (e) {
        delete e.ports;
        delete e.notPorts;
      }
    }
  } else {
    delete rule.icmp;
    if (ported && rule.protocol === undefined) rule.protocol = 'TCP';
  }
  if (rule.notProtocol !== undefined && rule.notProtocol === rule.protocol) delete rule.notProtocol;
  return rule;
});

const policyArb = fc.record({
  kind: fc.constantFrom('GlobalNetworkPolicy', 'NetworkPolicy', 'NetworkPolicy'),
  ns: fc.constantFrom(...NAMESPACES),
  tier: fc.constantFrom(undefined, undefined, 't1'),
  order: fc.constantFrom(undefined, 1, 5, 5, 10),
  selector: fc.constantFrom(...SELECTORS),
  ingress: fc.array(ruleArb, { maxLength: 4 }),
  egress: fc.array(ruleArb, { maxLength: 3 }),
  staged: fc.constantFrom(false, false, false, true),
});

const k8sArb = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  app: fc.option(fc.constantFrom('web', 'db'), { nil: undefined }),
  port: fc.option(fc.constantFrom(80, 'http', 53), { nil: undefined }),
  from: fc.option(fc.constantFrom('web', 'api'), { nil: undefined }),
});

const clusterArb = fc.record({
  pods: fc.array(fc.record({
    ns: fc.constantFrom(...NAMESPACES),
    app: fc.constantFrom('web', 'web', 'db', 'api'),
    tier: fc.constantFrom(undefined, 'fe', 'be'),
    v6: fc.constantFrom(undefined, undefined, ...V6),
    http: fc.constantFrom(undefined, 80, 8080),
    sa: fc.constantFrom(undefined, 'sa1'),
  }), { minLength: 1, maxLength: 5 }),
  sets: fc.array(fc.subarray(NETS.filter((n) => n !== '0.0.0.0/0'), { minLength: 1, maxLength: 2 }), { maxLength: 1 }),
  t1: fc.constantFrom('Deny', 'Pass'),
  policies: fc.array(policyArb, { minLength: 1, maxLength: 4 }),
  k8s: fc.array(k8sArb, { maxLength: 2 }),
  extraPorts: fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 3 }),
  extraAddresses: fc.subarray(['10.9.0.200', '10.9.1.77', '192.0.2.99', '8.8.8.8', 'fd00::99', '2001:db8::1']),
});

type Cluster = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

function resources(c: Cluster): Resource[] {
  const out: unknown[] = [
    { apiVersion: V3, kind: 'Tier', metadata: { name: 't1' }, spec: { order: 50, defaultAction: c.t1 } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns-a', labels: { env: 'prod' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns-b', labels: { env: 'dev' } } },
    ...NAMESPACES.map((ns) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa1', namespace: ns, labels: { role: 'r1' } } })),
  ];
  c.pods.forEach((p, i) => {
    const ips = [V4[i]!, ...(p.v6 ? [p.v6] : [])];
    out.push({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: p.ns, labels: compact({ app: p.app, tier: p.tier }) },
      spec: compact({
        nodeName: 'n1', serviceAccountName: p.sa,
        containers: [{ name: 'c', ...(p.http !== undefined && { ports: [{ name: 'http', containerPort: p.http }] }) }],
      }),
      status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
    });
  });
  c.sets.forEach((nets, i) => out.push({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: `set-${i}`, labels: { kind: 'set' } }, spec: { nets } }));
  c.policies.forEach((p, i) => {
    const kind = p.staged ? `Staged${p.kind}` : p.kind;
    const namespaced = p.kind === 'NetworkPolicy';
    out.push({
      apiVersion: V3, kind,
      metadata: { name: `${p.tier ? `${p.tier}.` : ''}p-${i}`, ...(namespaced && { namespace: p.ns }) },
      spec: compact({ tier: p.tier, order: p.order, selector: p.selector, types: ['Ingress', 'Egress'], ingress: p.ingress, egress: p.egress }),
    });
  });
  c.k8s.forEach((k, i) => out.push({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `knp-${i}`, namespace: k.ns },
    spec: {
      podSelector: k.app ? { matchLabels: { app: k.app } } : {},
      ingress: [compact({ from: k.from ? [{ podSelector: { matchLabels: { app: k.from } } }] : undefined, ports: k.port !== undefined ? [{ port: k.port }] : undefined })],
    },
  }));
  return out.flatMap((o) => {
    const r = validateResource(o);
    // A generated policy the validator rejects (as calicoctl would) is left out.
    return r.ok ? [r.value as Resource] : [];
  });
}

describe('shadow analysis = brute force over the engine', () => {
  it('on generated clusters', () => {
    fc.assert(fc.property(clusterArb, (c) => {
      const engine = new PolicyEngine();
      engine.load(resources(c));
      const report = shadowAnalysis(engine, { workloadsOnly: true });
      const classes = classProbes(engine);
      const probes: Probes = {
        addresses: [...classes.addresses, ...c.extraAddresses],
        services: [
          ...classes.services,
          ...c.extraPorts.flatMap((port) => [{ protocol: 6, dstPort: port, srcPort: 40000 }, { protocol: 17, dstPort: port, srcPort: port }]),
          { protocol: 1, icmpType: 8, icmpCode: 5 }, { protocol: 1, icmpType: 200, icmpCode: 0 }, { protocol: 99 },
        ],
      };
      const expected = neverDecided(engine, report, decidedByEvaluate(engine, probes));
      expect(new Set(report.rules.map(shadowKey))).toEqual(expected);
      // Unreachable rules match nothing at all; shadowed ones name at least one shadower.
      for (const r of report.rules) {
        if (r.status === 'shadowed') expect(r.shadowedBy.length).toBeGreaterThan(0);
        else expect(r.shadowedBy).toEqual([]);
      }
    }), { numRuns: 40 });
  }, 300_000);
});
