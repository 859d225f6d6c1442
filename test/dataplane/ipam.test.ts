import { describe, expect, it } from 'vitest';

import type { IPPool, WorkloadEndpoint } from '../../src/api/index.js';
import { addressesInUse, assignAddresses } from '../../src/dataplane/ipam.js';

const pool = (name: string, cidr: string, extra: Partial<IPPool['spec']> = {}): IPPool => ({
  apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr, ...extra },
});
const wep = (name: string, ips: string[]): WorkloadEndpoint => ({
  apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint', metadata: { name, namespace: 'x' }, spec: { ipNetworks: ips },
});

describe('assignAddresses', () => {
  it('takes the lowest free address of each family, skipping the network address', () => {
    const used = addressesInUse([wep('a', ['10.1.0.1/32', 'fd00::1/128'])]);
    expect(assignAddresses([pool('v4', '10.1.0.0/16'), pool('v6', 'fd00::/64')], used))
      .toEqual({ ok: true, value: ['10.1.0.2', 'fd00::2'] });
  });

  it('skips disabled, manual and non-workload pools, and moves on when a pool is full', () => {
    const pools = [
      pool('a-off', '10.0.0.0/24', { disabled: true }),
      pool('b-manual', '10.0.1.0/24', { assignmentMode: 'Manual' }),
      pool('c-tunnel', '10.0.2.0/24', { allowedUses: ['Tunnel'] }),
      pool('d-tiny', '10.0.3.0/30'),
      pool('e-next', '10.0.4.0/24'),
    ];
    const used = addressesInUse([wep('a', ['10.0.3.1/32']), wep('b', ['10.0.3.2/32'])]);
    expect(assignAddresses(pools, used)).toEqual({ ok: true, value: ['10.0.4.1'] });
  });

  it('pins given addresses when free, and says why when not', () => {
    const used = addressesInUse([wep('a', ['10.1.0.1/32'])]);
    expect(assignAddresses([], used, ['10.1.0.9', 'FD00::0:9'])).toEqual({ ok: true, value: ['10.1.0.9', 'fd00::9'] });
    const bad = assignAddresses([], used, ['10.1.0.1', 'nope', '10.1.0.2', '10.1.0.3']);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.code)).toEqual(['ipam.in-use', 'ipam.invalid', 'ipam.family']);
  });

  it('explains what to do without any pool', () => {
    const res = assignAddresses([], new Set());
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.issues[0]!.message).toMatch(/create one .* or pass --ip/);
  });

  it('reports an exhausted family', () => {
    const used = addressesInUse([wep('a', ['10.0.0.1/32', '10.0.0.2/32'])]);
    const res = assignAddresses([pool('p', '10.0.0.0/30')], used);
    expect(res.ok).toBe(false);
  });
});
