// `tabby explain`: how one flow is decided, as Calico's dataplane would decide it, with the trace: each end's
// tiers, policies, rules and profiles in the order they were consulted, the verdict, and the pending verdict with
// staged policies enforced. Reads -f manifests, or the datastore without -f. Exit 0 when the flow could be
// evaluated (whatever the verdict), 1 when the manifests or the flow are invalid, 2 for usage errors, 3 when an end
// names an endpoint that does not exist.

import { PolicyEngine, type Flow, type FlowPeer, type FlowVerdict } from '../../engine/index.js';
import {
  CliError, EXIT, stringOption, UsageError, write, type CommandSpec, type ParsedCommandArgs,
} from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { ENGINE_FILENAME_OPTION, loadEngineFrom } from '../engine-input.js';
import { chooseFormat, jsonPrinter, outputOption, print, printerSet } from '../output/printers.js';
import { verdictLines } from '../output/trace.js';

interface Explained {
  flow: Flow;
  result: FlowVerdict;
  /** How the peers were read (an address taken as its endpoint): for people, so on stderr. */
  notes: string[];
}

const PRINTERS = printerSet<Explained, 'text' | 'json'>('text', {
  text: ({ flow, result, notes }, io) => {
    for (const n of notes) write(io.stderr, `note: ${n}`);
    write(io.stdout, verdictLines(flow, result).join('\n'));
  },
  json: jsonPrinter(({ result }) => result),
});

function intOption(args: ParsedCommandArgs, name: string, min: number, max: number): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, not '${text}'`);
  }
  return Number(text);
}

const IP_LIKE = /^[0-9.]+$|:/;

/** `ns/name`, `hep:name` or an address; an address an endpoint owns stands for that endpoint. */
function peerOf(text: string, option: string, engine: PolicyEngine, notes: string[]): FlowPeer {
  if (text.startsWith('hep:') || (text.includes('/') && !IP_LIKE.test(text))) return text;
  if (IP_LIKE.test(text)) {
    const owners = engine.endpointsWithAddress(text);
    if (owners.length === 1) {
      notes.push(`${text} is ${owners[0]!.ref}`);
      return owners[0]!.ref;
    }
    if (owners.length > 1) notes.push(`${text} belongs to ${owners.map((o) => o.ref).join(', ')}; taken as a bare address`);
    return { ip: text };
  }
  throw new UsageError(`--${option} '${text}': give namespace/name (a Pod or WorkloadEndpoint), hep:<name> or an IP address`);
}

export const command: CommandSpec = {
  name: 'explain',
  summary: 'Explain how a flow is decided: tiers, policies, rules and profiles, with the verdict',
  usage: 'tabby explain [-f PATH... | --datastore LOCATION] --from A --to B [--protocol TCP] [--port N] [--src-port N] ' +
    '[--icmp-type T [--icmp-code C]] [--ip-version 4|6] [-o text|json]',
  examples: [
    'tabby explain -f cluster/ --from default/frontend --to default/backend --port 8080',
    'tabby explain -f cluster/ --from 203.0.113.9 --to hep:node1-eth0 --protocol TCP --port 22',
    'tabby explain -f cluster/ --from default/a --to default/b --protocol ICMP --icmp-type 8 -o json',
    'tabby explain --from shop/frontend --to shop/backend --port 8080     # the datastore\'s resources',
  ],
  options: {
    filename: ENGINE_FILENAME_OPTION,
    datastore: DATASTORE_OPTION,
    from: { type: 'string', valueName: 'PEER', description: 'Source: namespace/name, hep:<name> or an IP address' },
    to: { type: 'string', valueName: 'PEER', description: 'Destination: namespace/name, hep:<name> or an IP address' },
    protocol: { type: 'string', valueName: 'PROTO', description: 'TCP (default), UDP, SCTP, UDPLite, ICMP, ICMPv6 or a number' },
    port: { type: 'string', valueName: 'N', description: 'Destination port' },
    'src-port': { type: 'string', valueName: 'N', description: 'Source port' },
    'icmp-type': { type: 'string', valueName: 'T', description: 'ICMP type' },
    'icmp-code': { type: 'string', valueName: 'C', description: 'ICMP code' },
    'ip-version': { type: 'string', valueName: '4|6', description: 'Address family (default: one both ends have, IPv4 first)' },
    output: outputOption(PRINTERS),
  },
  positionals: true,
  async run(args, io) {
    const format = chooseFormat(args, PRINTERS);
    const from = stringOption(args, 'from');
    const to = stringOption(args, 'to');
    if (!from || !to) throw new UsageError('give both ends of the flow with --from and --to (namespace/name, hep:<name> or an IP)');
    const protocol = stringOption(args, 'protocol') ?? 'TCP';
    const port = intOption(args, 'port', 0, 65535);
    const srcPort = intOption(args, 'src-port', 0, 65535);
    const icmpType = intOption(args, 'icmp-type', 0, 255);
    const icmpCode = intOption(args, 'icmp-code', 0, 255);
    if (icmpCode !== undefined && icmpType === undefined) throw new UsageError('--icmp-code needs --icmp-type');
    const ipVersionText = stringOption(args, 'ip-version');
    if (ipVersionText !== undefined && ipVersionText !== '4' && ipVersionText !== '6') throw new UsageError('--ip-version is 4 or 6');

    // Strict like matrix: an explanation of the objects that happen to be valid would describe another cluster.
    const engine = await loadEngineFrom(args, io, 'explain');

    const notes: string[] = [];
    const flow: Flow = { from: peerOf(from, 'from', engine, notes), to: peerOf(to, 'to', engine, notes), protocol };
    if (port !== undefined) flow.port = port;
    if (srcPort !== undefined) flow.srcPort = srcPort;
    if (icmpType !== undefined) flow.icmp = icmpCode === undefined ? { type: icmpType } : { type: icmpType, code: icmpCode };
    if (ipVersionText !== undefined) flow.ipVersion = ipVersionText === '4' ? 4 : 6;

    const result = engine.evaluate(flow);
    if (!result.ok) {
      // README: 3 is "not found" — an end that names no endpoint is that; a malformed flow is invalid input (1).
      const notFound = result.issues.every((i) => i.code === 'flow.unknown-endpoint');
      throw new CliError(result.issues.map((i) => i.message).join('; '), notFound ? EXIT.notFound : EXIT.failure);
    }
    print(PRINTERS, format, { flow, result: result.value, notes }, io);
    return 0;
  },
};
