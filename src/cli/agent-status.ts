// Reading what a node's agent reports: its status file (and, for `agent rules`, its rule meanings), as
// `tabby agent status` prints it and `tabby server`'s /tabby/v1/agents serves it.
//
// The status file is written by the agent, but it sits in a directory others may write (--state-dir): it is read
// like any untrusted file — a regular file, not on /proc, at most `maxBytes` — so a FIFO or /dev/zero planted
// there is one error, not a hang or an out-of-memory (issue 10 §5). The rule meanings grow with the ruleset
// (about 200 bytes a rule), hence their larger bound.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { checkNodeName, displayText, formatIssue, readTextFile } from '../api/index.js';
import { runningAgent, type AgentStatus } from '../dataplane/index.js';
import { CliError } from './command.js';
import { agentFiles } from './dataplane-access.js';

export const STATUS_MAX_BYTES = 1024 * 1024;
export const RULES_MAX_BYTES = 64 * 1024 * 1024;
/** Status files looked at when listing every agent of a state directory. */
const MAX_AGENTS = 10_000;

export async function readAgentJson<T>(path: string, maxBytes = STATUS_MAX_BYTES): Promise<T | undefined> {
  const read = await readTextFile(path, path, { maxBytes }); // formatIssue escapes what it shows
  if (!read.ok) {
    if (read.issue.code === 'load.not-found') return undefined;
    throw new CliError(formatIssue(read.issue));
  }
  try {
    return JSON.parse(read.text) as T;
  } catch (err) {
    throw new CliError(`cannot read ${displayText(path)}: not JSON (${(err as Error).message})`);
  }
}

export type ReportedAgentStatus = AgentStatus & { running: boolean };

/** The node's agent status, or undefined when no agent ever wrote one in `dir`. */
export async function readAgentStatus(dir: string, node: string): Promise<ReportedAgentStatus | undefined> {
  const files = agentFiles(dir, node);
  const s = await readAgentJson<AgentStatus>(files.status);
  // A file that names another node is not this node's status (planted or copied in a shared directory).
  if (!s || s.node !== node) return undefined;
  // Running: the status's pid still holds the node's agent lock — the same process, not a reused pid.
  return { ...s, running: s.state !== 'stopped' && runningAgent(files.lock) === s.pid };
}

/**
 * Every agent status in `dir`, by node name. A file is taken only when the node it names maps back to it (the
 * file name is the node's key): a planted or renamed file is left out, never served as another node's.
 */
export async function listAgentStatuses(dir: string): Promise<ReportedAgentStatus[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: ReportedAgentStatus[] = [];
  for (const name of entries.filter((e) => /^agent-.+\.json$/.test(e)).sort().slice(0, MAX_AGENTS)) {
    // agent-<key>.json: the key is the node's name, or `_<hash>` of a long one (read to learn the name). Rule and
    // enforced-record files match the pattern too; they name no node and are left out below.
    const key = name.slice('agent-'.length, -'.json'.length);
    if (!key.startsWith('_') && checkNodeName(key) !== undefined) continue;
    const s = await readAgentJson<AgentStatus>(join(dir, name)).catch(() => undefined);
    if (typeof s?.node !== 'string' || (!key.startsWith('_') && s.node !== key)) continue;
    let files: ReturnType<typeof agentFiles>;
    try {
      files = agentFiles(dir, s.node);
    } catch {
      continue; // not a node name
    }
    if (files.status !== join(dir, name)) continue;
    out.push({ ...s, running: s.state !== 'stopped' && runningAgent(files.lock) === s.pid });
  }
  return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

