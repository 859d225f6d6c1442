// Text from input shown in output. A name, value, path or selector may hold a newline, ESC, NUL, another C0 or
// C1 control, or a bidi override (U+202E turns `gnp-allow` into what reads as `wolla-png`), and printed as is it
// could forge a line of output or an ANSI sequence in a terminal. Every message prints such text through these
// functions: unchanged when it is harmless, otherwise JSON-quoted (`"evil\nERROR: x"`), so a reader can always
// tell input from output. This file sits in the selector part only because that part is the root of the import
// graph (every part may import it); src/api/quote.ts is where the rest of Tabby gets it from.

/**
 * C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, and the bidi controls (ALM U+061C,
 * LRM/RLM U+200E/U+200F, embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069), plus lone surrogates
 * (not text; a terminal shows them as anything).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  return SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** True when `text` holds no character that could change how output around it reads. */
export function isPrintable(text: string): boolean {
  return !UNSAFE.test(text);
}

/**
 * `text` with every unsafe character written as its JSON escape (`\n`, `\u001b`, `\u202e`), nothing else
 * changed: for messages that already delimit the values they quote (`unknown field "x"`).
 */
export function escapeControls(text: string): string {
  return isPrintable(text) ? text : text.replace(UNSAFE_ALL, escapeChar);
}

/** `text` as a JSON string literal whose every character is printable (JSON.stringify leaves bidi as is). */
export function quote(text: string): string {
  return escapeControls(JSON.stringify(text));
}

/**
 * `text` itself when it prints as what it is, else quote(text). Empty text and text that starts with a double
 * quote are quoted too, so a bare word and a quoted one are never confused.
 */
export function displayText(text: string): string {
  return text !== '' && !text.startsWith('"') && isPrintable(text) ? text : quote(text);
}

// eslint-disable-next-line no-control-regex
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify, with the characters it leaves as they are (DEL, C1, bidi, line separators) escaped too: the
 * same JSON value, safe to show in a terminal. (C0 controls are always escaped inside JSON strings.)
 */
export function printableJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, escapeChar);
}
