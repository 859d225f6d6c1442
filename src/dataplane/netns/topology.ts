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
import { hostExec, netnsExec, type Exec } from '../nft/exec.js';
import { createNamespace, deleteNamespace, mustRun, namespaceExists, NetnsError } from './namespace.js';

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

async function sysctls(exec: Exec, netns: string, settings: Record<string, string>): Promise<void> {
  const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await mustRun(netnsExec(netns, exec), ['sysctl', '-q', '-w', ...args]);
}

async function ipBatch(exec: Exec, netns: string, lines: string[]): Promise<void> {
  await mustRun(exec, ['ip', '-n', netns, '-batch', '-'], lines.join('\n') + '\n');
}

/**
 * Creates a node namespace acting as a host: forwarding on for both families, and addresses for host↔pod
 * traffic on `lo`. Fails if it exists.
 */
export async function createNodeNetwork(netns: string, addresses: NodeAddresses = { ipv4: NODE_IPV4, ipv6: NODE_IPV6 }, exec: Exec = hostExec): Promise<void> {
  await createNamespace(netns, exec);
  try {
    await sysctls(exec, netns, {
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.forwarding': '1',
      // Workload interfaces come up without duplicate-address detection or router advertisements (Felix
      // sets accept_ra=0 on each cali interface); new interfaces take these from `default`.
      'net.ipv6.conf.default.accept_dad': '0',
      'net.ipv6.conf.default.accept_ra': '0',
    });
    await ipBatch(exec, netns, [
      `addr add ${addresses.ipv4}/32 dev lo`,
      `addr add ${addresses.ipv6}/128 dev lo`,
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
  await createNamespace(spec.netns, exec);
  try {
    await sysctls(exec, spec.netns, {
      'net.ipv6.conf.default.accept_dad': '0',
      'net.ipv6.conf.all.accept_dad': '0',
      'net.ipv6.conf.default.accept_ra': '0',
    });
    const v4 = spec.addresses.filter((a) => !a.includes(':'));
    const v6 = spec.addresses.filter((a) => a.includes(':'));
    await ipBatch(exec, spec.nodeNetns, [
      `link add ${spec.iface} address ${CALI_MAC} type veth peer name eth0 address ${spec.mac} netns ${spec.netns}`,
      `link set ${spec.iface} up`,
    ]);
    await ipBatch(exec, spec.netns, [
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
    ]);
    await ipBatch(exec, spec.nodeNetns, [
      ...v4.flatMap((a) => [
        `route add ${a}/32 dev ${spec.iface} scope link src ${node.ipv4}`,
        `neigh replace ${a} lladdr ${spec.mac} dev ${spec.iface} nud permanent`,
      ]),
      ...v6.flatMap((a) => [
        `route add ${a}/128 dev ${spec.iface} src ${node.ipv6}`,
        `neigh replace ${a} lladdr ${spec.mac} dev ${spec.iface} nud permanent`,
      ]),
    ]);
  } catch (e) {
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
export async function deleteWorkloadNetwork(netns: string, host?: { nodeNetns: string; iface: string }, exec: Exec = hostExec): Promise<void> {
  if (host && namespaceExists(host.nodeNetns)) {
    const res = await exec(['ip', '-n', host.nodeNetns, 'link', 'del', host.iface]);
    if (res.code !== 0 && !/Cannot find device|does not exist/.test(res.stderr)) {
      throw new NetnsError(`ip -n ${host.nodeNetns} link del ${host.iface}: ${res.stderr.trim()}`, res.stderr);
    }
  }
  await deleteNamespace(netns, exec);
}
