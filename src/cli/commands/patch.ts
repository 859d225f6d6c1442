// `tabby patch KIND NAME -p JSON`: change fields of a stored object with a JSON merge patch (RFC 7386, as
// `calicoctl patch` and `kubectl patch --type merge`). The result is validated like any write.

import type { Resource } from '../../api/index.js';
import { stringOption, UsageError, write, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, kindArgument, NAMESPACE_OPTION, withStore } from '../datastore-access.js';
import { editResource, mergePatch } from '../resource-edit.js';

export const command: CommandSpec = {
  name: 'patch',
  summary: 'Change fields of a stored resource with a JSON merge patch',
  usage: 'tabby patch KIND NAME -p JSON [-n NS] [--datastore LOCATION]',
  examples: [
    `tabby patch gnp allow-dns -p '{"spec":{"order":50}}'`,
    `tabby patch np web -n prod -p '{"metadata":{"labels":{"owner":null}}}'   # null removes a field`,
  ],
  options: {
    patch: { type: 'string', short: 'p', valueName: 'JSON', description: 'The merge patch (a JSON object)' },
    type: { type: 'string', valueName: 'TYPE', description: 'Patch type: merge (the only one; for kubectl habits)' },
    namespace: NAMESPACE_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [kindName, name, extra] = args.positionals;
    if (kindName === undefined || name === undefined) {
      throw new UsageError(`which object? e.g. tabby patch gnp allow-dns -p '{"spec":{"order":50}}'`);
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}': patch one object at a time`);
    const type = stringOption(args, 'type') ?? 'merge';
    if (type !== 'merge') throw new UsageError(`unsupported patch type '${type}': only merge (RFC 7386) is supported`);
    const text = stringOption(args, 'patch');
    if (text === undefined) throw new UsageError(`no patch given: use -p JSON, e.g. -p '{"spec":{"order":50}}'`);
    let patch: unknown;
    try {
      patch = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`the patch is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new UsageError('the patch must be a JSON object (e.g. {"spec":{"order":50}})');
    }
    const info = kindArgument(kindName, 'patch');
    const ns = stringOption(args, 'namespace');
    const key = { kind: info.key, name, ...(info.namespaced && { namespace: ns ?? 'default' }) };
    return withStore(args, io, async ({ store }) => {
      await editResource(store, key, (cur) => mergePatch(cur, patch) as Resource);
      write(io.stdout, `Successfully patched 1 '${info.kind}' resource`);
      return 0;
    });
  },
};
