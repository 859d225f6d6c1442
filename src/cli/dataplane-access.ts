// What the dataplane commands (node, workload, agent) share: the --netns-prefix and --state-dir settings, the
// check that this machine can run them (root, nft, ip), and where an agent's files live. Every name that becomes
// a file name or a network namespace name (node, NS/NAME, the prefix) is checked here first, by the rules of
// api/names.ts, and refused with a usage error naming the rule.

import { join } from 'node:path';

import { checkNodeName, checkWorkloadName } from '../api/index.js';
import { namespaceSupport, netnsPrefixProblem, nodeNameKey, type Naming } from '../dataplane/index.js';
import { CliError, EXIT, stringOption, UsageError, type CommandIO, type ParsedCommandArgs } from './command.js';
import { resolveSetting, SETTINGS } from './settings.js';

export const NETNS_PREFIX_OPTION = {
  type: 'string', valueName: 'PREFIX',
  description: `${SETTINGS.netnsPrefix.description} (default: $${SETTINGS.netnsPrefix.env}, then tabby-)`,
} as const;

export const STATE_DIR_OPTION = {
  type: 'string', valueName: 'DIR',
  description: `${SETTINGS.stateDir.description} (default: $${SETTINGS.stateDir.env}, then $XDG_RUNTIME_DIR/tabby or /run/tabby)`,
} as const;

export const NODE_OPTION = { type: 'string', valueName: 'NODE', description: 'The node (a network namespace acting as a host)' } as const;

export async function naming(args: ParsedCommandArgs, io: CommandIO): Promise<Naming> {
  const prefix = (await resolveSetting('netnsPrefix', args, io)).value;
  const bad = netnsPrefixProblem(prefix);
  if (bad) throw new UsageError(bad);
  return { prefix };
}

/** A node name given on the command line, checked by Calico's node-name rule before it names anything. */
export function nodeName(name: string): string {
  const bad = checkNodeName(name, []);
  if (bad) throw new UsageError(`${bad.message} (Calico's node name rule: a lower-case DNS-1123 subdomain)`);
  return name;
}

/** `--node`, required, checked as `nodeName` does; `example` is the command line shown when it is missing. */
export function nodeOption(args: ParsedCommandArgs, example: string): string {
  const node = stringOption(args, 'node');
  if (!node) throw new UsageError(`missing --node (e.g. '${example}')`);
  return nodeName(node);
}

/** `NS/NAME` (namespace `default` when omitted), each part checked as Kubernetes checks a namespace and a pod name. */
export function workloadRef(ref: string | undefined, verb: string): { namespace: string; name: string } {
  if (ref === undefined) throw new UsageError(`missing workload (e.g. 'tabby workload ${verb} default/web')`);
  const m = /^(?:([^/]*)\/)?([^/]*)$/.exec(ref);
  if (!m) throw new UsageError(`${JSON.stringify(ref)} is not NAMESPACE/NAME`);
  const parsed = { namespace: m[1] ?? 'default', name: m[2]! };
  const bad = checkWorkloadName(parsed.namespace, parsed.name);
  if (bad.length > 0) {
    throw new UsageError(`${bad.map((i) => i.message).join('; ')} (a workload is NAMESPACE/NAME: a DNS-1123 label and a DNS-1123 subdomain)`);
  }
  return parsed;
}

export async function stateDir(args: ParsedCommandArgs, io: CommandIO): Promise<string> {
  return (await resolveSetting('stateDir', args, io)).value;
}

/**
 * An agent's status and rule-meaning files. The node name is keyed as in its namespace name (`nodeNameKey`): a
 * valid node name may have 253 characters, and `agent-<name>.rules.json` would then pass the 255-byte file-name
 * limit (ENAMETOOLONG), so names over 120 characters become `_<hash>`, which no node name can equal.
 */
export function agentFiles(dir: string, node: string): { status: string; rules: string; enforced: string; lock: string } {
  const key = nodeNameKey(nodeName(node));
  return {
    status: join(dir, `agent-${key}.json`),
    rules: join(dir, `agent-${key}.rules.json`),
    // What the node's kernel enforces (store and revision), for the "went back in time" check across restarts.
    enforced: join(dir, `agent-${key}.enforced.json`),
    // One agent per node: held while it runs, naming its pid (dataplane/agent/lock.ts).
    lock: join(dir, `agent-${key}.pid`),
  };
}

/** Fails with EXIT.environment, saying what is missing and how to get it, unless namespaces and nft work here. */
export async function requireDataplane(): Promise<void> {
  const reason = await namespaceSupport();
  if (reason) {
    throw new CliError(`${reason}; the dataplane commands need root, nftables and iproute2 ` +
      '(on Debian: sudo apt-get install nftables iproute2, then run as root)', EXIT.environment);
  }
}
