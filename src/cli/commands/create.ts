// `tabby create -f PATH...`: create objects; one that already exists is an error (calicoctl create).

import type { CommandSpec } from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { LOCKOUT_OPTIONS } from '../lockout.js';
import { DRY_RUN_OUTPUT_OPTION, runManifestWrite } from '../resource-writes.js';
import { FILENAME_OPTION } from './validate.js';

export const command: CommandSpec = {
  name: 'create',
  summary: 'Create resources from manifests; fails for objects that already exist',
  usage: 'tabby create -f PATH... [--dry-run [-o text|json]] [--allow-lockout] [--datastore LOCATION]',
  examples: ['tabby create -f tier.yaml', 'tabby create -f policies/ --dry-run'],
  options: {
    filename: FILENAME_OPTION,
    'dry-run': { type: 'boolean', description: 'Validate and print what would be created and its reachability impact; write nothing' },
    output: DRY_RUN_OUTPUT_OPTION,
    ...LOCKOUT_OPTIONS,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  run: (args, io) => runManifestWrite('create', args, io),
};
