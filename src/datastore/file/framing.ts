// The record framing of the file store's files (format 2), and the scanner that reads it strictly.
//
// A record is one line:
//
//   RS 'T' ' ' <length: 8 hex> ' ' <crc32: 8 hex> ' ' <payload: JSON, `length` bytes> '\n'
//
// RS is the byte 0x1e. JSON.stringify escapes every byte below 0x20 inside strings and emits none outside them,
// so RS never occurs inside a payload: an RS in the file is a record start or damage, never data. That is what
// lets a reader find the framing again after a damaged record (`tabby datastore repair` recovers the records
// after it) without ever mistaking a payload for a record.
//
// The checksum is CRC-32 (IEEE, node:zlib crc32, native in Node ≥ 20.15) of the payload bytes. It is there to
// detect accidental damage — a flipped bit, a zeroed or lost sector, a torn write — which CRC-32 catches with
// certainty for any burst up to 32 bits and otherwise misses with probability 2^-32; it is not authentication
// (whoever can write the file can write a valid record). SHA-256 would add nothing for that purpose and cost more
// per record, though both are negligible beside the fdatasync each write does. The length is checked against the
// newline that ends the record too, so a damaged length field is caught by two independent means.
//
// Reading classifies whatever is not a good record at `offset`:
// - torn: the region from `offset` to the end of the file is what a writer killed mid-append leaves — a record
//   that never got its final newline (a prefix of a write: every record is written by one write(2) ending in
//   '\n'), or one with a whole disk sector still zero (sectors of an unsynced write reach the disk in any order;
//   etcd's WAL decoder makes the same "torn entry" test), with no good record after it. Such a record was never
//   acknowledged (a write returns only after fdatasync), so ignoring it loses nothing that was committed.
// - damaged: anything else — a bad checksum, a length that disagrees with the newline, a missing marker — in
//   particular anything followed by a good record. Damage is never taken as the end of the log.

import { crc32 } from 'node:zlib';

export const RECORD_MARK = 0x1e;
const HEADER_BYTES = 21; // RS T ' ' len8 ' ' crc8 ' '
const NEWLINE = 0x0a;
const SPACE = 0x20;
const SECTOR = 512;
/** Larger payloads are refused on write and taken as damage on read (a bounded read of untrusted bytes). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function encodeFrame(payload: unknown): Buffer {
  return encodeFrameText(JSON.stringify(payload));
}

/**
 * Frames a payload that is JSON text already: the verbatim bytes of a value read from a record (an unreadable
 * object is written back as it was read, never re-serialised: JSON.parse accepts nesting JSON.stringify overflows
 * on). The caller guarantees the text is JSON (it came out of a checksummed record that parsed).
 */
export function encodeFrameText(text: string): Buffer {
  const json = Buffer.from(text);
  if (json.length > MAX_RECORD_BYTES) throw new RangeError(`record of ${json.length} bytes exceeds ${MAX_RECORD_BYTES}`);
  const head = Buffer.from(`\x1eT ${hex8(json.length)} ${hex8(crc32(json))} `, 'latin1');
  return Buffer.concat([head, json, Buffer.from([NEWLINE])]);
}

export type FrameAt =
  /** `text`: the payload as read, for callers that must write a part of it back verbatim. */
  | { type: 'ok'; payload: unknown; text: string; end: number }
  /** The bytes up to the end of the buffer are a prefix of a record: nothing is wrong yet, it is just not all there. */
  | { type: 'incomplete' }
  | { type: 'bad'; reason: string };

const HEX = /^[0-9a-f]{8}$/;

/** Parses the v2 record at `pos`. */
export function frameAt(buf: Buffer, pos: number): FrameAt {
  const avail = buf.length - pos;
  const headLen = Math.min(avail, HEADER_BYTES);
  if (buf[pos] !== RECORD_MARK) return { type: 'bad', reason: 'no record marker' };
  if (headLen < HEADER_BYTES) {
    return buf.indexOf(NEWLINE, pos) < 0 ? { type: 'incomplete' } : { type: 'bad', reason: 'record header cut short' };
  }
  const lenText = buf.toString('latin1', pos + 3, pos + 11);
  const crcText = buf.toString('latin1', pos + 12, pos + 20);
  if (buf[pos + 1] !== 0x54 || buf[pos + 2] !== SPACE || buf[pos + 11] !== SPACE || buf[pos + 20] !== SPACE ||
    !HEX.test(lenText) || !HEX.test(crcText)) {
    return { type: 'bad', reason: 'malformed record header' };
  }
  const len = parseInt(lenText, 16);
  const end = pos + HEADER_BYTES + len + 1;
  if (len > MAX_RECORD_BYTES) return { type: 'bad', reason: `record length ${len} exceeds ${MAX_RECORD_BYTES}` };
  if (end > buf.length) {
    return buf.indexOf(NEWLINE, pos) < 0 ? { type: 'incomplete' } : { type: 'bad', reason: 'record length does not match its end' };
  }
  if (buf[end - 1] !== NEWLINE) return { type: 'bad', reason: 'record length does not match its end' };
  const json = buf.subarray(pos + HEADER_BYTES, end - 1);
  if (hex8(crc32(json)) !== crcText) return { type: 'bad', reason: 'checksum mismatch' };
  const text = json.toString('utf8');
  try {
    return { type: 'ok', payload: JSON.parse(text), text, end };
  } catch {
    return { type: 'bad', reason: 'checksum matches but the payload is not JSON' };
  }
}

/** Parses the format-1 line at `pos`: `<crc32 hex8> <json>\n` (the first release's journal). */
export function legacyLineAt(buf: Buffer, pos: number): FrameAt {
  const nl = buf.indexOf(NEWLINE, pos);
  if (nl < 0) return { type: 'incomplete' };
  const line = buf.toString('utf8', pos, nl);
  if (line.indexOf(' ') !== 8 || !HEX.test(line.slice(0, 8))) return { type: 'bad', reason: 'malformed line' };
  const json = line.slice(9);
  if (hex8(crc32(json)) !== line.slice(0, 8)) return { type: 'bad', reason: 'checksum mismatch' };
  try {
    return { type: 'ok', payload: JSON.parse(json), text: json, end: nl + 1 };
  } catch {
    return { type: 'bad', reason: 'checksum matches but the line is not JSON' };
  }
}

export type Framing = 'v2' | 'v1';

function parseAt(framing: Framing, buf: Buffer, pos: number): FrameAt {
  return framing === 'v2' ? frameAt(buf, pos) : legacyLineAt(buf, pos);
}

/** The next position after `pos` where a good record starts, or -1. */
export function nextGoodRecord(framing: Framing, buf: Buffer, pos: number): number {
  let p = pos;
  for (;;) {
    if (framing === 'v2') {
      p = buf.indexOf(RECORD_MARK, p + 1);
      if (p < 0) return -1;
    } else {
      const nl = buf.indexOf(NEWLINE, p);
      if (nl < 0 || nl + 1 >= buf.length) return -1;
      p = nl + 1;
    }
    if (parseAt(framing, buf, p).type === 'ok') return p;
  }
}

/** Whether some disk sector (by file offset) within [from, to) holds only zero bytes: a torn, unsynced write. */
function hasZeroSector(buf: Buffer, from: number, to: number, fileOffset: number): boolean {
  let start = from;
  while (start < to) {
    const next = Math.min(to, Math.floor((fileOffset + start) / SECTOR) * SECTOR + SECTOR - fileOffset);
    let zero = true;
    for (let i = start; i < next; i++) if (buf[i] !== 0) { zero = false; break; }
    if (zero) return true;
    start = next;
  }
  return false;
}

export interface Frame {
  /** File offset of the record. */
  offset: number;
  end: number;
  payload: unknown;
  /** The payload's JSON text as read. */
  text: string;
}

export interface Problem {
  /** File offset where the bad bytes start. */
  offset: number;
  /** Bytes up to the next good record (or the end). */
  length: number;
  reason: string;
}

export interface ScanResult {
  /** The good records before the first problem. */
  frames: Frame[];
  /** File offset just past the last good record: where the next append belongs. */
  end: number;
  /** An unfinished last record (see the header): ignored; a writer cuts it before appending. */
  torn?: Problem;
  /** The first damage: the file must not be served. */
  damage?: Problem;
}

/**
 * Reads records from `buf` (file bytes starting at `fileOffset`) until the end or the first problem, which it
 * classifies as torn or damaged (see the header).
 */
export function scanFrames(framing: Framing, buf: Buffer, fileOffset = 0): ScanResult {
  const frames: Frame[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = parseAt(framing, buf, pos);
    if (r.type === 'ok') {
      frames.push({ offset: fileOffset + pos, end: fileOffset + r.end, payload: r.payload, text: r.text });
      pos = r.end;
      continue;
    }
    const problem = (reason: string, to: number): Problem => ({ offset: fileOffset + pos, length: to - pos, reason });
    if (r.type === 'incomplete') return { frames, end: fileOffset + pos, torn: problem('unfinished last record', buf.length) };
    const next = nextGoodRecord(framing, buf, pos);
    if (next < 0 && hasZeroSector(buf, pos, buf.length, fileOffset)) {
      return { frames, end: fileOffset + pos, torn: problem(`unfinished last record (${r.reason}, zero-filled sector)`, buf.length) };
    }
    return { frames, end: fileOffset + pos, damage: problem(r.reason, next < 0 ? buf.length : next) };
  }
  return { frames, end: fileOffset + pos };
}

export interface RecoveryScan {
  frames: Frame[];
  /** Every damaged region, in file order. */
  damage: Problem[];
  torn?: Problem;
}

/** Reads every good record, finding the framing again after each damaged region (for check and repair). */
export function scanAll(framing: Framing, buf: Buffer): RecoveryScan {
  const frames: Frame[] = [];
  const damage: Problem[] = [];
  let pos = 0;
  for (;;) {
    const part = scanFrames(framing, buf.subarray(pos), pos);
    frames.push(...part.frames);
    if (part.torn) return { frames, damage, torn: part.torn };
    if (!part.damage) return { frames, damage };
    damage.push(part.damage);
    pos = part.damage.offset + part.damage.length;
    if (pos >= buf.length) return { frames, damage };
  }
}

/**
 * Which framing a journal uses, decided from the whole file, not from its first byte alone: a damaged first byte
 * or a zeroed first sector must not make a format-2 journal look like format 1 (whose scan then finds nothing).
 * - format 2 when the file is empty, starts with RS, or holds any good marker-framed record anywhere: a format-1
 *   file never contains RS at all (hex, spaces, JSON text and newlines only), so one good record settles it;
 * - format 1 when its first line is a good format-1 line (also the state a crash leaves in the middle of a
 *   migration: snapshot.rec written, the format-1 journal not yet replaced);
 * - otherwise (nothing intact to go by) format 2 when the store has a format-2 snapshot, else format 1.
 */
export function framingOf(buf: Buffer, opts: { v2Snapshot?: boolean } = {}): Framing {
  if (buf.length === 0 || buf[0] === RECORD_MARK) return 'v2';
  if (nextGoodRecord('v2', buf, -1) >= 0) return 'v2';
  if (legacyLineAt(buf, 0).type === 'ok') return 'v1';
  return opts.v2Snapshot ? 'v2' : 'v1';
}
