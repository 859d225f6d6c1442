// The shadow analysis on named situations: each one is a way a rule can be shadowed (or not) — by an earlier rule
// of its policy, of an earlier policy, of an earlier tier, by an end-of-tier drop — or have an empty match; and
// the near misses that must not be reported (a port, a protocol, an ICMP type, a net, a notSelector, a named port,
// one endpoint the earlier policy does not select). Every case is also checked against the engine's brute force.
import { describe, expect, it } from 'vitest';

import { classProbes, decidedByEvaluate, neverDecided, shadowAnalysis, shadowKey, type ShadowReport } from '../../src/analysis/index.js';
import { validateResource, type Resource } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';

function pod(name: string, ip: string, labels: Record<string, string>, ports: Array<[string, number]> = []): unknown {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: ports.map(([n, p]) => ({ name: n, containerPort: p })) }] },
    status: { podIP: ip },
  };
}

const PODS = [
  pod('web', '10.0.0.1', { app: 'web' }, [['http', 8080]]),
  pod('db', '10.0.0.2', { app: 'db' }),
  pod('api', '10.0.0.3', { app: 'api' }, [['http', 9090]]),
];

function gnp(name: string, order: number, spec: Record<string, unknown>): unknown {
  return { apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { order, selector: 'all()', ...spec } };
}

function analyse(objects: unknown[]): { engine: PolicyEngine; report: ShadowReport } {
  const resources = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, ...PODS, ...objects].map((o) => {
    const r = validateResource(o);
    if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('; '));
    return r.value as Resource;
  });
  const engine = new PolicyEngine();
  engine.load(resources);
  const report = shadowAnalysis(engine);
  // The engine is the judge: the same rules never decide a probe flow.
  const reference = neverDecided(engine, report, decidedByEvaluate(engine, classProbes(engine)));
  expect(new Set(report.rules.map(shadowKey))).toEqual(reference);
  return { engine, report };
}

const found = (report: ShadowReport, policy: string, direction: 'ingress' | 'egress', rule: number) =>
  report.rules.find((r) => r.policy.name === policy && r.direction === direction && r.rule === rule);

describe('shadowed rules', () => {
  it('a Deny after an Allow of the same traffic in the same policy: shadowed by a different action', () => {
    const { report } = analyse([gnp('p', 10, { ingress: [
      { action: 'Allow', protocol: 'TCP', destination: { ports: [80] } },
      { action: 'Deny', protocol: 'TCP', destination: { ports: [80] } },
    ] })]);
    const r = found(report, 'p', 'ingress', 1)!;
    expect(r).toMatchObject({ status: 'shadowed', action: 'Deny', sameAction: false, endpoints: 3 });
    expect(r.shadowedBy).toEqual([expect.objectContaining({ type: 'rule', rule: 0, action: 'Allow', policy: expect.objectContaining({ name: 'p' }) })]);
    expect(report.overridden.map((o) => [o.policy.name, o.rule])).toEqual([['p', 1]]);
  });

  it('a Deny in a later policy (higher order) after a broad Allow; the same Deny ordered first decides', () => {
    const allow = gnp('allow-all', 10, { ingress: [{ action: 'Allow' }] });
    const deny = gnp('deny-db', 20, { ingress: [{ action: 'Deny', source: { selector: "app == 'db'" } }] });
    const { report } = analyse([allow, deny]);
    const r = found(report, 'deny-db', 'ingress', 0)!;
    expect(r.status).toBe('shadowed');
    expect(r.shadowedBy.map((d) => (d.type === 'rule' ? `${d.policy.name}/${d.rule}` : d.tier))).toEqual(['allow-all/0']);
    const fixed = analyse([gnp('allow-all', 30, { ingress: [{ action: 'Allow' }] }), deny]).report;
    expect(found(fixed, 'deny-db', 'ingress', 0)).toBeUndefined();
  });

  it('the same action earlier: redundant (sameAction), naming every rule that takes its flows', () => {
    const { report } = analyse([gnp('p', 10, { egress: [
      { action: 'Allow', protocol: 'TCP', destination: { ports: ['80:90'] } },
      { action: 'Allow', protocol: 'TCP', destination: { ports: ['91:100'] } },
      { action: 'Allow', protocol: 'TCP', destination: { ports: ['85:95'] } },
    ] })]);
    const r = found(report, 'p', 'egress', 2)!;
    expect(r).toMatchObject({ status: 'shadowed', sameAction: true });
    expect(r.shadowedBy.map((d) => (d.type === 'rule' ? d.rule : -1))).toEqual([0, 1]);
  });

  it('near misses are not shadowed: another port, protocol, ICMP type, net, notSelector', () => {
    const { report } = analyse([gnp('p', 10, { ingress: [
      { action: 'Allow', protocol: 'TCP', destination: { ports: [80] } },
      { action: 'Deny', protocol: 'TCP', destination: { ports: [80, 81] } },
      { action: 'Allow', protocol: 'UDP', destination: { ports: [80] } },
      { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } },
      { action: 'Deny', protocol: 'ICMP' },
      { action: 'Allow', source: { nets: ['192.0.2.0/24'] } },
      { action: 'Deny', source: { nets: ['192.0.2.0/25'] } },
      { action: 'Deny', source: { nets: ['192.0.2.0/23'] } },
      { action: 'Allow', source: { notSelector: "app == 'db'" } },
      { action: 'Deny' },
    ] })]);
    expect(report.rules.map((r) => r.rule)).toEqual([6]);
    // The /25 Deny: the /24 Allow takes its flows, and the rules before it the services they name.
    expect(found(report, 'p', 'ingress', 6)!.shadowedBy.map((d) => (d.type === 'rule' ? d.rule : -1))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('an earlier tier: its end-of-tier drop and its Pass', () => {
    const tiers = [
      { apiVersion: V3, kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } },
      { apiVersion: V3, kind: 'Tier', metadata: { name: 'apps' }, spec: { order: 200 } },
    ];
    const sec = gnp('sec', 10, { tier: 'security', ingress: [{ action: 'Pass', protocol: 'TCP' }] });
    const app = gnp('app', 10, { tier: 'apps', ingress: [{ action: 'Allow', protocol: 'UDP' }, { action: 'Allow', protocol: 'TCP' }] });
    const { report } = analyse([...tiers, sec, app]);
    const udp = found(report, 'app', 'ingress', 0)!;
    expect(udp).toMatchObject({ status: 'shadowed', sameAction: false });
    expect(udp.shadowedBy).toEqual([{ type: 'end-of-tier', tier: 'security', action: 'Deny' }]);
    expect(found(report, 'app', 'ingress', 1)).toBeUndefined();
  });

  it('one endpoint the earlier policy does not select keeps the later rule alive', () => {
    const { report } = analyse([
      gnp('allow-web', 10, { selector: "app == 'web'", ingress: [{ action: 'Allow' }] }),
      gnp('deny', 20, { selector: "app in {'web', 'db'}", ingress: [{ action: 'Deny' }] }),
    ]);
    expect(found(report, 'deny', 'ingress', 0)).toBeUndefined();
    // …but at web the Deny never takes effect: an overridden deny, at one endpoint.
    expect(report.overridden).toEqual([expect.objectContaining({ rule: 0, endpoints: 1, allowedBy: [expect.objectContaining({ rule: 0 })] })]);
  });

  it('named ports: an Allow of the named port shadows a Deny of its number only where the name resolves to it', () => {
    const { report } = analyse([gnp('p', 10, { selector: "app in {'web', 'api'}", ingress: [
      { action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } },
      { action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } },
      { action: 'Deny', protocol: 'TCP', destination: { ports: [8080, 9090] } },
    ] })]);
    // web's http is 8080, api's 9090: at api, TCP 8080 is not its http, so rule 1 decides there (and rule 2 too).
    expect(found(report, 'p', 'ingress', 1)).toBeUndefined();
    expect(found(report, 'p', 'ingress', 2)).toBeUndefined();
    // Only web: its 8080 is its http, taken by rule 0.
    const { report: one } = analyse([gnp('p', 10, { selector: "app == 'web'", ingress: [
      { action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } },
      { action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } },
    ] })]);
    expect(found(one, 'p', 'ingress', 1)).toMatchObject({ status: 'shadowed' });
  });

  it('Log never decides and never shadows; staged policies neither', () => {
    const { report } = analyse([
      gnp('log', 10, { ingress: [{ action: 'Log' }, { action: 'Allow', protocol: 'TCP' }] }),
      { apiVersion: V3, kind: 'StagedGlobalNetworkPolicy', metadata: { name: 'staged' }, spec: { order: 5, selector: 'all()', ingress: [{ action: 'Deny' }] } },
    ]);
    expect(report.rules).toEqual([]);
  });
});

describe('unreachable rules', () => {
  it('a selector that matches nothing, and the reason', () => {
    const { report } = analyse([gnp('p', 10, { ingress: [{ action: 'Allow', source: { selector: "app == 'nothing'" } }, { action: 'Allow', protocol: 'TCP' }] })]);
    expect(report.rules).toEqual([expect.objectContaining({ rule: 0, status: 'unreachable', reason: 'its source selector "app == \\"nothing\\"" matches no endpoint or network set' })]);
  });

  it('destination nets that exclude every endpoint the policy applies to', () => {
    const { report } = analyse([gnp('p', 10, { ingress: [{ action: 'Allow', destination: { nets: ['10.1.0.0/16'] } }] })]);
    expect(report.rules).toEqual([expect.objectContaining({ status: 'unreachable', reason: 'it matches no flow of the 3 endpoints its policy applies to' })]);
  });

  it('a namespaceSelector and serviceAccounts that match no namespace / account', () => {
    const { report } = analyse([gnp('p', 10, { egress: [
      { action: 'Allow', destination: { namespaceSelector: "team == 'none'" } },
      { action: 'Allow', destination: { serviceAccounts: { names: ['missing'] } } },
      { action: 'Allow', destination: { namespaceSelector: 'all()' } },
    ] })]);
    expect(report.rules.map((r) => [r.rule, r.status])).toEqual([[0, 'unreachable'], [1, 'unreachable']]);
  });
});

describe('host endpoints', () => {
  it('are judged per stage: a Deny after an Allow in the normal stage is shadowed; the other stages are apart', () => {
    const objects = [
      { apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'h1', labels: { role: 'host' } }, spec: { node: 'n1', interfaceName: 'eth0', expectedIPs: ['192.0.2.1'] } },
      gnp('allow-ssh', 10, { selector: "role == 'host'", ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [22] } }] }),
      gnp('deny-ssh', 20, { selector: "role == 'host'", ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [22] } }] }),
      gnp('pre-dnat', 5, { selector: "role == 'host'", preDNAT: true, applyOnForward: true, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [23] } }] }),
    ].map((o) => {
      const r = validateResource(o);
      if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('; '));
      return r.value as Resource;
    });
    const engine = new PolicyEngine();
    engine.load(objects);
    const report = shadowAnalysis(engine);
    expect(report.rules.map((r) => [r.policy.name, r.direction, r.rule, r.status])).toEqual([['deny-ssh', 'ingress', 0, 'shadowed']]);
    expect(shadowAnalysis(engine, { workloadsOnly: true }).rules).toEqual([]);
  });
});
