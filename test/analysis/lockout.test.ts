// The lockout check against a brute force: every critical flow of every node decided with engine.evaluate() for
// every outside class and every other node, with no memo and no grouping — the same flows must come out denied.
// The fixture makes the memo's shortcuts matter: host endpoints that share policies but whose own addresses or
// peers fall in different rule nets, a network set picked by a rule selector, a failsafe net.

import { describe, expect, it } from 'vitest';

import { criticalFlows, cutCriticalFlows, externalPeers, lockoutCheck } from '../../src/analysis/index.js';
import type { Resource } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';
const r = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Resource =>
  ({ apiVersion: V3, kind, metadata: { name, ...(labels && { labels }) }, spec }) as unknown as Resource;

const NODES = [
  { name: 'a', ip: '10.0.1.1', role: 'worker' }, { name: 'b', ip: '10.0.1.2', role: 'worker' },
  { name: 'c', ip: '10.0.2.5', role: 'worker' }, { name: 'd', ip: '10.0.3.7', role: 'control' },
  { name: 'e', ip: '10.0.3.8', role: 'control' }, { name: 'f', ip: '192.0.2.9', role: 'edge' },
];

const RESOURCES: Resource[] = [
  ...NODES.map((n) => r('HostEndpoint', `${n.name}-eth0`, { node: n.name, interfaceName: 'eth0', expectedIPs: [n.ip] }, { role: n.role, host: 'yes' })),
  r('GlobalNetworkSet', 'blocked', { nets: ['203.0.113.0/24', '10.0.3.8/32'] }, { list: 'blocked' }),
  r('GlobalNetworkPolicy', 'hosts', {
    order: 10, selector: "host == 'yes'", types: ['Ingress', 'Egress'],
    ingress: [
      { action: 'Deny', protocol: 'TCP', source: { nets: ['10.0.1.0/24'] }, destination: { ports: [10250] } },
      { action: 'Deny', protocol: 'TCP', source: { selector: "list == 'blocked'" }, destination: { ports: [22, 6443] } },
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['10.0.1.0/24', '10.0.3.0/24'] } },
      { action: 'Allow', protocol: 'TCP', source: { nets: ['10.0.0.0/8'] }, destination: { ports: [179, 2380] } },
    ],
    egress: [
      { action: 'Deny', protocol: 'TCP', destination: { nets: ['10.0.2.5/32'], ports: [2379] } },
      { action: 'Allow', protocol: 'UDP', destination: { ports: [53] } },
      { action: 'Allow', protocol: 'TCP', source: { nets: ['10.0.3.0/24'] } },
    ],
  }),
  r('FelixConfiguration', 'default', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22, net: '198.51.100.0/24' }], failsafeOutboundHostPorts: [] }),
  // d and e share their policies; d's own failsafes keep its kubelet open (the memo must tell them apart).
  r('FelixConfiguration', 'node.d', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 10250 }, { protocol: 'TCP', port: 22, net: '10.0.1.0/24' }] }),
];

/** Every (node, flow, outside | node:<name>) that engine.evaluate() denies for all its addresses. */
function bruteForce(resources: readonly Resource[], classesAlso: readonly Resource[] = resources): Set<string> {
  const denied = new Set<string>();
  const load = (rs: readonly Resource[]): PolicyEngine => {
    const e = new PolicyEngine();
    e.load(rs);
    return e;
  };
  const engine = load(resources);
  // The check compares both sides on the classes of both.
  const outside = externalPeers([engine, load(classesAlso)], [4]);
  for (const n of NODES) {
    const hep = `hep:${n.name}-eth0`;
    for (const f of criticalFlows()) {
      const allowed = (peer: string): boolean => {
        const flow = f.direction === 'inbound'
          ? { from: { ip: peer }, to: hep, protocol: f.protocol, port: f.port }
          : { from: hep, to: { ip: peer }, protocol: f.protocol, port: f.port };
        const v = engine.evaluate(flow);
        if (!v.ok) throw new Error(JSON.stringify(v.issues));
        return v.value.verdict === 'Allow';
      };
      const key = `${n.name} ${f.direction}/${f.protocol}/${f.port}`;
      if (!outside.some((o) => allowed(o.address))) denied.add(`${key} outside`);
      for (const m of NODES) if (m !== n && !allowed(m.ip)) denied.add(`${key} node:${m.name}`);
    }
  }
  return denied;
}

describe('the lockout check', () => {
  it('denies exactly what engine.evaluate() denies, per outside group and per other node', () => {
    const got = new Set<string>();
    for (const s of cutCriticalFlows(RESOURCES, { felixConfiguration: true })) {
      const key = `${s.node} ${s.flow.direction}/${s.flow.protocol}/${s.flow.port}`;
      if (s.peerKind === 'outside') got.add(`${key} outside`);
      for (const m of s.peerNodes ?? []) got.add(`${key} node:${m}`);
    }
    const want = bruteForce(RESOURCES);
    expect(want.size).toBeGreaterThan(20);
    expect(want.has('d inbound/TCP/10250 outside')).toBe(false);
    expect(want.has('e inbound/TCP/10250 node:a')).toBe(true);
    expect([...got].sort()).toEqual([...want].sort());
  });

  it('a change is cut where the brute force allowed before and denies after', () => {
    // Removing the policy leaves the host endpoints failsafe-only (SSH from 198.51.100.0/24): what it allowed is cut.
    const after = RESOURCES.filter((x) => x.metadata.name !== 'hosts');
    const deniedBefore = bruteForce(RESOURCES, after);
    const deniedAfter = bruteForce(after, RESOURCES);
    const want = [...deniedAfter].filter((k) => !deniedBefore.has(k)).sort();
    const report = lockoutCheck(RESOURCES, after, { felixConfiguration: true });
    const got = report.cut.flatMap((c) => {
      const key = `${c.node} ${c.flow.direction}/${c.flow.protocol}/${c.flow.port}`;
      return c.peerKind === 'outside' ? [`${key} outside`] : (c.peerNodes ?? []).map((m) => `${key} node:${m}`);
    }).sort();
    expect(want.length).toBeGreaterThan(10);
    expect(got).toEqual(want);
  });
});
