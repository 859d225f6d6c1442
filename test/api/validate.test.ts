// Unit tests for validateResource beyond the shared corpus: strict decoding, every issue reported, paths,
// normalisation, Kubernetes delegation, v3.29–v3.31 manifests, and the Calico behaviours of §5 that the corpus
// exercises only partly.

import { describe, expect, it } from 'vitest';
import { TIER_LABEL } from '../../src/api/defaults.js';
import type { Issue } from '../../src/api/issues.js';
import type { GlobalNetworkPolicy, NetworkPolicy, Tier } from '../../src/api/types.js';
import { validateResource } from '../../src/api/validate/index.js';

const V3 = 'projectcalico.org/v3';

function issuesOf(value: unknown): Issue[] {
  const r = validateResource(value);
  return r.ok ? [] : r.issues;
}

function expectIssue(value: unknown, path: (string | number)[], contains: string): void {
  const issues = issuesOf(value);
  const hit = issues.find((i) => JSON.stringify(i.path) === JSON.stringify(path) && i.message.includes(contains));
  expect(hit, `issue at ${JSON.stringify(path)} containing ${JSON.stringify(contains)} in ${JSON.stringify(issues, null, 1)}`).toBeDefined();
}

const gnp = (spec: unknown, name = 'p'): unknown => ({ apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name }, spec });
const np = (spec: unknown, name = 'p'): unknown => ({ apiVersion: V3, kind: 'NetworkPolicy', metadata: { name, namespace: 'ns' }, spec });
const rule = (r: unknown): unknown => gnp({ ingress: [r] });

describe('structure', () => {
  it('rejects unknown fields, naming the allowed ones', () => {
    expectIssue(np({ namespaceSelector: 'a == "b"' }), ['spec', 'namespaceSelector'], 'unknown field "namespaceSelector"');
    expectIssue(np({ namespaceSelector: 'x' }), ['spec', 'namespaceSelector'], 'allowed fields: tier, order, selector');
    expectIssue(rule({ action: 'Allow', destination: { domains: ['example.com'] } }),
      ['spec', 'ingress', 0, 'destination', 'domains'], 'allowed fields: nets, notNets');
    expectIssue({ apiVersion: V3, kind: 'Tier', metadata: { name: 't' }, spec: {}, extra: 1 }, ['extra'], 'unknown field');
  });

  it('reports wrong types with what was expected', () => {
    expectIssue(np({ order: '10' }), ['spec', 'order'], 'expected a number, got string "10"');
    expectIssue(np({ ingress: {} }), ['spec', 'ingress'], 'expected a list');
    expectIssue(rule({ action: 'Allow', ipVersion: '4' }), ['spec', 'ingress', 0, 'ipVersion'], 'expected an integer');
    expectIssue(gnp({ doNotTrack: 'yes' }), ['spec', 'doNotTrack'], 'expected true or false');
    expectIssue({ apiVersion: V3, kind: 'NetworkSet', metadata: { name: 's', labels: { a: 1 } }, spec: {} },
      ['metadata', 'labels', 'a'], 'expected a string, got number 1');
  });

  it('requires a rule action and lists the allowed ones', () => {
    expectIssue(rule({}), ['spec', 'ingress', 0, 'action'], 'one of Allow, Deny, Log, Pass');
    expectIssue(rule({ action: 'Reject' }), ['spec', 'ingress', 0, 'action'], 'must be one of Allow, Deny, Log, Pass');
  });

  it('returns every issue, not the first', () => {
    const issues = issuesOf(np({
      order: 'x',
      selector: 'a ==',
      ingress: [{ action: 'Allow', protocol: 'tcp' }, { action: 'Allow', destination: { ports: [0] }, protocol: 'TCP' }],
    }, 'Bad.Name.x'));
    const paths = issues.map((i) => JSON.stringify(i.path));
    expect(paths).toEqual(expect.arrayContaining([
      '["metadata","name"]', '["spec","order"]', '["spec","selector"]', '["spec","ingress",0,"protocol"]',
      '["spec","ingress",1,"destination","ports",0]',
    ]));
  });

  it('treats null as absent, as Go and the API server do', () => {
    const r = validateResource({ apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: 'p', labels: null }, spec: { selector: null, ingress: null } });
    expect(r.ok).toBe(true);
    if (r.ok) expect((r.value as GlobalNetworkPolicy).spec.selector).toBeUndefined();
  });

  it('an item that fails to decode keeps the indexes of the items after it', () => {
    expectIssue(rule({ action: 'Allow', protocol: 'TCP', destination: { ports: [{}, 0] } }),
      ['spec', 'ingress', 0, 'destination', 'ports', 1], 'port range invalid, port number must be between 1 and 65535');
  });

  it('reports unknown kinds and wrong apiVersions', () => {
    expectIssue({ apiVersion: V3, kind: 'BGPConfiguration', metadata: { name: 'default' } }, ['kind'], 'known types:');
    expectIssue({ apiVersion: 'projectcalico.org/v2', kind: 'Tier', metadata: { name: 't' } }, ['apiVersion'], 'use apiVersion projectcalico.org/v3');
    expectIssue({ kind: 'Tier' }, ['apiVersion'], 'missing apiVersion');
    expectIssue(42, [], 'got number 42');
    expectIssue(null, [], 'got null');
  });

  it('object keys that name Object.prototype members are unknown fields, not crashes', () => {
    const value = JSON.parse('{"apiVersion":"projectcalico.org/v3","kind":"NetworkSet","metadata":{"name":"a","labels":{"__proto__":"x"}},"spec":{"constructor":1,"__proto__":{}}}') as unknown;
    const issues = issuesOf(value);
    expect(issues.map((i) => JSON.stringify(i.path))).toEqual(expect.arrayContaining([
      '["spec","constructor"]', '["spec","__proto__"]', '["metadata","labels","__proto__"]',
    ]));
  });
});

describe('normalisation and defaults on success', () => {
  it('numeric protocol and port strings become numbers; single-port ranges collapse', () => {
    const r = validateResource(rule({ action: 'Allow', protocol: '6', destination: { ports: ['80', '90:90', '1000:2000', 'http'] } }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const out = (r.value as GlobalNetworkPolicy).spec.ingress?.[0];
    expect(out?.protocol).toBe(6);
    expect(out?.destination?.ports).toEqual([80, 90, '1000:2000', 'http']);
  });

  it('returns the stored form: types, tier and tier label filled in', () => {
    const r = validateResource(np({ egress: [{ action: 'Allow' }] }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.value as NetworkPolicy;
    expect(p.spec.types).toEqual(['Egress']);
    expect(p.spec.tier).toBe('default');
    expect(p.metadata.labels?.[TIER_LABEL]).toBe('default');
  });

  it('does not mutate its input', () => {
    const input = { apiVersion: V3, kind: 'Tier', metadata: { name: 'a' }, spec: {} };
    const copy = structuredClone(input);
    validateResource(input);
    expect(input).toEqual(copy);
  });

  it('a default tier with only order is valid because defaultAction defaults first; kube-admin with none is not', () => {
    const r = validateResource({ apiVersion: V3, kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1e6 } });
    expect(r.ok && (r.value as Tier).spec.defaultAction).toBe('Deny');
    expect(validateResource({ apiVersion: V3, kind: 'Tier', metadata: { name: 'default' }, spec: {} }).ok).toBe(true);
    expectIssue({ apiVersion: V3, kind: 'Tier', metadata: { name: 'kube-admin' }, spec: {} }, ['spec', 'order'], 'kube-admin tier order must be 1000');
    expectIssue({ apiVersion: V3, kind: 'Tier', metadata: { name: 'kube-baseline' }, spec: { order: 1e7 } },
      ['spec', 'defaultAction'], "The 'kube-baseline' tier must have default action 'Pass'");
  });
});

describe('names (§5.1) and metadata (§5.2)', () => {
  it.each([
    ['NetworkPolicy', 'th.ing', true], ['NetworkPolicy', 't.h.i.ng', false], ['NetworkPolicy', 'knp.default.a.b.c', true],
    ['NetworkPolicy', 'ossg.default.x', true], ['NetworkPolicy', 'tHiNg', false], ['NetworkPolicy', '', false],
    ['GlobalNetworkPolicy', 'knp.default.thing', false], ['GlobalNetworkPolicy', 'sec.thing', true],
    ['Tier', 'a.b', false], ['Tier', 'x'.repeat(63), true], ['Tier', 'x'.repeat(64), false],
    ['GlobalNetworkSet', 'a.b.c', true], ['GlobalNetworkSet', 'test$set', false],
  ])('%s %j valid=%s', (kind, name, valid) => {
    const namespaced = kind === 'NetworkPolicy';
    const r = validateResource({ apiVersion: V3, kind, metadata: { name, ...(namespaced ? { namespace: 'n' } : {}) }, spec: {} });
    expect(r.ok).toBe(valid);
  });

  it('accepts v3.29–v3.31 tier-prefixed names and v3.32 unprefixed ones', () => {
    expect(validateResource(gnp({ tier: 'security' }, 'security.allow-dns')).ok).toBe(true);
    expect(validateResource(gnp({ tier: 'security' }, 'allow-dns')).ok).toBe(true);
    expect(validateResource(np({ tier: 'security' }, 'security.allow-dns')).ok).toBe(true);
  });

  it('a cluster-scoped kind must not carry a namespace; a namespaced one may omit it', () => {
    expectIssue({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: 'a', namespace: 'x' }, spec: {} },
      ['metadata', 'namespace'], 'cluster-scoped');
    expect(validateResource({ apiVersion: V3, kind: 'NetworkPolicy', metadata: { name: 'a' }, spec: {} }).ok).toBe(true);
  });

  it('label and annotation keys', () => {
    const ns = (meta: object): unknown => ({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: 'a', ...meta }, spec: {} });
    expect(validateResource(ns({ labels: { 'projectcalico.org/Label': 'v' } })).ok).toBe(true);
    expectIssue(ns({ labels: { 'ProjectCalico.org/label': 'v' } }), ['metadata', 'labels', 'ProjectCalico.org/label'], 'prefix part');
    expectIssue(ns({ labels: { a: 'x'.repeat(64) } }), ['metadata', 'labels', 'a'], 'must be no more than 63 characters');
    expect(validateResource(ns({ annotations: { 'Example.com/Thing': 'any value at all' } })).ok).toBe(true);
    expectIssue(ns({ labels: { 'projectcalico.org/namespace': 'x' } }), ['metadata', 'labels', 'projectcalico.org/namespace'],
      'projectcalico.org/namespace is not a valid label name');
    expectIssue(ns({ annotations: { a: 'x'.repeat(256 * 1024) } }), ['metadata', 'annotations'], 'total size of annotations is too large by 1 bytes');
  });
});

describe('rules (§5.5)', () => {
  it('ports and protocols', () => {
    expect(validateResource(rule({ action: 'Allow', source: { notPorts: ['foo'] } })).ok).toBe(true);
    expectIssue(rule({ action: 'Allow', destination: { ports: [80] } }), ['spec', 'ingress', 0, 'destination', 'ports'],
      'rules with numeric port or port range must set protocol to TCP or UDP or SCTP');
    expectIssue(rule({ action: 'Allow', protocol: 'ICMP', destination: { ports: ['http'] } }),
      ['spec', 'ingress', 0, 'destination', 'ports'], 'rules that specify ports must set protocol to TCP or UDP or SCTP');
    expectIssue(rule({ action: 'Allow', protocol: 'TCP', destination: { ports: ['200:100'] } }),
      ['spec', 'ingress', 0, 'destination', 'ports', 0], 'port range invalid');
    expectIssue(rule({ action: 'Allow', protocol: 'TCP', destination: { ports: [65536] } }),
      ['spec', 'ingress', 0, 'destination', 'ports', 0], 'port range invalid, port number must be between 1 and 65535');
    expectIssue(rule({ action: 'Allow', protocol: 'TCP', destination: { ports: ['my--port'] } }),
      ['spec', 'ingress', 0, 'destination', 'ports', 0], 'must not contain consecutive hyphens');
    expectIssue(rule({ action: 'Allow', protocol: 'TCP', destination: { ports: ['a:b'] } }),
      ['spec', 'ingress', 0, 'destination', 'ports', 0], 'invalid port');
    for (const p of [0, '0', '256', 'tcpfoo', 'footcp', 'tcp']) expect(validateResource(rule({ action: 'Allow', protocol: p })).ok).toBe(false);
    for (const p of ['UDPLite', 255, '1', 'SCTP']) expect(validateResource(rule({ action: 'Allow', protocol: p })).ok).toBe(true);
  });

  it('ICMP', () => {
    expectIssue(rule({ action: 'Allow', protocol: 'ICMP', icmp: { type: 255 } }), ['spec', 'ingress', 0, 'icmp', 'type'], 'should be less than or equal to 254');
    expectIssue(rule({ action: 'Allow', notProtocol: 'ICMPv6', ipVersion: 4 }), ['spec', 'ingress', 0, 'ipVersion'], 'protocol ICMPv6 requires ipVersion 6');
    expect(validateResource(rule({ action: 'Allow', protocol: 58, icmp: { type: 128 } })).ok).toBe(true);
    // §5.5: the CEL rule covers icmp only, not notICMP.
    expect(validateResource(rule({ action: 'Allow', notICMP: { type: 8 } })).ok).toBe(true);
  });

  it('nets: masked CIDRs, one family, agreeing with ipVersion, no negated catch-all', () => {
    expectIssue(rule({ action: 'Allow', source: { nets: ['10.0.0.1/24'] } }), ['spec', 'ingress', 0, 'source', 'nets', 0], 'host bits');
    expectIssue(rule({ action: 'Allow', source: { nets: ['10.0.0.1'] } }), ['spec', 'ingress', 0, 'source', 'nets', 0], 'invalid CIDR');
    expectIssue(rule({ action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { notNets: ['fd00::/8'] } }),
      ['spec', 'ingress', 0, 'destination', 'notNets'], 'rule contains both IPv4 and IPv6 CIDRs');
    expectIssue(rule({ action: 'Allow', ipVersion: 6, source: { nets: ['10.0.0.0/8'] } }),
      ['spec', 'ingress', 0, 'source', 'nets'], "rule IP version doesn't match CIDR version");
    expectIssue(rule({ action: 'Allow', destination: { notNets: ['0:0:0::/0'] } }), ['spec', 'ingress', 0, 'destination', 'notNets', 0],
      'catch-all CIDR in negation creates logical contradiction');
    expect(validateResource(rule({ action: 'Allow', destination: { nets: ['0.0.0.0/0'] } })).ok).toBe(true);
  });

  it('global() and selectors', () => {
    expectIssue(gnp({ namespaceSelector: 'global()' }), ['spec', 'namespaceSelector'], 'global() can only be used in an EntityRule namespaceSelector');
    expectIssue(gnp({ selector: 'name == "global("' }), ['spec', 'selector'], 'global() can only be used');
    expectIssue(rule({ action: 'Allow', source: { namespaceSelector: 'global() && all()' } }),
      ['spec', 'ingress', 0, 'source', 'namespaceSelector'], 'global() cannot be combined with other selectors');
    expect(validateResource(rule({ action: 'Allow', source: { namespaceSelector: '\tglobal( )  ', notSelector: 'a == "b"' } })).ok).toBe(true);
    expectIssue(gnp({ selector: 'a == "b"\n' }), ['spec', 'selector'], 'invalid selector');
    expectIssue(rule({ action: 'Allow', source: { serviceAccounts: { selector: 'has(' } } }),
      ['spec', 'ingress', 0, 'source', 'serviceAccounts', 'selector'], 'invalid selector');
    expectIssue(gnp({ selector: `a == "${'x'.repeat(1030)}"` }), ['spec', 'selector'], 'may not be more than 1024 bytes');
  });

  it('services placement and combinations', () => {
    expect(validateResource(np({ egress: [{ action: 'Allow', destination: { services: { name: 's' } } }] })).ok).toBe(true);
    expectIssue(gnp({ egress: [{ action: 'Allow', destination: { services: { name: 's' } } }] }),
      ['spec', 'egress', 0, 'destination', 'services', 'namespace'], 'must specify a namespace');
    expectIssue(np({ egress: [{ action: 'Allow', source: { services: { name: 's' } } }] }),
      ['spec', 'egress', 0, 'source', 'services'], 'not allowed in egress rule source');
    // Profiles do not get the policy-level direction checks.
    expect(validateResource({ apiVersion: V3, kind: 'Profile', metadata: { name: 'p' },
      spec: { ingress: [{ action: 'Allow', destination: { services: { name: 's' } } }] } }).ok).toBe(true);
  });

  it('HTTP', () => {
    expectIssue(rule({ action: 'Deny', http: { methods: ['GET'] } }), ['spec', 'ingress', 0, 'http'], 'HTTP match is only valid on Allow rules');
    expectIssue(rule({ action: 'Allow', http: { paths: [{ exact: '/a', prefix: '/b' }] } }), ['spec', 'ingress', 0, 'http', 'paths', 0], "Both 'exact' and 'prefix'");
    expectIssue(rule({ action: 'Allow', http: { paths: [{ prefix: 'a' }] } }), ['spec', 'ingress', 0, 'http', 'paths', 0], 'must start with `/`');
    expect(validateResource(rule({ action: 'Allow', protocol: 6, http: { paths: [{ prefix: '/api' }] } })).ok).toBe(true);
  });
});

describe('policies (§5.3)', () => {
  it('types and performance hints', () => {
    expectIssue(np({ types: ['Ingress', 'Ingress'] }), ['spec', 'types'], "'Ingress' type specified more than once");
    expectIssue(np({ types: ['ingress'] }), ['spec', 'types', 0], 'must be one of Ingress, Egress');
    expectIssue(np({ performanceHints: ['AssumeNeededOnEveryNode', 'AssumeNeededOnEveryNode'] }), ['spec', 'performanceHints'], 'more than once');
  });

  it('staged Delete carries nothing but the tier', () => {
    const snp = (spec: unknown): unknown => ({ apiVersion: V3, kind: 'StagedNetworkPolicy', metadata: { name: 'p', namespace: 'n' }, spec });
    expect(validateResource(snp({ stagedAction: 'Delete', tier: 'x' })).ok).toBe(true);
    expectIssue(snp({ stagedAction: 'Delete', order: 0 }), ['spec'], 'Spec fields, except Tier, should all be zero-value if stagedAction is Delete');
    expect(validateResource(snp({ stagedAction: 'Learn', ingress: [{ action: 'Allow' }] })).ok).toBe(true);
  });
});

describe('endpoints, sets, pools (§5.6)', () => {
  const hep = (spec: unknown): unknown => ({ apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'h' }, spec });
  const wep = (spec: unknown): unknown => ({ apiVersion: V3, kind: 'WorkloadEndpoint', metadata: { name: 'w', namespace: 'n' }, spec });

  it('host endpoints', () => {
    expectIssue(hep({ interfaceName: 'eth0' }), ['spec', 'node'], 'node must be specified');
    expectIssue(hep({ node: 'n' }), ['spec'], 'at least one of interfaceName or expectedIPs must be specified');
    expectIssue(hep({ node: 'n', interfaceName: 'a-very-long-interface' }), ['spec', 'interfaceName'], '1-15 characters');
    expectIssue(hep({ node: 'n', expectedIPs: ['10.0.0.0/8'] }), ['spec', 'expectedIPs', 0], 'invalid IP address');
    expectIssue(hep({ node: 'n', interfaceName: '*', ports: [{ name: 'dns', protocol: 'ICMP', port: 53 }] }),
      ['spec', 'ports', 0, 'protocol'], 'EndpointPort protocol does not support ports');
  });

  it('workload endpoints', () => {
    expectIssue(wep({}), ['spec', 'interfaceName'], 'interfaceName is required');
    expectIssue(wep({ interfaceName: 'cali1', ipNetworks: ['10.0.0.0/24'] }), ['spec', 'ipNetworks', 0], 'IP network contains multiple addresses');
    expectIssue(wep({ interfaceName: 'cali1', ipNetworks: ['10.0.0.1/32'], ipNATs: [{ internalIP: '10.0.0.2', externalIP: '1.1.1.1' }] }),
      ['spec', 'ipNATs', 0, 'internalIP'], 'NAT is not in the endpoint networks');
    expectIssue(wep({ interfaceName: 'cali1', mac: 'zz' }), ['spec', 'mac'], 'invalid MAC');
    expect(validateResource(wep({ interfaceName: 'cali1', mac: 'aa:bb:cc:dd:ee:ff', ipv4Gateway: '10.0.0.1', ipv6Gateway: 'fe80::1' })).ok).toBe(true);
  });

  it('network sets accept bare IPs and unmasked CIDRs', () => {
    expect(validateResource({ apiVersion: V3, kind: 'NetworkSet', metadata: { name: 's', namespace: 'n' }, spec: { nets: ['10.0.0.1', '10.0.0.1/24', 'fd00::1'] } }).ok).toBe(true);
    expectIssue({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: 's' }, spec: { nets: ['garbage'] } }, ['spec', 'nets', 0], 'invalid CIDR');
  });

  it('IP pools', () => {
    const pool = (spec: unknown): unknown => ({ apiVersion: V3, kind: 'IPPool', metadata: { name: 'p' }, spec });
    expect(validateResource(pool({ cidr: '10.0.0.0/16' })).ok).toBe(true);
    expectIssue(pool({ cidr: '10.0.0.1/16' }), ['spec', 'cidr'], 'not strictly masked');
    expectIssue(pool({ cidr: 'fd00::/48', ipipMode: 'Always' }), ['spec', 'ipipMode'], "IPIPMode other than 'Never'");
    expectIssue(pool({}), ['spec', 'cidr'], 'IPPool CIDR must be specified');
  });
});

describe('Kubernetes kinds are checked as the API server checks them', () => {
  it('an ipBlock CIDR with host bits is fine in a k8s NetworkPolicy', () => {
    const r = validateResource({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a', namespace: 'n' },
      spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/24' } }] }] },
    });
    expect(r.ok).toBe(true);
  });

  it('StagedKubernetesNetworkPolicy: k8s spec checks plus stagedAction', () => {
    const sknp = (spec: unknown): unknown => ({ apiVersion: V3, kind: 'StagedKubernetesNetworkPolicy', metadata: { name: 'a', namespace: 'n' }, spec });
    const ok = validateResource(sknp({ podSelector: {}, policyTypes: ['Ingress'] }));
    expect(ok.ok && ((ok.value as { spec: { stagedAction?: string } }).spec).stagedAction).toBe('Set');
    expectIssue(sknp({ stagedAction: 'Maybe' }), ['spec', 'stagedAction'], 'must be one of Set, Delete, Learn, Ignore');
    expectIssue(sknp({ stagedAction: 'Delete', podSelector: { matchLabels: { a: 'b' } } }), ['spec'], 'should all be zero-value');
    expect(validateResource(sknp({ ingress: [{ ports: [{ port: 0 }] }] })).ok).toBe(false);
  });
});
