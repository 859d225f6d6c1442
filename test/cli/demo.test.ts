// `tabby demo` is what `npm start` runs: the engine-only form everywhere, and the real one (namespaces,
// veths, nftables, real connections) where the kernel suites can run.
import { describe, expect, it } from 'vitest';

import { listNamespaces } from '../../src/dataplane/netns/namespace.js';
import { KERNEL_SKIP_REASON } from '../dataplane/support.js';
import { captureCli } from './captureCli.js';

/** Step number → the verdict word printed for each probe line, in probe order. */
function verdictsByStep(stdout: string, word: RegExp): string[][] {
  const steps: string[][] = [];
  for (const line of stdout.split('\n')) {
    if (/^Step \d+:/.test(line)) steps.push([]);
    else if (/^ {2}\S.* → .*(TCP|UDP)\/\d+/.test(line)) steps.at(-1)?.push(word.exec(line)?.[0] ?? '?');
  }
  return steps;
}

// frontend→backend 8080, backend→frontend 80, coredns→backend 8080, frontend→dns UDP 53, frontend→dns TCP 9153
const EXPECTED = [
  ['Allow', 'Allow', 'Allow', 'Allow', 'Allow'],
  ['Allow', 'Deny', 'Deny', 'Deny', 'Deny'],
  ['Allow', 'Deny', 'Deny', 'Allow', 'Deny'],
];

describe('tabby demo', () => {
  it('--offline decides every probe of every step with the engine', async () => {
    const run = await captureCli(['demo', '--offline']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('21 resources, all valid');
    expect(verdictsByStep(run.stdout, /\b(Allow|Deny)\b/)).toEqual(EXPECTED);
  });

  describe.skipIf(KERNEL_SKIP_REASON !== undefined)(`for real (${KERNEL_SKIP_REASON ?? 'root, nft and ip present'})`, () => {
    it('enforces with nftables, every real probe agrees with the engine, and cleans up', async () => {
      const run = await captureCli(['demo']);
      expect(run.stderr).toContain('cleaned up');
      expect(run.code).toBe(0);
      const real = verdictsByStep(run.stdout, /\b(connected|blocked)\b/)
        .map((step) => step.map((w) => (w === 'connected' ? 'Allow' : 'Deny')));
      expect(real).toEqual(EXPECTED);
      expect(run.stdout).not.toContain('MISMATCH');
      expect(listNamespaces(`tabby-demo${process.pid % 100000}-`)).toEqual([]);
    }, 120_000);
  });
});
