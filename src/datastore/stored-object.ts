// The one decoder of stored objects, shared by both stores: bytes (or an already parsed value) read at a store
// path become either a validated Resource or a SkippedObject that says, in one line, why it cannot be served.
//
// Stores write only admitted objects (admission.ts), but what they read may have been written behind Tabby's
// back — `etcdctl put`, another tool under the Calico prefix, a damaged or hand-edited file — so nothing read is
// trusted: every value is size-bounded, parsed, validated as calicoctl would (api validateResource) and checked to
// live at the key its own kind/namespace/name gives (an object stored under another object's key would otherwise
// shadow it). Anything that fails is skipped, never thrown: one bad key must not stop a list, a watch or an
// agent's sync (issue 10 §4). The caller reports the SkippedObject (tabby get prints it on stderr; the agent
// shows it in status) and serves everything else.
//
// Keys that are not object keys at all (foreign data under the prefix, e.g. Calico's own /calico/resources/v3/
// housekeeping keys) are not "skipped objects": parseKeyPath rejects them and stores ignore them, as before.

import { escapeControls, formatPath, validateResource, type Resource, type ResourceKey } from '../api/index.js';
import type { SkippedObject } from './datastore.js';
import { describeKey } from './errors.js';
import { keyOf, parseKeyPath, sameKey } from './keys.js';

/**
 * The largest stored object decoded. etcd's own request limit is 1.5 MiB; a file store record may be larger (a
 * policy with thousands of rules), so the bound is generous — it only stops a stray multi-gigabyte value from
 * being parsed.
 */
export const MAX_STORED_OBJECT_BYTES = 32 * 1024 * 1024;

/** How much of a reason (an issue message, a parser error) a SkippedObject keeps. */
const MAX_REASON_CHARS = 300;

export type DecodedObject =
  | { ok: true; key: ResourceKey; value: Resource }
  | { ok: false; skipped: SkippedObject };

export interface DecodeContext {
  /** The store path (keys.ts form) the object was read at. */
  path: string;
  /** The store's own name for where it was read (the full etcd key; `journal.log@1234`); defaults to `path`. */
  where?: string;
  /** The revision of the write that stored it, when known. */
  revision?: number;
}

/** One line, bounded, with control characters escaped so a stored value cannot forge a line of output. */
function oneLine(text: string): string {
  const escaped = escapeControls(text);
  return escaped.length > MAX_REASON_CHARS ? `${escaped.slice(0, MAX_REASON_CHARS)}…` : escaped;
}

function skip(ctx: DecodeContext, reason: string, resource?: ResourceKey): DecodedObject {
  const skipped: SkippedObject = { key: ctx.where ?? ctx.path, reason: oneLine(reason) };
  if (resource) skipped.resource = resource;
  if (ctx.revision !== undefined) skipped.revision = ctx.revision;
  return { ok: false, skipped };
}

/**
 * Decodes a stored value. `raw` is the stored bytes (etcd) or a value already parsed from a checksummed record
 * (the file store). Returns undefined when `path` is not an object key at all (foreign data, ignored). Never
 * throws.
 */
export function decodeStoredObject(raw: Uint8Array | string | unknown, ctx: DecodeContext): DecodedObject | undefined {
  const resource = parseKeyPath(ctx.path);
  if (!resource) return undefined;
  let value: unknown = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
    if (size > MAX_STORED_OBJECT_BYTES) {
      return skip(ctx, `stored value is ${size} bytes (more than the ${MAX_STORED_OBJECT_BYTES} allowed)`, resource);
    }
    const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch (err) {
      return skip(ctx, `stored value is not JSON: ${err instanceof Error ? err.message : String(err)}`, resource);
    }
  }
  return validateStored(value, resource, ctx);
}

function validateStored(value: unknown, resource: ResourceKey, ctx: DecodeContext): DecodedObject {
  let result: ReturnType<typeof validateResource>;
  try {
    result = validateResource(value);
  } catch (err) {
    // validateResource never throws for bad input; a RangeError from absurd nesting is still bad input here.
    return skip(ctx, `stored value cannot be validated: ${err instanceof Error ? err.message : String(err)}`, resource);
  }
  if (!result.ok) {
    const first = result.issues[0];
    const where = first && first.path.length > 0 ? `${formatPath(first.path)}: ` : '';
    const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : '';
    return skip(ctx, `invalid stored object: ${where}${first?.message ?? 'unknown problem'}${more}`, resource);
  }
  let own: ResourceKey;
  try {
    own = keyOf(result.value);
  } catch (err) {
    return skip(ctx, `stored object has no usable key: ${err instanceof Error ? err.message : String(err)}`, resource);
  }
  if (!sameKey(own, resource)) {
    return skip(ctx, `stored object is ${describeKey(own)} but is stored at the key of ${describeKey(resource)}`, resource);
  }
  // resourceVersion is never stored (admission.ts): whatever a foreign writer put there is not the revision.
  delete result.value.metadata.resourceVersion;
  return { ok: true, key: resource, value: result.value };
}

/** `KEY: reason` — how a skipped object is named in warnings. */
export function describeSkipped(s: SkippedObject): string {
  return `${s.key}: ${s.reason}`;
}
