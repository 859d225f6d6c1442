// Input shown in output: names, values, paths and selectors holding a newline, ESC, NUL, another control or a
// bidi character are escaped (JSON-style) wherever they are printed, so input can never forge a line.
import { describe, expect, it } from 'vitest';

import { formatIssue, formatPath } from '../../src/api/issues.js';
import { resourceLabel } from '../../src/api/load/index.js';
import { displayText, escapeControls, isPrintable, printableJson, quote } from '../../src/api/quote.js';
import { parseSelector, SelectorError } from '../../src/selector/index.js';
import { caretExcerpt } from '../../src/selector/diagnostics.js';

/** Every character that must never reach output raw. */
const HOSTILE = ['\n', '\r', '\x1b', '\0', '\x07', '\x7f', '\x85', '\x9b', '\u061c', '\u200e', '\u200f', '\u2028',
  '\u2029', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\ud800'];
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])/;

describe('quote, displayText, escapeControls', () => {
  it('escape every hostile character and nothing printable', () => {
    for (const ch of HOSTILE) {
      const text = `a${ch}b`;
      expect(isPrintable(text)).toBe(false);
      expect(quote(text)).not.toMatch(RAW);
      expect(displayText(text)).not.toMatch(RAW);
      expect(escapeControls(text)).not.toMatch(RAW);
      // JSON-style: the quoted form reads back as the original.
      expect(JSON.parse(quote(text))).toBe(text);
    }
    for (const fine of ['allow-dns', 'café', 'ns/name', '日本', 'emoji 🐈', 'tab\there? no']) {
      if (fine.includes('\t')) continue;
      expect(isPrintable(fine)).toBe(true);
      expect(displayText(fine)).toBe(fine);
      expect(escapeControls(fine)).toBe(fine);
    }
  });

  it('quote bare words only when they could be confused', () => {
    expect(displayText('web')).toBe('web');
    expect(displayText('')).toBe('""');
    expect(displayText('"web"')).toBe('"\\"web\\""');
    expect(displayText('evil\nERROR: forged')).toBe('"evil\\nERROR: forged"');
    expect(displayText('gnp-\u202eswollA')).toBe('"gnp-\\u202eswollA"');
    expect(escapeControls('unknown field "a\x1b[31mb"')).toBe('unknown field "a\\u001b[31mb"');
  });

  it('printableJson is the same JSON value with bidi and C1 escaped', () => {
    const value = { name: 'a\u202eb\x85\n', n: 1 };
    const text = printableJson(value, 2);
    expect(text).not.toMatch(/[\u202e\x85]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('every message helper prints hostile text escaped', () => {
  it('formatIssue: file, resource, path and message', () => {
    const line = formatIssue({
      code: 'x', path: ['spec', 'a\nb'], message: 'unknown field "x\ny\u202e"',
      position: { file: 'dir/evil\n.yaml', line: 3, col: 1 }, resource: 'GlobalNetworkPolicy a\x1bb',
    });
    expect(line.split('\n')).toHaveLength(1);
    expect(line).not.toMatch(RAW);
    expect(line).toBe('"dir/evil\\n.yaml":3:1: GlobalNetworkPolicy a\\u001bb: spec["a\\nb"]: unknown field "x\\ny\\u202e"');
    expect(formatPath(['metadata', 'labels', 'x\u2066'])).toBe('metadata.labels["x\\u2066"]');
  });

  it('resourceLabel quotes a hostile name', () => {
    expect(resourceLabel({ kind: 'NetworkPolicy', metadata: { namespace: 'ns\0', name: 'web' } })).toBe('NetworkPolicy "ns\\u0000"/web');
  });

  it('selector errors: the reason and the caret excerpt stay plain text', () => {
    let err: unknown;
    try {
      parseSelector('a\u202e\x1b == "x" &&');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorError);
    const message = (err as SelectorError).message;
    expect(message.split('\n')).toHaveLength(3); // reason, excerpt, caret
    expect(message).not.toMatch(/[\u202e\x1b]/);
    const excerpt = caretExcerpt('x\u202e == "\u2066"', 7); // the caret under the escaped U+2066
    expect(excerpt).toBe('x\\u202e == "\\u2066"\n' + ' '.repeat(12) + '^');
    // A surrogate pair is one character, kept as is; a lone half is escaped.
    expect(caretExcerpt('a == "🐈"', 0).split('\n')[0]).toBe('a == "🐈"');
    expect(caretExcerpt('a == "\ud800"', 0).split('\n')[0]).toBe('a == "\\ud800"');
  });
});
