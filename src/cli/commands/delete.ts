// `tabby delete -f PATH...` or `tabby delete KIND NAME...`: remove objects (calicoctl delete). A
// metadata.resourceVersion in a manifest must still be the stored one.

import { kindInfo, type Resource } from '../../api/index.js';
import { booleanOption, stringOption, UsageError, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, kindArgument, NAMESPACE_OPTION } from '../datastore-access.js';
import { DRY_RUN_OUTPUT_OPTION, runManifestWrite, writeOrPreview } from '../resource-writes.js';
import { FILENAME_OPTION } from './validate.js';

export const command: CommandSpec = {
  name: 'delete',
  summary: 'Delete resources named by manifests or by kind and name',
  usage: 'tabby delete (-f PATH... | KIND NAME... [-n NS]) [--skip-not-exists] [--dry-run [-o text|json]] [--datastore LOCATION]',
  examples: [
    'tabby delete -f policy.yaml',
    'tabby delete globalnetworkpolicy allow-dns',
    'tabby delete np web -n prod --dry-run',
  ],
  options: {
    filename: FILENAME_OPTION,
    namespace: NAMESPACE_OPTION,
    'skip-not-exists': { type: 'boolean', description: 'Do not fail for objects that do not exist' },
    'dry-run': { type: 'boolean', description: 'Print what would be deleted and its reachability impact; delete nothing' },
    output: DRY_RUN_OUTPUT_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const options = { dryRun: booleanOption(args, 'dry-run'), skipNotFound: booleanOption(args, 'skip-not-exists') };
    if (args.values.filename !== undefined) {
      if (args.positionals.length > 0) {
        throw new UsageError(`give either -f PATH or KIND NAME, not both (unexpected '${args.positionals[0]}')`);
      }
      return runManifestWrite('delete', args, io);
    }
    const [kindName, ...names] = args.positionals;
    if (kindName === undefined || names.length === 0) {
      throw new UsageError('nothing to delete: give -f PATH, or KIND NAME (e.g. tabby delete globalnetworkpolicy allow-dns)');
    }
    const info = kindArgument(kindName, 'delete');
    const ns = stringOption(args, 'namespace');
    if (!info.namespaced && ns !== undefined) {
      throw new UsageError(`${info.kind} is not namespaced; drop -n ${ns}`);
    }
    const items = names.map((name) => ({
      resource: {
        apiVersion: kindInfo(info.key).apiVersion, kind: info.kind,
        metadata: { name, ...(info.namespaced && { namespace: ns ?? 'default' }) },
      } as Resource,
      source: undefined,
    }));
    return writeOrPreview('delete', items, args, io, options);
  },
};
