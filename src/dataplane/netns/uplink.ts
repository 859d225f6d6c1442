// A node's way in from outside: an uplink `eth0` in the node namespace, a veth whose peer sits on a bridge in the
// shared "outside" namespace `<prefix>x`, so the outside network (tests, `tabby external exec`) reaches a node,
// its host processes and its workloads as a LAN reaches a real host — and the host endpoint `eth0` of Calico's
// examples exists for real (issue 17 §1, calico-semantics.md §3.8).
//
//   outside namespace <prefix>x                           node namespace <prefix>n-<node>
//   ┌─────────────────────────────────────┐               ┌───────────────────────────────────────┐
//   │ br0: 172.31.0.1/16, fd00:ab::1/64   │     veth      │ eth0: 172.31.I.J/16, fd00:ab::N/64     │
//   │ tu<11 hex of sha1(node)> master br0 ├───────────────┤ default via 172.31.0.1, fd00:ab::1     │
//   └─────────────────────────────────────┘               └───────────────────────────────────────┘
//
// Range: 172.31.0.0/16 and fd00:ab::/64 (UPLINK_IPV4_NET, UPLINK_IPV6_NET), inside namespaces Tabby creates only.
// Workload IPAM takes addresses from the IPPools the user creates (examples use 10.0.0.0/8 and fd00::/48), and a
// node's own host address for pod traffic is 10.66.255.1 on `lo`; a pool overlapping 172.31.0.0/16 would make a
// workload's route shadow an uplink address, so keep pools out of it (documented in ../README.md). A node takes
// the lowest free index from 2 (the outside bridge is 1), found from the addresses the other nodes' uplinks carry.
//
// Concurrency: several `tabby node create` / `node delete` processes may run at once. Picking the lowest free
// index, creating the outside namespace and removing it when no node is left are each a read-then-act on the
// kernel's state, so they run under one lock per prefix across processes (a lockfile in /run/tabby naming its
// owner's pid and start time, the file store's writer lock: one left by a killed process does not block).
//
// Ownership: the outside namespace carries Tabby's mark like every namespace Tabby creates (namespace.ts). It is
// created by the first `node create` that needs it, never adopted: one without the mark is refused. The uplink's
// veth dies with the node namespace; the outside namespace goes when the last node of the prefix goes, or with
// `tabby external delete`.

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { FileLock } from '../../datastore/index.js';

import { hostExec, netnsPath, type Exec } from '../nft/exec.js';
import {
  createNamespace, deleteNamespace, deleteOwnedNamespace, listNamespaces, mustRun, namespaceExists, namespaceOwned,
  NetnsError, unmarkedMessage, type OwnedDeletion,
} from './namespace.js';
import type { Naming } from './topology.js';

export const UPLINK_IFACE = 'eth0';
export const OUTSIDE_BRIDGE = 'br0';
export const UPLINK_IPV4_NET = '172.31.0.0/16';
export const UPLINK_IPV6_NET = 'fd00:ab::/64';
/** The outside network's own address (the bridge): the nodes' default gateway. */
export const OUTSIDE_IPV4 = '172.31.0.1';
export const OUTSIDE_IPV6 = 'fd00:ab::1';
const FIRST_INDEX = 2;
const LAST_INDEX = 65_534;

/** The shared outside namespace of every node of a prefix. */
export function outsideNetns(naming: Naming): string {
  return `${naming.prefix}x`;
}

/** The outside end of node `netns`'s uplink: `tu` + 11 hex of sha1(namespace), 13 characters (IFNAMSIZ 15). */
export function uplinkPeerName(nodeNetns: string): string {
  return `tu${createHash('sha1').update(`uplink|${nodeNetns}`).digest('hex').slice(0, 11)}`;
}

export function uplinkAddresses(index: number): { ipv4: string; ipv6: string } {
  return { ipv4: `172.31.${index >> 8}.${index & 255}`, ipv6: `fd00:ab::${index.toString(16)}` };
}

function indexOfIpv4(addr: string): number | undefined {
  const m = /^172\.31\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  return m ? Number(m[1]) * 256 + Number(m[2]) : undefined;
}

export interface Uplink {
  interface: string;
  /** Global addresses on the node's eth0, with prefix length. */
  addresses: string[];
  outsideNamespace: string;
  outsideInterface: string;
}

interface AddrInfo { local?: string; prefixlen?: number; scope?: string; family?: string }

async function eth0Addresses(netns: string, exec: Exec): Promise<string[] | undefined> {
  const res = await exec(['ip', '-n', netns, '-j', 'addr', 'show', 'dev', UPLINK_IFACE]);
  if (res.code !== 0) return undefined;
  try {
    const links = JSON.parse(res.stdout) as Array<{ addr_info?: AddrInfo[] }>;
    if (!Array.isArray(links) || links.length === 0) return undefined;
    return (links[0]!.addr_info ?? [])
      .filter((a) => a.scope === 'global' && typeof a.local === 'string' && /^[0-9a-fA-F:.]+$/.test(a.local))
      .map((a) => `${a.local!}/${a.prefixlen ?? (a.local!.includes(':') ? 128 : 32)}`);
  } catch {
    return undefined;
  }
}

/**
 * The uplink of node namespace `netns`, when it has one: `eth0` exists there and the outside namespace holds the
 * peer name computed from the node namespace. Undefined for a node made before uplinks (it keeps working).
 */
export async function inspectUplink(naming: Naming, netns: string, exec: Exec = hostExec): Promise<Uplink | undefined> {
  const outside = outsideNetns(naming);
  const peer = uplinkPeerName(netns);
  if (!namespaceExists(outside)) return undefined;
  const [addresses, peerRes] = await Promise.all([
    eth0Addresses(netns, exec),
    exec(['ip', '-n', outside, '-o', 'link', 'show', 'dev', peer]),
  ]);
  if (!addresses || peerRes.code !== 0) return undefined;
  return { interface: UPLINK_IFACE, addresses, outsideNamespace: outside, outsideInterface: peer };
}

function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Creates the outside namespace and its bridge if absent; refuses one that is not Tabby's. */
async function ensureOutside(naming: Naming, exec: Exec): Promise<string> {
  const outside = outsideNetns(naming);
  if (namespaceExists(outside)) {
    if (!(await namespaceOwned(outside, exec))) throw new NetnsError(unmarkedMessage(outside, 'not attaching a node uplink to it'));
    return outside;
  }
  try {
    await createNamespace(outside, exec);
  } catch (e) {
    // Another `node create` made it meanwhile: fine if it is Tabby's.
    if (namespaceExists(outside) && (await namespaceOwned(outside, exec))) return outside;
    throw e;
  }
  try {
    await mustRun(exec, ['sh', '-ec', [
      `nsenter --net=${q(netnsPath(outside))} sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_ra=0`,
      `ip -n ${q(outside)} -batch - <<'TABBY_EOF'`,
      `link add ${OUTSIDE_BRIDGE} type bridge`,
      `addr add ${OUTSIDE_IPV4}/16 dev ${OUTSIDE_BRIDGE}`,
      `addr add ${OUTSIDE_IPV6}/64 dev ${OUTSIDE_BRIDGE} nodad`,
      `link set ${OUTSIDE_BRIDGE} up`,
      'TABBY_EOF',
    ].join('\n')]);
  } catch (e) {
    await deleteNamespace(outside, exec);
    throw e;
  }
  return outside;
}

const LOCK_DIR = '/run/tabby';
const LOCK_WAIT_MS = 60_000;

/** Runs `f` holding the prefix's outside-network lock (see Concurrency above). */
async function underOutsideLock<T>(naming: Naming, f: () => Promise<T>): Promise<T> {
  await mkdir(LOCK_DIR, { recursive: true, mode: 0o700 });
  // The prefix is checked by netnsPrefixProblem (letters, digits, '.', '_', '-'; no '/'): safe in a file name.
  const lock = new FileLock(join(LOCK_DIR, `outside-${naming.prefix}.lock`), { timeoutMs: LOCK_WAIT_MS });
  await lock.acquire();
  try {
    return await f();
  } finally {
    lock.release();
  }
}

/** Indexes the uplinks of the prefix's other nodes hold (their eth0 addresses). */
async function usedIndexes(naming: Naming, exec: Exec): Promise<Set<number>> {
  const used = new Set<number>();
  for (const ns of listNamespaces(`${naming.prefix}n-`)) {
    for (const a of (await eth0Addresses(ns, exec)) ?? []) {
      const i = indexOfIpv4(a.split('/')[0]!);
      if (i !== undefined) used.add(i);
    }
  }
  return used;
}

/**
 * Gives node namespace `netns` (just created and marked by the caller) its uplink. On failure the caller deletes
 * the node namespace, which takes the veth with it; an outside namespace this call created is left for the next
 * node (it is empty and marked, and `external delete` or the last node delete removes it).
 */
export function createUplink(naming: Naming, netns: string, exec: Exec = hostExec): Promise<Uplink> {
  return underOutsideLock(naming, () => createUplinkLocked(naming, netns, exec));
}

async function createUplinkLocked(naming: Naming, netns: string, exec: Exec): Promise<Uplink> {
  const outside = await ensureOutside(naming, exec);
  const used = await usedIndexes(naming, exec);
  let index = FIRST_INDEX;
  while (used.has(index) && index <= LAST_INDEX) index++;
  if (index > LAST_INDEX) throw new NetnsError(`no free uplink address in ${UPLINK_IPV4_NET}`);
  const { ipv4, ipv6 } = uplinkAddresses(index);
  const peer = uplinkPeerName(netns);
  await mustRun(exec, ['sh', '-ec', [
    `ip -n ${q(outside)} link add ${peer} type veth peer name ${UPLINK_IFACE} netns ${q(netns)}`,
    `ip -n ${q(outside)} link set ${peer} master ${OUTSIDE_BRIDGE} up`,
    `nsenter --net=${q(netnsPath(netns))} sysctl -q -w net.ipv6.conf.${UPLINK_IFACE}.accept_dad=0 net.ipv6.conf.${UPLINK_IFACE}.accept_ra=0`,
    `ip -n ${q(netns)} -batch - <<'TABBY_EOF'`,
    `addr add ${ipv4}/16 dev ${UPLINK_IFACE}`,
    `addr add ${ipv6}/64 dev ${UPLINK_IFACE} nodad`,
    `link set ${UPLINK_IFACE} up`,
    `route add default via ${OUTSIDE_IPV4} dev ${UPLINK_IFACE}`,
    `route add ::/0 via ${OUTSIDE_IPV6} dev ${UPLINK_IFACE}`,
    'TABBY_EOF',
  ].join('\n')]);
  return { interface: UPLINK_IFACE, addresses: [`${ipv4}/16`, `${ipv6}/64`], outsideNamespace: outside, outsideInterface: peer };
}

/** Removes the outside namespace when no node namespace of the prefix is left (after a node delete). */
export function deleteOutsideIfUnused(naming: Naming, exec: Exec = hostExec): Promise<OwnedDeletion | 'in-use'> {
  return underOutsideLock(naming, async () => {
    if (listNamespaces(`${naming.prefix}n-`).length > 0) return 'in-use';
    return deleteOwnedNamespace(outsideNetns(naming), exec);
  });
}

/** `tabby external delete`: the outside namespace, if Tabby's (the nodes lose their way in, nothing else). */
export function deleteOutside(naming: Naming, exec: Exec = hostExec): Promise<OwnedDeletion> {
  return underOutsideLock(naming, () => deleteOwnedNamespace(outsideNetns(naming), exec));
}

/** The argv that runs `argv` in the outside namespace; refuses one that does not exist or is not Tabby's. */
export async function outsideExecArgv(naming: Naming, argv: readonly string[], exec: Exec = hostExec): Promise<string[]> {
  const outside = outsideNetns(naming);
  if (!namespaceExists(outside)) throw new NetnsError(`the outside network ${outside} does not exist (it comes with the first 'tabby node create')`);
  if (!(await namespaceOwned(outside, exec))) throw new NetnsError(unmarkedMessage(outside, 'not entering it'));
  return ['nsenter', `--net=${netnsPath(outside)}`, '--', ...argv];
}
