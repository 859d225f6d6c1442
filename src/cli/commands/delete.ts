// `tabby delete -f PATH...`, `tabby delete KIND NAME...` or `tabby delete KIND/NAME...` (what `tabby get -o name`
// prints; resource-refs.ts): remove objects (calicoctl delete, kubectl delete). A metadata.resourceVersion in a
// manifest must still be the stored one.

import type { Resource } from '../../api/index.js';
import { booleanOption, stringOption, UsageError, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, NAMESPACE_OPTION } from '../datastore-access.js';
import { checkNamespaceOption, keyOfRef, parseResourceArguments } from '../resource-refs.js';
import { LOCKOUT_OPTIONS } from '../lockout.js';
import { DRY_RUN_OUTPUT_OPTION, runManifestWrite, writeOrPreview } from '../resource-writes.js';
import { FILENAME_OPTION } from './validate.js';

export const command: CommandSpec = {
  name: 'delete',
  summary: 'Delete resources named by manifests or by kind and name',
  usage: 'tabby delete (-f PATH... | KIND NAME... | KIND/NAME...) [-n NS] [--skip-not-exists] [--dry-run [-o text|json]] [--allow-lockout] [--datastore LOCATION]',
  examples: [
    'tabby delete -f policy.yaml',
    'tabby delete globalnetworkpolicy allow-dns',
    'tabby delete np web -n prod --dry-run',
    'tabby delete gnp/allow-dns networkpolicy.networking.k8s.io/web -n prod',
    'tabby get gnp -l team=old -o name | xargs tabby delete',
  ],
  options: {
    filename: FILENAME_OPTION,
    namespace: NAMESPACE_OPTION,
    'skip-not-exists': { type: 'boolean', description: 'Do not fail for objects that do not exist' },
    'dry-run': { type: 'boolean', description: 'Print what would be deleted and its reachability impact; delete nothing' },
    output: DRY_RUN_OUTPUT_OPTION,
    ...LOCKOUT_OPTIONS,
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
    const { refs } = parseResourceArguments(args.positionals, 'delete', {
      namesRequired: true, example: 'tabby delete globalnetworkpolicy allow-dns, or tabby delete -f PATH',
    });
    const ns = stringOption(args, 'namespace');
    checkNamespaceOption(refs, ns);
    const items = refs.map((ref) => {
      const key = keyOfRef(ref, ns);
      return {
        resource: {
          apiVersion: ref.info.apiVersion, kind: ref.info.kind,
          metadata: { name: key.name, ...(key.namespace !== undefined && { namespace: key.namespace }) },
        } as Resource,
        source: undefined,
      };
    });
    return writeOrPreview('delete', items, args, io, options);
  },
};
