// The flow-log parsers on bytes this kernel produced: a pcap stream tcpdump wrote for three UDP packets logged by
// `udp dport 9999 counter log prefix "D 0123456789" group 1 snaplen 80 accept` on output (loopback, 200-byte
// payloads), cut at every possible point; conntrack lines as conntrack 1.4.7 printed them; /proc/net/netlink.

import { describe, expect, it } from 'vitest';

import {
  LINKTYPE_NFLOG, PacketVerdicts, parseConntrackLine, parseNetlinkDrops, parseNflogRecord, parsePacketHeaders, parsePrefix, PcapStream, PcapStreamError,
} from '../../../src/dataplane/flowlog/index.js';
import type { RuleMeaning } from '../../../src/dataplane/render/rule-ids.js';

const CAPTURE = Buffer.from([
  'd4c3b2a102000400000000000000000000000400ef000000280d136b3c8507008c0000008c0000000200000108000100',
  '0800030011000a0044203031323334353637383900000000080005000000000108000b000000000008000e0000000000',
  '54000900450000e4fae24000401141247f0000017f0000018d8a270f00d0fee300000000000000000000000000000000',
  '000000000000000000000000000000000000000000000000000000000000000000000000280d136b638507008c000000',
  '8c00000002000001080001000800030011000a0044203031323334353637383900000000080005000000000108000b00',
  '0000000008000e000000000054000900450000e4faec40004011411a7f0000017f0000018d8a270f00d0fee300000000',
  '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '280d136b658507008c0000008c00000002000001080001000800030011000a0044203031323334353637383900000000',
  '080005000000000108000b000000000008000e000000000054000900450000e4fafe4000401141087f0000017f000001',
  '8d8a270f00d0fee300000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '000000000000000000000000',
].join(''), 'hex');

describe('pcap stream of LINKTYPE_NFLOG records', () => {
  it('reads the three records, whatever the chunking', () => {
    for (let cut = 1; cut < CAPTURE.length; cut++) {
      const s = new PcapStream();
      const recs = [...s.push(CAPTURE.subarray(0, cut)), ...s.push(CAPTURE.subarray(cut))];
      expect(recs, `cut at ${cut}`).toHaveLength(3);
      expect(s.header).toMatchObject({ linkType: LINKTYPE_NFLOG, littleEndian: true });
    }
  });

  it('decodes the NFLOG TLVs and the packet under them', () => {
    const s = new PcapStream();
    const [first] = s.push(CAPTURE);
    const rec = parseNflogRecord(first!.data, true);
    expect(rec).toMatchObject({ family: 2, group: 1, prefix: 'D 0123456789', hwProtocol: 0x0800, hook: 3, outIfindex: 1 });
    expect(rec.payload).toHaveLength(80); // snaplen 80
    expect(parsePacketHeaders(rec.payload)).toEqual({
      ipVersion: 4, src: '127.0.0.1', dst: '127.0.0.1', protocol: 17, srcPort: 36234, dstPort: 9999, length: 228,
    });
    expect(parsePrefix(rec.prefix)).toEqual({ code: 'D', ruleId: '0123456789' });
  });

  it('refuses a stream that is not pcap, and a record length no pcap has', () => {
    expect(() => new PcapStream().push(Buffer.alloc(24, 7))).toThrow(PcapStreamError);
    const bad = Buffer.from(CAPTURE.subarray(0, 40));
    bad.writeUInt32LE(1 << 24, 32);
    expect(() => new PcapStream().push(bad)).toThrow(/not a pcap stream/);
  });
});

describe('packet headers', () => {
  it('reads IPv6 with TCP through a hop-by-hop header, and ICMPv6', () => {
    const p = Buffer.alloc(40 + 8 + 20);
    p[0] = 0x60; p.writeUInt16BE(28, 4); p[6] = 0; // hop-by-hop
    p.writeUInt16BE(0xfd00, 8); p[23] = 1; p.writeUInt16BE(0xfd00, 24); p[39] = 2;
    p[40] = 6; p[41] = 0; // next: TCP, length (0+1)*8
    p.writeUInt16BE(40000, 48); p.writeUInt16BE(443, 50); p[48 + 13] = 0x02;
    expect(parsePacketHeaders(p)).toEqual({ ipVersion: 6, src: 'fd00::1', dst: 'fd00::2', protocol: 6, srcPort: 40000, dstPort: 443, length: 68, tcpFlags: 2 });
    const icmp = Buffer.alloc(48);
    icmp[0] = 0x60; icmp[6] = 58; icmp[40] = 128;
    expect(parsePacketHeaders(icmp)).toMatchObject({ protocol: 58, icmpType: 128, icmpCode: 0 });
    expect(parsePacketHeaders(Buffer.from([0x45]))).toBeUndefined();
  });

  it('gives a non-first IPv4 fragment no ports', () => {
    const p = Buffer.alloc(28);
    p[0] = 0x45; p[9] = 6; p.writeUInt16BE(0x0010, 6);
    expect(parsePacketHeaders(p)).not.toHaveProperty('dstPort');
  });
});

describe('conntrack lines', () => {
  it('reads a DESTROY event with counters, and a listing line as an update', () => {
    const destroy = '[1796411786.992358]\t[DESTROY] ipv4     2 tcp      6 src=10.7.0.2 dst=10.7.0.3 sport=57382 dport=80 packets=5 bytes=368 ' +
      'src=10.7.0.3 dst=10.7.0.2 sport=80 dport=57382 packets=4 bytes=270 [ASSURED] mark=0 delta-time=2';
    expect(parseConntrackLine(destroy)).toEqual({
      type: 'destroy', timeMs: 1796411786992.358, protocol: 6, src: '10.7.0.2', dst: '10.7.0.3', srcPort: 57382, dstPort: 80,
      packets: { orig: 5, reply: 4 }, bytes: { orig: 368, reply: 270 },
    });
    const listed = 'ipv4     2 tcp      6 118 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=57382 dport=7777 packets=5 bytes=368 ' +
      'src=127.0.0.1 dst=127.0.0.1 sport=7777 dport=57382 packets=5 bytes=270 [ASSURED] mark=0 delta-time=2 use=1';
    expect(parseConntrackLine(listed, 5)).toMatchObject({ type: 'update', timeMs: 5, packets: { orig: 5, reply: 5 }, bytes: { orig: 368, reply: 270 } });
    expect(parseConntrackLine(listed)).toBeUndefined();
    const fresh = '[1796411786.982248]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=57382 dport=7777 [UNREPLIED] ' +
      'src=127.0.0.1 dst=127.0.0.1 sport=7777 dport=57382';
    expect(parseConntrackLine(fresh)).toMatchObject({ type: 'new', srcPort: 57382, dstPort: 7777 });
    expect(parseConntrackLine(fresh)).not.toHaveProperty('packets');
  });
});

describe('/proc/net/netlink drops', () => {
  it('sums the Drops of the NETLINK_NETFILTER sockets of one pid', () => {
    const text = [
      'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
      'ffff8a0c1b2e0000 12  4242       00000000 0        0        0     2        17       98765',
      'ffff8a0c1b2e0800 0   4242       00000000 0        0        0     2        99       98766',
      'ffff8a0c1b2e1000 12  777        00000000 0        0        0     2        5        98767',
    ].join('\n');
    expect(parseNetlinkDrops(text, 4242)).toBe(17);
    expect(parseNetlinkDrops(text, 1)).toBeUndefined();
  });
});

describe('packet verdicts from NFLOG records', () => {
  const meaning = (id: string): RuleMeaning | undefined => ({
    id, what: 'policy-rule', direction: id.startsWith('e') ? 'egress' : 'ingress', index: Number(id.at(-1)), label: id,
  });
  const packet = (dport: number): Buffer => {
    const p = Buffer.alloc(40);
    p[0] = 0x45; p.writeUInt16BE(40, 2); p[9] = 6; p.writeUInt32BE(0x0a000001, 12); p.writeUInt32BE(0x0a000002, 16);
    p.writeUInt16BE(40000, 20); p.writeUInt16BE(dport, 22);
    return p;
  };
  const rec = (group: number, prefix: string, payload: Buffer) => ({ family: 2, group, prefix, payload });

  it('joins P and L hits to their verdict by direction and bytes, whatever arrives between them', () => {
    const pv = new PacketVerdicts(meaning);
    const p80 = packet(80);
    expect(pv.push(rec(3, 'L a000000000', p80), 1)).toBeUndefined(); // ingress Log, sent at once
    expect(pv.push(rec(2, 'P e000000001', p80), 2)).toBeUndefined(); // egress Pass of the same packet
    expect(pv.push(rec(1, 'D a000000009', packet(81)), 3)?.hits.map((h) => h.ruleId)).toEqual(['a000000009']);
    expect(pv.push(rec(2, 'A e000000002', p80), 4)?.hits.map((h) => `${h.action} ${h.ruleId}`)).toEqual(['Pass e000000001', 'Allow e000000002']);
    const ingress = pv.push(rec(1, 'A a000000003', p80), 5)!;
    expect(ingress).toMatchObject({ direction: 'ingress', action: 'Allow', packet: { dstPort: 80 } });
    expect(ingress.hits.map((h) => `${h.action} ${h.ruleId}`)).toEqual(['Log a000000000', 'Allow a000000003']);
    expect(pv.push(rec(1, 'not ours', p80), 6)).toBeUndefined();
    expect(pv.unreadable).toBe(1);
  });
});
