// The structural decoder: checks the JSON shape of a resource the way calicoctl's strict decoder does (Go
// `json.Decoder.DisallowUnknownFields` into the v3 structs, plus the CRD's OpenAPI enums and limits) and returns
// a clean copy: `null` fields dropped (they mean "absent" in Go and in the API server), numeric protocol and port
// strings normalised by the field's own decoder. It never throws; every problem becomes an Issue, and decoding
// carries on past it so all issues are reported.

import type { ValidationContext, Path } from './context.js';
import { msg } from './messages.js';

export interface StringSchema {
  readonly type: 'string';
  readonly enum?: readonly string[];
  readonly maxLength?: number;
}
export interface NumberSchema {
  readonly type: 'number';
}
export interface IntegerSchema {
  readonly type: 'integer';
  /** The Go integer type's range: a value outside it does not decode at all. */
  readonly min: number;
  readonly max: number;
  readonly goType: string;
}
export interface BooleanSchema {
  readonly type: 'boolean';
}
export interface ArraySchema {
  readonly type: 'array';
  readonly items: Schema;
  readonly maxItems?: number;
}
export interface Field {
  readonly schema: Schema;
  readonly required?: boolean;
}
export interface ObjectSchema {
  readonly type: 'object';
  /** The Go type name, used in messages (`Rule`, `EntityRule`). */
  readonly name: string;
  readonly fields: Readonly<Record<string, Field>>;
}
/** `map[string]string` (labels, annotations). */
export interface StringMapSchema {
  readonly type: 'stringMap';
}
/** Any JSON object, kept as written (status, qosControls). */
export interface OpaqueSchema {
  readonly type: 'opaque';
}
export type CustomDecode = { ok: true; value: unknown } | { ok: false; code: string; message: string };
/** A field with its own JSON decoder (numorstring.Port, numorstring.Protocol). */
export interface CustomSchema {
  readonly type: 'custom';
  /** What the field accepts, for messages: "a port number, a "min:max" range or a port name". */
  readonly expected: string;
  decode(value: unknown): CustomDecode;
}

export type Schema =
  | StringSchema
  | NumberSchema
  | IntegerSchema
  | BooleanSchema
  | ArraySchema
  | ObjectSchema
  | StringMapSchema
  | OpaqueSchema
  | CustomSchema;

// ---------------------------------------------------------------------------------------------------------------
// Builders, so resource schemas read like the Go structs they mirror.

export const str = (opts: { enum?: readonly string[]; maxLength?: number } = {}): StringSchema => ({ type: 'string', ...opts });
export const num = (): NumberSchema => ({ type: 'number' });
export const int = (goType: 'int' | 'uint8' | 'uint16' | 'int32' | 'int64'): IntegerSchema => {
  const ranges = {
    int: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    int32: [-(2 ** 31), 2 ** 31 - 1],
    uint8: [0, 255],
    uint16: [0, 65535],
  } as const;
  const [min, max] = ranges[goType];
  return { type: 'integer', min, max, goType };
};
export const bool = (): BooleanSchema => ({ type: 'boolean' });
export const arr = (items: Schema, opts: { maxItems?: number } = {}): ArraySchema => ({ type: 'array', items, ...opts });
export const obj = (name: string, fields: Record<string, Schema | Field>): ObjectSchema => ({
  type: 'object',
  name,
  fields: Object.fromEntries(
    Object.entries(fields).map(([k, f]) => [k, 'schema' in f ? f : { schema: f }]),
  ),
});
export const req = (schema: Schema): Field => ({ schema, required: true });
export const stringMap = (): StringMapSchema => ({ type: 'stringMap' });
export const opaque = (): OpaqueSchema => ({ type: 'opaque' });

// ---------------------------------------------------------------------------------------------------------------

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a schema accepts, in words, for "expected X, got Y" messages. */
export function describeSchema(schema: Schema): string {
  switch (schema.type) {
    case 'string':
      return schema.enum ? `one of ${schema.enum.join(', ')}` : 'a string';
    case 'number':
      return 'a number';
    case 'integer':
      return schema.min === 0 ? `an integer from 0 to ${schema.max}` : 'an integer';
    case 'boolean':
      return 'true or false';
    case 'array':
      return `a list of ${describeSchema(schema.items).replace(/^(a|an) /, '')}s`.replace(/ss$/, 's');
    case 'object':
      return `an object (${schema.name})`;
    case 'stringMap':
      return 'a map of strings to strings';
    case 'opaque':
      return 'an object';
    case 'custom':
      return schema.expected;
  }
}

/**
 * Decodes `value` against `schema`, reporting into `ctx`. Returns the cleaned value, or undefined when the value
 * is unusable (the issue has been reported).
 */
export function decode(ctx: ValidationContext, schema: Schema, value: unknown, path: Path): unknown {
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return typeError(ctx, schema, value, path);
      if (schema.enum && !schema.enum.includes(value)) {
        ctx.structural('schema.enum', path, msg.notInEnum(value, schema.enum), value);
        return undefined;
      }
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        // A CRD limit: the value is still meaningful, so keep it for the semantic checks.
        ctx.report('schema.maxLength', path, msg.tooLong(value.length, schema.maxLength), value);
      }
      return value;
    }
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return typeError(ctx, schema, value, path);
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return typeError(ctx, schema, value, path);
      if (value < schema.min || value > schema.max) {
        ctx.structural('schema.range', path, msg.outOfGoRange(value, schema.goType, schema.min, schema.max), value);
        return undefined;
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return typeError(ctx, schema, value, path);
      return value;
    case 'array': {
      if (!Array.isArray(value)) return typeError(ctx, schema, value, path);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) {
        ctx.report('schema.maxItems', path, msg.tooManyItems(value.length, schema.maxItems));
      }
      // Items that fail to decode leave a hole, so later checks still report the author's indexes. Holes only
      // exist while issues do: a value with holes is never returned to the caller.
      const out: unknown[] = new Array<unknown>(value.length);
      value.forEach((item: unknown, i) => {
        const decoded = decode(ctx, schema.items, item, [...path, i]);
        if (decoded !== undefined) out[i] = decoded;
      });
      return out;
    }
    case 'object':
      return decodeObject(ctx, schema, value, path);
    case 'stringMap': {
      if (!isPlainObject(value)) return typeError(ctx, schema, value, path);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') {
          ctx.structural('schema.type', [...path, k], msg.typeMismatch('a string', v), v);
          continue;
        }
        setOwn(out, k, v);
      }
      return out;
    }
    case 'opaque':
      if (!isPlainObject(value)) return typeError(ctx, schema, value, path);
      return structuredClone(value);
    case 'custom': {
      const r = schema.decode(value);
      if (!r.ok) {
        ctx.structural(r.code, path, r.message, value);
        return undefined;
      }
      return r.value;
    }
  }
}

/** Assignment that also works for a key named `__proto__` (kept as data, as JSON.parse keeps it). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function typeError(ctx: ValidationContext, schema: Schema, value: unknown, path: Path): undefined {
  ctx.structural('schema.type', path, msg.typeMismatch(describeSchema(schema), value), value);
  return undefined;
}

export function decodeObject(
  ctx: ValidationContext,
  schema: ObjectSchema,
  value: unknown,
  path: Path,
): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return typeError(ctx, schema, value, path);
  const out: Record<string, unknown> = {};
  const allowed = Object.keys(schema.fields);
  for (const [key, raw] of Object.entries(value)) {
    // Own properties only: a key such as "constructor" or "__proto__" must be an unknown field, not a lookup
    // into Object.prototype.
    const field = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
    if (!field) {
      ctx.structural('schema.unknownField', [...path, key], msg.unknownField(key, schema.name, allowed), raw);
      continue;
    }
    // Go and the API server both treat an explicit null as an absent field.
    if (raw === null || raw === undefined) continue;
    const decoded = decode(ctx, field.schema, raw, [...path, key]);
    if (decoded !== undefined) setOwn(out, key, decoded);
  }
  for (const [key, field] of Object.entries(schema.fields)) {
    if (field.required && (value[key] === undefined || value[key] === null)) {
      ctx.structural('schema.required', [...path, key], msg.requiredField(key, schema.name, describeSchema(field.schema)));
    }
  }
  return out;
}
