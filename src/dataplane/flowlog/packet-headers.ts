// The addresses, protocol and ports of a logged packet, read from its network header (the NFLOG payload starts
// there). IPv6 extension headers (hop-by-hop, routing, fragment, destination options) are walked to the transport
// header; a non-first fragment has no ports.

import { formatIp } from '../../api/index.js';

export interface PacketHeaders {
  ipVersion: 4 | 6;
  /** Canonical address text (api/net.ts formatIp), as the engine keys endpoints. */
  src: string;
  dst: string;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP …). */
  protocol: number;
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
  /** The packet's length from its IP header (total length, or payload length + 40). */
  length: number;
  /** TCP flags byte, for telling a SYN from a later segment. */
  tcpFlags?: number;
}

const EXTENSION_HEADERS = new Set([0, 43, 60]);
const FRAGMENT = 44;

export function parsePacketHeaders(p: Buffer): PacketHeaders | undefined {
  if (p.length < 1) return undefined;
  const version = p[0]! >> 4;
  if (version === 4) {
    if (p.length < 20) return undefined;
    const ihl = (p[0]! & 0x0f) * 4;
    const fragOffset = p.readUInt16BE(6) & 0x1fff;
    const h: PacketHeaders = {
      ipVersion: 4, src: v4(p, 12), dst: v4(p, 16), protocol: p[9]!, length: p.readUInt16BE(2),
    };
    if (fragOffset === 0) transport(h, p, ihl);
    return h;
  }
  if (version === 6) {
    if (p.length < 40) return undefined;
    const h: PacketHeaders = {
      ipVersion: 6, src: v6(p, 8), dst: v6(p, 24), protocol: p[6]!, length: p.readUInt16BE(4) + 40,
    };
    let next = p[6]!;
    let off = 40;
    let first = true;
    while ((EXTENSION_HEADERS.has(next) || next === FRAGMENT) && off + 8 <= p.length) {
      if (next === FRAGMENT) first = (p.readUInt16BE(off + 2) & 0xfff8) === 0;
      const len = next === FRAGMENT ? 8 : (p[off + 1]! + 1) * 8;
      next = p[off]!;
      off += len;
    }
    h.protocol = next;
    if (first) transport(h, p, off);
    return h;
  }
  return undefined;
}

function transport(h: PacketHeaders, p: Buffer, off: number): void {
  if (h.protocol === 6 || h.protocol === 17 || h.protocol === 132 || h.protocol === 136) {
    if (p.length < off + 4) return;
    h.srcPort = p.readUInt16BE(off);
    h.dstPort = p.readUInt16BE(off + 2);
    if (h.protocol === 6 && p.length >= off + 14) h.tcpFlags = p[off + 13]!;
  } else if (h.protocol === 1 || h.protocol === 58) {
    if (p.length < off + 2) return;
    h.icmpType = p[off]!;
    h.icmpCode = p[off + 1]!;
  }
}

function v4(p: Buffer, off: number): string {
  return formatIp({ family: 4, value: BigInt(p.readUInt32BE(off)) });
}

function v6(p: Buffer, off: number): string {
  return formatIp({ family: 6, value: (p.readBigUInt64BE(off) << 64n) | p.readBigUInt64BE(off + 8) });
}

const NAMES: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP', 136: 'UDPLite' };

/** Calico's protocol name for a number (`TCP`, `UDP`, …), or the number as text. */
export function protocolName(n: number): string {
  return NAMES[n] ?? String(n);
}
