// The file store's snapshot: every object at one revision.
//
// Format 2 (`snapshot.rec`): records in the journal's framing (framing.ts) — a header {snapshot: 2, revision,
// objects: N}, then N records {key, rev, value}. It is only ever replaced whole (durable.ts: temp file, fsync,
// rename, fsync dir), so unlike the journal it has no legitimate torn tail: any bad record, a count that does not
// match, or bytes after the last object is damage. One record per object is what lets repair keep every intact
// object of a damaged snapshot.
//
// Format 1 (`snapshot.json`, the first release): one JSON document {format: 1, revision, objects: [...]}
// without a checksum; damage shows only as JSON or shape errors. Read as it is; a format-2 journal never pairs
// with it (the first write migrates both, store.ts).

import { encodeFrame, encodeFrameText, scanAll, scanFrames, type Frame, type Problem } from './framing.js';
import { MAX_KEY_CHARS } from './journal.js';
import { elementTexts, memberText } from './json-text.js';

export const SNAPSHOT_FILE = 'snapshot.rec';
export const LEGACY_SNAPSHOT_FILE = 'snapshot.json';
export const SNAPSHOT_FORMAT = 2;

export interface SnapshotObject {
  key: string;
  rev: number;
  /** As stored; decoded by stored-object.ts. */
  value: unknown;
  /**
   * Reading: the object's record as read (JSON text), from which valueTextOf takes the value verbatim.
   * Writing: `valueText`, when set, is written as the value instead of serialising `value` (json-text.ts says why).
   */
  source?: string;
  valueText?: string;
}

/** The stored value's JSON text exactly as it was read, when the object was read from a file. */
export function valueTextOf(o: SnapshotObject): string | undefined {
  return o.source === undefined ? undefined : memberText(o.source, 'value');
}

function encodeObject(o: SnapshotObject): Buffer {
  if (o.valueText === undefined) return encodeFrame({ key: o.key, rev: o.rev, value: o.value });
  return encodeFrameText(`{"key":${JSON.stringify(o.key)},"rev":${o.rev},"value":${o.valueText}}`);
}

export interface Snapshot {
  revision: number;
  objects: SnapshotObject[];
}

export function encodeSnapshot(s: Snapshot): Buffer {
  const parts = [encodeFrame({ snapshot: SNAPSHOT_FORMAT, revision: s.revision, objects: s.objects.length })];
  for (const o of s.objects) parts.push(encodeObject(o));
  return Buffer.concat(parts);
}

function isObjectRecord(v: unknown): v is SnapshotObject {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as SnapshotObject;
  return typeof o.key === 'string' && o.key.length <= MAX_KEY_CHARS && Number.isSafeInteger(o.rev) && o.rev > 0 && 'value' in o;
}

function isSnapshotHeader(v: unknown): v is { snapshot: 2; revision: number; objects: number } {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as { snapshot?: unknown; revision?: unknown; objects?: unknown };
  return h.snapshot === SNAPSHOT_FORMAT && Number.isSafeInteger(h.revision) && (h.revision as number) >= 0 &&
    Number.isSafeInteger(h.objects) && (h.objects as number) >= 0;
}

export type DecodedSnapshot = { ok: true; snapshot: Snapshot } | { ok: false; damage: Problem };

/** Decodes a format-2 snapshot strictly: any problem is damage. */
export function decodeSnapshot(buf: Buffer): DecodedSnapshot {
  const scan = scanFrames('v2', buf, 0);
  const problem = scan.damage ?? scan.torn;
  if (problem) return { ok: false, damage: { ...problem, reason: problem === scan.torn ? 'snapshot cut short' : problem.reason } };
  const [head, ...rest] = scan.frames;
  if (!head || !isSnapshotHeader(head.payload)) {
    return { ok: false, damage: { offset: 0, length: head ? head.end : buf.length, reason: 'no snapshot header' } };
  }
  return checkObjects(head.payload.revision, head.payload.objects, rest, buf.length);
}

function fromFrame(o: SnapshotObject, source: string): SnapshotObject {
  return { key: o.key, rev: o.rev, value: o.value, source };
}

function checkObjects(revision: number, count: number, frames: Frame[], size: number): DecodedSnapshot {
  const objects: SnapshotObject[] = [];
  for (const f of frames) {
    if (!isObjectRecord(f.payload) || f.payload.rev > revision) {
      return { ok: false, damage: { offset: f.offset, length: f.end - f.offset, reason: 'a checksummed record that is not a snapshot object' } };
    }
    objects.push(fromFrame(f.payload, f.text));
  }
  if (objects.length !== count) {
    return { ok: false, damage: { offset: size, length: 0, reason: `snapshot holds ${objects.length} of its ${count} objects` } };
  }
  return { ok: true, snapshot: { revision, objects } };
}

/** Decodes a format-1 snapshot (one JSON document). */
export function decodeLegacySnapshot(buf: Buffer): DecodedSnapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    return { ok: false, damage: { offset: 0, length: buf.length, reason: `not JSON (${err instanceof Error ? err.message : String(err)})` } };
  }
  const d = doc as { format?: unknown; revision?: unknown; objects?: unknown };
  if (typeof doc !== 'object' || doc === null || d.format !== 1 || !Number.isSafeInteger(d.revision) || !Array.isArray(d.objects)) {
    return { ok: false, damage: { offset: 0, length: buf.length, reason: 'not a format-1 Tabby snapshot' } };
  }
  const objects: SnapshotObject[] = [];
  let sources: string[] | undefined;
  for (const [i, o] of (d.objects as unknown[]).entries()) {
    if (!isObjectRecord(o)) return { ok: false, damage: { offset: 0, length: buf.length, reason: `objects[${i}] is not a snapshot object` } };
    objects.push({ key: o.key, rev: o.rev, value: o.value });
  }
  // The elements' text, so that unreadable values migrate verbatim (found only when there are objects at all).
  if (objects.length > 0) sources = elementTexts(memberText(buf.toString('utf8'), 'objects') ?? '[]');
  if (sources && sources.length === objects.length) for (const [i, o] of objects.entries()) o.source = sources[i]!;
  return { ok: true, snapshot: { revision: d.revision as number, objects } };
}

/** Every intact object of a damaged format-2 snapshot, and what is damaged (for check and repair). */
export function recoverSnapshot(buf: Buffer): {
  revision: number | undefined; expected: number | undefined; objects: SnapshotObject[]; damage: Problem[];
} {
  const scan = scanAll('v2', buf);
  const damage = [...scan.damage, ...(scan.torn ? [{ ...scan.torn, reason: 'snapshot cut short' }] : [])];
  let revision: number | undefined;
  let expected: number | undefined;
  const objects: SnapshotObject[] = [];
  for (const f of scan.frames) {
    if (isSnapshotHeader(f.payload)) {
      revision = f.payload.revision;
      expected = f.payload.objects;
    }
    else if (isObjectRecord(f.payload)) objects.push(fromFrame(f.payload, f.text));
    else damage.push({ offset: f.offset, length: f.end - f.offset, reason: 'a checksummed record that is not a snapshot object' });
  }
  return { revision, expected, objects, damage };
}
