// The file store's journal format. Every line is `<crc32 hex> <json>\n`; the first line is the header naming the
// revision the journal starts after (`base`), every later line is one change. A line counts only when it is
// complete and its checksum matches, so a writer killed mid-append leaves a torn tail that readers stop at and
// the next writer cuts off — never a record that half-applies.

import { crc32 } from 'node:zlib';

import type { Resource } from '../../api/index.js';

export const JOURNAL_FORMAT = 1;

export interface JournalHeader {
  journal: typeof JOURNAL_FORMAT;
  /** The revision of the snapshot this journal continues; its first record is base + 1. */
  base: number;
}

/** One change. `key` is the object's store path (keys.ts); a put's value has no resourceVersion. */
export type JournalRecord =
  | { rev: number; op: 'put'; key: string; value: Resource }
  | { rev: number; op: 'del'; key: string };

function checksum(json: string): string {
  return crc32(json).toString(16).padStart(8, '0');
}

export function encodeLine(entry: JournalHeader | JournalRecord): string {
  const json = JSON.stringify(entry);
  return `${checksum(json)} ${json}\n`;
}

export interface DecodedLines {
  entries: unknown[];
  /** Byte offset just past the last valid line: where the next append belongs. */
  end: number;
  /** Bytes after `end` that do not form a valid line (a torn append, or one still being written). */
  trailing: number;
}

const NEWLINE = 0x0a;

/** Decodes complete, checksummed lines from `buf`, which starts at file offset `offset`. Stops at the first bad one. */
export function decodeLines(buf: Buffer, offset: number): DecodedLines {
  const entries: unknown[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(NEWLINE, pos);
    if (nl < 0) break;
    const line = buf.toString('utf8', pos, nl);
    const space = line.indexOf(' ');
    if (space !== 8) break;
    const json = line.slice(9);
    if (checksum(json) !== line.slice(0, 8)) break;
    let entry: unknown;
    try {
      entry = JSON.parse(json);
    } catch {
      break;
    }
    entries.push(entry);
    pos = nl + 1;
  }
  return { entries, end: offset + pos, trailing: buf.length - pos };
}

export function isHeader(v: unknown): v is JournalHeader {
  return typeof v === 'object' && v !== null && (v as JournalHeader).journal === JOURNAL_FORMAT &&
    Number.isInteger((v as JournalHeader).base);
}

export function isRecord(v: unknown): v is JournalRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as JournalRecord;
  return Number.isInteger(r.rev) && typeof r.key === 'string' &&
    (r.op === 'del' || (r.op === 'put' && typeof r.value === 'object' && r.value !== null));
}
