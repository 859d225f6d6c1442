// `tabby agent --node N`: enforce the datastore's policy on a node with nftables (src/dataplane/agent.ts), in the
// foreground until SIGINT/SIGTERM — the ruleset stays in the kernel afterwards (fail closed).
// `tabby agent status --node N` reads the status file the agent keeps; `tabby agent rules --node N` prints the
// live ruleset with every rule's ID resolved to the tier / policy / rule it enforces.
//
// The agent keeps, next to its status, the store and revision the node's kernel enforces (agent-N.enforced.json):
// a restarted agent refuses a store that is older or another store, keeping the ruleset, until the operator says
// `--accept-store-reset` (issue 10 §1). A store that cannot be opened (unreachable, damaged) is retried, not fatal:
// an agent that exits would stop reporting, and one that programs an empty store would open every port.
//
// One agent per node (dataplane/agent/lock.ts): a second `tabby agent --node N` refuses to start, naming the pid
// of the one running (issue 12 §5); `tabby node delete N` stops it.

import { mkdir } from 'node:fs/promises';

import {
  Agent, AgentRunningError, flowtableSupport, lockAgent, type AgentOptions, hostExec, interfaceAddresses, linkNames, netnsExec, NftTables, nodeNetns, namespaceExists, namespaceOwned, unmarkedMessage, type AgentStatus, type Exec, type RuleMeaning,
} from '../../dataplane/index.js';
import { names } from '../../dataplane/index.js';
import {
  booleanOption, CliError, EXIT, stringOption, UsageError, write, type CommandIO, type CommandSpec,
  type ParsedCommandArgs,
} from '../command.js';
import { unknownSubcommand } from '../suggest.js';
import { readAgentJson, readAgentStatus, RULES_MAX_BYTES } from '../agent-status.js';
import { escapeControls, parseProtoPortList, quote } from '../../api/index.js';
import { failsafePortOf, type EngineOptions } from '../../engine/index.js';
import { openDatastore, type DatastoreLocation, type OpenOptions } from '../../datastore/index.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { resolveDatastore } from '../settings.js';
import {
  agentFiles, naming, NETNS_PREFIX_OPTION, NODE_OPTION, nodeOption, requireDataplane, stateDir, STATE_DIR_OPTION,
} from '../dataplane-access.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';

type ListedTable = NonNullable<Awaited<ReturnType<NftTables['list']>>>;
interface ListedRule { chain: string; rule: string; id?: string; packets?: number; bytes?: number; meaning?: RuleMeaning }

const STATUS_PRINTERS = printerSet<AgentStatus & { running: boolean }, 'text' | 'json'>('text', {
  text: linesPrinter(statusLines),
  json: jsonPrinter(),
});

const RULES_PRINTERS = printerSet<{ table: ListedTable; meanings: Map<string, RuleMeaning>; rules: ListedRule[] }, 'text' | 'json'>('text', {
  text: linesPrinter(({ table, meanings }) => ruleLines(table, meanings)),
  json: jsonPrinter(({ rules }) => rules),
});

export const command: CommandSpec = {
  name: 'agent',
  summary: "Enforce policy on a node with nftables; show an agent's status or its live rules",
  usage: 'tabby agent [run] --node NODE [--host-namespace] [--flowtable-offload] [--no-flow-logs] [--accept-store-reset] ' +
    '[--failsafe-inbound-host-ports LIST] [--failsafe-outbound-host-ports LIST] [--default-endpoint-to-host-action Drop|Accept|Return] ' +
    '| status --node NODE [-o text|json] | rules --node NODE [-o text|json]',
  examples: [
    'tabby agent --node node1 &',
    'tabby agent --node node1 --no-flow-logs &   # no NFLOG copies of verdicts (flow logs are on by default)',
    'tabby agent --node node1 --accept-store-reset &   # after restoring the datastore from an older backup, on purpose',
    'tabby agent status --node node1   # which FelixConfiguration each setting comes from, among the rest',
    'tabby agent --node node1 --failsafe-inbound-host-ports tcp:22,tcp:10.0.0.0/8:2222 &   # over FelixConfiguration',
    'tabby agent --node node1      # while one runs: refused, "an agent for node node1 is already running (pid 4242)"',
    'tabby agent rules --node node1',
  ],
  options: {
    node: NODE_OPTION,
    'host-namespace': { type: 'boolean', description: "Program this process's own network namespace (a real host), not a node's" },
    'flowtable-offload': { type: 'boolean', description: "Forward established TCP/UDP flows of the node's workloads through an nftables flowtable (Felix's NFTablesFlowTableOffload; kernel CONFIG_NF_FLOW_TABLE)" },
    'no-flow-logs': { type: 'boolean', description: 'Do not send policy verdicts to NFLOG groups 1 (ingress) and 2 (egress); flow logs are on by default' },
    'accept-store-reset': { type: 'boolean', description: 'Enforce the datastore as it is now even if it is older than (or another store than) what this node enforces; without it such a store is refused and the ruleset kept' },
    'failsafe-inbound-host-ports': { type: 'string', valueName: 'LIST', description: "FailsafeInboundHostPorts over the datastore's FelixConfiguration: [tcp|udp|sctp:][CIDR:]PORT,… or none (Felix's FELIX_FAILSAFEINBOUNDHOSTPORTS form)" },
    'failsafe-outbound-host-ports': { type: 'string', valueName: 'LIST', description: "FailsafeOutboundHostPorts over the datastore's FelixConfiguration, in the same form" },
    'default-endpoint-to-host-action': { type: 'string', valueName: 'ACTION', description: "DefaultEndpointToHostAction over the datastore's FelixConfiguration: Drop, Accept or Return" },
    output: outputOption(STATUS_PRINTERS, 'Output format of status and rules'),
    'state-dir': STATE_DIR_OPTION,
    'netns-prefix': NETNS_PREFIX_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [verb = 'run', ...rest] = args.positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' (see 'tabby agent --help')`);
    const node = nodeOption(args, 'tabby agent --node node1');
    switch (verb) {
      case 'run': return run(args, io, node);
      case 'status': return status(args, io, node);
      case 'rules': return rules(args, io, node);
      default: throw new UsageError(unknownSubcommand(verb, ['run', 'status', 'rules'], 'run (the default), status or rules'));
    }
  },
};

async function execFor(args: ParsedCommandArgs, io: CommandIO, node: string): Promise<Exec> {
  if (booleanOption(args, 'host-namespace')) return hostExec;
  const netns = nodeNetns(await naming(args, io), node);
  if (!namespaceExists(netns)) {
    throw new CliError(`node ${node} does not exist (no network namespace ${netns}); create it with: tabby node create ${node}`, EXIT.notFound);
  }
  // Only a node namespace Tabby made gets Tabby's table (netns/namespace.ts: the ownership mark).
  if (!(await namespaceOwned(netns))) throw new CliError(unmarkedMessage(netns, `not acting on it (if an earlier tabby made it: tabby node adopt ${node})`));
  return netnsExec(netns);
}

/**
 * The FelixConfiguration flags: engine options that override the datastore (Felix's environment variables), each
 * labelled with its flag for the agent's log and status.
 */
function felixOverrides(args: ParsedCommandArgs): EngineOptions {
  const out: EngineOptions = {};
  const sources: NonNullable<EngineOptions['optionSources']> = {};
  for (const [flag, field] of [['failsafe-inbound-host-ports', 'failsafeInboundHostPorts'], ['failsafe-outbound-host-ports', 'failsafeOutboundHostPorts']] as const) {
    const text = stringOption(args, flag);
    if (text === undefined) continue;
    const parsed = parseProtoPortList(text);
    if (!parsed.ok) throw new UsageError(`--${flag}: ${parsed.message}`);
    out[field] = parsed.value.map(failsafePortOf);
    sources[field] = `--${flag}`;
  }
  const action = stringOption(args, 'default-endpoint-to-host-action');
  if (action !== undefined) {
    if (action !== 'Drop' && action !== 'Accept' && action !== 'Return') {
      throw new UsageError(`--default-endpoint-to-host-action: ${JSON.stringify(action)} is not Drop, Accept or Return (case-sensitive, as in FelixConfiguration)`);
    }
    out.defaultEndpointToHostAction = action;
    sources.defaultEndpointToHostAction = '--default-endpoint-to-host-action';
  }
  if (Object.keys(sources).length > 0) out.optionSources = sources;
  return out;
}

async function run(args: ParsedCommandArgs, io: CommandIO, node: string): Promise<number> {
  const engine = felixOverrides(args);
  await requireDataplane();
  const host = booleanOption(args, 'host-namespace');
  const exec = await execFor(args, io, node);
  const netns = host ? undefined : nodeNetns(await naming(args, io), node);
  const nft = new NftTables({ family: names.TABLE_FAMILY, table: names.TABLE_NAME, exec });
  const offloading = booleanOption(args, 'flowtable-offload');
  if (offloading) {
    // Without kernel support every transaction would fail and nothing would be enforced: refuse to start.
    const why = await flowtableSupport();
    if (why) throw new CliError(`--flowtable-offload: ${why}`, EXIT.unavailable);
  }
  const offload = {
    ...(offloading ? { flowtableOffload: { interfaces: () => linkNames(exec) } } : {}),
    // HostEndpoints given by expectedIPs resolve to the node's interfaces holding them (agent.ts).
    hostInterfaces: { read: () => interfaceAddresses(exec) },
  };
  const dir = await stateDir(args, io);
  await mkdir(dir, { recursive: true });
  const files = agentFiles(dir, node);
  const { setting, location, etcd } = await resolveDatastore(args, io);
  // One agent per node (agent/lock.ts): taken before anything is written, so a second agent changes nothing.
  let lock: Awaited<ReturnType<typeof lockAgent>>;
  try {
    lock = await lockAgent(files.lock, node);
  } catch (err) {
    if (!(err instanceof AgentRunningError)) throw err;
    const pid = err.pid !== undefined ? ` (pid ${err.pid})` : '';
    throw new CliError(`an agent for node ${node} is already running${pid}; not starting a second one ` +
      `(stop it first${err.pid !== undefined ? `: kill ${err.pid}` : ''}; its lock is ${files.lock})`, EXIT.alreadyExists);
  }
  try {
    return await runLocked(args, io, node, { nft, offload, files, location, etcd, datastore: setting.value, netns, engine });
  } finally {
    lock.release();
  }
}

/** How often a running agent checks that its node's namespace still exists (a stat of /run/netns/NAME). */
const NETNS_CHECK_MS = 2000;

interface RunContext {
  nft: NftTables;
  offload: Pick<AgentOptions, 'flowtableOffload' | 'hostInterfaces'>;
  files: ReturnType<typeof agentFiles>;
  location: DatastoreLocation;
  etcd: OpenOptions['etcd'];
  datastore: string;
  /** The node's namespace; undefined with --host-namespace. */
  netns: string | undefined;
  /** FelixConfiguration settings from the command line, over the datastore's. */
  engine: EngineOptions;
}

async function runLocked(args: ParsedCommandArgs, io: CommandIO, node: string, ctx: RunContext): Promise<number> {
  const { files, netns } = ctx;
  const log = (line: string): void => write(io.stderr, `tabby agent ${node}: ${line}`);
  let last = '';
  // The node's namespace deleted under the agent (ip netns delete; tabby node delete stops the agent first):
  // nothing is left to enforce, so the agent stops instead of retrying "cannot open /run/netns/…" for ever.
  // Checked after every failed sync and every NETNS_CHECK_MS (a node without changes never syncs).
  let gone!: () => void;
  const nodeGone = new Promise<'gone'>((resolve) => { gone = () => resolve('gone'); });
  const watchNetns = netns === undefined ? undefined : setInterval(() => {
    if (!namespaceExists(netns)) gone();
  }, NETNS_CHECK_MS);
  const agent = new Agent({
    node, store: () => openDatastore(ctx.location, { etcd: ctx.etcd }), nft: ctx.nft, statusFile: files.status, rulesFile: files.rules,
    enforcedFile: files.enforced, acceptStoreReset: booleanOption(args, 'accept-store-reset'), log, ...ctx.offload, engine: ctx.engine,
    render: { flowLogs: !booleanOption(args, 'no-flow-logs') },
    onSync: (s) => {
      if (s.state === 'error' && netns !== undefined && !namespaceExists(netns)) gone();
      const line = s.state === 'error'
        ? `sync failed, retrying: ${s.lastError}`
        : `enforcing revision ${s.enforcedRevision} on ${s.endpoints} endpoint(s) (${s.lastSyncMs} ms)`;
      if (line !== last) log(line);
      last = line;
    },
  });
  const stopped = new Promise<'signal'>((resolve) => {
    process.once('SIGINT', () => resolve('signal'));
    process.once('SIGTERM', () => resolve('signal'));
  });
  log(`watching ${ctx.datastore}; status in ${files.status}`);
  await Promise.race([agent.start(), stopped, nodeGone]);
  const why = await Promise.race([stopped, nodeGone]);
  clearInterval(watchNetns);
  await agent.stop();
  if (why === 'gone' || (netns !== undefined && !namespaceExists(netns))) {
    log(`stopped: node ${node} no longer exists (network namespace ${netns} is gone, and its ruleset with it)`);
    return why === 'gone' ? EXIT.notFound : EXIT.ok;
  }
  log('stopped; the ruleset stays in the kernel');
  return EXIT.ok;
}

async function status(args: ParsedCommandArgs, io: CommandIO, node: string): Promise<number> {
  const format = chooseFormat(args, STATUS_PRINTERS);
  const dir = await stateDir(args, io);
  const s = await readAgentStatus(dir, node);
  if (!s) {
    throw new CliError(`no agent status for node ${node} in ${dir} (start one with: tabby agent --node ${node}; ` +
      'or pass the --state-dir it uses)', EXIT.notFound);
  }
  print(STATUS_PRINTERS, format, s, io);
  return EXIT.ok;
}

function statusLines(s: AgentStatus & { running: boolean }): string {
  const running = s.running;
  const rows: Array<[string, string]> = [
    ['Node', s.node],
    ['Agent', running ? `running (pid ${s.pid})` : `not running (last pid ${s.pid})`],
    ['State', s.state],
    ['Enforced revision', s.enforcedRevision < 0 && s.earlierRun
      ? `none yet by this run (seen ${s.seenRevision}); the kernel holds revision ${s.earlierRun.revision} of ` +
        `${quote(s.earlierRun.endpoint)} from an earlier run`
      : `${s.enforcedRevision} (seen ${s.seenRevision})`],
    ['Datastore', `${DATASTORE_HEALTH[s.datastore] ?? quote(s.datastore)}${s.datastoreEndpoint ? ` (${quote(s.datastoreEndpoint)})` : ''}`],
    ['Endpoints', String(s.endpoints)],
    ['Syncs', `${s.syncs} (${s.fullSyncs} full), ${s.failures} failed`],
    ['Last sync', s.lastSyncAt ? `${s.lastSyncAt} (${s.lastSyncMs} ms)` : '-'],
    ['Last error', s.lastError !== undefined ? escapeControls(s.lastError) : '-'],
    ['Skipped objects', skippedSummary(s)],
  ];
  const lines = rows.map(([k, v]) => `${(k + ':').padEnd(19)}${v}`);
  // Keys come from the store: quoted, so a key holding a newline or an escape cannot forge a line of output.
  for (const o of s.skipped ?? []) lines.push(`  ${quote(o.key)}: ${escapeControls(o.reason)}`);
  if (s.settings) {
    // Which FelixConfiguration (or flag, or default) each enforced setting comes from.
    lines.push('Settings:');
    const width = Math.max(...s.settings.map((x) => x.name.length));
    for (const x of s.settings) lines.push(`  ${x.name.padEnd(width)}  ${escapeControls(x.value)}  (${escapeControls(x.source)})`);
  }
  return lines.join('\n');
}

const DATASTORE_HEALTH: Record<string, string> = {
  connected: 'connected',
  unavailable: 'unavailable (the ruleset stays as it is)',
  damaged: 'damaged: it refuses to serve (the ruleset stays as it is)',
  'rolled-back': 'REFUSED: it went back in time or lost objects (the ruleset stays as it is)',
  replaced: 'REFUSED: not the store this node enforces (the ruleset stays as it is)',
};

function skippedSummary(s: AgentStatus): string {
  const n = s.skippedCount ?? 0;
  if (n === 0) return '0';
  const shown = s.skipped?.length ?? 0;
  return `${n} (malformed or invalid, not enforced; their last valid version stays)${shown < n ? `, first ${shown} below` : ''}`;
}


function describe(m: RuleMeaning | undefined): string {
  if (!m) return '';
  if (m.what !== 'policy-rule' && m.what !== 'profile-rule' && m.what !== 'policy-jump' && m.what !== 'tier-jump' && m.what !== 'profile-jump') {
    return `${m.label}${m.tier ? ` (tier ${m.tier})` : ''}${m.direction ? `, ${m.direction}` : ''}`;
  }
  const parts: string[] = [];
  if (m.tier) parts.push(`tier ${m.tier}`);
  if (m.policy) parts.push(`${m.policy.kind} ${m.policy.ref}`);
  if (m.profile) parts.push(`profile ${m.profile}`);
  if (m.direction) parts.push(m.direction);
  if (m.index !== undefined) parts.push(`rule ${m.index}`);
  if (m.action) parts.push(m.action);
  return parts.length > 0 ? parts.join(' · ') : m.label;
}

async function rules(args: ParsedCommandArgs, io: CommandIO, node: string): Promise<number> {
  const format = chooseFormat(args, RULES_PRINTERS);
  await requireDataplane();
  const exec = await execFor(args, io, node);
  const nft = new NftTables({ family: names.TABLE_FAMILY, table: names.TABLE_NAME, exec });
  const table = await nft.list();
  if (!table) throw new CliError(`node ${node} has no ${names.TABLE_FAMILY} ${names.TABLE_NAME} table (has an agent run there?)`, EXIT.notFound);
  const meanings = new Map((await readAgentJson<RuleMeaning[]>(agentFiles(await stateDir(args, io), node).rules, RULES_MAX_BYTES) ?? []).map((m) => [m.id, m]));
  const out: ListedRule[] = [];
  for (const { chain, rules: list } of table.chains.values()) {
    for (const r of list) {
      const id = r.comment?.split(' ')[0];
      const meaning = id ? meanings.get(id) : undefined;
      out.push({
        chain: chain.name, rule: r.rule, ...(id ? { id } : {}),
        ...(r.packets !== undefined ? { packets: r.packets, bytes: r.bytes! } : {}), ...(meaning ? { meaning } : {}),
      });
    }
  }
  print(RULES_PRINTERS, format, { table, meanings, rules: out }, io);
  return EXIT.ok;
}

function ruleLines(table: ListedTable, meanings: ReadonlyMap<string, RuleMeaning>): string[] {
  const lines: string[] = [];
  for (const { chain, rules: list } of table.chains.values()) {
    const hook = chain.hook ? `  (hook ${chain.hook}, priority ${chain.priority})` : '';
    lines.push(`chain ${chain.name}${hook}`);
    for (const r of list) {
      const id = r.comment?.split(' ')[0];
      const m = id ? meanings.get(id) : undefined;
      const pkts = r.packets !== undefined ? `${r.packets}`.padStart(7) + ' pkts  ' : ''.padStart(14);
      lines.push(`  ${pkts}${r.rule}${id ? `   [${id}] ${describe(m) || r.comment!.slice(id.length + 1)}` : ''}`);
    }
  }
  for (const { set, elements } of table.sets.values()) lines.push(`set ${set.name}: ${elements.size} element(s)`);
  return lines;
}
