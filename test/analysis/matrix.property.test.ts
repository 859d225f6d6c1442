// Property: the matrix equals the engine's verdict for every pair, evaluated one flow at a time. Clusters are
// generated with what changes verdicts — tiers with Deny/Pass defaults, Allow/Deny/Pass/Log rules, staged
// policies (enforced and pending), k8s policies, profiles (explicit, missing, kns.*), network sets, nets and
// notNets that single out addresses, named ports, dual-stack pods, host endpoints with untracked / pre-DNAT /
// applyOnForward policies on some nodes — so both the class evaluation and the host-path fallback are checked
// against the engine, which is the judge. Outside addresses too: each class's representative (endpoint → it,
// it → endpoint) against evaluate(), and other outside addresses of the same class against the representative.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { validateResource, type Resource } from '../../src/api/index.js';
import { externalPeers, reachabilityMatrix, type ExternalPeer, type Mode } from '../../src/analysis/index.js';
import { cidrContains, parseCidr, parseIp } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';
const NAMESPACES = ['ns-a', 'ns-b'];
const NODES = ['n1', 'n2', 'n3'];
const SELECTORS = [
  'all()', "app == 'web'", "app in {'web', 'db'}", 'has(tier)', '!has(tier)', "app != 'db'", "role == 'host'",
  "pcns.env == 'prod'", "tier == 'fe' || app == 'api'", "kind == 'set'",
];
const NETS = ['10.9.0.0/24', '10.9.0.1/32', '10.9.1.0/24', '10.9.0.2/31', 'fd00::/64', 'fd00::2/128', '192.0.2.0/24', '0.0.0.0/0'];
// Most pods share every rule CIDR class; 10.9.0.1/32, 10.9.0.2/31 and 10.9.1.0/24 single some out.
const V4 = ['10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.1.1', '10.9.0.7', '10.9.0.8', '10.9.0.4', '10.9.0.9', '10.9.0.5', '10.9.0.6'];
const V6 = ['fd00::1', 'fd00::2', 'fd00:1::3'];
const HOST_IPS = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Mostly absent (1 in 4 present): a rule with every field set matches almost nothing. */
const rare = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });
const compact = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

// Few label values, so that several pods often look alike to the selectors and only nets tell them apart.
const labelsArb = fc.record({
  app: fc.constantFrom('web', 'web', 'db', 'api'),
  tier: fc.constantFrom(undefined, undefined, undefined, 'fe', 'be'),
}).map(compact);

const portsArb = fc.subarray<number | string>([80, 53, 443, 'http', 'dns', '1000:9000', 22], { minLength: 1, maxLength: 3 });

// Rule selectors come from pools no other kind of rule uses, so that each IP set is read by one kind of rule only
// and dropping what one kind reads shows: selectors, notSelectors, and the rules of host endpoint stages.
const RULE_SELECTORS = ['all()', "app == 'web'", "app in {'web', 'db'}", "app != 'db'", "role == 'host'", "pcns.env == 'prod'", "kind == 'set'"];
const NOT_SELECTORS = ["tier == 'be'", '!has(tier)'];
const HOST_STAGE_SELECTORS = ["app == 'db'", "tier == 'fe' || app == 'api'", 'has(tier)'];

const entityArbWith = (selectors: readonly string[]) => fc.record({
  selector: rare(fc.constantFrom(...selectors)),
  notSelector: rare(fc.constantFrom(...NOT_SELECTORS)),
  nets: rare(fc.subarray(NETS.filter((n) => n !== '0.0.0.0/0'), { minLength: 1, maxLength: 2 })),
  notNets: rare(fc.subarray(NETS.filter((n) => n !== '0.0.0.0/0'), { minLength: 1, maxLength: 2 })),
  ports: rare(portsArb),
  notPorts: rare(portsArb),
  namespaceSelector: rare(fc.constantFrom("env == 'prod'", 'all()', 'global()')),
}).map(compact);

const ruleArbWith = (selectors: readonly string[]) => fc.record({
  action: fc.constantFrom('Allow', 'Allow', 'Deny', 'Pass', 'Log'),
  protocol: fc.constantFrom(undefined, undefined, undefined, 'TCP', 'UDP', 'SCTP'),
  notProtocol: fc.constantFrom(undefined, undefined, undefined, 'UDP'),
  ipVersion: fc.constantFrom(undefined, undefined, 4, 6),
  family: fc.constantFrom(4, 6),
  source: opt(entityArbWith(selectors)),
  destination: opt(entityArbWith(selectors)),
}).map(({ family, ...r }) => {
  const rule: Record<string, unknown> = compact(r);
  // One family of CIDRs per rule, the rule's own when it has one (§5.5).
  const v6 = (rule.ipVersion ?? family) === 6;
  for (const side of ['source', 'destination'] as const) {
    const e = rule[side] as Record<string, string[] | undefined> | undefined;
    if (!e) continue;
    for (const field of ['nets', 'notNets']) {
      const kept = e[field]?.filter((n) => n.includes(':') === v6);
      if (kept && kept.length > 0) e[field] = kept;
      else delete e[field];
    }
    if (Object.keys(e).length === 0) delete rule[side];
  }
  const ported = ['source', 'destination'].some((s) => {
    const e = rule[s] as { ports?: unknown[]; notPorts?: unknown[] } | undefined;
    return (e?.ports?.length ?? 0) > 0 || (e?.notPorts?.length ?? 0) > 0;
  });
  // Ports need a protocol that has them (§5.5).
  if (ported && rule.protocol === undefined) rule.protocol = 'TCP';
  return rule;
});

const ruleArb = ruleArbWith(RULE_SELECTORS);

const policyBase = {
  tier: fc.constantFrom(undefined, 't1', 't2'),
  order: fc.constantFrom(undefined, 1, 2, 10),
  selector: fc.constantFrom(...SELECTORS),
  ingress: fc.array(ruleArb, { maxLength: 3 }),
  egress: fc.array(ruleArb, { maxLength: 3 }),
  staged: fc.boolean(),
};

const globalPolicyArb = fc.record({
  ...policyBase,
  stage: fc.constantFrom('normal', 'normal', 'forward', 'untracked', 'preDNAT'),
  hostIngress: fc.array(ruleArbWith(HOST_STAGE_SELECTORS), { maxLength: 3 }),
  hostEgress: fc.array(ruleArbWith(HOST_STAGE_SELECTORS), { maxLength: 3 }),
  namespaceSelector: opt(fc.constantFrom("env == 'prod'", 'all()')),
}).map(({ hostIngress, hostEgress, ...p }) => (p.stage === 'normal' ? p : { ...p, ingress: hostIngress, egress: hostEgress }));

const k8sPolicyArb = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  pod: opt(fc.constantFrom('web', 'db')),
  from: opt(fc.array(fc.record({
    pod: opt(fc.constantFrom('web', 'api')),
    ns: opt(fc.constantFrom('prod', 'dev')),
    cidr: opt(fc.constantFrom('10.9.0.0/16', '10.9.0.1/8')),
  }), { maxLength: 2 })),
  port: opt(fc.constantFrom(80, 'http', 53)),
  egress: fc.boolean(),
});

const clusterArb = fc.record({
  envs: fc.tuple(fc.constantFrom('prod', 'dev'), fc.constantFrom('prod', 'dev')),
  pods: fc.array(fc.record({
    ns: fc.constantFrom(...NAMESPACES), node: fc.constantFrom('n1', 'n2', 'n3', 'n3', 'n3'), labels: labelsArb,
    v6: opt(fc.constantFrom(...V6)), sa: opt(fc.constantFrom('sa1')), ports: fc.boolean(), http: fc.constantFrom(80, 8080),
  }), { minLength: 2, maxLength: 10 }),
  weps: fc.array(fc.record({
    ns: fc.constantFrom(...NAMESPACES), node: fc.constantFrom(...NODES), labels: labelsArb,
    ip: fc.constantFrom(...V6), profiles: fc.subarray(['kns.ns-a', 'prof-1', 'prof-missing']),
  }), { maxLength: 2 }),
  // Host endpoints only on n1 and n2: pods on n3 always take the class evaluation, the others often the engine.
  heps: fc.array(fc.record({
    node: fc.constantFrom('n1', 'n2'), iface: fc.constantFrom(undefined, 'eth0', '*'), ip: opt(fc.constantFrom(...HOST_IPS)),
    profiles: fc.subarray(['prof-1', 'prof-missing']),
  }), { maxLength: 3 }),
  sets: fc.array(fc.record({ ns: opt(fc.constantFrom(...NAMESPACES)), nets: fc.subarray(NETS, { minLength: 1, maxLength: 2 }) }), { maxLength: 2 }),
  tiers: fc.record({ t1: fc.constantFrom('Deny', 'Pass'), t2: fc.constantFrom('Deny', 'Pass') }),
  profile: fc.record({ ingress: fc.array(ruleArb, { maxLength: 2 }), egress: fc.array(ruleArb, { maxLength: 2 }) }),
  globals: fc.array(globalPolicyArb, { maxLength: 3 }),
  locals: fc.array(fc.record({ ...policyBase, ns: fc.constantFrom(...NAMESPACES) }), { maxLength: 3 }),
  k8s: fc.array(k8sPolicyArb, { maxLength: 3 }),
  // FelixConfigurations: per node (node.<name>) over default, so the matrix must not group ends across nodes
  // whose settings differ (failsafes, endpoint-to-host, VXLAN from workloads).
  felix: fc.array(fc.record({
    name: fc.constantFrom('default', 'node.n1', 'node.n2', 'node.n3'),
    failsafeIn: opt(fc.subarray([{ protocol: 'TCP', port: 22 }, { protocol: 'TCP', port: 80, net: '10.9.0.0/16' }, { protocol: 'UDP', port: 53 }])),
    failsafeOut: opt(fc.subarray([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 5000, net: '192.0.2.0/24' }])),
    toHost: opt(fc.constantFrom('Drop', 'Accept', 'Return')),
    vxlan: opt(fc.boolean()),
    vxlanPort: opt(fc.constantFrom(4789, 5000)),
  }), { maxLength: 3 }),
});

type Cluster = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

function typesOf(p: { ingress: unknown[]; egress: unknown[] }): string[] {
  return [...(p.ingress.length > 0 || p.egress.length === 0 ? ['Ingress'] : []), ...(p.egress.length > 0 ? ['Egress'] : [])];
}

function resourcesOf(c: Cluster): unknown[] {
  const out: unknown[] = [];
  NAMESPACES.forEach((ns, i) => out.push({
    apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, env: c.envs[i]! } },
  }));
  c.pods.forEach((p, i) => {
    const ips = [V4[i]!, ...(p.v6 && !c.pods.slice(0, i).some((q) => q.v6 === p.v6) ? [p.v6] : [])];
    out.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `pod${i}`, namespace: p.ns, labels: p.labels },
      spec: {
        nodeName: p.node, ...(p.sa && { serviceAccountName: p.sa }),
        containers: [{ name: 'main', ...(p.ports && { ports: [
          { name: 'http', containerPort: p.http, protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'UDP' },
        ] }) }],
      },
      status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
    });
  });
  c.weps.forEach((w, i) => out.push({
    apiVersion: V3, kind: 'WorkloadEndpoint',
    metadata: { name: `${w.node}-k8s-wep${i}-eth0`, namespace: w.ns, labels: w.labels },
    spec: {
      orchestrator: 'k8s', node: w.node, endpoint: 'eth0', workload: `wep${i}`, interfaceName: `cali${i}`,
      ipNetworks: [`${w.ip}/128`], profiles: w.profiles, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    },
  }));
  c.heps.forEach((h, i) => {
    if (h.iface === undefined && h.ip === undefined) return;
    out.push({
      apiVersion: V3, kind: 'HostEndpoint', metadata: { name: `hep${i}`, labels: { role: 'host' } },
      spec: compact({
        node: h.node, interfaceName: h.iface, expectedIPs: h.ip ? [h.ip] : undefined, profiles: h.profiles,
        ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
      }),
    });
  });
  c.sets.forEach((s, i) => out.push(s.ns
    ? { apiVersion: V3, kind: 'NetworkSet', metadata: { name: `set${i}`, namespace: s.ns, labels: { kind: 'set' } }, spec: { nets: s.nets } }
    : { apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: `set${i}`, labels: { kind: 'set' } }, spec: { nets: s.nets } }));
  out.push({ apiVersion: V3, kind: 'Tier', metadata: { name: 't1' }, spec: { order: 10, defaultAction: c.tiers.t1 } });
  out.push({ apiVersion: V3, kind: 'Tier', metadata: { name: 't2' }, spec: { order: 20, defaultAction: c.tiers.t2 } });
  out.push({ apiVersion: V3, kind: 'Profile', metadata: { name: 'prof-1' }, spec: { ...c.profile, labelsToApply: { tier: 'fe' } } });
  c.globals.forEach((g, i) => {
    const flags = g.stage === 'forward' ? { applyOnForward: true }
      : g.stage === 'untracked' ? { doNotTrack: true, applyOnForward: true }
        : g.stage === 'preDNAT' ? { preDNAT: true, applyOnForward: true } : {};
    const egress = g.stage === 'preDNAT' ? [] : g.egress;
    const spec = compact({
      tier: g.tier, order: g.order, selector: g.selector, namespaceSelector: g.namespaceSelector,
      ingress: g.ingress, egress, types: typesOf({ ingress: g.ingress, egress }), ...flags,
    });
    const staged = g.staged && g.stage === 'normal';
    out.push({ apiVersion: V3, kind: staged ? 'StagedGlobalNetworkPolicy' : 'GlobalNetworkPolicy', metadata: { name: `gnp${i}` }, spec });
  });
  c.locals.forEach((l, i) => out.push({
    apiVersion: V3, kind: l.staged ? 'StagedNetworkPolicy' : 'NetworkPolicy', metadata: { name: `np${i}`, namespace: l.ns },
    spec: compact({ tier: l.tier, order: l.order, selector: l.selector, ingress: l.ingress, egress: l.egress, types: typesOf(l) }),
  }));
  c.felix.forEach((f) => out.push({
    apiVersion: V3, kind: 'FelixConfiguration', metadata: { name: f.name },
    spec: compact({
      failsafeInboundHostPorts: f.failsafeIn, failsafeOutboundHostPorts: f.failsafeOut, defaultEndpointToHostAction: f.toHost,
      allowVXLANPacketsFromWorkloads: f.vxlan, vxlanPort: f.vxlanPort,
    }),
  }));
  c.k8s.forEach((k, i) => {
    const peers = k.from?.map((f) => compact({
      podSelector: f.pod ? { matchLabels: { app: f.pod } } : undefined,
      namespaceSelector: f.ns ? { matchLabels: { env: f.ns } } : undefined,
      ipBlock: f.cidr && !f.pod && !f.ns ? { cidr: f.cidr, except: ['10.9.0.2/32'] } : undefined,
    })).filter((p) => Object.keys(p).length > 0);
    const rule = compact({
      [k.egress ? 'to' : 'from']: peers && peers.length > 0 ? peers : undefined,
      ports: k.port !== undefined ? [{ port: k.port, protocol: k.port === 53 ? 'UDP' : 'TCP' }] : undefined,
    });
    out.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `knp${i}`, namespace: k.ns },
      spec: {
        podSelector: k.pod ? { matchLabels: { app: k.pod } } : {},
        [k.egress ? 'egress' : 'ingress']: [rule],
        policyTypes: [k.egress ? 'Egress' : 'Ingress'],
      },
    });
  });
  return out;
}

function load(c: Cluster): { engine: PolicyEngine; valid: number; total: number } {
  const raw = resourcesOf(c);
  const resources: Resource[] = [];
  for (const r of raw) {
    const v = validateResource(r);
    if (v.ok) resources.push(v.value);
  }
  const engine = new PolicyEngine();
  engine.load(resources);
  return { engine, valid: resources.length, total: raw.length };
}

/** Outside addresses inside and around the generated nets: each must be decided as its class's representative. */
const OUTSIDE = ['10.9.0.200', '10.9.0.3', '10.9.1.77', '10.9.0.2', '192.0.2.77', '8.8.8.8', '172.20.0.5', 'fd00::99', 'fd00:5::1', '2001:db8::7'];

/** The class an outside address is in: the narrowest named CIDR holding it, else its family's anywhere else. */
function classOf(peers: readonly ExternalPeer[], address: string): ExternalPeer | undefined {
  const ip = parseIp(address)!;
  let best: ExternalPeer | undefined;
  let bestLength = -1;
  for (const p of peers) {
    const net = parseCidr(p.cidr)!;
    if (p.family !== ip.family || !cidrContains(net, ip)) continue;
    const length = p.namedBy.length === 0 ? 0 : net.prefixLength;
    if (length > bestLength) [best, bestLength] = [p, length];
  }
  return best;
}

const PROBES: Array<{ protocol: string; port?: number | string }> = [
  { protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 'http' },
  { protocol: 'UDP', port: 'dns' }, { protocol: 'SCTP', port: 80 }, { protocol: 'TCP', port: 22 },
  { protocol: 'UDP', port: 4789 }, { protocol: 'ICMP' }, { protocol: 'TCP', port: 5000 },
];

describe('matrix = pairwise engine verdicts', () => {
  it('on generated clusters, every cell, enforced and pending', () => {
    let cells = 0;
    let hostCells = 0;
    let plainCells = 0;
    let externalCells = 0;
    let resources = 0;
    let valid = 0;
    fc.assert(
      fc.property(clusterArb, fc.subarray(PROBES, { minLength: 1, maxLength: 3 }), fc.constantFrom<Mode>('enforced', 'pending'), (c, probes, mode) => {
        const loaded = load(c);
        resources += loaded.total;
        valid += loaded.valid;
        const { engine } = loaded;
        for (const probe of probes) {
          const result = reachabilityMatrix(engine, { ...probe, mode, external: externalPeers([engine]) });
          if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('; '));
          const m = result.value;
          const verdictOf = (from: string | { ip: string }, to: string | { ip: string }, port: number | null | undefined): boolean => {
            if (port === null) return false;
            const v = engine.evaluate({ from, to, protocol: probe.protocol, ...(port !== undefined && { port }) });
            return v.ok && (mode === 'pending' ? v.value.pending.verdict : v.value.verdict) === 'Allow';
          };
          const toPort = typeof probe.port === 'string' ? null : probe.port;
          const owned = new Set(engine.endpoints().flatMap((e) => e.ips));
          m.endpoints.forEach((ep, i) => {
            m.external.forEach((x, k) => {
              const out = verdictOf(ep.ref, { ip: x.address }, toPort);
              const inn = verdictOf({ ip: x.address }, ep.ref, m.targetPorts[i]);
              if (m.toExternal(i, k) !== out || m.fromExternal(k, i) !== inn) {
                throw new Error(`${probe.protocol}/${String(probe.port)} ${mode} ${ep.ref} ⇄ ${x.label} [${x.address}]: ` +
                  `matrix ${m.toExternal(i, k)}/${m.fromExternal(k, i)}, engine ${out}/${inn}`);
              }
              externalCells++;
            });
            for (const address of OUTSIDE) {
              if (owned.has(address)) continue;
              const x = classOf(m.external, address);
              if (!x) continue;
              for (const [from, to, port] of [[ep.ref, { ip: address }, toPort], [{ ip: address }, ep.ref, m.targetPorts[i]]] as const) {
                const rep = verdictOf(from === ep.ref ? from : { ip: x.address }, to === ep.ref ? to : { ip: x.address }, port);
                if (verdictOf(from, to, port) !== rep) {
                  throw new Error(`${probe.protocol}/${String(probe.port)} ${mode} ${ep.ref} ⇄ ${address}: not decided as ${x.label} [${x.address}]`);
                }
              }
            }
          });
          m.endpoints.forEach((from, i) => {
            m.endpoints.forEach((to, j) => {
              const target = m.targetPorts[j];
              let expected = false;
              if (target !== null) {
                const v = engine.evaluate({ from: from.ref, to: to.ref, protocol: probe.protocol, ...(target !== undefined && { port: target }) });
                expected = v.ok && (mode === 'pending' ? v.value.pending.verdict : v.value.verdict) === 'Allow';
              }
              const got = m.allowed(i, j);
              if (got !== expected) {
                throw new Error(`${probe.protocol}/${String(probe.port)} ${mode} ${from.ref} → ${to.ref}: matrix ${got}, engine ${expected}`);
              }
              cells++;
              if (from.kind === 'HostEndpoint' || to.kind === 'HostEndpoint') hostCells++;
              if (from.node === 'n3' && to.node === 'n3') plainCells++;
            });
          });
        }
      }),
      { numRuns: 1000 },
    );
    console.log(`matrix property: ${cells} cells compared (${hostCells} with a host endpoint end, ${plainCells} between ` +
      `pods of a node without host endpoints, ${externalCells} endpoint ⇄ outside class); ${valid}/${resources} generated resources valid`);
    // The generator must mostly produce valid resources, or the property says little.
    expect(valid / resources).toBeGreaterThan(0.8);
    expect(hostCells).toBeGreaterThan(0);
    expect(plainCells).toBeGreaterThan(cells / 5);
    expect(externalCells).toBeGreaterThan(cells / 10);
  });
});
