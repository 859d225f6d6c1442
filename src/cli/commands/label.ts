// `tabby label (KIND NAME... | KIND/NAME...) key=value... key-...`: set or remove labels of stored objects
// (kubectl label; calicoctl label sets one at a time). As kubectl, the arguments with '=' or a trailing '-' are
// the changes and the others name the objects. Changing an existing label's value needs --overwrite, as with
// both tools (kubectl: "'app' already has a value (web), and --overwrite is false"): exit 1, nothing written.
// --dry-run prints the diff and the reachability impact — a label decides which policies select an endpoint.

import { displayText, escapeControls, isPrintable, quote, resourceRef, type Resource } from '../../api/index.js';
import { booleanOption, CliError, stringOption, UsageError, write, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, NAMESPACE_OPTION } from '../datastore-access.js';
import { runEdits } from '../resource-edit.js';
import { checkNamespaceOption, keyOfRef, parseResourceArguments } from '../resource-refs.js';
import { LOCKOUT_OPTIONS } from '../lockout.js';
import { DRY_RUN_OUTPUT_OPTION } from '../resource-writes.js';

type LabelChange = { op: 'set'; key: string; value: string } | { op: 'remove'; key: string };

function isChange(arg: string): boolean {
  return arg.includes('=') || arg.endsWith('-');
}

function parseChange(arg: string): LabelChange {
  if (arg.endsWith('-') && !arg.includes('=')) {
    if (arg === '-') throw new UsageError(`'-' names no label: give key- to remove one (e.g. app-)`);
    return { op: 'remove', key: arg.slice(0, -1) };
  }
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`'${arg}' is neither key=value nor key- (e.g. app=web to set, app- to remove)`);
  return { op: 'set', key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

const EXAMPLE = 'tabby label gnp allow-dns owner=netops';

export const command: CommandSpec = {
  name: 'label',
  summary: 'Set or remove labels of stored resources',
  usage: 'tabby label (KIND NAME... | KIND/NAME...) key=value... key-... [--overwrite] [--dry-run [-o text|json]] [--allow-lockout] [-n NS] [--datastore LOCATION]',
  examples: [
    'tabby label hep node1-eth0 environment=production',
    'tabby label gnp allow-dns owner=netops --overwrite',
    'tabby label np web -n prod owner-                       # removes the label owner',
    'tabby label pod/web pod/db -n shop role=backend --dry-run   # which flows would change',
  ],
  options: {
    overwrite: { type: 'boolean', description: 'Allow changing the value of a label that is already set' },
    'dry-run': { type: 'boolean', description: 'Print the diff and the reachability impact; write nothing' },
    output: DRY_RUN_OUTPUT_OPTION,
    ...LOCKOUT_OPTIONS,
    namespace: NAMESPACE_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const objects = args.positionals.filter((a) => !isChange(a));
    const changeArgs = args.positionals.filter(isChange);
    const { refs } = parseResourceArguments(objects, 'label', { namesRequired: true, example: EXAMPLE });
    if (changeArgs.length === 0) throw new UsageError(`which labels? give key=value to set and key- to remove (e.g. ${EXAMPLE})`);
    const changes = changeArgs.map(parseChange);
    const overwrite = booleanOption(args, 'overwrite');
    const ns = stringOption(args, 'namespace');
    checkNamespaceOption(refs, ns);
    // Per object, what the last edit noted (the edit runs once to check and again to write).
    const notes = new Map<string, string[]>();
    const edit = (cur: Resource): Resource => {
      const who = `${cur.kind} ${resourceRef(cur)}`;
      const mine: string[] = [];
      notes.set(who, mine);
      const labels = { ...(cur.metadata.labels ?? {}) };
      for (const c of changes) {
        if (c.op === 'remove') {
          if (!Object.hasOwn(labels, c.key)) mine.push(`label ${isPrintable(c.key) ? `'${c.key}'` : quote(c.key)} not found on ${escapeControls(who)}`);
          delete labels[c.key];
        } else {
          const old = Object.hasOwn(labels, c.key) ? labels[c.key] : undefined;
          if (old !== undefined && old !== c.value && !overwrite) {
            throw new CliError(`${who}: label '${c.key}' already has a value (${old}); add --overwrite to change it`);
          }
          Object.defineProperty(labels, c.key, { value: c.value, writable: true, enumerable: true, configurable: true });
        }
      }
      cur.metadata.labels = labels;
      return cur;
    };
    const set = changes.filter((c) => c.op === 'set').map((c) => `${c.key}=${(c as { value: string }).value}`);
    const removed = changes.filter((c) => c.op === 'remove').map((c) => c.key);
    const what = [set.length ? `set ${set.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : '']
      .filter((s) => s !== '').join('; ');
    const dryRun = booleanOption(args, 'dry-run');
    const code = await runEdits(refs.map((r) => keyOfRef(r, ns)), edit, args, io, {
      past: 'labelled', dryRun,
      onWritten: (after) => {
        const who = `${after.kind} ${resourceRef(after)}`;
        for (const n of notes.get(who) ?? []) write(io.stderr, `warning: ${n}`);
        write(io.stdout, `Successfully updated labels on ${displayText(who)} (${what})`);
      },
    });
    if (dryRun) for (const list of notes.values()) for (const n of list) write(io.stderr, `warning: ${n}`);
    return code;
  },
};
