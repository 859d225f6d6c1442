// `tabby node create|delete|get|exec|list|adopt`: nodes are network namespaces acting as hosts (src/dataplane/netns),
// each with an uplink to a shared outside network (netns/uplink). `adopt` marks a node namespace made by a release
// before ownership marks, after proving it a Tabby node. `delete` stops the node's agent first (found by its lock in
// the state dir) and removes the agent's state files after.

import { rm } from 'node:fs/promises';

import {
  adoptNode, AgentStopError, createNode, getNode, listNodes, nodeExecArgv, nodeNetns, runningAgent, stopAgent, Workloads,
  type Naming, type NodeView,
} from '../../dataplane/index.js';
import { CliError, EXIT, UsageError, write, type CommandIO, type CommandSpec, type ParsedCommandArgs } from '../command.js';
import { unknownSubcommand } from '../suggest.js';
import { DATASTORE_OPTION, withStore } from '../datastore-access.js';
import {
  agentFiles, naming, NETNS_PREFIX_OPTION, nodeName, requireDataplane, stateDir, STATE_DIR_OPTION,
} from '../dataplane-access.js';
import { issueLines } from '../output/issues.js';
import { chooseFormat, jsonPrinter, linesPrinter, outputOption, print, printerSet } from '../output/printers.js';
import { runArgv } from '../spawn-argv.js';

/** A node as `node list -o json` prints it (issue 12 §5: objects, not bare names). */
interface NodeListEntry {
  name: string;
  /** The network namespace acting as the node's host. */
  netns: string;
  /** The node's agent, as its lock in the state dir says (dataplane/agent/lock.ts). */
  agent: { running: boolean; pid?: number };
}

const LIST_PRINTERS = printerSet<NodeListEntry[], 'text' | 'json'>('text', {
  text: linesPrinter((nodes) => (nodes.length === 0 ? 'No nodes (create one with: tabby node create NAME)' : nodes.map((n) => n.name))),
  json: jsonPrinter(),
});

/** How long `node delete` waits for the node's agent to stop after SIGTERM. */
const AGENT_STOP_MS = 15_000;

function nodeViews(n: Naming, dir: string): NodeListEntry[] {
  return listNodes(n).map((name) => {
    const pid = runningAgent(agentFiles(dir, name).lock);
    return { name, netns: nodeNetns(n, name), agent: pid === undefined ? { running: false } : { running: true, pid } };
  });
}

const GET_PRINTERS = printerSet<NodeView, 'text' | 'json'>('text', {
  text: linesPrinter((v) => [
    `Node:       ${v.name}`,
    `Namespace:  ${v.namespace}`,
    v.uplink
      ? `Uplink:     ${v.uplink.interface} ${v.uplink.addresses.join(' ')} (outside network ${v.uplink.outsideNamespace}, peer ${v.uplink.outsideInterface})`
      : 'Uplink:     none (a node made before uplinks)',
  ]),
  json: jsonPrinter(),
});

export const command: CommandSpec = {
  name: 'node',
  summary: 'Create, delete, get, list, adopt nodes (network namespaces acting as hosts) or run a command in one',
  usage: 'tabby node create|delete|adopt NAME | tabby node get NAME [-o text|json] | tabby node exec NAME -- CMD... | ' +
    'tabby node list [-o text|json] [--netns-prefix PREFIX] [--state-dir DIR] [--datastore LOCATION]',
  examples: [
    'tabby node create node1',
    'tabby node list',
    'tabby node list -o json        # [{"name": "node1", "netns": "tabby-n-node1", "agent": {"running": true, "pid": 4242}}]',
    'tabby node get node1 -o json   # namespace, uplink eth0 and its addresses',
    'tabby node exec node1 -- ss -ltn',
    'tabby node delete node1        # also deletes its workloads, stops its agent and removes the agent\'s state files',
    'tabby node adopt node1         # mark a node made by a release before marks (then: tabby workload adopt)',
  ],
  options: {
    output: outputOption(LIST_PRINTERS, 'Output format of list and get'),
    'netns-prefix': NETNS_PREFIX_OPTION,
    'state-dir': STATE_DIR_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [verb, name, ...extra] = args.positionals;
    if (verb === 'exec') return exec(args, io, name, extra);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' (see 'tabby node --help')`);
    const n = await naming(args, io);
    switch (verb) {
      case 'list': {
        const format = chooseFormat(args, LIST_PRINTERS);
        print(LIST_PRINTERS, format, nodeViews(n, await stateDir(args, io)), io);
        return EXIT.ok;
      }
      case 'create': {
        if (!name) throw new UsageError("missing node name (e.g. 'tabby node create node1')");
        nodeName(name);
        await requireDataplane();
        const res = await createNode(n, name);
        if (!res.ok) throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.exists' ? EXIT.alreadyExists : EXIT.failure);
        const up = res.value.uplink;
        write(io.stdout, `Created node ${name} (network namespace ${res.value.netns}` +
          `${up ? `, uplink ${up.interface} ${up.addresses.join(' ')}` : ''}); start its agent with: tabby agent --node ${name}`);
        return EXIT.ok;
      }
      case 'delete': {
        if (!name) throw new UsageError("missing node name (e.g. 'tabby node delete node1')");
        nodeName(name);
        await requireDataplane();
        const files = agentFiles(await stateDir(args, io), name);
        return withStore(args, io, async ({ store }) => {
          const workloads = new Workloads({ store, prefix: n.prefix });
          // A delete that would be refused (an unmarked namespace, no such node) stops nothing.
          const refusal = await workloads.nodeDeletionRefusal(name);
          if (refusal) throw new CliError(issueLines([refusal]).trimEnd(), refusal.code === 'node.not-found' ? EXIT.notFound : EXIT.failure);
          // Then the node's agent: it would otherwise retry a namespace that is gone (issue 12 §5).
          let stopped: { pid: number } | undefined;
          try {
            stopped = await stopAgent(files.lock, name, AGENT_STOP_MS);
          } catch (err) {
            if (err instanceof AgentStopError) throw new CliError(`${err.message}; node ${name} not deleted`);
            throw err;
          }
          if (stopped) write(io.stdout, `Stopped the agent of node ${name} (pid ${stopped.pid})`);
          const res = await workloads.deleteNode(name);
          if (!res.ok) {
            throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.not-found' ? EXIT.notFound : EXIT.failure);
          }
          const { workloads: wl, refused, felixConfiguration } = res.value;
          // What the agent kept about this node (status, rule IDs, enforced record, lock) describes a kernel table
          // that is gone; a node created later under this name starts afresh. Unless an agent started meanwhile.
          if (runningAgent(files.lock) === undefined) {
            await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
          }
          write(io.stdout, `Deleted node ${name}${wl.length > 0 ? ` and its workloads ${wl.join(', ')}` : ''}`);
          if (felixConfiguration) write(io.stdout, `Deleted FelixConfiguration ${felixConfiguration} (Calico deletes a node's own with the node)`);
          if (refused.length > 0) throw new CliError(refused.map((i) => i.message).join('; '));
          return EXIT.ok;
        });
      }
      case 'get': {
        if (!name) throw new UsageError("missing node name (e.g. 'tabby node get node1')");
        nodeName(name);
        const format = chooseFormat(args, GET_PRINTERS);
        await requireDataplane();
        const res = await getNode(n, name);
        if (!res.ok) throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.not-found' ? EXIT.notFound : EXIT.failure);
        print(GET_PRINTERS, format, res.value, io);
        return EXIT.ok;
      }
      case 'adopt': {
        if (!name) throw new UsageError("missing node name (e.g. 'tabby node adopt node1')");
        nodeName(name);
        await requireDataplane();
        const res = await adoptNode(n, name);
        if (!res.ok) {
          throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.not-found' ? EXIT.notFound : EXIT.failure);
        }
        const { netns, already } = res.value;
        write(io.stdout, already
          ? `Node ${name} already carries the tabby mark (network namespace ${netns})`
          : `Adopted node ${name}: marked network namespace ${netns} as tabby's; ` +
            'adopt its workloads with: tabby workload adopt NS/NAME');
        return EXIT.ok;
      }
      default:
        throw new UsageError(verb === undefined
          ? "missing subcommand: create, delete, get, exec, list or adopt (see 'tabby node --help')"
          : unknownSubcommand(verb, ['create', 'delete', 'get', 'exec', 'list', 'adopt'], 'create, delete, get, exec, list or adopt'));
    }
  },
};

/** `node exec NAME -- CMD`: runs CMD in the node's namespace (the host), only one Tabby's mark proves Tabby's. */
async function exec(args: ParsedCommandArgs, io: CommandIO, name: string | undefined, argv: string[]): Promise<number> {
  if (!name) throw new UsageError("missing node name (e.g. 'tabby node exec node1 -- ip addr')");
  nodeName(name);
  if (argv.length === 0) throw new UsageError(`missing command (e.g. 'tabby node exec ${name} -- ip addr')`);
  await requireDataplane();
  const res = await nodeExecArgv(await naming(args, io), name, argv);
  if (!res.ok) throw new CliError(issueLines(res.issues).trimEnd(), res.issues[0]?.code === 'node.not-found' ? EXIT.notFound : EXIT.failure);
  return runArgv(res.value, io, 'tabby node exec');
}
