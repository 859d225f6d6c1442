import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  cidrContains, cidrCovers, formatCidr, formatIp, hasHostBits, isSingleAddress, parseCidr, parseCidrOrIp, parseIp,
} from '../../src/api/net.js';

describe('parseIp / formatIp (Go net.ParseIP rules, RFC 5952 output)', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['AABB:aabb::FFFF', 'aabb:aabb::ffff'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ])('%s → %s', (text, canonical) => {
    const ip = parseIp(text);
    expect(ip).toBeDefined();
    expect(formatIp(ip!)).toBe(canonical);
  });

  it.each(['01.2.3.4', '1.2.3', '1.2.3.256', '1.2.3.4.5', '', ' 1.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1', '1:',
    ':::', 'fe80::1%eth0', '1:2:3:4:5:6:7:1.2.3.4', '12345::', 'g::', '1.2.3.4/32'])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it('reads dotted quads exactly as Go does (octets 0-255, no leading zeros, no empty or extra parts)', () => {
    // The reference: the rule stated plainly, checked against the character-by-character reader.
    const reference = (text: string): bigint | undefined => {
      const parts = text.split('.');
      if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
      return parts.reduce((v, p) => (v << 8n) | BigInt(p), 0n);
    };
    const octet = fc.oneof(fc.nat(300).map(String), fc.constantFrom('', '00', '01', '007', '0255', '1000', 'a', '-1', ' 1'));
    const quadish = fc.array(octet, { minLength: 1, maxLength: 6 }).map((ps) => ps.join('.'));
    fc.assert(fc.property(fc.oneof(quadish, fc.ipV4(), fc.string({ maxLength: 16 })), (text) => {
      if (text.includes(':')) return; // IPv6 text: another reader
      const ip = parseIp(text);
      expect(ip?.value).toBe(reference(text));
      if (ip) expect(formatIp(ip)).toBe(text);
    }), { numRuns: 3000 });
  });

  it('round-trips every address', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
      const ip = parseIp(text);
      expect(ip).toBeDefined();
      expect(parseIp(formatIp(ip!))).toEqual(ip);
    }));
  });
});

describe('parseCidr / parseCidrOrIp', () => {
  it('keeps host bits and reports them', () => {
    const n = parseCidr('10.0.0.1/24')!;
    expect(hasHostBits(n)).toBe(true);
    expect(formatCidr(n)).toBe('10.0.0.0/24');
    expect(hasHostBits(parseCidr('10.0.0.0/24')!)).toBe(false);
  });
  it('needs a prefix; parseCidrOrIp takes a bare IP as a single address', () => {
    expect(parseCidr('10.0.0.1')).toBeUndefined();
    const n = parseCidrOrIp('fd00::1')!;
    expect(n.prefixLength).toBe(128);
    expect(isSingleAddress(n)).toBe(true);
  });
  it.each(['1.2.3.4/33', '::/129', '1.2.3.4/', '1.2.3.4/-1', '1.2.3.4/a', 'x/8'])('rejects %j', (t) => {
    expect(parseCidr(t)).toBeUndefined();
  });
  it('accepts the catch-all spellings Calico lists', () => {
    for (const t of ['0.0.0.0/0', '::/0', '::0/0', '0:0:0::/0']) expect(parseCidr(t)?.prefixLength).toBe(0);
  });
  it('containment', () => {
    expect(cidrContains(parseCidr('10.0.0.0/8')!, parseIp('10.1.2.3')!)).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/8')!, parseIp('11.1.2.3')!)).toBe(false);
    expect(cidrContains(parseCidr('::/0')!, parseIp('1.2.3.4')!)).toBe(false);
    expect(cidrCovers(parseCidr('10.0.0.0/8')!, parseCidr('10.2.0.0/16')!)).toBe(true);
    expect(cidrCovers(parseCidr('10.2.0.0/16')!, parseCidr('10.0.0.0/8')!)).toBe(false);
  });
});
