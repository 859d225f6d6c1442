// The file store's journal: a header record naming the revision the journal continues (`base`), then one record
// per change after it, each framed, sized and checksummed (framing.ts). Format 2 since issue 10; the first
// release's format 1 (`<crc32 hex> <json>\n` lines, header {journal: 1}) is still read, strictly, and a store is
// migrated to format 2 by its first write (store.ts).

import type { Framing } from './framing.js';
import { encodeFrame, encodeFrameText, framingOf, scanFrames, type Problem } from './framing.js';

export const JOURNAL_FORMAT = 2;
export const LEGACY_JOURNAL_FORMAT = 1;

export interface JournalHeader {
  journal: typeof JOURNAL_FORMAT | typeof LEGACY_JOURNAL_FORMAT;
  /** The revision of the snapshot this journal continues; its first record is base + 1. */
  base: number;
}

/**
 * One change. `key` is the object's store path (keys.ts); a put's value is the object as stored (without
 * resourceVersion). The value is untrusted until stored-object.ts has decoded it.
 */
export type JournalRecord =
  | { rev: number; op: 'put'; key: string; value: unknown }
  | { rev: number; op: 'del'; key: string };

/** Store paths are short (group/plural/namespace/name, each DNS-1123-bounded); a longer one is not ours. */
export const MAX_KEY_CHARS = 1024;

export function encodeRecord(entry: JournalHeader | JournalRecord): Buffer {
  return encodeFrame(entry);
}

/**
 * A change record whose put value is written as the JSON text it was read as (`valueText`), not re-serialised:
 * how compaction keeps an unreadable value byte for byte (json-text.ts says why).
 */
export function encodeRecordVerbatim(rec: JournalRecord, valueText: string | undefined): Buffer {
  if (rec.op !== 'put' || valueText === undefined) return encodeRecord(rec);
  return encodeFrameText(`{"rev":${rec.rev},"op":"put","key":${JSON.stringify(rec.key)},"value":${valueText}}`);
}

export function isHeader(v: unknown): v is JournalHeader {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as JournalHeader;
  return (h.journal === JOURNAL_FORMAT || h.journal === LEGACY_JOURNAL_FORMAT) && Number.isSafeInteger(h.base) && h.base >= 0;
}

export function isRecord(v: unknown): v is JournalRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as JournalRecord;
  return Number.isSafeInteger(r.rev) && r.rev > 0 && typeof r.key === 'string' && r.key.length <= MAX_KEY_CHARS &&
    (r.op === 'del' || (r.op === 'put' && 'value' in r));
}

export interface DecodedJournal {
  framing: Framing;
  header: JournalHeader | undefined;
  /** Good records after the header, before any problem. */
  /** `text`: the record's JSON text as read (for values written back verbatim). */
  records: Array<{ record: JournalRecord; offset: number; text: string }>;
  /** Where the next append belongs. */
  end: number;
  torn?: Problem;
  /** The first damage (including a good frame that is not a record); the journal must not be served. */
  damage?: Problem;
}

/**
 * Decodes journal bytes. `offset` is the file offset of `buf`; at offset 0 the first record must be the header.
 * `framing` is the file's: known after the first read, else decided from the whole file (framingOf).
 */
export function decodeJournal(buf: Buffer, offset: number, framing: Framing = framingOf(buf)): DecodedJournal {
  const scan = scanFrames(framing, buf, offset);
  const out: DecodedJournal = { framing, header: undefined, records: [], end: scan.end };
  if (scan.torn) out.torn = scan.torn;
  if (scan.damage) out.damage = scan.damage;
  for (const [i, f] of scan.frames.entries()) {
    if (offset === 0 && i === 0) {
      if (!isHeader(f.payload)) {
        out.damage = { offset: f.offset, length: f.end - f.offset, reason: 'the first record is not a journal header' };
        out.end = f.offset;
        delete out.torn;
        return out;
      }
      out.header = f.payload;
      continue;
    }
    if (!isRecord(f.payload)) {
      out.damage = { offset: f.offset, length: f.end - f.offset, reason: 'a checksummed record that is not a change record' };
      out.end = f.offset;
      delete out.torn;
      return out;
    }
    out.records.push({ record: f.payload, offset: f.offset, text: f.text });
  }
  return out;
}
