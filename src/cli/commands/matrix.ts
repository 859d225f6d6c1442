// `tabby matrix`: the reachability matrix of every endpoint to every endpoint for one protocol and port, both
// ends applied (egress of the source, ingress of the destination, and any host endpoint on the path), and of
// every endpoint to and from the outside addresses the policies tell apart (one per class, external-peers.ts).
// Exit 0 when it could be computed, 1 for invalid manifests, 2 for usage errors (a bad selector among them).

import { externalPeers, reachabilityMatrix, type MatrixProgress, type ReachabilityMatrix } from '../../analysis/index.js';
import {
  booleanOption,
  CliError,
  stringListOption,
  stringOption,
  UsageError,
  write,
  type CommandIO,
  type CommandSpec,
} from '../command.js';
import { DATASTORE_OPTION } from '../datastore-access.js';
import { ENGINE_FILENAME_OPTION, loadEngineFrom } from '../engine-input.js';
import { MATRIX_PRINTERS } from '../output/matrix.js';
import { chooseFormat, print } from '../output/printers.js';

const PORT_PROTOCOLS = /^(tcp|udp|sctp|udplite|6|17|132|136)$/i;

function portOption(text: string | undefined, protocol: string): number | string | undefined {
  if (text === undefined) return PORT_PROTOCOLS.test(protocol) ? 80 : undefined;
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n > 65535) throw new UsageError(`--port must be a number from 0 to 65535 or a port name, not '${text}'`);
    return n;
  }
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(text)) {
    throw new UsageError(`--port '${text}' is neither a port number nor a port name (like serve-80-tcp)`);
  }
  return text;
}

/** Progress on stderr: a self-overwriting line on a terminal, a line a second otherwise (only with --progress). */
function progressReporter(io: CommandIO, forced: boolean): ((p: MatrixProgress) => void) & { done(): void } {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const enabled = tty || forced;
  let last = 0;
  let shown = false;
  const report = (p: MatrixProgress): void => {
    if (!enabled) return;
    const now = Date.now();
    if (now - last < (tty ? 100 : 1000) && p.done !== p.total) return;
    last = now;
    const text = `matrix: ${p.phase} ${p.done}/${p.total}`;
    if (tty) io.stderr.write(`\r${text}\u001b[K`);
    else io.stderr.write(`${text}\n`);
    shown = true;
  };
  return Object.assign(report, {
    done(): void {
      if (tty && shown) io.stderr.write('\r\u001b[K');
    },
  });
}

export const command: CommandSpec = {
  name: 'matrix',
  summary: 'Reachability matrix: which endpoints can connect to which, on one protocol and port',
  usage: 'tabby matrix [-f PATH... | --datastore LOCATION] [--protocol TCP] [--port 80|NAME] [-n NAMESPACE]... [-l SELECTOR] ' +
    '[--pending] [--endpoints-only] [-o table|json|csv]',
  examples: [
    'tabby matrix -f cluster/',
    'tabby matrix -f cluster/ --protocol UDP --port 53 -n kube-system -n default',
    'tabby matrix -f cluster/ --port serve-80-tcp -o json',
    'tabby matrix -f cluster/ --pending -o csv > pending.csv',
    "tabby matrix -f cluster/ -l \"app in {'web', 'db'}\" --endpoints-only",
  ],
  options: {
    filename: ENGINE_FILENAME_OPTION,
    datastore: DATASTORE_OPTION,
    protocol: { type: 'string', valueName: 'PROTO', description: 'TCP (default), UDP, SCTP, UDPLite, ICMP, ICMPv6 or a number' },
    port: {
      type: 'string', valueName: 'PORT',
      description: 'Destination port (default 80 for TCP/UDP/SCTP), or a named port resolved on each destination',
    },
    namespace: {
      type: 'string', short: 'n', multiple: true, valueName: 'NS',
      description: 'Only the workloads of this namespace (repeatable); host endpoints are then left out',
    },
    selector: {
      type: 'string', short: 'l', valueName: 'SELECTOR',
      description: "Only the endpoints this selector matches (Calico syntax, as tabby select: app == 'web')",
    },
    pending: { type: 'boolean', description: 'Treat staged policies as enforced (the pending verdicts)' },
    'endpoints-only': { type: 'boolean', description: 'Leave out the outside addresses (network sets, nets of rules, anywhere else)' },
    progress: { type: 'boolean', description: 'Report progress on stderr even when it is not a terminal' },
    output: {
      type: 'string', short: 'o', valueName: 'FORMAT',
      description: 'table (default: `.` allowed, `X` denied, rows = from), json or csv',
    },
  },
  positionals: true,
  async run(args, io) {
    const format = chooseFormat(args, MATRIX_PRINTERS);
    const protocol = stringOption(args, 'protocol') ?? 'TCP';
    const port = portOption(stringOption(args, 'port'), protocol);
    const namespaces = stringListOption(args, 'namespace');
    const selector = stringOption(args, 'selector');
    const engine = await loadEngineFrom(args, io, 'matrix');
    const progress = progressReporter(io, booleanOption(args, 'progress'));
    const result = reachabilityMatrix(engine, {
      protocol, namespaces, ...(port !== undefined && { port }), mode: booleanOption(args, 'pending') ? 'pending' : 'enforced',
      ...(selector !== undefined && { selector }),
      external: booleanOption(args, 'endpoints-only') ? [] : externalPeers([engine]),
      onProgress: progress,
    });
    progress.done();
    if (!result.ok) throw new UsageError(result.issues.map((i) => i.message).join('; '));
    const m = result.value;
    if (m.endpoints.length === 0) {
      const where = (namespaces.length > 0 ? ` in namespace${namespaces.length === 1 ? '' : 's'} ${namespaces.join(', ')}` : '') +
        (selector !== undefined ? ` matching ${JSON.stringify(selector)}` : '');
      throw new CliError(`no endpoints with an address${where}: the matrix needs Pods with status.podIP, ` +
        'WorkloadEndpoints with ipNetworks or HostEndpoints with expectedIPs');
    }
    print(MATRIX_PRINTERS, format, m, io);
    if (format === 'table') write(io.stderr, summary(m));
    return 0;
  },
};

function summary(m: ReachabilityMatrix): string {
  const n = m.endpoints.length;
  const allowed = m.allowedCount();
  const what = m.port === undefined ? m.protocol : `${m.protocol}/${m.port}`;
  const unresolved = m.targetPorts.filter((p) => p === null).length;
  const note = unresolved > 0 ? `; ${unresolved} endpoint${unresolved === 1 ? ' has' : 's have'} no port named ${String(m.port)} (column X)` : '';
  const x = m.external.length;
  // An outside address has no named ports: egress to it on a named port is no connection.
  const named = typeof m.port === 'string' ? `; none has a port named ${m.port}: their columns X` : '';
  const outside = x === 0 ? '' : `; ${x} outside address class${x === 1 ? '' : 'es'} (rows and columns named by CIDR${named})`;
  return `${what}: ${allowed} of ${n * n} pairs allowed (${n} endpoints in ${m.groups().count} groups)${note}${outside}`;
}
