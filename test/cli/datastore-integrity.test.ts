// Issue 10 §1 through the CLI on the real file store: one flipped byte in the middle of journal.log is refused
// (exit 9, naming the file, the offset and the repair command) instead of serving a prefix; nothing is truncated
// or rewritten; `tabby datastore check` reports it and `tabby datastore repair` keeps a copy, recovers every
// intact record — also those after the damage — and says what was lost. A torn last append is not damage;
// first-release (format 1) stores still open and are migrated by their first write.

import { crc32 } from 'node:zlib';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { FileStore } from '../../src/datastore/index.js';
import { encodeFrame, RECORD_MARK } from '../../src/datastore/file/framing.js';
import { gnp } from '../datastore/fixtures.js';
import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-cli-integrity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `store-${++n}`);

async function seed(dir: string, count: number): Promise<void> {
  const s = await FileStore.open({ dir, autoCompact: false });
  for (let i = 0; i < count; i++) await s.create(gnp(`p${i}`, { order: i }));
  await s.close();
}

/** The file offset of the record of revision `rev` in a format-2 journal. */
function recordOffset(buf: Buffer, rev: number): number {
  const needle = Buffer.from(`{"rev":${rev},`);
  const at = buf.indexOf(needle);
  expect(at).toBeGreaterThan(0);
  return at;
}

const cli = (dir: string, ...argv: string[]) => captureCli([...argv, '--datastore', `file:${dir}`]);

describe('tabby and a damaged file store', () => {
  it('refuses a flipped byte in the middle of the journal, changes nothing, and repair recovers every other record', async () => {
    const dir = freshDir();
    await seed(dir, 300);
    const journal = join(dir, 'journal.log');
    const buf = readFileSync(journal);
    const at = recordOffset(buf, 150) + 20;
    buf[at] = buf[at]! ^ 0x04;
    writeFileSync(journal, buf);
    const damaged = Buffer.from(buf);

    const get = await cli(dir, 'get', 'gnp');
    expect(get.code).toBe(9);
    expect(get.stdout).toBe('');
    expect(get.stderr).toContain(`${journal} at byte `);
    expect(get.stderr).toMatch(/checksum mismatch/);
    expect(get.stderr).toContain('tabby datastore repair');
    expect(get.stderr.trim().split('\n')).toHaveLength(1);
    // A write is refused too, and nothing on disk changes (the first release truncated the journal here).
    const create = await captureCli(['apply', '-f', '-', '--datastore', `file:${dir}`], { stdin: JSON.stringify(gnp('new')) });
    expect(create.code).toBe(9);
    expect(readFileSync(journal).equals(damaged)).toBe(true);

    const check = await cli(dir, 'datastore', 'check', '-o', 'json');
    expect(check.code).toBe(9);
    const report = JSON.parse(check.stdout) as { ok: boolean; files: Array<{ file: string; damage: Array<{ offset: number }> }>; missingRevisions: number[][] };
    expect(report.ok).toBe(false);
    const jr = report.files.find((f) => f.file === journal)!;
    expect(jr.damage).toHaveLength(1);
    expect(jr.damage[0]!.offset).toBe(recordOffset(buf, 150) - 21);
    expect(report.missingRevisions).toEqual([[150, 150]]);
    expect(readFileSync(journal).equals(damaged)).toBe(true);

    const repair = await cli(dir, 'datastore', 'repair');
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(/lost revisions 150\b/);
    expect(repair.stdout).toContain('globalnetworkpolicies/p149'); // the damaged record still names its key
    const backups = readdirSync(dir).filter((f) => f.startsWith('journal.log.damaged-'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dir, backups[0]!)).equals(damaged)).toBe(true);

    const after = await cli(dir, 'get', 'gnp', '-o', 'name');
    expect(after.code).toBe(0);
    const names = after.stdout.trim().split('\n');
    expect(names).toHaveLength(299);
    expect(names.some((l) => l.endsWith('/p149'))).toBe(false);
    expect(names.some((l) => l.endsWith('/p299'))).toBe(true); // records after the damage were recovered
    expect((await cli(dir, 'datastore', 'check')).code).toBe(0);
    const write = await captureCli(['apply', '-f', '-', '--datastore', `file:${dir}`], { stdin: JSON.stringify(gnp('p149')) });
    expect(write.code).toBe(0);
  }, 120_000);

  it('refuses damage in the last complete record (not a torn append) and in the snapshot', async () => {
    const dir = freshDir();
    await seed(dir, 5);
    const journal = join(dir, 'journal.log');
    const buf = readFileSync(journal);
    buf[buf.length - 10] = buf[buf.length - 10]! ^ 0x01;
    writeFileSync(journal, buf);
    expect((await cli(dir, 'get', 'gnp')).code).toBe(9);
    // The last record is lost with nothing after it to show for it: refused unless forced, nothing changed.
    const refused = await cli(dir, 'datastore', 'repair');
    expect(refused.code).toBe(9);
    expect(refused.stdout).toMatch(/NOT repaired, nothing changed: .*revisions 5-5 are legible in the damaged end of journal.log but not intact.*--force/);
    expect(readFileSync(journal).equals(buf)).toBe(true);
    expect(readdirSync(dir).some((f) => f.includes('.damaged-'))).toBe(false);
    expect((await cli(dir, 'datastore', 'repair', '--force')).code).toBe(0);
    expect((await cli(dir, 'get', 'gnp', '-o', 'name')).stdout.trim().split('\n')).toHaveLength(4);

    // A repaired store is a snapshot + empty journal: damage one snapshot object and the rest survive a repair.
    const snap = join(dir, 'snapshot.rec');
    const sb = readFileSync(snap);
    const at = sb.indexOf(Buffer.from('"name":"p2"'));
    sb[at + 9] = 0x78;
    writeFileSync(snap, sb);
    const get = await cli(dir, 'get', 'gnp');
    expect(get.code).toBe(9);
    expect(get.stderr).toContain(snap);
    expect((await cli(dir, 'datastore', 'repair')).stdout).toMatch(/NOT repaired.*the snapshot lost 1 of its objects/);
    const repair = await cli(dir, 'datastore', 'repair', '--force');
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain('globalnetworkpolicies/p2');
    expect(repair.stdout).toMatch(/no revision lost, 1 snapshot objects lost/);
    expect((await cli(dir, 'get', 'gnp', '-o', 'name')).stdout.trim().split('\n').sort())
      .toEqual(['globalnetworkpolicy.projectcalico.org/p0', 'globalnetworkpolicy.projectcalico.org/p1', 'globalnetworkpolicy.projectcalico.org/p3']);
  }, 60_000);

  it('ignores a torn last append (check says so, exit 0) and the next write removes it', async () => {
    const dir = freshDir();
    await seed(dir, 3);
    const journal = join(dir, 'journal.log');
    const frame = encodeFrame({ rev: 4, op: 'put', key: 'projectcalico.org/globalnetworkpolicies/torn', value: gnp('torn') });
    appendFileSync(journal, frame.subarray(0, 60));
    expect((await cli(dir, 'get', 'gnp', '-o', 'name')).stdout.trim().split('\n')).toHaveLength(3);
    const check = await cli(dir, 'datastore', 'check');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/unfinished last record at byte \d+/);
    const apply = await captureCli(['apply', '-f', '-', '--datastore', `file:${dir}`], { stdin: JSON.stringify(gnp('after')) });
    expect(apply.code).toBe(0);
    expect(readFileSync(journal).includes(Buffer.from('globalnetworkpolicies/torn'))).toBe(false);
    expect((await cli(dir, 'datastore', 'check')).stdout).not.toMatch(/unfinished/);
  });

  it('opens a first-release store, refuses damage in it, and migrates it to format 2 on the first write', async () => {
    const dir = freshDir();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const line = (v: unknown) => { const j = JSON.stringify(v); return `${crc32(j).toString(16).padStart(8, '0')} ${j}\n`; };
    const stored = (name: string, order: number) => ({ ...gnp(name, { order }), metadata: { name, uid: `u-${name}`, creationTimestamp: '2026-11-01T00:00:00Z' } });
    writeFileSync(join(dir, 'snapshot.json'), JSON.stringify({
      format: 1, revision: 2, objects: [
        { key: 'projectcalico.org/globalnetworkpolicies/a', rev: 1, value: stored('a', 1) },
        { key: 'projectcalico.org/globalnetworkpolicies/b', rev: 2, value: stored('b', 2) },
      ],
    }));
    const v1 = line({ journal: 1, base: 2 }) + line({ rev: 3, op: 'put', key: 'projectcalico.org/globalnetworkpolicies/c', value: stored('c', 3) }) +
      line({ rev: 4, op: 'del', key: 'projectcalico.org/globalnetworkpolicies/a' }) +
      line({ rev: 5, op: 'put', key: 'projectcalico.org/globalnetworkpolicies/d', value: stored('d', 5) });
    writeFileSync(join(dir, 'journal.log'), v1);

    // Damage in a middle line of a format-1 journal is refused as well.
    const bad = Buffer.from(v1);
    bad[v1.indexOf('"c"') + 1] = 0x78;
    writeFileSync(join(dir, 'journal.log'), bad);
    expect((await cli(dir, 'get', 'gnp')).code).toBe(9);
    // Repairing a damaged format-1 store recovers the lines after the damage, into format 2.
    const copy = join(root, `store-${++n}`);
    mkdirSync(copy);
    writeFileSync(join(copy, 'journal.log'), bad);
    writeFileSync(join(copy, 'snapshot.json'), readFileSync(join(dir, 'snapshot.json')));
    const repaired = await cli(copy, 'datastore', 'repair');
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/lost revisions 3\b/);
    expect(readFileSync(join(copy, 'journal.log'))[0]).toBe(RECORD_MARK);
    expect((await cli(copy, 'get', 'gnp', '-o', 'name')).stdout.trim().split('\n').map((l) => l.split('/')[1])).toEqual(['b', 'd']);
    writeFileSync(join(dir, 'journal.log'), v1);

    const get = await cli(dir, 'get', 'gnp', '-o', 'name');
    expect(get.code).toBe(0);
    expect(get.stdout.trim().split('\n').map((l) => l.split('/')[1])).toEqual(['b', 'c', 'd']);
    expect(readFileSync(join(dir, 'journal.log'), 'utf8')).toBe(v1); // reading never migrates
    const apply = await captureCli(['apply', '-f', '-', '--datastore', `file:${dir}`], { stdin: JSON.stringify(gnp('e')) });
    expect(apply.code).toBe(0);
    expect(readFileSync(join(dir, 'journal.log'))[0]).toBe(RECORD_MARK);
    expect(existsSync(join(dir, 'snapshot.rec'))).toBe(true);
    expect(existsSync(join(dir, 'snapshot.json'))).toBe(false);
    const json = await cli(dir, 'get', 'gnp', '-o', 'json');
    const items = (JSON.parse(json.stdout) as { items: Array<{ metadata: { name: string; resourceVersion: string } }> }).items;
    expect(items.map((i) => [i.metadata.name, i.metadata.resourceVersion])).toEqual([['b', '2'], ['c', '3'], ['d', '5'], ['e', '6']]);
    expect((await cli(dir, 'datastore', 'check')).code).toBe(0);
  });
});
