// `tabby apply -f PATH...`: create each object, or replace it if it exists (calicoctl apply).

import type { CommandSpec } from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { runManifestWrite } from '../resource-writes.js';
import { FILENAME_OPTION } from './validate.js';

export const command: CommandSpec = {
  name: 'apply',
  summary: 'Create or update resources from manifests in the datastore',
  usage: 'tabby apply -f PATH... [--dry-run] [--datastore LOCATION]',
  examples: [
    'tabby apply -f policy.yaml',
    'tabby apply -f manifests/ --dry-run          # validate and show the per-object diff; write nothing',
    'kubectl get netpol -A -o yaml | tabby apply -f -',
    'tabby apply -f policy.yaml --datastore etcd://127.0.0.1:2379',
  ],
  options: {
    filename: FILENAME_OPTION,
    'dry-run': { type: 'boolean', description: 'Validate and print what would change (a diff per object); write nothing' },
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  run: (args, io) => runManifestWrite('apply', args, io),
};
