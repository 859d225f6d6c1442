// Ports (numorstring.Port, §2.1 and §5.5): a number, a `"min:max"` range, a numeric string, or a named port.
// Decoding follows Go's UnmarshalJSON (so `"80"` becomes 80 and `"80:80"` becomes 80); range bounds, order and
// port-name rules are semantic checks with Calico's wording.

import { isPortName } from '../kubernetes/names.js';
import type { Port } from '../types.js';
import type { Path, ValidationContext } from './context.js';
import { msg } from './messages.js';
import type { CustomSchema } from './schema.js';

export type ParsedPort =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'named'; readonly name: string };

const UINT16 = /^[0-9]+$/;
// numorstring namedPortRegex: what a string must look like to be taken as a port name at all.
const NAMED_PORT = /^[a-zA-Z0-9_.-]{1,128}$/;

function uint16(text: string): number | undefined {
  if (!UINT16.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** Reads a decoded port. Returns undefined only for values the decoder would not have produced. */
export function parsePort(port: Port): ParsedPort | undefined {
  if (typeof port === 'number') return Number.isInteger(port) ? { kind: 'range', min: port, max: port } : undefined;
  const single = uint16(port);
  if (single !== undefined) return { kind: 'range', min: single, max: single };
  if (port.includes(':')) {
    const parts = port.split(':');
    if (parts.length !== 2) return undefined;
    const min = uint16(parts[0] ?? '');
    const max = uint16(parts[1] ?? '');
    return min === undefined || max === undefined ? undefined : { kind: 'range', min, max };
  }
  return NAMED_PORT.test(port) ? { kind: 'named', name: port } : undefined;
}

export const portSchema: CustomSchema = {
  type: 'custom',
  expected: 'a port number, a "min:max" range or a port name',
  decode(value) {
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) return { ok: false, code: 'port.invalid', message: msg.portDecode() };
      if (value < 0 || value > 65535) return { ok: false, code: 'port.range', message: msg.portRangeBounds() };
      return { ok: true, value };
    }
    if (typeof value !== 'string') return { ok: false, code: 'port.invalid', message: msg.portDecode() };
    // All digits but too big for a port: Go would take it as a (then invalid) port name; the range message is
    // the useful one.
    if (UINT16.test(value) && Number(value) > 65535) {
      return { ok: false, code: 'port.range', message: msg.portRangeBounds() };
    }
    const parsed = parsePort(value);
    if (!parsed) return { ok: false, code: 'port.invalid', message: msg.portDecode() };
    if (parsed.kind === 'named') return { ok: true, value };
    // A single port is written out as a number, a range as "min:max" (numorstring String()).
    return { ok: true, value: parsed.min === parsed.max ? parsed.min : `${parsed.min}:${parsed.max}` };
  },
};

/** validator.go validatePort plus the k8s port-name rule for named ports. */
export function checkPort(ctx: ValidationContext, port: Port, path: Path): void {
  const parsed = parsePort(port);
  if (!parsed) return;
  if (parsed.kind === 'named') {
    const problems = isPortName(parsed.name);
    if (problems.length > 0) ctx.report('port.name', path, msg.portName(parsed.name, problems), port);
    return;
  }
  if (parsed.min > parsed.max) ctx.report('port.range', path, msg.portRangeOrder(parsed.min, parsed.max), port);
  if (parsed.min < 1 || parsed.max < 1) ctx.report('port.range', path, msg.portRangeBounds(), port);
}

export function isNamedPort(port: Port): boolean {
  return parsePort(port)?.kind === 'named';
}
