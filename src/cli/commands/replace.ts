// `tabby replace -f PATH...`: replace existing objects; a missing one is an error, and a metadata.resourceVersion
// in the manifest must still be the stored one (calicoctl replace).

import type { CommandSpec } from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { LOCKOUT_OPTIONS } from '../lockout.js';
import { DRY_RUN_OUTPUT_OPTION, runManifestWrite } from '../resource-writes.js';
import { FILENAME_OPTION } from './validate.js';

export const command: CommandSpec = {
  name: 'replace',
  summary: 'Replace existing resources with manifests; fails for objects that do not exist',
  usage: 'tabby replace -f PATH... [--dry-run [-o text|json]] [--allow-lockout] [--datastore LOCATION]',
  examples: [
    'tabby replace -f policy.yaml',
    'tabby get gnp allow-dns -o yaml > p.yaml && $EDITOR p.yaml && tabby replace -f p.yaml   # conflict if it changed meanwhile',
  ],
  options: {
    filename: FILENAME_OPTION,
    'dry-run': { type: 'boolean', description: 'Validate and print what would change and its reachability impact; write nothing' },
    output: DRY_RUN_OUTPUT_OPTION,
    ...LOCKOUT_OPTIONS,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  run: (args, io) => runManifestWrite('replace', args, io),
};
