// Packets for flows that are neither TCP nor UDP: ICMP/ICMPv6 messages and bare IP protocols, sent through a raw
// socket (the kernel writes the IP header; this module writes what follows it). Each packet is built to be what
// conntrack accepts as the first packet of a new flow — the node's ruleset accepts established/related and drops
// invalid before any policy (§5), so a malformed packet would be dropped whatever the policy says:
//
//   ICMP      an echo (or timestamp, information, address-mask) request with its checksum; other types are
//             errors or replies, which conntrack only accepts as part of an existing flow.
//   ICMPv6    an echo request or node-information query (the kernel's raw socket fills in the checksum).
//   UDP-Lite  a header covering itself, with the checksum conntrack verifies: nf_conntrack_proto_udp.c
//             (udplite_error) checks it with UDP's protocol number in the pseudo-header, not UDP-Lite's
//             (RFC 3828 §3.2), so a packet checksummed by the RFC — as the kernel's own UDP-Lite sockets send it —
//             is dropped as invalid on a routing node before any policy, under Felix as under Tabby (measured:
//             the RFC checksum hits `ct state invalid drop`, this one passes).
//   others    a few bytes of payload (conntrack's generic tracker looks at addresses and protocol only).
//
// SCTP (a CRC32c-checked INIT would be needed) and IPv6 extension-header numbers (no IPv6 packet has one as its
// upper-layer protocol) are not carried; rawProbeGap says why.

import { parseIp } from '../../api/index.js';

export const ICMP = 1;
export const ICMPV6 = 58;
const UDP = 17;
const UDPLITE = 136;
const SCTP = 132;

/** ICMP types conntrack lets start a flow (nf_conntrack_proto_icmp.c `valid_new`). */
const ICMP_NEW = new Set([8, 13, 15, 17]);
/** ICMPv6 types conntrack lets start a flow (nf_conntrack_proto_icmpv6.c `valid_new`). */
const ICMPV6_NEW = new Set([128, 139]);
/** IPv6 extension headers (RFC 8200 §4, RFC 7045): never the upper-layer protocol of a packet. */
const IPV6_EXTENSION_HEADERS = new Set([0, 43, 44, 50, 51, 59, 60, 135, 139, 140, 253, 254]);

export interface RawFlow {
  family: 4 | 6;
  protocol: number;
  /** For ICMP and ICMPv6; the code defaults to 0. */
  icmp?: { type?: number; code?: number };
}

/** Why a flow cannot be carried by one raw packet that starts a new conntrack flow, or undefined when it can. */
export function rawProbeGap(flow: RawFlow): string | undefined {
  if (flow.protocol === SCTP) return 'SCTP';
  if (flow.family === 6 && flow.protocol === ICMP) return 'ICMP over IPv6';
  if (flow.family === 4 && flow.protocol === ICMPV6) return 'ICMPv6 over IPv4';
  if (flow.family === 6 && flow.protocol !== ICMPV6 && IPV6_EXTENSION_HEADERS.has(flow.protocol)) {
    return 'IPv6 extension header as protocol';
  }
  if (flow.protocol === ICMP || flow.protocol === ICMPV6) {
    const type = flow.icmp?.type;
    if (type === undefined) return 'ICMP without a type';
    if (!(flow.protocol === ICMP ? ICMP_NEW : ICMPV6_NEW).has(type)) return 'ICMP type that cannot start a flow';
  }
  return undefined;
}

/** The Internet checksum (RFC 1071) of the pieces laid end to end. */
function checksum(...pieces: Buffer[]): number {
  const all = Buffer.concat(pieces);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function addressBytes(address: string): Buffer {
  const ip = parseIp(address);
  if (!ip) throw new Error(`not an IP address: ${address}`);
  const out = Buffer.alloc(ip.family === 4 ? 4 : 16);
  for (let i = out.length - 1, v = ip.value; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** The pseudo-header transport checksums cover (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6). */
function pseudoHeader(src: string, dst: string, protocol: number, length: number): Buffer {
  const [s, d] = [addressBytes(src), addressBytes(dst)];
  if (s.length === 4) {
    const tail = Buffer.alloc(4);
    tail.writeUInt8(protocol, 1);
    tail.writeUInt16BE(length, 2);
    return Buffer.concat([s, d, tail]);
  }
  const tail = Buffer.alloc(8);
  tail.writeUInt32BE(length, 0);
  tail.writeUInt8(protocol, 7);
  return Buffer.concat([s, d, tail]);
}

/**
 * What follows the IP header for `flow` from `src` to `dst`; `id` tells packets of different flows apart (the
 * ICMP identifier, the UDP-Lite source port). Call only for flows rawProbeGap accepts.
 */
export function rawPayload(flow: RawFlow, src: string, dst: string, id: number): Buffer {
  const tag = Buffer.from('tabby probe');
  if (flow.protocol === ICMP || flow.protocol === ICMPV6) {
    const msg = Buffer.concat([Buffer.alloc(8), tag]);
    msg.writeUInt8(flow.icmp!.type!, 0);
    msg.writeUInt8(flow.icmp!.code ?? 0, 1);
    msg.writeUInt16BE(id & 0xffff, 4);
    msg.writeUInt16BE(1, 6);
    // ICMPv6 raw sockets always get their checksum from the kernel (RFC 3542 §3.1).
    if (flow.protocol === ICMP) msg.writeUInt16BE(checksum(msg), 2);
    return msg;
  }
  if (flow.protocol === UDPLITE) {
    const header = Buffer.alloc(8);
    header.writeUInt16BE(32768 + (id % 28000), 0);
    header.writeUInt16BE(9, 2);
    header.writeUInt16BE(8, 4); // checksum coverage: the header (RFC 3828 §3.1)
    header.writeUInt16BE(checksum(pseudoHeader(src, dst, UDP, 8), header) || 0xffff, 6);
    return header;
  }
  return tag;
}
