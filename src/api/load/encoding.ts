// Bytes → text. Manifests are UTF-8 (a BOM is allowed and dropped). Anything else — UTF-16 files saved by
// Windows editors, images, archives, binaries passed by mistake — gets one clear issue naming the first
// offending byte instead of a cascade of YAML syntax errors.

import { isUtf8 } from 'node:buffer';

import type { Issue } from '../issues.js';
import { formatBytes, LOAD_LIMITS } from './limits.js';

export type TextResult = { ok: true; text: string } | { ok: false; issue: Issue };

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

export function decodeText(bytes: Uint8Array, file: string, maxBytes: number = LOAD_LIMITS.maxFileBytes): TextResult {
  if (bytes.length > maxBytes) return { ok: false, issue: tooLarge(file, bytes.length, false, maxBytes) };
  const bom = utf16or32Bom(bytes);
  if (bom) {
    return {
      ok: false,
      issue: {
        code: 'load.encoding', path: [], position: { file, line: 1, col: 1 },
        message: `file is ${bom} text; save it as UTF-8 (YAML and JSON manifests must be UTF-8)`,
      },
    };
  }
  const start = bytes[0] === UTF8_BOM[0] && bytes[1] === UTF8_BOM[1] && bytes[2] === UTF8_BOM[2] ? 3 : 0;
  const body = bytes.subarray(start);
  const badUtf8 = firstInvalidUtf8(body);
  if (badUtf8 >= 0) return { ok: false, issue: binaryIssue(file, body, badUtf8) };
  const text = new TextDecoder('utf-8').decode(body);
  const control = firstControlChar(text);
  if (control >= 0) return { ok: false, issue: binaryIssue(file, body, utf8Offset(text, control)) };
  return { ok: true, text };
}

/** Checks in-memory text the same way decodeText checks bytes (callers that already hold a string). */
export function checkText(text: string, file: string): Issue | undefined {
  // Length in UTF-16 units never exceeds the UTF-8 byte count, so only count bytes when it could matter.
  if (text.length * 3 > LOAD_LIMITS.maxFileBytes) {
    const size = Buffer.byteLength(text, 'utf8');
    if (size > LOAD_LIMITS.maxFileBytes) return tooLarge(file, size);
  }
  const control = firstControlChar(text);
  if (control < 0) return undefined;
  const { line, col } = lineColOfIndex(text, control);
  return {
    code: 'load.binary', path: [], position: { file, line, col },
    message: `not a text manifest: control character ${hexByte(text.charCodeAt(control))} at line ${line}, ` +
      `column ${col} (expected UTF-8 YAML or JSON)`,
  };
}

/**
 * `size` is exact for files and strings; a stream is stopped as soon as it passes the limit (`atLeast`). `max` is
 * the limit that applied: the manifest limit unless a caller reading a small file of its own asked for less.
 */
export function tooLarge(file: string, size: number, atLeast = false, max: number = LOAD_LIMITS.maxFileBytes): Issue {
  const what = atLeast ? `more than ${formatBytes(max)}` : `${size} bytes`;
  const hint = max === LOAD_LIMITS.maxFileBytes ? '; split it into several files' : '';
  return {
    code: 'load.too-large', path: [], position: { file, line: 1, col: 1 },
    message: `file too large (${what}; max ${formatBytes(max)})${hint}`,
  };
}

function binaryIssue(file: string, bytes: Uint8Array, offset: number): Issue {
  const { line, col } = lineColOfByte(bytes, offset);
  return {
    code: 'load.binary', path: [], position: { file, line, col },
    message: `not a text manifest: byte ${hexByte(bytes[offset] ?? 0)} at line ${line}, column ${col} is not ` +
      'UTF-8 text (expected UTF-8 YAML or JSON)',
  };
}

function hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

function utf16or32Bom(b: Uint8Array): string | undefined {
  if (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32';
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00) return 'UTF-32';
  if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16';
  if (b[0] === 0xff && b[1] === 0xfe) return 'UTF-16';
  return undefined;
}

/** C0 controls other than tab, LF and CR (and DEL) are not allowed in YAML (YAML 1.2 §5.1 c-printable). */
function firstControlChar(text: string): number {
  // eslint-disable-next-line no-control-regex
  const m = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(text);
  return m ? m.index : -1;
}

/** Index of the first byte that does not start or continue a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  if (isUtf8(b)) return -1;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

function lineColOfByte(b: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (b[i] === 0x0a) { line++; lineStart = i + 1; }
  }
  const prefix = new TextDecoder('utf-8').decode(b.subarray(lineStart, offset));
  return { line, col: prefix.length + 1 };
}

export function lineColOfIndex(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: index - lineStart + 1 };
}

function utf8Offset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), 'utf8');
}
