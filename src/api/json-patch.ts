// The two patch formats `tabby patch --type` and the server's PATCH take, as their RFCs define them (in the api part
// because both the CLI and src/server apply them):
//   merge — RFC 7386 JSON Merge Patch: objects merge key by key, null removes a key, anything else (arrays too)
//           replaces. The default, as `calicoctl patch` and `kubectl patch --type merge` (what kubectl uses for
//           custom resources such as Calico's: they have no strategic-merge schema).
//   json  — RFC 6902 JSON Patch: a list of add/remove/replace/move/copy/test operations at RFC 6901 JSON Pointers
//           (`~1` is `/`, `~0` is `~`, `-` appends to an array). The whole list applies or nothing does: a failed
//           `test`, a path that does not exist, a bad index is an error naming the operation.
//
// Written here rather than taken from a library: both RFCs are short, and what matters is the strictness — an
// unknown op, a missing `value`, an index with a leading zero, `-` where an element must exist, a move into its
// own child are all errors here (fast-json-patch, the common choice, accepts several of them unless its
// validator is switched on, and mutates in place) — and keys such as `__proto__` in untrusted patches must be
// plain data, never the prototype (every key is set with defineProperty).

export type JsonPatchResult = { ok: true; value: unknown } | { ok: false; error: string };

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `obj[key] = value` as data: a `__proto__` key is an own property, never the prototype. */
function setKey(obj: JsonObject, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** RFC 7386 §2 MergePatch(Target, Patch), without changing either argument. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = {};
  if (isObject(target)) for (const [k, v] of Object.entries(target)) setKey(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setKey(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}

/** RFC 6901 §3-4: a pointer is '' (the whole document) or '/'-separated tokens with ~1 for '/' and ~0 for '~'. */
export function parsePointer(pointer: string): { ok: true; tokens: string[] } | { ok: false; error: string } {
  if (pointer === '') return { ok: true, tokens: [] };
  if (!pointer.startsWith('/')) return { ok: false, error: `${JSON.stringify(pointer)} is not a JSON Pointer (it starts with '/', or is '' for the whole object)` };
  const tokens: string[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    if (/~(?![01])/.test(raw)) return { ok: false, error: `${JSON.stringify(pointer)}: '~' is written ~0 and '/' is ~1 in a JSON Pointer` };
    tokens.push(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return { ok: true, tokens };
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function pointerOf(tokens: readonly string[]): string {
  return tokens.map((t) => `/${escapeToken(t)}`).join('');
}

class PatchFailure extends Error {}

/** RFC 6901 §4: an array index is 0 or digits without a leading zero; `-` (past the end) only where `allowEnd`. */
function arrayIndex(arr: readonly Json[], token: string, at: readonly string[], allowEnd: boolean): number {
  if (token === '-') {
    if (allowEnd) return arr.length;
    throw new PatchFailure(`${pointerOf(at)}: '-' (past the end of the array) names no element`);
  }
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchFailure(`${pointerOf(at)}: '${token}' is not an array index`);
  const i = Number(token);
  const max = allowEnd ? arr.length : arr.length - 1;
  if (i > max) throw new PatchFailure(`${pointerOf(at)}: index ${i} is out of range (the array has ${arr.length} elements)`);
  return i;
}

/** The value a pointer names; a failure when any step does not exist. */
function resolve(doc: Json, tokens: readonly string[]): Json {
  let cur = doc;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const at = tokens.slice(0, i + 1);
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, at, false)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new PatchFailure(`${pointerOf(at)} does not exist`);
  }
  return cur;
}

/** The container holding the pointer's last token (which must exist as an object or array). */
function parentOf(doc: Json, tokens: readonly string[]): JsonObject | Json[] {
  const parent = resolve(doc, tokens.slice(0, -1));
  if (Array.isArray(parent) || isObject(parent)) return parent;
  throw new PatchFailure(`${pointerOf(tokens.slice(0, -1)) || '/'} is not an object or an array`);
}

/** RFC 6902 §4.1 add; returns the new document (the root may be replaced). */
function add(doc: Json, tokens: readonly string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, tokens, true), 0, value);
  else setKey(parent, last, value);
  return doc;
}

/** RFC 6902 §4.2 remove; the target must exist. */
function remove(doc: Json, tokens: readonly string[]): Json {
  if (tokens.length === 0) throw new PatchFailure('cannot remove the whole object');
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, tokens, false), 1);
  else if (Object.hasOwn(parent, last)) delete parent[last];
  else throw new PatchFailure(`${pointerOf(tokens)} does not exist`);
  return doc;
}

/** RFC 6902 §4.6: equal JSON values — objects regardless of key order, arrays element by element. */
export function jsonEqual(a: Json, b: Json): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

const OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'] as const;
type Op = (typeof OPS)[number];

function brief(v: Json): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A string member that is a JSON Pointer, as tokens. */
function pointerMember(op: JsonObject, member: 'path' | 'from'): string[] {
  const p = op[member];
  if (typeof p !== 'string') throw new PatchFailure(`needs "${member}", a JSON Pointer string such as "/spec/order"`);
  const parsed = parsePointer(p);
  if (!parsed.ok) throw new PatchFailure(parsed.error);
  return parsed.tokens;
}

function applyOne(doc: Json, op: JsonObject): Json {
  const name = op.op;
  if (typeof name !== 'string' || !(OPS as readonly string[]).includes(name)) {
    throw new PatchFailure(`"op" is one of ${OPS.join(', ')}${name === undefined ? '' : `, not ${brief(name)}`}`);
  }
  const path = pointerMember(op, 'path');
  const value = (): Json => {
    // RFC 6902 §4.1/4.3/4.6: "value" is required (null is a value; a missing member is not).
    if (!Object.hasOwn(op, 'value')) throw new PatchFailure(`${name} needs "value"`);
    return structuredClone(op.value);
  };
  switch (name as Op) {
    case 'add':
      return add(doc, path, value());
    case 'remove':
      return remove(doc, path);
    case 'replace': {
      const v = value();
      if (path.length === 0) return v;
      resolve(doc, path); // §4.3: the target must exist
      return add(remove(doc, path), path, v);
    }
    case 'move': {
      const from = pointerMember(op, 'from');
      // §4.4: "from" must not be a proper prefix of "path" (an object cannot move into its own child).
      if (from.length < path.length && from.every((t, i) => t === path[i])) {
        throw new PatchFailure(`cannot move ${pointerOf(from)} into its own child ${pointerOf(path)}`);
      }
      const v = resolve(doc, from);
      return add(remove(doc, from), path, v);
    }
    case 'copy':
      return add(doc, path, structuredClone(resolve(doc, pointerMember(op, 'from'))));
    case 'test': {
      const expected = value();
      const actual = resolve(doc, path);
      if (!jsonEqual(actual, expected)) {
        throw new PatchFailure(`test failed: ${pointerOf(path) || '/'} is ${brief(actual)}, not ${brief(expected)}`);
      }
      return doc;
    }
  }
}

/**
 * RFC 6902: applies the operations in order to a copy of `doc`. All or nothing (§5: "If a normative requirement is
 * violated ... evaluation of the JSON Patch document SHOULD terminate and application of the entire patch document
 * SHALL NOT be deemed successful"); the error names the operation by its index.
 */
export function applyJsonPatch(doc: Json, patch: Json): JsonPatchResult {
  if (!Array.isArray(patch)) return { ok: false, error: 'a JSON patch is a list of operations, e.g. [{"op":"replace","path":"/spec/order","value":50}]' };
  let out = structuredClone(doc);
  for (let i = 0; i < patch.length; i++) {
    const op: Json = patch[i];
    const where = `operation ${i}${isObject(op) && typeof op.op === 'string' ? ` (${op.op}${typeof op.path === 'string' ? ` ${op.path}` : ''})` : ''}`;
    if (!isObject(op)) return { ok: false, error: `${where}: an operation is an object with "op" and "path"` };
    try {
      out = applyOne(out, op);
    } catch (err) {
      if (err instanceof PatchFailure) return { ok: false, error: `${where}: ${err.message}` };
      throw err;
    }
  }
  return { ok: true, value: out };
}
