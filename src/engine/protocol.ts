// IP protocols by name and number. Calico keeps a v3 protocol verbatim and lower-cases it before Felix sees it
// (§2.1); a number and its name mean the same protocol on the wire.

export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

export const ICMP = 1;
export const TCP = 6;
export const UDP = 17;
export const IPIP = 4;
export const ICMPV6 = 58;
export const SCTP = 132;
export const UDPLITE = 136;

/** Protocols whose packets carry ports, so port matches can apply to them. */
const PORT_PROTOCOLS = new Set([TCP, UDP, SCTP, UDPLITE]);

/** A protocol name (any case) or number (0–255, possibly as a numeric string) → its number. */
export function protocolNumber(protocol: string | number): number | undefined {
  if (typeof protocol === 'number') return Number.isInteger(protocol) && protocol >= 0 && protocol <= 255 ? protocol : undefined;
  if (/^[0-9]+$/.test(protocol)) return protocolNumber(Number(protocol));
  return PROTOCOL_NUMBERS[protocol.toLowerCase()];
}

export function hasPorts(protocol: number): boolean {
  return PORT_PROTOCOLS.has(protocol);
}

const NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP', 136: 'UDPLite' };

/** The Calico name of a protocol number, or the number itself. */
export function protocolName(protocol: number): string {
  return NAMES[protocol] ?? String(protocol);
}

/** Named-port protocols: the rule's protocol when it is UDP or SCTP, TCP otherwise (rule_scanner.go). */
export type NamedPortProtocol = 'tcp' | 'udp' | 'sctp';

export function namedPortProtocolOf(protocol: number): NamedPortProtocol | undefined {
  return protocol === TCP ? 'tcp' : protocol === UDP ? 'udp' : protocol === SCTP ? 'sctp' : undefined;
}
