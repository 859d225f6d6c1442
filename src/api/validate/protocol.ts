// Protocols (numorstring.Protocol, §2.1 and §5.5): a name in exact case or a number 1–255, written as a JSON number
// or a numeric string. Decoding turns numeric strings into numbers, as Go's UnmarshalJSON does; names stay
// verbatim (`tcp` stays `tcp` and is then rejected, because Calico does not normalise case on input).

import type { Protocol } from '../types.js';
import type { Path, ValidationContext } from './context.js';
import { msg } from './messages.js';
import type { CustomSchema } from './schema.js';

export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, ICMP: 1, ICMPv6: 58, SCTP: 132, UDPLite: 136 };

export const protocolSchema: CustomSchema = {
  type: 'custom',
  expected: 'a protocol (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255)',
  decode(value) {
    if (typeof value === 'number') {
      // A JSON number must fit a uint8 or it does not decode at all.
      if (Number.isInteger(value) && value >= 0 && value <= 255) return { ok: true, value };
      return { ok: false, code: 'protocol.number', message: msg.protocolNumber(value) };
    }
    if (typeof value === 'string') {
      // strconv.ParseUint(s, 10, 8): digits only, at most 255; anything else is kept as a name.
      if (/^[0-9]+$/.test(value) && Number(value) <= 255) return { ok: true, value: Number(value) };
      return { ok: true, value };
    }
    return { ok: false, code: 'protocol.type', message: msg.protocolDecode() };
  },
};

/** validator.go validateProtocol: a number 1–255 or a name in exact case. */
export function checkProtocol(ctx: ValidationContext, protocol: Protocol, path: Path): void {
  if (typeof protocol === 'number') {
    if (protocol < 1 || protocol > 255) ctx.report('protocol.number', path, msg.protocolNumber(protocol), protocol);
    return;
  }
  if (!(PROTOCOL_NAMES as readonly string[]).includes(protocol)) {
    ctx.report('protocol.name', path, msg.protocolName(protocol), protocol);
  }
}

/** The IANA number of a protocol, whichever way it was written; undefined for an unknown name. */
export function protocolNumber(protocol: Protocol): number | undefined {
  if (typeof protocol === 'number') return protocol;
  return Object.hasOwn(PROTOCOL_NUMBERS, protocol) ? PROTOCOL_NUMBERS[protocol] : undefined;
}

/** numorstring SupportsPorts: TCP, UDP and SCTP, by name or number (6, 17, 132). */
export function protocolSupportsPorts(protocol: Protocol): boolean {
  const n = protocolNumber(protocol);
  return n === 6 || n === 17 || n === 132;
}

/**
 * Whether a protocol is ICMP (4) or ICMPv6 (6), as the CRD CEL rules compare: the exact name or the number
 * (1 or 58).
 */
export function icmpFamilyOf(protocol: Protocol | undefined): 4 | 6 | undefined {
  if (protocol === undefined) return undefined;
  if (protocol === 'ICMP' || protocol === 1) return 4;
  if (protocol === 'ICMPv6' || protocol === 58) return 6;
  return undefined;
}
