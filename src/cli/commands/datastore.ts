// `tabby datastore check|repair`: the integrity of the store's data. For the file store, check reads every
// record of the snapshot and journal (framing, length, CRC-32, revision sequence) and repair rebuilds a damaged
// store from every intact record after keeping a copy of the damaged files (src/datastore/file/integrity.ts).
// For etcd, which guards its own files, check lists every object and reports those that cannot be served.

import {
  checkFileStore, errnoOf, openDatastore, REVISION_MARGIN, repairFileStore, type IntegrityReport,
  type RepairReport, type SkippedObject,
} from '../../datastore/index.js';
import { booleanOption, CliError, EXIT, UsageError, write, type CommandIO, type CommandSpec } from '../command.js';
import { unknownSubcommand } from '../suggest.js';
import { DATASTORE_OPTION, toCliError } from '../datastore-access.js';
import { chooseFormat, jsonPrinter, outputOption, print, printerSet, type PrintStreams } from '../output/printers.js';
import { resolveDatastore, type ResolvedDatastore } from '../settings.js';

function fileSystemError(err: unknown, dir: string): CliError | undefined {
  const code = errnoOf(err);
  if (!code) return undefined;
  const e = err as NodeJS.ErrnoException;
  return new CliError(`cannot read the file store at ${e.path ?? dir}: ${code} (${e.message})`, EXIT.unavailable);
}

function revisions(r: Array<[number, number]>): string {
  return r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
}

function unreadableLines(list: readonly SkippedObject[]): string[] {
  return list.map((s) => `  unreadable object ${JSON.stringify(s.key)}: ${s.reason} (kept, never served; tabby delete removes it)`);
}

function reportLines(r: IntegrityReport): string[] {
  const lines: string[] = [];
  for (const f of r.files) {
    const state = f.damage.length === 0 ? 'ok' : `DAMAGED (${f.damage.length} region${f.damage.length > 1 ? 's' : ''})`;
    lines.push(`${f.file}: format ${f.format}, ${f.bytes} bytes, ${f.records} intact records: ${state}`);
    for (const d of f.damage) lines.push(`  damaged at byte ${d.offset} (${d.length} bytes): ${d.reason}`);
    if (f.torn) lines.push(`  unfinished last record at byte ${f.torn.offset} (${f.torn.length} bytes): a crash during an append, never committed; the next write removes it`);
  }
  if (r.missingRevisions.length > 0) lines.push(`missing revisions: ${revisions(r.missingRevisions)}`);
  if (r.snapshotObjectsLost !== 0) {
    lines.push(r.snapshotObjectsLost === undefined
      ? 'snapshot objects lost: an unknown number (the snapshot header or document is damaged)'
      : `snapshot objects lost: ${r.snapshotObjectsLost}`);
  }
  if (r.tailLost) lines.push(`records after revision ${r.revision} may be lost (the damage runs to the end of the journal)`);
  if (r.probablyAffected.length > 0) lines.push(`keys named in the damaged bytes (probably affected): ${r.probablyAffected.join(', ')}`);
  lines.push(...unreadableLines(r.unreadable));
  return lines;
}

function checkText(report: IntegrityReport, io: PrintStreams): void {
  write(io.stdout, reportLines(report).join('\n'));
  write(io.stdout, report.ok
    ? `${report.endpoint}: intact, revision ${report.revision}`
    : `${report.endpoint}: DAMAGED; the store refuses to serve until repaired: tabby datastore repair --datastore ${report.endpoint}`);
}

function repairText(report: RepairReport, io: PrintStreams): void {
  if (report.refused) {
    write(io.stdout, [...reportLines(report),
      `${report.endpoint}: NOT repaired, nothing changed: a repair would lose more than the intact records show — ` +
      `${report.refuseUnlessForced.join('; ')}. Keep a copy of the store's directory, then run ` +
      `tabby datastore repair --force --datastore ${report.endpoint} to rebuild it from what is intact`].join('\n'));
    return;
  }
  if (!report.repaired) {
    write(io.stdout, [...reportLines(report), `${report.endpoint}: not damaged, nothing to repair (revision ${report.revision})`].join('\n'));
    return;
  }
  const lines = reportLines(report);
  lines.push(`kept copies of the damaged files: ${report.backups.join(', ')}`);
  const lost = [
    report.missingRevisions.length > 0 ? `lost revisions ${revisions(report.missingRevisions)}` : 'no revision lost',
    ...(report.snapshotObjectsLost !== 0 ? [`${report.snapshotObjectsLost ?? 'an unknown number of'} snapshot objects lost`] : []),
  ].join(', ');
  lines.push(`Repaired ${report.endpoint}: ${report.objects} objects at revision ${report.repairedRevision}; ${lost}` +
    `${report.tailLost ? `, and any records after revision ${report.visibleRevision}` : ''}`);
  lines.push(`  (the intact records reach revision ${report.revision}; the repaired store continues past the largest revision ` +
    `the files show, ${report.visibleRevision}, by a margin of at least ${REVISION_MARGIN}, so no revision a client saw is reused)`);
  write(io.stdout, lines.join('\n'));
}

interface EtcdCheck { endpoint: string; ok: boolean; objects: number; revision: number; unreadable: SkippedObject[] }

function etcdText(r: EtcdCheck, io: PrintStreams): void {
  write(io.stdout, [...unreadableLines(r.unreadable),
    `${r.endpoint}: ${r.objects} objects at revision ${r.revision}${r.unreadable.length > 0 ? `, ${r.unreadable.length} unreadable` : ', all readable'}`].join('\n'));
}

const CHECK_PRINTERS = printerSet<IntegrityReport, 'text' | 'json'>('text', { text: checkText, json: jsonPrinter() });
const REPAIR_PRINTERS = printerSet<RepairReport, 'text' | 'json'>('text', { text: repairText, json: jsonPrinter() });
const ETCD_PRINTERS = printerSet<EtcdCheck, 'text' | 'json'>('text', { text: etcdText, json: jsonPrinter() });

export const command: CommandSpec = {
  name: 'datastore',
  summary: 'Check the integrity of the datastore, or repair a damaged file store',
  usage: 'tabby datastore check|repair [--force] [--datastore LOCATION] [-o text|json]',
  examples: [
    'tabby datastore check --datastore file:/var/lib/tabby',
    'tabby datastore repair --datastore file:/var/lib/tabby   # copies the damaged files first, then rebuilds',
    'tabby datastore check -o json',
  ],
  options: {
    output: outputOption(CHECK_PRINTERS),
    datastore: DATASTORE_OPTION,
    force: {
      type: 'boolean',
      description: 'repair: rebuild even when the damage visibly lost more than the intact records show (changes at the end of the journal, snapshot objects, a missing journal)',
    },
  },
  positionals: true,
  async run(args, io) {
    const [verb, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' (see 'tabby datastore --help')`);
    if (verb !== 'check' && verb !== 'repair') {
      throw new UsageError(verb === undefined
        ? "missing subcommand: check or repair (see 'tabby datastore --help')"
        : unknownSubcommand(verb, ['check', 'repair'], 'check or repair'));
    }
    const format = chooseFormat(args, CHECK_PRINTERS);
    const resolved = await resolveDatastore(args, io);
    if (resolved.location.type === 'etcd') return checkEtcd(verb, resolved, format, io);
    const dir = resolved.location.dir;
    if (verb === 'check') {
      let report: IntegrityReport;
      try {
        report = checkFileStore(dir);
      } catch (err) {
        throw fileSystemError(err, dir) ?? err;
      }
      print(CHECK_PRINTERS, format, report, io);
      return report.ok ? (report.unreadable.length > 0 ? EXIT.failure : EXIT.ok) : EXIT.damaged;
    }
    let report: RepairReport;
    try {
      report = await repairFileStore(dir, { force: booleanOption(args, 'force') });
    } catch (err) {
      throw fileSystemError(err, dir) ?? toCliError(err) ?? err;
    }
    print(REPAIR_PRINTERS, format, report, io);
    // Refused: the store is as damaged as before.
    return report.refused ? EXIT.damaged : EXIT.ok;
  },
};

async function checkEtcd(verb: 'check' | 'repair', resolved: ResolvedDatastore, format: 'text' | 'json', io: CommandIO): Promise<number> {
  if (verb === 'repair') {
    throw new CliError('tabby datastore repair works on file stores; etcd keeps its own files intact (etcdctl check, ' +
      'etcdutl snapshot restore); an unreadable object there is removed with tabby delete', EXIT.failure);
  }
  const store = await openDatastore(resolved.location, { etcd: resolved.etcd });
  try {
    const { items, skipped = [], revision } = await store.list();
    print(ETCD_PRINTERS, format, { endpoint: store.endpoint, ok: skipped.length === 0, objects: items.length, revision, unreadable: skipped }, io);
    return skipped.length > 0 ? EXIT.failure : EXIT.ok;
  } catch (err) {
    throw toCliError(err) ?? err;
  } finally {
    await store.close().catch(() => undefined);
  }
}
