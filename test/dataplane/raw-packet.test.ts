import { describe, expect, it } from 'vitest';

import { rawPayload, rawProbeGap } from '../../src/dataplane/probe/raw-packet.js';

/** One's-complement sum folded to 16 bits: 0xffff over a packet whose checksum is right. */
function folded(...pieces: Buffer[]): number {
  const all = Buffer.concat(pieces);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('raw probe packets', () => {
  it('builds an ICMP echo request with its type, code, identifier and a valid checksum', () => {
    const p = rawPayload({ family: 4, protocol: 1, icmp: { type: 8, code: 0 } }, '10.0.0.1', '10.0.0.2', 0x1234);
    expect([p[0], p[1], p.readUInt16BE(4)]).toEqual([8, 0, 0x1234]);
    expect(folded(p)).toBe(0xffff);
  });

  it('leaves the ICMPv6 checksum to the kernel and defaults the code to 0', () => {
    const p = rawPayload({ family: 6, protocol: 58, icmp: { type: 128 } }, 'fd00::1', 'fd00::2', 7);
    expect([p[0], p[1], p.readUInt16BE(2)]).toEqual([128, 0, 0]);
  });

  it("checksums UDP-Lite with UDP's pseudo-header protocol, as conntrack verifies it", () => {
    const p = rawPayload({ family: 4, protocol: 136 }, '198.51.100.1', '10.9.0.1', 7);
    expect(p.length).toBe(8);
    expect(p.readUInt16BE(4)).toBe(8);
    const pseudo = Buffer.from([198, 51, 100, 1, 10, 9, 0, 1, 0, 17, 0, 8]);
    expect(folded(pseudo, p)).toBe(0xffff);
    const v6 = rawPayload({ family: 6, protocol: 136 }, 'fd00::1', 'fd00::2', 7);
    const pseudo6 = Buffer.concat([Buffer.from('fd000000000000000000000000000001', 'hex'),
      Buffer.from('fd000000000000000000000000000002', 'hex'), Buffer.from([0, 0, 0, 8, 0, 0, 0, 17])]);
    expect(folded(pseudo6, v6)).toBe(0xffff);
  });

  it('says which flows one raw packet cannot carry', () => {
    expect(rawProbeGap({ family: 4, protocol: 1, icmp: { type: 8, code: 0 } })).toBeUndefined();
    expect(rawProbeGap({ family: 6, protocol: 58, icmp: { type: 128 } })).toBeUndefined();
    expect(rawProbeGap({ family: 4, protocol: 99 })).toBeUndefined();
    expect(rawProbeGap({ family: 4, protocol: 60 })).toBeUndefined();
    expect(rawProbeGap({ family: 6, protocol: 60 })).toBe('IPv6 extension header as protocol');
    expect(rawProbeGap({ family: 4, protocol: 132 })).toBe('SCTP');
    expect(rawProbeGap({ family: 4, protocol: 1, icmp: { type: 3, code: 1 } })).toBe('ICMP type that cannot start a flow');
    expect(rawProbeGap({ family: 6, protocol: 58, icmp: { type: 129 } })).toBe('ICMP type that cannot start a flow');
    expect(rawProbeGap({ family: 4, protocol: 1 })).toBe('ICMP without a type');
    expect(rawProbeGap({ family: 6, protocol: 1, icmp: { type: 8 } })).toBe('ICMP over IPv6');
  });
});
