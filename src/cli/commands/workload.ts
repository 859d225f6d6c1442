// `tabby workload create|delete|exec|get`: workloads are network namespaces behind Calico-style veths, recorded
// as WorkloadEndpoints in the datastore (src/dataplane/workloads.ts), like pods a CNI plugin wires up. `adopt`
// marks a workload namespace made by a release before ownership marks, after proving its veth.

import { spawn } from 'node:child_process';

import { formatIssue, validateLabels, type Issue, type Labels, type WorkloadEndpointPort } from '../../api/index.js';
import { adoptWorkload, Workloads, type WorkloadView } from '../../dataplane/index.js';
import {
  CliError, EXIT, stringListOption, stringOption, UsageError, write, type CommandIO, type CommandSpec,
  type ParsedCommandArgs,
} from '../command.js';
import { unknownSubcommand } from '../suggest.js';
import { DATASTORE_OPTION, withStore } from '../datastore-access.js';
import { naming, NETNS_PREFIX_OPTION, NODE_OPTION, nodeOption, requireDataplane, workloadRef } from '../dataplane-access.js';
import { chooseFormat, jsonPrinter, outputOption, print, printerSet } from '../output/printers.js';

/** `get`: one workload (named) or the list. */
interface Listed {
  views: WorkloadView[];
  named: boolean;
}

function table({ views }: Listed, io: Pick<CommandIO, 'stdout'>): void {
  if (views.length === 0) {
    write(io.stdout, 'No workloads (create one with: tabby workload create NS/NAME --node NODE)');
    return;
  }
  const rows = [['NAMESPACE', 'NAME', 'NODE', 'INTERFACE', 'ADDRESSES', 'LABELS', 'RUNNING'],
    ...views.map((v) => [v.namespace, v.name, v.node, v.interfaceName, v.addresses.join(','),
      Object.entries(v.labels).map(([k, val]) => `${k}=${val}`).join(',') || '<none>', v.running ? 'yes' : 'no'])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  write(io.stdout, rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n'));
}

const PRINTERS = printerSet<Listed, 'table' | 'json'>('table', {
  table,
  json: jsonPrinter(({ views, named }) => (named ? views[0] : views)),
});

export const command: CommandSpec = {
  name: 'workload',
  summary: 'Create, delete, list workloads on nodes, or run a command inside one',
  usage: 'tabby workload create NS/NAME --node NODE [--labels k=v,...] [--ip ADDR]... [--port NAME:PORT/PROTO]... ' +
    '[--service-account SA] | delete NS/NAME | exec NS/NAME -- CMD... | get [NS/NAME] [-o table|json] | adopt NS/NAME',
  examples: [
    'tabby workload create default/frontend --node node1 --labels app=frontend --port http:80/TCP',
    'tabby workload create default/backend --node node1 --labels app=backend --ip 10.65.0.10',
    'tabby workload exec default/frontend -- ip addr show eth0',
    'tabby workload get -o json',
    'tabby workload delete default/frontend',
    'tabby workload adopt default/frontend   # mark a workload made by a release before marks (adopt its node first)',
  ],
  options: {
    node: NODE_OPTION,
    labels: { type: 'string', short: 'l', valueName: 'k=v,...', description: 'Labels of the workload' },
    ip: { type: 'string', multiple: true, valueName: 'ADDR', description: 'Pin an address (one per family) instead of IPAM' },
    port: { type: 'string', multiple: true, valueName: 'NAME:PORT/PROTO', description: 'A named port (TCP, UDP or SCTP)' },
    'service-account': { type: 'string', valueName: 'SA', description: 'Service account (adds profile ksa.NS.SA)' },
    output: outputOption(PRINTERS, 'Output format of get'),
    'netns-prefix': NETNS_PREFIX_OPTION,
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    const [verb, ref, ...rest] = args.positionals;
    switch (verb) {
      case 'create': return create(args, io, workloadRef(ref, 'create'), rest);
      case 'delete': return remove(args, io, workloadRef(ref, 'delete'), rest);
      case 'exec': return exec(args, io, workloadRef(ref, 'exec'), rest);
      case 'get': return get(args, io, ref === undefined ? undefined : workloadRef(ref, 'get'), rest);
      case 'adopt': return adopt(args, io, workloadRef(ref, 'adopt'), rest);
      default:
        throw new UsageError(verb === undefined
          ? "missing subcommand: create, delete, exec, get or adopt (see 'tabby workload --help')"
          : unknownSubcommand(verb, ['create', 'delete', 'exec', 'get', 'adopt'], 'create, delete, exec, get or adopt'));
    }
  },
};

function noExtra(rest: string[], verb: string): void {
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' (see 'tabby workload --help'; ${verb})`);
}

function fail(issues: readonly Issue[], exitCode: number = EXIT.failure): never {
  throw new CliError(issues.map((i) => formatIssue(i)).join('; '), exitCode);
}

function parseLabels(text: string | undefined): Labels {
  if (text === undefined || text.trim() === '') return {};
  const labels: Labels = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UsageError(`label '${part}' is not key=value`);
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const issues = validateLabels(labels, ['labels']);
  if (issues.length > 0) fail(issues, EXIT.usage);
  return labels;
}

function parsePorts(values: string[]): WorkloadEndpointPort[] {
  return values.map((v) => {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):(\d{1,5})(?:\/(TCP|UDP|SCTP))?$/i.exec(v);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) {
      throw new UsageError(`port '${v}' is not NAME:PORT[/TCP|UDP|SCTP] (e.g. http:80/TCP; names are lower-case DNS labels)`);
    }
    return { name: m[1]!.toLowerCase(), port, protocol: (m[4] ?? 'TCP').toUpperCase() };
  });
}

async function create(args: ParsedCommandArgs, io: CommandIO, ref: { namespace: string; name: string }, rest: string[]): Promise<number> {
  noExtra(rest, 'create');
  const node = nodeOption(args, 'tabby workload create default/web --node node1');
  const labels = parseLabels(stringOption(args, 'labels'));
  const ports = parsePorts(stringListOption(args, 'port'));
  const sa = stringOption(args, 'service-account');
  await requireDataplane();
  const n = await naming(args, io);
  return withStore(args, io, async ({ store }) => {
    const res = await new Workloads({ store, prefix: n.prefix }).create({
      ...ref, node, labels, ips: stringListOption(args, 'ip'), ports, ...(sa ? { serviceAccount: sa } : {}),
    });
    if (!res.ok) fail(res.issues);
    const addrs = (res.value.spec.ipNetworks ?? []).map((a) => a.split('/')[0]).join(', ');
    write(io.stdout, `Created workload ${ref.namespace}/${ref.name} on ${node}: ${res.value.spec.interfaceName}, ${addrs}`);
    return EXIT.ok;
  });
}

async function remove(args: ParsedCommandArgs, io: CommandIO, ref: { namespace: string; name: string }, rest: string[]): Promise<number> {
  noExtra(rest, 'delete');
  await requireDataplane();
  const n = await naming(args, io);
  return withStore(args, io, async ({ store }) => {
    const res = await new Workloads({ store, prefix: n.prefix }).delete(ref.namespace, ref.name);
    if (!res.ok) fail(res.issues, res.issues.some((i) => i.code === 'workload.not-found') ? EXIT.notFound : EXIT.usage);
    const { endpoint, namespace, refused } = res.value;
    const done = [namespace ? 'its namespace and veth' : '', endpoint ? 'its endpoint (its addresses are free again)' : '']
      .filter((d) => d !== '');
    if (refused.length === 0) {
      write(io.stdout, `Deleted workload ${ref.namespace}/${ref.name} (its addresses are free again)`);
      return EXIT.ok;
    }
    // Part of what the stored endpoint named is not Tabby's: say what was removed, then what was refused, and fail.
    if (done.length > 0) write(io.stdout, `Deleted workload ${ref.namespace}/${ref.name}: ${done.join(' and ')}`);
    fail(refused);
  });
}

async function exec(args: ParsedCommandArgs, io: CommandIO, ref: { namespace: string; name: string }, argv: string[]): Promise<number> {
  if (argv.length === 0) throw new UsageError(`missing command (e.g. 'tabby workload exec ${ref.namespace}/${ref.name} -- ip addr')`);
  await requireDataplane();
  const n = await naming(args, io);
  const full = await withStore(args, io, async ({ store }) => {
    const res = await new Workloads({ store, prefix: n.prefix }).execArgv(ref.namespace, ref.name, argv);
    // An unmarked namespace is a refusal (exit 1, as delete, node and agent say it); a missing one is not found.
    if (!res.ok) fail(res.issues, res.issues.some((i) => i.code === 'workload.netns-not-owned') ? EXIT.failure : EXIT.notFound);
    return res.value;
  });
  return new Promise<number>((resolve) => {
    const interactive = io.stdin === process.stdin;
    const child = spawn(full[0]!, full.slice(1), { stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => io.stdout.write(b));
    child.stderr!.on('data', (b: Buffer) => io.stderr.write(b));
    child.on('error', (e) => {
      write(io.stderr, `error: ${e.message}`);
      resolve(EXIT.environment);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : EXIT.failure)));
  });
}

async function adopt(args: ParsedCommandArgs, io: CommandIO, ref: { namespace: string; name: string }, rest: string[]): Promise<number> {
  noExtra(rest, 'adopt');
  await requireDataplane();
  const res = await adoptWorkload(await naming(args, io), ref.namespace, ref.name);
  if (!res.ok) fail(res.issues, res.issues.some((i) => i.code === 'workload.not-found') ? EXIT.notFound : EXIT.failure);
  const { netns, node, already } = res.value;
  write(io.stdout, already
    ? `Workload ${ref.namespace}/${ref.name} already carries the tabby mark (network namespace ${netns})`
    : `Adopted workload ${ref.namespace}/${ref.name}: marked network namespace ${netns} as tabby's (its veth ends on ${node})`);
  return EXIT.ok;
}

async function get(args: ParsedCommandArgs, io: CommandIO, ref: { namespace: string; name: string } | undefined, rest: string[]): Promise<number> {
  noExtra(rest, 'get');
  const format = chooseFormat(args, PRINTERS);
  const n = await naming(args, io);
  return withStore(args, io, async ({ store }) => {
    const wl = new Workloads({ store, prefix: n.prefix });
    let views: WorkloadView[];
    if (ref) {
      const v = await wl.get(ref.namespace, ref.name);
      if (!v) throw new CliError(`workload ${ref.namespace}/${ref.name} does not exist (tabby workload get lists them)`, EXIT.notFound);
      views = [v];
    } else {
      views = await wl.list();
    }
    print(PRINTERS, format, { views, named: ref !== undefined }, io);
    return EXIT.ok;
  });
}
