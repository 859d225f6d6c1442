// Nodes and workloads as network namespaces, wired the way Calico wires pods (dataplane.md §5.10, E13):
//
//   node namespace  <prefix>n-<node>                workload namespace  <prefix>w-<ns>.<name>
//   ┌──────────────────────────────────────┐        ┌──────────────────────────────────────┐
//   │ lo: 10.66.255.1/32, fd00:66::1/128   │        │ eth0: <pod IPv4>/32, <pod IPv6>/128   │
//   │ forwarding on (IPv4 and IPv6)        │  veth  │ default via 169.254.1.1 (IPv4)        │
//   │ cali<11 hex> (MAC ee:ee:ee:ee:ee:ee) ├────────┤ default via fe80::ecee:eeff:feee:eeee │
//   │ <pod IP>/32 dev cali… src node addr  │        │ both gateways: permanent neighbours   │
//   │ permanent neighbour <pod IP> → eth0  │        │ on the cali MAC                       │
//   └──────────────────────────────────────┘        └──────────────────────────────────────┘
//
// Routed /32s with a fixed gateway exactly like Calico's CNI plugin; the gateway is resolved by permanent
// neighbour entries instead of proxy ARP, which needs no extra interface (E1/E13), and the node adds a permanent
// neighbour for each pod address as Felix's route table does. Nothing here touches the initial namespace.

import { createHash } from 'node:crypto';

import { vethNameForWorkload } from '../../api/index.js';
import { hostExec, netnsExec, netnsPath, type Exec } from '../nft/exec.js';
import { createNamespace, deleteNamespace, mustRun, namespaceExists, NetnsError, validNetnsName } from './namespace.js';

/** Calico's host-side veth MAC (the CNI plugin sets it on every cali interface). */
export const CALI_MAC = 'ee:ee:ee:ee:ee:ee';
export const GATEWAY_IPV4 = '169.254.1.1';
/** The link-local address the kernel derives from CALI_MAC: the IPv6 gateway of every pod. */
export const GATEWAY_IPV6 = 'fe80::ecee:eeff:feee:eeee';
export const NODE_IPV4 = '10.66.255.1';
export const NODE_IPV6 = 'fd00:66::1';

export interface Naming {
  /** Every namespace name starts with it; `sweepNamespaces(prefix)` removes them all. */
  prefix: string;
}

/** `cali` + the first 11 hex characters of sha1("<namespace>.<pod>"): Calico's VethNameForWorkload. */
export const vethName = vethNameForWorkload;

/** A locally administered unicast MAC derived from the workload's identity, stable across re-creation. */
export function workloadMac(namespace: string, name: string): string {
  const h = createHash('sha1').update(`mac|${namespace}/${name}`).digest();
  const bytes = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function readable(name: string): string | undefined {
  return /^[a-z0-9]([a-z0-9.\-]*[a-z0-9])?$/.test(name) && name.length <= 120 ? name : undefined;
}

export function nodeNetns(naming: Naming, node: string): string {
  return `${naming.prefix}n-${readable(node) ?? createHash('sha1').update(node).digest('hex').slice(0, 16)}`;
}

/** Kubernetes namespaces hold no `.`, so `<ns>.<name>` names each workload uniquely. */
export function workloadNetns(naming: Naming, namespace: string, name: string): string {
  const r = readable(namespace) && readable(name) ? `${namespace}.${name}` : undefined;
  return `${naming.prefix}w-${r ?? createHash('sha1').update(`${namespace}/${name}`).digest('hex').slice(0, 16)}`;
}

/** The node name of a node namespace, when `netns` is one (names longer than 120 characters come back hashed). */
export function nodeOfNetns(naming: Naming, netns: string): string | undefined {
  const head = `${naming.prefix}n-`;
  return netns.startsWith(head) ? netns.slice(head.length) : undefined;
}

export interface NodeAddresses {
  ipv4: string;
  ipv6: string;
}

/** Single-quotes a shell word (names and addresses are validated before they get here; this is a second fence). */
function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs the steps as one `sh -e` script: one process start instead of one per `ip` command (starting a process
 * from Node costs several times what it costs from a shell).
 */
async function script(exec: Exec, lines: string[]): Promise<void> {
  await mustRun(exec, ['sh', '-ec', lines.join('\n')]);
}

function sysctlLine(netns: string, settings: Record<string, string>): string {
  const args = Object.entries(settings).map(([k, v]) => q(`${k}=${v}`)).join(' ');
  return `nsenter --net=${q(netnsPath(netns))} sysctl -q -w ${args}`;
}

function ipBatchLines(netns: string, lines: string[]): string {
  return `ip -n ${q(netns)} -batch - <<'TABBY_EOF'\n${lines.join('\n')}\nTABBY_EOF`;
}

/**
 * Creates a node namespace acting as a host: forwarding on for both families, and addresses for host↔pod
 * traffic on `lo`. Fails if it exists.
 */
export async function createNodeNetwork(netns: string, addresses: NodeAddresses = { ipv4: NODE_IPV4, ipv6: NODE_IPV6 }, exec: Exec = hostExec): Promise<void> {
  await createNamespace(netns, exec);
  try {
    await script(exec, [
      sysctlLine(netns, {
        'net.ipv4.ip_forward': '1',
        'net.ipv6.conf.all.forwarding': '1',
        // Workload interfaces come up without duplicate-address detection or router advertisements (Felix
        // sets accept_ra=0 on each cali interface); new interfaces take these from `default`.
        'net.ipv6.conf.default.accept_dad': '0',
        'net.ipv6.conf.default.accept_ra': '0',
      }),
      ipBatchLines(netns, [`addr add ${addresses.ipv4}/32 dev lo`, `addr add ${addresses.ipv6}/128 dev lo`]),
    ]);
  } catch (e) {
    await deleteNamespace(netns, exec);
    throw e;
  }
}

export interface WorkloadNetworkSpec {
  nodeNetns: string;
  netns: string;
  iface: string;
  mac: string;
  /** Pod addresses without prefix length, IPv4 and/or IPv6. */
  addresses: string[];
  nodeAddresses?: NodeAddresses;
}

/**
 * Creates the workload namespace and its veth pair, and routes its addresses. On failure everything created so
 * far is removed again.
 */
export async function createWorkloadNetwork(spec: WorkloadNetworkSpec, exec: Exec = hostExec): Promise<void> {
  const node = spec.nodeAddresses ?? { ipv4: NODE_IPV4, ipv6: NODE_IPV6 };
  if (!namespaceExists(spec.nodeNetns)) throw new NetnsError(`node namespace ${spec.nodeNetns} does not exist`);
  if (!validNetnsName(spec.netns)) throw new NetnsError(`'${spec.netns}' is not a valid network namespace name`);
  if (namespaceExists(spec.netns)) throw new NetnsError(`network namespace ${spec.netns} already exists`);
  for (const a of spec.addresses) {
    if (!/^[0-9a-fA-F:.]+$/.test(a)) throw new NetnsError(`'${a}' is not an IP address`);
  }
  const v4 = spec.addresses.filter((a) => !a.includes(':'));
  const v6 = spec.addresses.filter((a) => a.includes(':'));
  try {
    await script(exec, [
      `ip netns add ${q(spec.netns)}`,
      sysctlLine(spec.netns, {
        'net.ipv6.conf.default.accept_dad': '0',
        'net.ipv6.conf.all.accept_dad': '0',
        'net.ipv6.conf.default.accept_ra': '0',
      }),
      `ip -n ${q(spec.netns)} link set lo up`,
      ipBatchLines(spec.nodeNetns, [
        `link add ${spec.iface} address ${CALI_MAC} type veth peer name eth0 address ${spec.mac} netns ${spec.netns}`,
        `link set ${spec.iface} up`,
      ]),
      ipBatchLines(spec.netns, [
        ...v4.map((a) => `addr add ${a}/32 dev eth0`),
        ...v6.map((a) => `addr add ${a}/128 dev eth0 nodad`),
        'link set eth0 up',
        ...(v4.length > 0 ? [
          `neigh replace ${GATEWAY_IPV4} lladdr ${CALI_MAC} dev eth0 nud permanent`,
          `route add ${GATEWAY_IPV4}/32 dev eth0 scope link`,
          `route add 0.0.0.0/0 via ${GATEWAY_IPV4} dev eth0`,
        ] : []),
        ...(v6.length > 0 ? [
          `neigh replace ${GATEWAY_IPV6} lladdr ${CALI_MAC} dev eth0 nud permanent`,
          `route add ::/0 via ${GATEWAY_IPV6} dev eth0`,
        ] : []),
      ]),
      ipBatchLines(spec.nodeNetns, [
        ...v4.flatMap((a) => [
          `route add ${a}/32 dev ${spec.iface} scope link src ${node.ipv4}`,
          `neigh replace ${a} lladdr ${spec.mac} dev ${spec.iface} nud permanent`,
        ]),
        ...v6.flatMap((a) => [
          `route add ${a}/128 dev ${spec.iface} src ${node.ipv6}`,
          `neigh replace ${a} lladdr ${spec.mac} dev ${spec.iface} nud permanent`,
        ]),
      ]),
    ]);
  } catch (e) {
    await exec(['ip', '-n', spec.nodeNetns, 'link', 'del', spec.iface]);
    await deleteNamespace(spec.netns, exec);
    throw e;
  }
}

/**
 * Removes a workload: its veth pair (and with it the node's routes and neighbours for its addresses), then its
 * namespace and processes. The host end is deleted explicitly because the kernel tears a deleted namespace down
 * asynchronously: until it has, the old veth and its routes would still be there for a workload re-created
 * under the same name.
 */
export async function deleteWorkloadNetwork(
  netns: string, host?: { nodeNetns: string; iface: string; addresses?: string[] }, exec: Exec = hostExec,
): Promise<void> {
  if (host && namespaceExists(host.nodeNetns)) {
    const res = await exec(['ip', '-n', host.nodeNetns, 'link', 'del', host.iface]);
    if (res.code !== 0 && !/Cannot find device|does not exist/.test(res.stderr)) {
      throw new NetnsError(`ip -n ${host.nodeNetns} link del ${host.iface}: ${res.stderr.trim()}`, res.stderr);
    }
    // Felix's route table removes conntrack entries of a removed workload's addresses, so a workload that gets
    // the address later inherits no established flows. Best effort: the conntrack tool may not be installed.
    if (host.addresses && host.addresses.length > 0) {
      const lines = host.addresses.flatMap((a) => {
        const f = a.includes(':') ? '-f ipv6' : '-f ipv4';
        return [`conntrack -D ${f} -s ${q(a)}`, `conntrack -D ${f} -d ${q(a)}`];
      });
      const script = `command -v conntrack >/dev/null || exit 0; ${lines.map((l) => `${l} >/dev/null 2>&1`).join('; ')}; exit 0`;
      await netnsExec(host.nodeNetns, exec)(['sh', '-c', script]);
    }
  }
  await deleteNamespace(netns, exec);
}
