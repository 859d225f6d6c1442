// From a Flow as a user writes it (endpoint references or addresses, a protocol name, ports) to the peers and
// the packet the evaluation works on. Problems (an unknown endpoint, an address that does not parse, no address
// family both ends have) come back as issues.

import { formatIp, parseIp, type IpAddr, type Issue } from '../api/index.js';
import type { Peer } from './host-path.js';
import type { EndpointModel } from './model.js';
import { ICMPV6, protocolNumber } from './protocol.js';
import type { Packet } from './rule-match.js';
import type { Flow, FlowPeer } from './types.js';

export interface ResolvedFlow {
  src: Peer;
  dst: Peer;
  packet: Packet;
}

export type EndpointLookup = (ref: string) => EndpointModel | undefined;

function issue(code: string, path: string, message: string, value?: unknown): Issue {
  return { code, path: [path], message, ...(value !== undefined && { value }) };
}

function resolvePeer(peer: FlowPeer, path: 'from' | 'to', lookup: EndpointLookup, issues: Issue[]): Peer | undefined {
  if (typeof peer === 'string') {
    const endpoint = lookup(peer);
    if (endpoint) return { endpoint };
    const hint = peer.startsWith('hep:') ? 'no HostEndpoint of that name' : peer.includes('/') ?
      'no Pod or WorkloadEndpoint of that namespace/name' : "write namespace/name, hep:<name>, or an address";
    issues.push(issue('flow.unknown-endpoint', path, `unknown endpoint ${JSON.stringify(peer)}: ${hint}`, peer));
    return undefined;
  }
  if (peer === null || typeof peer !== 'object' || typeof peer.ip !== 'string') {
    issues.push(issue('flow.invalid-peer', path, 'a flow end is an endpoint reference or {ip: <address>}', peer));
    return undefined;
  }
  const address = parseIp(peer.ip);
  if (!address) {
    issues.push(issue('flow.invalid-address', path, `invalid IP address ${JSON.stringify(peer.ip)}`, peer.ip));
    return undefined;
  }
  return { address };
}

/** Whether the peer can send or receive in `family`; an endpoint without addresses fits any family. */
function fits(peer: Peer, family: 4 | 6): boolean {
  if ('address' in peer) return peer.address.family === family;
  const addresses = peer.endpoint.addresses;
  return addresses.length === 0 || addresses.some((a) => a.family === family);
}

function addressOf(peer: Peer, family: 4 | 6): IpAddr | undefined {
  if ('address' in peer) return peer.address;
  return peer.endpoint.addresses.find((a) => a.family === family);
}

function checkPort(value: unknown, path: string, issues: Issue[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535) return value;
  issues.push(issue('flow.invalid-port', path, `a port is an integer 0–65535, not ${JSON.stringify(value)}`, value));
  return undefined;
}

export function resolveFlow(flow: Flow, lookup: EndpointLookup): { ok: true; value: ResolvedFlow } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  const src = resolvePeer(flow.from, 'from', lookup, issues);
  const dst = resolvePeer(flow.to, 'to', lookup, issues);
  const protocol = flow.protocol === undefined ? undefined : protocolNumber(flow.protocol);
  if (protocol === undefined) {
    issues.push(issue('flow.invalid-protocol', 'protocol',
      `unknown protocol ${JSON.stringify(flow.protocol)}: use TCP, UDP, SCTP, UDPLite, ICMP, ICMPv6 or a number 0–255`, flow.protocol));
  }
  const dstPort = checkPort(flow.port, 'port', issues);
  const srcPort = checkPort(flow.srcPort, 'srcPort', issues);
  if (!src || !dst || protocol === undefined || issues.length > 0) return { ok: false, issues };

  let family: 4 | 6 | undefined;
  if (flow.ipVersion !== undefined) {
    if (flow.ipVersion !== 4 && flow.ipVersion !== 6) {
      return { ok: false, issues: [issue('flow.invalid-ip-version', 'ipVersion', 'ipVersion is 4 or 6', flow.ipVersion)] };
    }
    family = flow.ipVersion;
  } else {
    const order: Array<4 | 6> = protocol === ICMPV6 ? [6, 4] : [4, 6];
    family = order.find((f) => fits(src, f) && fits(dst, f));
  }
  if (family === undefined || !fits(src, family) || !fits(dst, family)) {
    const describe = (p: Peer): string => ('address' in p ? formatIp(p.address) : `${p.endpoint.info.ref} (${p.endpoint.info.ips.join(', ')})`);
    return {
      ok: false,
      issues: [issue('flow.no-common-family', 'to', `${describe(src)} and ${describe(dst)} have no address family in common`)],
    };
  }
  const packet: Packet = { family, protocol };
  const srcAddr = addressOf(src, family);
  const dstAddr = addressOf(dst, family);
  if (srcAddr) packet.src = srcAddr;
  if (dstAddr) packet.dst = dstAddr;
  if (dstPort !== undefined) packet.dstPort = dstPort;
  if (srcPort !== undefined) packet.srcPort = srcPort;
  if (flow.icmp?.type !== undefined) packet.icmpType = flow.icmp.type;
  if (flow.icmp?.code !== undefined) packet.icmpCode = flow.icmp.code;
  return { ok: true, value: { src, dst, packet } };
}
