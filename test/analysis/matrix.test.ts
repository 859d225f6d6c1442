// The matrix on named situations: each one isolates something an end's verdict depends on (a feature a rule
// reads, a node whose host endpoint polices forwarded traffic, a port, an address family, staged policies), so
// that grouping ends too coarsely shows as a wrong cell. Every matrix is also checked cell by cell against the
// engine's own verdicts.
import { describe, expect, it } from 'vitest';

import { reachabilityMatrix, type MatrixOptions, type ReachabilityMatrix } from '../../src/analysis/index.js';
import { validateResource, type Resource } from '../../src/api/index.js';
import { PolicyEngine, type EngineOptions } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';

function ns(name: string, labels: Record<string, string> = {}): unknown {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

function pod(namespace: string, name: string, ips: string[], labels: Record<string, string>, o: { node?: string; ports?: Array<[string, number]> } = {}): unknown {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: {
      nodeName: o.node ?? 'n1',
      containers: [{ name: 'c', ...(o.ports && { ports: o.ports.map(([portName, containerPort]) => ({ name: portName, containerPort })) }) }],
    },
    status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  };
}

function load(objects: unknown[], options: EngineOptions = {}): PolicyEngine {
  const resources = objects.map((o) => {
    const r = validateResource(o);
    if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('; '));
    return r.value as Resource;
  });
  const engine = new PolicyEngine(options);
  engine.load(resources);
  return engine;
}

/** The matrix, after checking every cell against engine.evaluate. */
function matrix(engine: PolicyEngine, options: MatrixOptions = {}): ReachabilityMatrix {
  const result = reachabilityMatrix(engine, options);
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('; '));
  const m = result.value;
  m.endpoints.forEach((from, i) => m.endpoints.forEach((to, j) => {
    const target = m.targetPorts[j];
    let expected = false;
    if (target !== null) {
      const v = engine.evaluate({ from: from.ref, to: to.ref, protocol: options.protocol ?? 'TCP', ...(target !== undefined && { port: target }) });
      expected = v.ok && (options.mode === 'pending' ? v.value.pending.verdict : v.value.verdict) === 'Allow';
    }
    expect(m.allowed(i, j), `${from.ref} → ${to.ref}`).toBe(expected);
  }));
  return m;
}

/** The truth table: one line per source, `.` allowed, `X` denied. */
function table(m: ReachabilityMatrix): string[] {
  return m.endpoints.map((e, i) => `${e.ref} ${m.row(i).map((a) => (a ? '.' : 'X')).join('')}`);
}

describe('matrix', () => {
  it('tells peers apart by a set only a notSelector reads', () => {
    const engine = load([
      ns('ns'),
      pod('ns', 'a', ['10.0.0.1'], { app: 'web' }),
      pod('ns', 'b', ['10.0.0.2'], { app: 'client', tier: 'be' }),
      pod('ns', 'c', ['10.0.0.3'], { app: 'client' }),
      { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: 'web' }, spec: { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { notSelector: "tier == 'be'" } }] } },
    ]);
    expect(table(matrix(engine, { port: 80 }))).toEqual(['ns/a ...', 'ns/b X..', 'ns/c ...']);
  });

  it('tells destinations apart by where their named port points', () => {
    const engine = load([
      ns('ns'),
      pod('ns', 'a', ['10.0.0.1'], { app: 'web' }, { ports: [['http', 80]] }),
      pod('ns', 'b', ['10.0.0.2'], { app: 'web' }, { ports: [['http', 8080]] }),
      pod('ns', 'client', ['10.0.0.3'], { app: 'client' }),
      { apiVersion: V3, kind: 'NetworkPolicy', metadata: { name: 'web', namespace: 'ns' }, spec: { selector: "app == 'web'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }] } },
    ]);
    expect(table(matrix(engine, { port: 80 }))).toEqual(['ns/a .X.', 'ns/b .X.', 'ns/client .X.']);
    const named = matrix(engine, { port: 'http' });
    expect(named.targetPorts).toEqual([80, 8080, null]);
    expect(table(named)).toEqual(['ns/a ..X', 'ns/b ..X', 'ns/client ..X']);
  });

  it('tells addresses apart by a single-address CIDR', () => {
    const engine = load([
      ns('ns'),
      pod('ns', 'a', ['10.0.0.1'], { app: 'web' }),
      pod('ns', 'b', ['10.0.0.2'], { app: 'web' }),
      pod('ns', 'c', ['10.0.0.3'], { app: 'web' }),
      {
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'cidr', namespace: 'ns' },
        spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.2/32'] } }] }] },
      },
    ]);
    expect(table(matrix(engine, { port: 80 }))).toEqual(['ns/a .X.', 'ns/b .X.', 'ns/c .X.']);
  });

  it('keeps workloads on a node whose host endpoint polices forwarded traffic apart, with what that policy reads', () => {
    const engine = load([
      ns('ns'),
      pod('ns', 'a1', ['10.0.1.1'], { app: 'web' }, { node: 'n1' }),
      pod('ns', 'a2', ['10.0.2.1'], { app: 'web' }, { node: 'n2' }),
      pod('ns', 'bad', ['10.0.2.2'], { app: 'web', bad: 'yes' }, { node: 'n2' }),
      { apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'n1-eth0', labels: { fw: 'on' } }, spec: { node: 'n1', interfaceName: 'eth0' } },
      { apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'n2-eth0', labels: { fw: 'off' } }, spec: { node: 'n2', interfaceName: 'eth0' } },
      {
        apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: 'fw' },
        spec: { selector: "fw == 'on'", applyOnForward: true, ingress: [{ action: 'Deny', source: { selector: "bad == 'yes'" } }, { action: 'Allow' }], egress: [{ action: 'Allow' }] },
      },
    ]);
    // bad → a1 crosses n1's host endpoint on the way in; bad → a2 stays on n2.
    expect(table(matrix(engine, { port: 80 }))).toEqual(['ns/a1 ...', 'ns/a2 ...', 'ns/bad X..']);
  });

  it('lets failsafe CIDRs tell sources apart at a host endpoint', () => {
    const engine = load([
      ns('ns'),
      pod('ns', 'in', ['10.0.0.1'], { app: 'x' }, { node: 'n2' }),
      pod('ns', 'out', ['10.0.1.1'], { app: 'x' }, { node: 'n2' }),
      { apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'h1', labels: { host: 'yes' } }, spec: { node: 'n1', expectedIPs: ['192.0.2.1'] } },
      { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: 'lockdown' }, spec: { selector: "host == 'yes'", ingress: [{ action: 'Deny' }] } },
    ], { failsafeInboundHostPorts: [{ protocol: 'tcp', port: 22, net: '10.0.0.0/24' }] });
    const m = matrix(engine, { port: 22 });
    expect(m.endpoints.map((e) => e.ref)).toEqual(['ns/in', 'ns/out', 'hep:h1']);
    // The host has no egress policy and no profile: its own traffic out is dropped (§3.5), loopback is not policed.
    expect(table(m)).toEqual(['ns/in ...', 'ns/out ..X', 'hep:h1 XX.']);
  });

  it('uses the first family both ends have', () => {
    const engine = load([
      ns('ns'),
      pod('ns', 'dual', ['10.0.0.1', 'fd00::1'], { app: 'x' }),
      pod('ns', 'v4', ['10.0.0.2'], { app: 'x' }),
      pod('ns', 'v6', ['fd00::2'], { app: 'x' }),
      { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: 'no-v6' }, spec: { selector: 'all()', ingress: [{ action: 'Deny', ipVersion: 6 }, { action: 'Allow' }] } },
    ]);
    expect(table(matrix(engine, { port: 80 }))).toEqual(['ns/dual ..X', 'ns/v4 ..X', 'ns/v6 XXX']);
    // ICMPv6 prefers IPv6: dual ↔ dual is then denied too.
    expect(table(matrix(engine, { protocol: 'ICMPv6' }))).toEqual(['ns/dual X.X', 'ns/v4 ..X', 'ns/v6 XXX']);
  });

  it('computes the pending matrix with staged policies enforced', () => {
    const engine = load([
      ns('ns'),
      pod('ns', 'a', ['10.0.0.1'], { app: 'web' }),
      pod('ns', 'b', ['10.0.0.2'], { app: 'db' }),
      { apiVersion: V3, kind: 'StagedNetworkPolicy', metadata: { name: 'db', namespace: 'ns' }, spec: { selector: "app == 'db'", ingress: [{ action: 'Deny', source: { selector: "app == 'web'" } }] } },
    ]);
    expect(table(matrix(engine, { port: 80 }))).toEqual(['ns/a ..', 'ns/b ..']);
    expect(table(matrix(engine, { port: 80, mode: 'pending' }))).toEqual(['ns/a .X', 'ns/b .X']);
  });

  it('drops VXLAN from workloads before any policy', () => {
    const engine = load([ns('ns'), pod('ns', 'a', ['10.0.0.1'], {}), pod('ns', 'b', ['10.0.0.2'], {})]);
    expect(table(matrix(engine, { protocol: 'UDP', port: 4789 }))).toEqual(['ns/a XX', 'ns/b XX']);
    expect(table(matrix(engine, { protocol: 'UDP', port: 4790 }))).toEqual(['ns/a ..', 'ns/b ..']);
  });

  it('keeps only the workloads of the namespaces asked for, and endpoints with an address', () => {
    const engine = load([
      ns('a'), ns('b'),
      pod('a', 'p', ['10.0.0.1'], {}), pod('b', 'q', ['10.0.0.2'], {}),
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pending', namespace: 'a' }, spec: { containers: [{ name: 'c' }] } },
      { apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'iface-only' }, spec: { node: 'n1', interfaceName: 'eth0' } },
      { apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'h' }, spec: { node: 'n1', expectedIPs: ['192.0.2.1'] } },
    ]);
    expect(matrix(engine).endpoints.map((e) => e.ref)).toEqual(['a/p', 'b/q', 'hep:h']);
    expect(matrix(engine, { namespaces: ['b'] }).endpoints.map((e) => e.ref)).toEqual(['b/q']);
  });

  it('groups endpoints with identical rows and columns', () => {
    const engine = load([
      ns('ns'),
      ...[1, 2, 3].map((k) => pod('ns', `web${k}`, [`10.0.0.${k}`], { app: 'web' })),
      pod('ns', 'db', ['10.0.0.9'], { app: 'db' }),
      { apiVersion: V3, kind: 'NetworkPolicy', metadata: { name: 'db', namespace: 'ns' }, spec: { selector: "app == 'db'", ingress: [{ action: 'Deny' }] } },
    ]);
    const m = matrix(engine, { port: 5432 });
    expect(m.groups().count).toBe(2);
    expect([...m.groups().of]).toEqual([0, 1, 1, 1]);
    expect(m.stats.engineEvaluations).toBeLessThan(16);
  });

  it('refuses options that make no flow', () => {
    const engine = load([ns('ns')]);
    const issues = (o: MatrixOptions): string[] => {
      const r = reachabilityMatrix(engine, o);
      return r.ok ? [] : r.issues.map((i) => i.code);
    };
    expect(issues({ protocol: 'FOO' })).toEqual(['matrix.protocol']);
    expect(issues({ protocol: 'ICMP', port: 80 })).toEqual(['matrix.port']);
    expect(issues({ port: 70000 })).toEqual(['matrix.port']);
    expect(issues({ protocol: 'UDPLite', port: 'dns' })).toEqual(['matrix.port']);
    expect(issues({ protocol: 'udp', port: 53 })).toEqual([]);
  });
});
