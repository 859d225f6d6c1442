// `tabby patch KIND NAME... | KIND/NAME... -p PATCH [--type merge|json]`: change fields of stored objects.
// `merge` (the default) is RFC 7386 JSON Merge Patch, as `calicoctl patch` and as `kubectl patch --type merge`
// — what kubectl must use for custom resources such as Calico's, which have no strategic-merge schema; `json` is
// RFC 6902 JSON Patch (json-patch.ts). `strategic` is refused with that explanation, as kubectl refuses it for
// custom resources. The result is validated like any write and nothing is written unless every object patches
// cleanly; --dry-run prints the diff and the reachability impact instead.

import type { Resource } from '../../api/index.js';
import { booleanOption, CliError, stringOption, UsageError, write, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, NAMESPACE_OPTION } from '../datastore-access.js';
import { applyJsonPatch, mergePatch } from '../../api/index.js';
import { runEdits } from '../resource-edit.js';
import { checkNamespaceOption, keyOfRef, parseResourceArguments } from '../resource-refs.js';
import { LOCKOUT_OPTIONS } from '../lockout.js';
import { DRY_RUN_OUTPUT_OPTION } from '../resource-writes.js';

const TYPES = ['merge', 'json'] as const;
type PatchType = (typeof TYPES)[number];

function patchType(text: string | undefined): PatchType {
  if (text === undefined) return 'merge';
  if ((TYPES as readonly string[]).includes(text)) return text as PatchType;
  if (text === 'strategic') {
    throw new UsageError('strategic merge patch is not supported: Calico resources are custom resources without a ' +
      'strategic-merge schema (kubectl refuses it for them too); use --type merge (RFC 7386) or --type json (RFC 6902)');
  }
  throw new UsageError(`unsupported patch type '${text}': allowed are merge (RFC 7386, the default) and json (RFC 6902)`);
}

/** Deeper than any field of any kind; the merge and compare of json-patch.ts recurse once per level. */
const MAX_PATCH_DEPTH = 64;

function depthOf(value: unknown): number {
  // Iterative: the value may be deep enough to overflow a recursive walk.
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d);
    if (max > MAX_PATCH_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

function parsePatch(text: string, type: PatchType): unknown {
  let patch: unknown;
  try {
    patch = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the patch is not valid JSON: ${(err as Error).message}`);
  }
  if (depthOf(patch) > MAX_PATCH_DEPTH) throw new UsageError(`the patch nests deeper than ${MAX_PATCH_DEPTH} levels; no resource field is that deep`);
  if (type === 'merge' && (typeof patch !== 'object' || patch === null || Array.isArray(patch))) {
    throw new UsageError(`a merge patch is a JSON object (e.g. {"spec":{"order":50}})${Array.isArray(patch) ? '; a list of operations is --type json' : ''}`);
  }
  if (type === 'json' && !Array.isArray(patch)) {
    throw new UsageError('a JSON patch is a list of operations (e.g. [{"op":"replace","path":"/spec/order","value":50}])');
  }
  return patch;
}

export const command: CommandSpec = {
  name: 'patch',
  summary: 'Change fields of stored resources with a JSON merge patch (RFC 7386) or a JSON patch (RFC 6902)',
  usage: 'tabby patch (KIND NAME... | KIND/NAME...) -p PATCH [--type merge|json] [--dry-run [-o text|json]] [--allow-lockout] [-n NS] [--datastore LOCATION]',
  examples: [
    `tabby patch gnp allow-dns -p '{"spec":{"order":50}}'`,
    `tabby patch np web -n prod -p '{"metadata":{"labels":{"owner":null}}}'   # null removes a field`,
    `tabby patch gnp/allow-dns --type json -p '[{"op":"test","path":"/spec/order","value":50},{"op":"remove","path":"/spec/egress/0"}]'`,
    `tabby patch globalnetworkpolicy.projectcalico.org/allow-dns -p '{"spec":{"order":null}}'   # no order: last`,
    `tabby patch gnp allow-dns --type json -p '[{"op":"add","path":"/spec/ingress/-","value":{"action":"Deny"}}]' --dry-run`,
  ],
  options: {
    patch: { type: 'string', short: 'p', valueName: 'PATCH', description: 'The patch: a JSON object (merge) or a list of operations (json)' },
    type: {
      type: 'string', valueName: 'TYPE',
      description: 'merge (default; RFC 7386) or json (RFC 6902: add, remove, replace, move, copy, test at JSON Pointers)',
    },
    'dry-run': { type: 'boolean', description: 'Print the diff and the reachability impact; write nothing' },
    output: DRY_RUN_OUTPUT_OPTION,
    ...LOCKOUT_OPTIONS,
    namespace: NAMESPACE_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const { refs } = parseResourceArguments(args.positionals, 'patch', {
      namesRequired: true, example: `tabby patch gnp allow-dns -p '{"spec":{"order":50}}'`,
    });
    const type = patchType(stringOption(args, 'type'));
    const text = stringOption(args, 'patch');
    if (text === undefined) throw new UsageError(`no patch given: use -p PATCH, e.g. -p '{"spec":{"order":50}}'`);
    const patch = parsePatch(text, type);
    const ns = stringOption(args, 'namespace');
    checkNamespaceOption(refs, ns);
    const edit = (cur: Resource): Resource => {
      if (type === 'merge') return mergePatch(cur, patch) as Resource;
      const result = applyJsonPatch(cur, patch);
      // A failed test or a missing path: the patch does not apply to this object (exit 1, nothing written).
      if (!result.ok) throw new CliError(`${cur.kind} ${cur.metadata.name}: ${result.error}`);
      if (typeof result.value !== 'object' || result.value === null || Array.isArray(result.value)) {
        throw new CliError(`${cur.kind} ${cur.metadata.name}: the patched result is not an object`);
      }
      return result.value as Resource;
    };
    const kinds = new Set(refs.map((r) => r.info.kind));
    let written = 0;
    const code = await runEdits(refs.map((r) => keyOfRef(r, ns)), edit, args, io, {
      past: 'patched', dryRun: booleanOption(args, 'dry-run'), onWritten: () => { written++; },
    });
    if (!booleanOption(args, 'dry-run')) {
      const what = kinds.size === 1 ? `'${[...kinds][0]}' resource` : 'resource';
      write(io.stdout, `Successfully patched ${written} ${what}${written === 1 ? '' : 's'}`);
    }
    return code;
  },
};
