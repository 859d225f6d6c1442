// The address interval an element of an interval set covers. Part of the object model because both sides of it
// need the same arithmetic: the fake refuses overlapping intervals as the kernel does (EEXIST), and the renderer
// leaves out members a broader one covers so that it never writes an overlap (dataplane.md §2.5).

import { expandIPv6 } from './objects.js';

export interface AddressInterval {
  lo: bigint;
  hi: bigint;
  v6: boolean;
}

/** The interval of an address, a prefix (`10.1.0.0/16`) or a range (`10.0.0.1-10.0.0.9`); undefined otherwise. */
export function intervalOf(key: string): AddressInterval | undefined {
  const dash = key.indexOf('-');
  if (dash > 0 && !key.includes('/')) {
    const a = addressValue(key.slice(0, dash).trim());
    const b = addressValue(key.slice(dash + 1).trim());
    return a && b && a.v6 === b.v6 ? { lo: a.value, hi: b.value, v6: a.v6 } : undefined;
  }
  const [addr, lenText] = key.split('/');
  const a = addressValue(addr ?? '');
  if (!a) return undefined;
  const bits = a.v6 ? 128 : 32;
  const len = lenText === undefined ? bits : Number(lenText);
  const hostBits = BigInt(bits - len);
  const mask = (1n << hostBits) - 1n;
  const lo = a.value & ~mask;
  return { lo, hi: lo | mask, v6: a.v6 };
}

/** Whether two intervals of the same family share an address. */
export function overlaps(a: AddressInterval, b: AddressInterval): boolean {
  return a.v6 === b.v6 && a.lo <= b.hi && b.lo <= a.hi;
}

function addressValue(text: string): { value: bigint; v6: boolean } | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) {
    return { value: text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n), v6: false };
  }
  const groups = expandIPv6(text);
  if (!groups) return undefined;
  return { value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n), v6: true };
}
