// The outside address classes: named CIDRs (network sets, rule nets / notNets) nest into regions, each with one
// representative address no endpoint owns, plus anywhere else per family the endpoints use.
import { describe, expect, it } from 'vitest';

import { externalPeers } from '../../src/analysis/index.js';
import type { Resource } from '../../src/api/index.js';
import { PolicyEngine } from '../../src/engine/index.js';

const V3 = 'projectcalico.org/v3';

function engineOf(resources: Resource[]): PolicyEngine {
  const e = new PolicyEngine();
  e.load(resources);
  return e;
}

const pod = (name: string, ips: string[]): Resource => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'x' }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] },
  status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
}) as Resource;

describe('externalPeers', () => {
  it('splits nested nets into regions, skips regions with no free address, names who names each CIDR', () => {
    const e = engineOf([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } as Resource,
      pod('a', ['203.0.113.1']),
      pod('b', ['10.0.0.5']),
      { apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: 'feed' }, spec: { nets: ['203.0.113.0/24'] } } as Resource,
      { apiVersion: V3, kind: 'NetworkSet', metadata: { name: 'partners', namespace: 'x' }, spec: { nets: ['203.0.113.0/24', '198.51.100.0/24'] } } as Resource,
      {
        apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: 'p' },
        spec: {
          selector: 'all()', types: ['Egress'],
          egress: [{ action: 'Deny', destination: { nets: ['203.0.113.0/25', '10.0.0.5/32'], notNets: ['203.0.113.0/26'] } }],
        },
      } as Resource,
    ]);
    // Sorted by address. 203.0.113.0/26 is inside /25 inside /24; .1 is pod a's, so the /26 is represented by .2.
    // 10.0.0.5/32 holds only pod b's address: no outside class.
    expect(externalPeers([e]).map((p) => [p.label, p.address])).toEqual([
      ['0.0.0.0/0 outside every named net', '1.0.0.1'],
      ['198.51.100.0/24 (NetworkSet x/partners)', '198.51.100.1'],
      ['203.0.113.0/26 (GlobalNetworkPolicy p)', '203.0.113.2'],
      ['203.0.113.0/25 (GlobalNetworkPolicy p)', '203.0.113.64'],
      ['203.0.113.0/24 (GlobalNetworkSet feed, NetworkSet x/partners)', '203.0.113.128'],
    ]);
  });

  it('anywhere else per family the endpoints use, and none when a /0 is named', () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } as Resource;
    const dual = engineOf([ns, pod('a', ['10.0.0.1', 'fd00::1'])]);
    expect(externalPeers([dual]).map((p) => p.label)).toEqual(['0.0.0.0/0 outside every named net', '::/0 outside every named net']);
    const v4 = engineOf([ns, pod('a', ['10.0.0.1'])]);
    expect(externalPeers([v4]).map((p) => p.cidr)).toEqual(['0.0.0.0/0']);
    const all = engineOf([ns, pod('a', ['10.0.0.1']), {
      apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: 'any' },
      spec: { selector: 'all()', types: ['Egress'], egress: [{ action: 'Allow', destination: { nets: ['0.0.0.0/0'] } }] },
    } as Resource]);
    expect(externalPeers([all]).map((p) => [p.label, p.address])).toEqual([['0.0.0.0/0 (GlobalNetworkPolicy any)', '0.0.0.1']]);
  });
});
