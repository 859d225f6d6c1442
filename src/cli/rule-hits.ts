// Hit counts of policy rules, as the nodes' running agents see them: every rule an agent writes carries
// `counter` and a comment whose first word is its rule ID (dataplane/render/rule-ids.ts), and the agent keeps the
// ID → meaning table next to its status file. A policy rule's hits are the packets of every nft rule whose ID
// means that rule (its IPv4 and IPv6 copies, and each chain it was rendered into), summed over the nodes whose
// agent is running. Without a running agent there is nothing to count: the caller says so rather than print 0.

import { formatIssue, readTextFile } from '../api/index.js';
import {
  names, namespaceExists, namespaceOwned, netnsExec, NftTables, nodeNetns, type AgentStatus, type RuleMeaning,
} from '../dataplane/index.js';
import { type CommandIO, type ParsedCommandArgs } from './command.js';
import { agentFiles, naming, stateDir } from './dataplane-access.js';

export interface RuleHits {
  packets: number;
  bytes: number;
}

export type HitCounts =
  | { available: true; nodes: string[]; byRule: ReadonlyMap<string, RuleHits> }
  | { available: false; reason: string };

/** The key of one policy rule: `kind|ref|direction|index`, as a rule meaning names it. */
export function policyRuleKey(kind: string, ref: string, direction: string, index: number): string {
  return `${kind}|${ref}|${direction}|${index}`;
}

/** Bounds as `tabby agent status` and `rules` read these files: they sit in a directory others may write. */
const STATUS_MAX_BYTES = 1024 * 1024;
const RULES_MAX_BYTES = 64 * 1024 * 1024;

async function readJson<T>(path: string, maxBytes: number): Promise<T | undefined> {
  const read = await readTextFile(path, path, { maxBytes });
  if (!read.ok) {
    if (read.issue.code === 'load.not-found') return undefined;
    throw new Error(formatIssue(read.issue));
  }
  return JSON.parse(read.text) as T;
}

function alive(pid: unknown): boolean {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists, it is only not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The nodes among `nodes` whose agent's status file says it runs and whose pid is alive. */
async function runningAgents(dir: string, nodes: readonly string[]): Promise<string[]> {
  const running: string[] = [];
  for (const node of nodes) {
    let status: AgentStatus | undefined;
    try {
      status = await readJson<AgentStatus>(agentFiles(dir, node).status, STATUS_MAX_BYTES);
    } catch {
      continue; // an invalid node name, or a status file that is not one: no agent we can read
    }
    if (status && status.state !== 'stopped' && alive(status.pid)) running.push(node);
  }
  return running;
}

/** Per policy rule, the packets and bytes the running agents of `nodes` counted. */
export async function policyRuleHits(args: ParsedCommandArgs, io: CommandIO, nodes: readonly string[]): Promise<HitCounts> {
  const unique = [...new Set(nodes)].sort();
  if (unique.length === 0) return { available: false, reason: 'no agent running: no hit counts (it selects no endpoint on a node)' };
  const dir = await stateDir(args, io);
  const running = await runningAgents(dir, unique);
  if (running.length === 0) return { available: false, reason: `no agent running: no hit counts (nodes ${unique.join(', ')})` };
  const byRule = new Map<string, RuleHits>();
  const prefix = await naming(args, io);
  for (const node of running) {
    try {
      const netns = nodeNetns(prefix, node);
      // Only a node namespace Tabby made is read (netns/namespace.ts: the ownership mark), as `tabby agent rules`.
      if (!namespaceExists(netns) || !(await namespaceOwned(netns))) {
        return { available: false, reason: `the agent of node ${node} runs, but its namespace ${netns} is not Tabby's node: no hit counts` };
      }
      const table = await new NftTables({ family: names.TABLE_FAMILY, table: names.TABLE_NAME, exec: netnsExec(netns) }).list();
      const meanings = new Map((await readJson<RuleMeaning[]>(agentFiles(dir, node).rules, RULES_MAX_BYTES) ?? []).map((m) => [m.id, m]));
      for (const { rules } of table?.chains.values() ?? []) {
        for (const r of rules) {
          const m = meanings.get(r.comment?.split(' ')[0] ?? '');
          if (m?.what !== 'policy-rule' || !m.policy || m.direction === undefined || m.index === undefined) continue;
          const key = policyRuleKey(m.policy.kind, m.policy.ref, m.direction, m.index);
          const sum = byRule.get(key) ?? { packets: 0, bytes: 0 };
          byRule.set(key, { packets: sum.packets + (r.packets ?? 0), bytes: sum.bytes + (r.bytes ?? 0) });
        }
      }
    } catch (err) {
      return { available: false, reason: `cannot read the counters of node ${node}: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return { available: true, nodes: running, byRule };
}
