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
// neighbour for each pod address as Felix's route table does. The outside network (and through it the other nodes)
// routes each pod address via its node's uplink (outside-routes.ts). Nothing here touches the initial namespace.

import { createHash } from 'node:crypto';

import { checkNodeName, checkWorkloadName, vethNameForWorkload } from '../../api/index.js';
import { hostExec, netnsExec, netnsPath, type Exec } from '../nft/exec.js';
import {
  createNamespace, deleteNamespace, deleteOwnedNamespace, ipJson, mustRun, namespaceExists, namespaceOwned, NetnsError,
  unmarkedMessage, validNetnsName, type OwnedDeletion,
} from './namespace.js';
import { routeFromOutside, unrouteFromOutside } from './outside-routes.js';

/** Calico's host-side veth MAC (the CNI plugin sets it on every cali interface). */
export const CALI_MAC = 'ee:ee:ee:ee:ee:ee';
export const GATEWAY_IPV4 = '169.254.1.1';
/** The link-local address the kernel derives from CALI_MAC: the IPv6 gateway of every pod. */
export const GATEWAY_IPV6 = 'fe80::ecee:eeff:feee:eeee';
export const NODE_IPV4 = '10.66.255.1';
export const NODE_IPV6 = 'fd00:66::1';

export interface Naming {
  /** Every namespace name starts with it; `sweepNamespaces(prefix)` removes those of them that carry Tabby's mark. */
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

/**
 * What a namespace-name prefix may be (`--netns-prefix`, `TABBY_NETNS_PREFIX`): 3–41 characters of a file name's
 * safe alphabet, so prefix + name stays one file name under /run/netns. Undefined when valid, else the rule.
 */
export function netnsPrefixProblem(prefix: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{2,40}$/.test(prefix)
    ? undefined
    : `network namespace prefix ${JSON.stringify(prefix)} must be 3–41 characters of letters, digits, '.', '_' or '-', starting with a letter or digit`;
}

/** Names up to this length are used as they are; longer ones (still valid) are hashed (validNetnsName's bound). */
const READABLE_MAX = 120;

function hashed(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

/**
 * A node's name as it appears in namespace and file names (`<prefix>n-<key>`, `agent-<key>.json`): the name itself
 * up to 120 characters, else `_` + 16 hex of its sha1. No DNS-1123 name holds `_`, so a hashed key never equals a
 * valid node name (a bare 16-hex node name is valid, and must not share a namespace with a long name hashing to
 * it), and a 253-character name still makes a file name under the 255-byte limit. Throws NetnsError for a name
 * that breaks Calico's node-name rule (api/names.ts).
 */
export function nodeNameKey(node: string): string {
  const bad = checkNodeName(node);
  if (bad) throw new NetnsError(bad.message);
  return node.length <= READABLE_MAX ? node : `_${hashed(node)}`;
}

/** The namespace of node `node`. Throws NetnsError for a name that breaks Calico's node-name rule (api/names.ts). */
export function nodeNetns(naming: Naming, node: string): string {
  const name = `${naming.prefix}n-${nodeNameKey(node)}`;
  // Prefix (≤ 41, netnsPrefixProblem) + `n-` + key (≤ 120) always fits validNetnsName; checked again as a fence.
  if (!validNetnsName(name)) throw new NetnsError(`'${name}' is not a valid network namespace name`);
  return name;
}

/** Kubernetes namespaces hold no `.`, so `<ns>.<name>` names each workload uniquely. Throws for invalid names. */
export function workloadNetns(naming: Naming, namespace: string, name: string): string {
  const bad = checkWorkloadName(namespace, name);
  if (bad.length > 0) throw new NetnsError(bad.map((i) => i.message).join('; '));
  const readable = `${naming.prefix}w-${namespace}.${name}`;
  return name.length <= READABLE_MAX && validNetnsName(readable) ? readable : `${naming.prefix}w-${hashed(`${namespace}/${name}`)}`;
}

/**
 * The node name of a node namespace, when `netns` is one and names its node readably; undefined for others and for
 * a hashed key (`_<hash>`: the name it came from is not recoverable, and is not a node name).
 */
export function nodeOfNetns(naming: Naming, netns: string): string | undefined {
  const head = `${naming.prefix}n-`;
  if (!netns.startsWith(head)) return undefined;
  const node = netns.slice(head.length);
  return checkNodeName(node) ? undefined : node;
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
 * Creates the workload namespace and its veth pair, and routes its addresses. On failure everything this call
 * created is removed again — and only that: the namespace is created (and marked) first, on its own, so a
 * namespace that appeared under the same name after the existence check makes `ip netns add` fail before anything
 * is rolled back; the host end of the veth is removed only when it is proven this call's, never an interface of
 * that name that was there before.
 */
export async function createWorkloadNetwork(spec: WorkloadNetworkSpec, exec: Exec = hostExec): Promise<void> {
  const node = spec.nodeAddresses ?? { ipv4: NODE_IPV4, ipv6: NODE_IPV6 };
  if (!namespaceExists(spec.nodeNetns)) throw new NetnsError(`node namespace ${spec.nodeNetns} does not exist`);
  // A veth is added to the node's namespace: only to one Tabby made.
  if (!(await namespaceOwned(spec.nodeNetns, exec))) throw new NetnsError(unmarkedMessage(spec.nodeNetns, 'not adding a workload to it'));
  if (!validNetnsName(spec.netns)) throw new NetnsError(`'${spec.netns}' is not a valid network namespace name`);
  if (namespaceExists(spec.netns)) throw new NetnsError(`network namespace ${spec.netns} already exists`);
  for (const a of spec.addresses) {
    if (!/^[0-9a-fA-F:.]+$/.test(a)) throw new NetnsError(`'${a}' is not an IP address`);
  }
  const v4 = spec.addresses.filter((a) => !a.includes(':'));
  const v6 = spec.addresses.filter((a) => a.includes(':'));
  // Fails (and removes nothing) if the namespace appeared since the check; rolls its own mark step back.
  await createNamespace(spec.netns, exec);
  try {
    await script(exec, [
      sysctlLine(spec.netns, {
        'net.ipv6.conf.default.accept_dad': '0',
        'net.ipv6.conf.all.accept_dad': '0',
        'net.ipv6.conf.default.accept_ra': '0',
      }),
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
    // Other nodes and the outside network reach the workload through the outside router (outside-routes.ts).
    await routeFromOutside(spec.nodeNetns, spec.addresses, exec);
  } catch (e) {
    // The host end goes only when the kernel proves it this call's veth (its peer is eth0 in the namespace just
    // made); an interface of that name that was on the node before made `link add` fail and is left alone.
    if (await inspectWorkloadLink(spec.netns, spec.iface, exec)) {
      await exec(['ip', '-n', spec.nodeNetns, 'link', 'del', spec.iface]);
      await unrouteFromOutside(spec.nodeNetns, spec.addresses, exec).catch(() => undefined);
    }
    await deleteOwnedNamespace(spec.netns, exec);
    throw e;
  }
}

interface IpLink {
  ifindex: number;
  ifname: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
}

/** The name of the namespace with id `nsid` as namespace `from` numbers them (`ip netns list-id`). */
async function peerNamespace(exec: Exec, from: string, nsid: number): Promise<string | undefined> {
  const ids = await ipJson<{ nsid: number; name?: string }>(exec, ['ip', '-n', from, '-j', 'netns', 'list-id']);
  return ids?.find((i) => i.nsid === nsid)?.name;
}

/** A workload's veth, as the kernel shows it from both ends. */
export interface WorkloadLink {
  /** The node namespace holding the host end (proven Tabby's). */
  nodeNetns: string;
  /** The host end's name. */
  iface: string;
  /** The global addresses on the workload's eth0. */
  addresses: string[];
}

/**
 * The veth of workload namespace `netns` when the kernel proves it is the workload's own: `eth0` in `netns` is a
 * veth, its peer is the interface named `iface` in a namespace Tabby created, and that interface's peer is `eth0`
 * in `netns` again (both ends' indexes and namespaces checked). Undefined when any of it does not hold. Nothing
 * taken from a stored object is trusted here: `iface` is the name computed from the workload's identity.
 */
export async function inspectWorkloadLink(netns: string, iface: string, exec: Exec = hostExec): Promise<WorkloadLink | undefined> {
  const [inner, addrs] = await Promise.all([
    ipJson<IpLink>(exec, ['ip', '-n', netns, '-j', '-d', 'link', 'show', 'dev', 'eth0']),
    ipJson<{ addr_info?: Array<{ local?: string; scope?: string }> }>(exec, ['ip', '-n', netns, '-j', 'addr', 'show', 'dev', 'eth0']),
  ]);
  const eth0 = inner?.[0];
  if (!eth0 || eth0.linkinfo?.info_kind !== 'veth' || eth0.link_netnsid === undefined || eth0.link_index === undefined) return undefined;
  const node = await peerNamespace(exec, netns, eth0.link_netnsid);
  if (!node || node === netns || !(await namespaceOwned(node, exec))) return undefined;
  const outer = (await ipJson<IpLink>(exec, ['ip', '-n', node, '-j', '-d', 'link', 'show', 'dev', iface]))?.[0];
  if (!outer || outer.linkinfo?.info_kind !== 'veth' || outer.ifindex !== eth0.link_index || outer.link_index !== eth0.ifindex) return undefined;
  if (outer.link_netnsid === undefined || (await peerNamespace(exec, node, outer.link_netnsid)) !== netns) return undefined;
  const addresses = (addrs?.[0]?.addr_info ?? [])
    .filter((a) => a.scope === 'global' && typeof a.local === 'string' && /^[0-9a-fA-F:.]+$/.test(a.local))
    .map((a) => a.local!);
  return { nodeNetns: node, iface, addresses };
}

export interface WorkloadNetworkDeletion {
  /** What became of the workload's namespace: `not-owned` means it exists but Tabby did not create it (left alone). */
  namespace: OwnedDeletion;
  /** The veth removed with it, when the kernel proved it the workload's own. */
  link?: WorkloadLink;
}

/**
 * Removes a workload: its veth pair (and with it the node's routes and neighbours for its addresses), then its
 * namespace and processes — only when Tabby's mark proves the namespace Tabby's, and the veth only when
 * `inspectWorkloadLink` proves it the workload's. The host end is deleted explicitly because the kernel tears a
 * deleted namespace down asynchronously: until it has, the old veth and its routes would still be there for a
 * workload re-created under the same name.
 */
export async function deleteWorkloadNetwork(netns: string, iface: string, exec: Exec = hostExec): Promise<WorkloadNetworkDeletion> {
  if (!namespaceExists(netns)) return { namespace: 'absent' };
  if (!(await namespaceOwned(netns, exec))) return { namespace: 'not-owned' };
  const link = await inspectWorkloadLink(netns, iface, exec);
  if (link) {
    const res = await exec(['ip', '-n', link.nodeNetns, 'link', 'del', link.iface]);
    if (res.code !== 0 && !/Cannot find device|does not exist/.test(res.stderr)) {
      throw new NetnsError(`ip -n ${link.nodeNetns} link del ${link.iface}: ${res.stderr.trim()}`, res.stderr);
    }
    // The outside network's routes to the workload's addresses (the kernel's, as below), if still via this node.
    await unrouteFromOutside(link.nodeNetns, link.addresses, exec);
    // Felix's route table removes conntrack entries of a removed workload's addresses, so a workload that gets
    // the address later inherits no established flows. The addresses are those the kernel showed on the
    // workload's eth0, not a stored object's. Best effort: the conntrack tool may not be installed.
    if (link.addresses.length > 0) {
      const lines = link.addresses.flatMap((a) => {
        const f = a.includes(':') ? '-f ipv6' : '-f ipv4';
        return [`conntrack -D ${f} -s ${q(a)}`, `conntrack -D ${f} -d ${q(a)}`];
      });
      const script = `command -v conntrack >/dev/null || exit 0; ${lines.map((l) => `${l} >/dev/null 2>&1`).join('; ')}; exit 0`;
      await netnsExec(link.nodeNetns, exec)(['sh', '-c', script]);
    }
  }
  const namespace = await deleteOwnedNamespace(netns, exec);
  return { namespace, ...(link ? { link } : {}) };
}
