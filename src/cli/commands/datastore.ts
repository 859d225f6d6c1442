// `tabby datastore check|repair`: the integrity of the store's data. For the file store, check reads every
// record of the snapshot and journal (framing, length, CRC-32, revision sequence) and repair rebuilds a damaged
// store from every intact record after keeping a copy of the damaged files (src/datastore/file/integrity.ts).
// For etcd, which guards its own files, check lists every object and reports those that cannot be served.

import {
  checkFileStore, openDatastore, parseDatastoreLocation, repairFileStore, type IntegrityReport, type RepairReport,
  type SkippedObject,
} from '../../datastore/index.js';
import { CliError, EXIT, outputFormat, UsageError, write, type CommandIO, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, toCliError } from '../datastore-access.js';
import { resolveSetting } from '../settings.js';

function fileSystemError(err: unknown, dir: string): CliError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || !/^E[A-Z]+$/.test(e.code)) return undefined;
  return new CliError(`cannot read the file store at ${e.path ?? dir}: ${e.code} (${e.message})`, EXIT.unavailable);
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

export const command: CommandSpec = {
  name: 'datastore',
  summary: 'Check the integrity of the datastore, or repair a damaged file store',
  usage: 'tabby datastore check|repair [--datastore LOCATION] [-o text|json]',
  examples: [
    'tabby datastore check --datastore file:/var/lib/tabby',
    'tabby datastore repair --datastore file:/var/lib/tabby   # copies the damaged files first, then rebuilds',
    'tabby datastore check -o json',
  ],
  options: {
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'Output format: text or json' },
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [verb, ...extra] = args.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' (see 'tabby datastore --help')`);
    if (verb !== 'check' && verb !== 'repair') {
      throw new UsageError(verb === undefined
        ? "missing subcommand: check or repair (see 'tabby datastore --help')"
        : `unknown subcommand '${verb}': check or repair`);
    }
    const format = outputFormat(args, ['text', 'json'] as const, 'text');
    const setting = await resolveSetting('datastore', args, io);
    const loc = parseDatastoreLocation(setting.value);
    if (!loc.ok) throw new UsageError(loc.issues[0]!.message);
    if (loc.value.type === 'etcd') return checkEtcd(verb, setting.value, format, io);
    const dir = loc.value.dir;
    if (verb === 'check') {
      let report: IntegrityReport;
      try {
        report = checkFileStore(dir);
      } catch (err) {
        throw fileSystemError(err, dir) ?? err;
      }
      if (format === 'json') write(io.stdout, JSON.stringify(report, null, 2));
      else {
        write(io.stdout, reportLines(report).join('\n'));
        write(io.stdout, report.ok
          ? `${report.endpoint}: intact, revision ${report.revision}`
          : `${report.endpoint}: DAMAGED; the store refuses to serve until repaired: tabby datastore repair --datastore ${report.endpoint}`);
      }
      return report.ok ? (report.unreadable.length > 0 ? EXIT.failure : EXIT.ok) : EXIT.damaged;
    }
    let report: RepairReport;
    try {
      report = await repairFileStore(dir);
    } catch (err) {
      throw fileSystemError(err, dir) ?? toCliError(err) ?? err;
    }
    if (format === 'json') write(io.stdout, JSON.stringify(report, null, 2));
    else if (!report.repaired) {
      write(io.stdout, [...reportLines(report), `${report.endpoint}: not damaged, nothing to repair (revision ${report.revision})`].join('\n'));
    } else {
      const lines = reportLines(report);
      lines.push(`kept copies of the damaged files: ${report.backups.join(', ')}`);
      const lost = [
        report.missingRevisions.length > 0 ? `lost revisions ${revisions(report.missingRevisions)}` : 'no revision lost',
        ...(report.snapshotObjectsLost !== 0 ? [`${report.snapshotObjectsLost ?? 'an unknown number of'} snapshot objects lost`] : []),
      ].join(', ');
      lines.push(`Repaired ${report.endpoint}: ${report.objects} objects at revision ${report.revision}; ${lost}` +
        `${report.tailLost ? `, and any records after revision ${report.revision}` : ''}`);
      write(io.stdout, lines.join('\n'));
    }
    return EXIT.ok;
  },
};

async function checkEtcd(verb: 'check' | 'repair', location: string, format: 'text' | 'json', io: CommandIO): Promise<number> {
  if (verb === 'repair') {
    throw new CliError('tabby datastore repair works on file stores; etcd keeps its own files intact (etcdctl check, ' +
      'etcdutl snapshot restore); an unreadable object there is removed with tabby delete', EXIT.failure);
  }
  const loc = parseDatastoreLocation(location);
  if (!loc.ok) throw new UsageError(loc.issues[0]!.message);
  const store = await openDatastore(loc.value);
  try {
    const { items, skipped = [], revision } = await store.list();
    if (format === 'json') {
      write(io.stdout, JSON.stringify({ endpoint: store.endpoint, ok: skipped.length === 0, objects: items.length, revision, unreadable: skipped }, null, 2));
    } else {
      write(io.stdout, [...unreadableLines(skipped),
        `${store.endpoint}: ${items.length} objects at revision ${revision}${skipped.length > 0 ? `, ${skipped.length} unreadable` : ', all readable'}`].join('\n'));
    }
    return skipped.length > 0 ? EXIT.failure : EXIT.ok;
  } catch (err) {
    throw toCliError(err) ?? err;
  } finally {
    await store.close().catch(() => undefined);
  }
}
