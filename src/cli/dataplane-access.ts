// What the dataplane commands (node, workload, agent) share: the --netns-prefix and --state-dir settings, the
// check that this machine can run them (root, nft, ip), and where an agent's files live.

import { join } from 'node:path';

import { namespaceSupport, type Naming } from '../dataplane/index.js';
import { CliError, EXIT, type CommandIO, type ParsedCommandArgs } from './command.js';
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
  if (!/^[A-Za-z0-9][A-Za-z0-9_.\-]{2,40}$/.test(prefix)) {
    throw new CliError(`network namespace prefix '${prefix}' must be 3–41 characters of letters, digits, '.', '_' or '-'`, EXIT.usage);
  }
  return { prefix };
}

export async function stateDir(args: ParsedCommandArgs, io: CommandIO): Promise<string> {
  return (await resolveSetting('stateDir', args, io)).value;
}

export function agentFiles(dir: string, node: string): { status: string; rules: string } {
  return { status: join(dir, `agent-${node}.json`), rules: join(dir, `agent-${node}.rules.json`) };
}

/** Fails with EXIT.environment, saying what is missing and how to get it, unless namespaces and nft work here. */
export async function requireDataplane(): Promise<void> {
  const reason = await namespaceSupport();
  if (reason) {
    throw new CliError(`${reason}; the dataplane commands need root, nftables and iproute2 ` +
      '(on Debian: sudo apt-get install nftables iproute2, then run as root)', EXIT.environment);
  }
}
