// Calico's port model for converted k8s rules (projectcalico/api numorstring.Port and SimplifyPorts in
// libcalico-go conversion.go, §4.1): parsing a port's string form, and merging a protocol's ports into the
// fewest ranges. Kept separate from the conversion so the merge can be tested on its own, as Calico does.

import type { Port } from '../types.js';

/** A Calico port: a named port, or an inclusive numeric range (min == max for a single port). */
export type CalicoPort = { kind: 'named'; name: string } | { kind: 'range'; min: number; max: number };

const ALL_DIGITS = /^\d+$/;
const PORT_RANGE = /^(\d+):(\d+)$/;
const PORT_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const MAX_PORT = 65535;

/** Parses a uint16 the way Go's strconv.ParseUint(s, 10, 16) does (digits only, ≤ 65535). */
function parseUint16(text: string): number | undefined {
  if (!ALL_DIGITS.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_PORT ? n : undefined;
}

/**
 * numorstring.PortFromString: `"80"` is a port, `"80:90"` a range, anything else matching
 * `[a-zA-Z0-9_.-]{1,128}` a named port. Returns Calico's error text on failure.
 */
export function portFromString(text: string): { ok: true; port: CalicoPort } | { ok: false; error: string } {
  if (ALL_DIGITS.test(text)) {
    const n = parseUint16(text);
    if (n === undefined) return { ok: false, error: `invalid port format (${text})` };
    return { ok: true, port: { kind: 'range', min: n, max: n } };
  }
  const range = PORT_RANGE.exec(text);
  if (range) {
    const min = parseUint16(range[1] ?? '');
    if (min === undefined) return { ok: false, error: `invalid minimum port number in range (${text})` };
    const max = parseUint16(range[2] ?? '');
    if (max === undefined) return { ok: false, error: `invalid maximum port number in range (${text})` };
    if (min > max) {
      return {
        ok: false,
        error: `minimum port number (${min}) is greater than maximum port number (${max}) in port range`,
      };
    }
    return { ok: true, port: { kind: 'range', min, max } };
  }
  if (!PORT_NAME.test(text)) return { ok: false, error: `invalid name for named port (${text})` };
  return { ok: true, port: { kind: 'named', name: text } };
}

/** The manifest form Calico marshals: a number for a single port, `"min:max"` for a range, the name otherwise. */
export function portToManifest(port: CalicoPort): Port {
  if (port.kind === 'named') return port.name;
  return port.min === port.max ? port.min : `${port.min}:${port.max}`;
}

export function portToString(port: CalicoPort): string {
  return String(portToManifest(port));
}

/**
 * SimplifyPorts: named ports first (in input order), then the numeric ports merged into the fewest sorted
 * ranges. With at most one numeric port there is nothing to merge and the input comes back unchanged, order
 * included (so `[80, "foo"]` stays as written).
 */
export function simplifyPorts(ports: readonly CalicoPort[]): CalicoPort[] {
  if (ports.length <= 1) return [...ports];
  const named: CalicoPort[] = [];
  const ranges: Array<{ min: number; max: number }> = [];
  let numericCount = 0;
  for (const p of ports) {
    if (p.kind === 'named') {
      named.push(p);
    } else {
      ranges.push({ min: p.min, max: p.max });
      numericCount += p.max - p.min + 1;
    }
  }
  if (numericCount <= 1) return [...ports];
  // Merging sorted intervals gives the same ranges as Calico's walk over every individual port number.
  ranges.sort((a, b) => a.min - b.min || a.max - b.max);
  const merged: CalicoPort[] = [];
  let current: { min: number; max: number } | undefined;
  for (const r of ranges) {
    if (current && r.min <= current.max + 1) {
      current.max = Math.max(current.max, r.max);
    } else {
      if (current) merged.push({ kind: 'range', ...current });
      current = { ...r };
    }
  }
  if (current) merged.push({ kind: 'range', ...current });
  return [...named, ...merged];
}
