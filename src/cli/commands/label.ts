// `tabby label KIND NAME key=value... key-...`: set or remove labels of a stored object (kubectl label; calicoctl
// label sets one at a time). Changing an existing label's value needs --overwrite, as with both tools.

import { stringOption, UsageError, write, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, kindArgument, NAMESPACE_OPTION, withStore } from '../datastore-access.js';
import { editResource } from '../resource-edit.js';

type LabelChange = { op: 'set'; key: string; value: string } | { op: 'remove'; key: string };

function parseChange(arg: string): LabelChange {
  if (arg.endsWith('-') && !arg.includes('=')) return { op: 'remove', key: arg.slice(0, -1) };
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`'${arg}' is neither key=value nor key- (e.g. app=web to set, app- to remove)`);
  return { op: 'set', key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

export const command: CommandSpec = {
  name: 'label',
  summary: 'Set or remove labels of a stored resource',
  usage: 'tabby label KIND NAME key=value... key-... [--overwrite] [-n NS] [--datastore LOCATION]',
  examples: [
    'tabby label hep node1-eth0 environment=production',
    'tabby label gnp allow-dns owner=netops --overwrite',
    'tabby label np web -n prod owner-',
  ],
  options: {
    overwrite: { type: 'boolean', description: 'Allow changing the value of a label that is already set' },
    namespace: NAMESPACE_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [kindName, name, ...rest] = args.positionals;
    if (kindName === undefined || name === undefined || rest.length === 0) {
      throw new UsageError('usage: tabby label KIND NAME key=value... key-... (e.g. tabby label gnp allow-dns owner=netops)');
    }
    const changes = rest.map(parseChange);
    const overwrite = args.values.overwrite === true;
    const info = kindArgument(kindName, 'label');
    const ns = stringOption(args, 'namespace');
    const key = { kind: info.key, name, ...(info.namespaced && { namespace: ns ?? 'default' }) };
    const notes: string[] = [];
    return withStore(args, io, async ({ store }) => {
      await editResource(store, key, (cur) => {
        notes.length = 0;
        const labels = { ...(cur.metadata.labels ?? {}) };
        for (const c of changes) {
          if (c.op === 'remove') {
            if (!(c.key in labels)) notes.push(`label '${c.key}' not found`);
            delete labels[c.key];
          } else {
            const old = labels[c.key];
            if (old !== undefined && old !== c.value && !overwrite) {
              throw new UsageError(`'${c.key}' already has a value (${old}); add --overwrite to change it`);
            }
            labels[c.key] = c.value;
          }
        }
        cur.metadata.labels = labels;
        return cur;
      });
      for (const n of notes) write(io.stderr, n);
      const set = changes.filter((c) => c.op === 'set').map((c) => `${c.key}=${(c as { value: string }).value}`);
      const removed = changes.filter((c) => c.op === 'remove').map((c) => c.key);
      const what = [set.length ? `set ${set.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : '']
        .filter((s) => s !== '').join('; ');
      write(io.stdout, `Successfully updated labels on ${info.kind} ${ns && info.namespaced ? `${ns}/` : ''}${name} (${what})`);
      return 0;
    });
  },
};
