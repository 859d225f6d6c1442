// The file store's record framing (framing.ts): every single-bit flip anywhere is damage — never the end of
// the log, never a torn append; a cut inside the last record is a torn append; zeroed sectors are torn only at
// the end; and recovery finds every record after a damaged one.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { checkFileStore, FileStore } from '../../src/datastore/index.js';
import { encodeFrame, scanAll, scanFrames } from '../../src/datastore/file/framing.js';
import { gnp } from './fixtures.js';

function journal(n: number): { buf: Buffer; starts: number[] } {
  const parts = [encodeFrame({ journal: 2, base: 0 })];
  for (let i = 1; i <= n; i++) parts.push(encodeFrame({ rev: i, op: 'put', key: `projectcalico.org/globalnetworkpolicies/p${i}`, value: gnp(`p${i}`, { order: i }) }));
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) { starts.push(at); at += p.length; }
  return { buf: Buffer.concat(parts), starts };
}

describe('record framing', () => {
  const { buf, starts } = journal(12);

  it('reads every record of an intact file', () => {
    const r = scanFrames('v2', buf);
    expect(r.frames).toHaveLength(13);
    expect(r.damage).toBeUndefined();
    expect(r.torn).toBeUndefined();
    expect(r.end).toBe(buf.length);
  });

  it('takes any single-bit flip anywhere as damage at the record that holds it', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: buf.length - 1 }), fc.integer({ min: 0, max: 7 }), (pos, bit) => {
      const b = Buffer.from(buf);
      b[pos] = b[pos]! ^ (1 << bit);
      const r = scanFrames('v2', b);
      expect(r.torn).toBeUndefined();
      expect(r.damage).toBeDefined();
      expect(r.damage!.offset).toBe(starts.filter((s) => s <= pos).pop()!);
    }), { numRuns: 2000 });
  });

  it('recovers exactly the 12 other records of a real store after any single-bit flip (check, through the framing it detects)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabby-framing-'));
    try {
      const s = await FileStore.open({ dir, autoCompact: false });
      for (let i = 1; i <= 12; i++) await s.create(gnp(`p${i}`, { order: i }));
      await s.close();
      const path = join(dir, 'journal.log');
      const real = readFileSync(path);
      const realStarts = [0];
      for (let at = real.indexOf(0x1e, 1); at >= 0; at = real.indexOf(0x1e, at + 1)) realStarts.push(at);
      expect(realStarts).toHaveLength(13);
      fc.assert(fc.property(fc.integer({ min: 0, max: real.length - 1 }), fc.integer({ min: 0, max: 7 }), (pos, bit) => {
        const b = Buffer.from(real);
        b[pos] = b[pos]! ^ (1 << bit);
        writeFileSync(path, b);
        const report = checkFileStore(dir);
        const journalReport = report.files.find((f) => f.file === path)!;
        expect(report.ok).toBe(false);
        expect(journalReport.format).toBe(2); // also when byte 0 (the first record marker) is the one flipped
        expect(journalReport.records).toBe(12);
        expect(journalReport.damage.some((d) => d.offset === realStarts.filter((st) => st <= pos).pop()! && d.length > 0)).toBe(true);
      }), { numRuns: 500 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a cut inside the last record as a torn append, and everything before it as intact', () => {
    const last = starts[starts.length - 1]!;
    for (let cut = last + 1; cut < buf.length; cut += 7) {
      const r = scanFrames('v2', buf.subarray(0, cut));
      expect(r.damage).toBeUndefined();
      expect(r.torn?.offset).toBe(last);
      expect(r.frames).toHaveLength(12);
      expect(r.end).toBe(last);
    }
  });

  it('takes a zeroed sector as torn at the end only', () => {
    const big = journal(40);
    const lastStart = big.starts[big.starts.length - 1]!;
    const endZero = Buffer.from(big.buf);
    const sector = Math.ceil(lastStart / 512) * 512;
    if (sector + 512 <= endZero.length) endZero.fill(0, sector, sector + 512);
    else endZero.fill(0, lastStart, endZero.length);
    expect(scanFrames('v2', endZero).torn?.offset).toBe(lastStart);
    const midZero = Buffer.from(big.buf);
    midZero.fill(0, 1024, 1536);
    const r = scanFrames('v2', midZero);
    expect(r.damage).toBeDefined();
    expect(r.torn).toBeUndefined();
    const all = scanAll('v2', midZero);
    const lostRecords = big.starts.filter((s, i) => s < 1536 && (big.starts[i + 1] ?? Infinity) > 1024).length;
    expect(all.frames).toHaveLength(41 - lostRecords);
  });

  it('never mistakes a payload for a record: a frame stored inside a string is not found by recovery', () => {
    const inner = encodeFrame({ rev: 99, op: 'del', key: 'projectcalico.org/globalnetworkpolicies/victim' }).toString('latin1');
    const sneaky = encodeFrame({ rev: 1, op: 'put', key: 'x', value: { note: inner } });
    expect(sneaky.includes(0x1e, 1)).toBe(false); // RS is escaped as \u001e inside JSON
    const damaged = Buffer.concat([Buffer.from('garbage'), sneaky.subarray(1)]);
    expect(scanAll('v2', damaged).frames).toHaveLength(0);
  });
});
