// Every case of the calico-validation.json corpus (conformance/): valid resources accepted, invalid ones rejected, and
// where the Go test asserted on wording, that wording appears in one of our issue messages.

import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { validateResource } from '../../src/api/validate/index.js';
import { corpusFile } from '../conformance-corpus.js';

interface Case {
  id: number;
  description: string;
  valid: boolean;
  resource: unknown;
  category: string;
  source: string;
  errorContains?: string;
  errorMessage?: string;
  note?: string;
}

const corpusPath = corpusFile('calico-validation.json');
const corpus = JSON.parse(readFileSync(corpusPath, 'utf8')) as { cases: Case[] };

/** `error with field Port = '0' (reason)` → `reason`: the part of Calico's full message that names the problem. */
function reasonsOf(errorMessage: string): string[] {
  return [...errorMessage.matchAll(/\(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)].map((m) => m[1] ?? '').filter((r) => r !== '');
}

const counts = { valid: 0, invalid: 0, wording: 0, failed: 0 };

describe('calico-validation.json conformance', () => {
  for (const c of corpus.cases) {
    it(`#${c.id} ${c.valid ? 'accepts' : 'rejects'}: ${c.description}`, () => {
      const result = validateResource(c.resource);
      try {
        if (c.valid) {
          expect(result.ok ? [] : result.issues).toEqual([]);
          counts.valid++;
          return;
        }
        expect(result.ok).toBe(false);
        const messages = result.ok ? [] : result.issues.map((i) => i.message);
        for (const issue of result.ok ? [] : result.issues) expect(Array.isArray(issue.path)).toBe(true);
        const wanted = [...(c.errorContains ? [c.errorContains] : []), ...(c.errorMessage ? reasonsOf(c.errorMessage) : [])];
        for (const w of wanted) expect(messages.some((m) => m.includes(w)), `"${w}" in ${JSON.stringify(messages)}`).toBe(true);
        if (wanted.length > 0) counts.wording++;
        counts.invalid++;
      } catch (e) {
        counts.failed++;
        throw e;
      }
    });
  }
  afterAll(() => {
    const total = corpus.cases.length;
    console.log(`calico-validation.json: ${counts.valid + counts.invalid}/${total} pass ` +
      `(valid accepted ${counts.valid}, invalid rejected ${counts.invalid}, of which wording checked ${counts.wording}); ` +
      `${counts.failed} failed`);
  });
});
