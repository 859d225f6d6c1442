// `tabby apply -f PATH...`: create each object, or replace it if it exists (calicoctl apply).

import type { CommandSpec } from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { LOCKOUT_OPTIONS } from '../lockout.js';
import { DRY_RUN_OUTPUT_OPTION, runManifestWrite } from '../resource-writes.js';
import { FILENAME_OPTION } from './validate.js';

export const command: CommandSpec = {
  name: 'apply',
  summary: 'Create or update resources from manifests in the datastore',
  usage: 'tabby apply -f PATH... [--dry-run [-o text|json]] [--allow-lockout] [--datastore LOCATION]',
  examples: [
    'tabby apply -f policy.yaml',
    'tabby apply -f manifests/ --dry-run          # the per-object diff and the flows that change; write nothing',
    'tabby apply -f default-deny.yaml --dry-run -o json',
    'tabby apply -f host-policy.yaml --allow-lockout  # write even if it cuts SSH, kubelet, … on some node',
    'kubectl get netpol -A -o yaml | tabby apply -f -',
    'tabby apply -f policy.yaml --datastore etcd://127.0.0.1:2379',
  ],
  options: {
    filename: FILENAME_OPTION,
    'dry-run': { type: 'boolean', description: 'Validate and print what would change (a diff per object), which flows between existing endpoints become allowed or denied, and which critical host flows the lockout check finds cut; write nothing' },
    output: DRY_RUN_OUTPUT_OPTION,
    ...LOCKOUT_OPTIONS,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  run: (args, io) => runManifestWrite('apply', args, io),
};
