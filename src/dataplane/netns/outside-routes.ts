// Traffic between nodes, routed through the outside network as a LAN router (or BGP-learnt routes) would carry it:
// the outside namespace holds one route per workload address, via the uplink address of the node the workload runs
// on, and forwards between the uplinks; a node reaches another node's pods through its default route (via the
// outside bridge, 172.31.0.1 / fd00:ab::1, uplink.ts). So a pod on node A talking to a pod on node B leaves A on
// eth0 (A's host endpoint egress, applyOnForward), crosses the outside namespace, and enters B on eth0 (B's host
// endpoint ingress), as across two Calico hosts without an overlay (calico-semantics.md §3.7: the source node
// enforces egress, the destination node ingress). The outside network reaches every workload the same way.
//
//   outside <prefix>x:  10.65.0.2/32 via 172.31.0.2 (node A) · 10.65.1.2/32 via 172.31.0.3 (node B) · forwarding on
//   node A:             default via 172.31.0.1 dev eth0   ·   node B: likewise
//
// Routes are added when a workload's network is made (topology.ts createWorkloadNetwork) and removed when it goes
// (deleteWorkloadNetwork: only a route still via that node, so an address moved to another node keeps its route);
// a node's delete flushes every route via its uplink addresses, and a new uplink flushes stale routes via the
// address it takes. `route replace` makes adding idempotent. The node is found from the kernel, never from a
// stored object: the outside namespace is the one the node's eth0 veth ends in, proven Tabby's by its mark and by
// the peer's computed name (uplink.ts uplinkPeerName). A node without an uplink (made before uplinks, or with
// `uplink: false`) gets no routes. Nothing here touches the machine's own namespace.
//
// The outside namespace sends no ICMP redirects: a packet from node A to a pod of node B comes in on br0 and leaves
// on br0, and a redirect would teach A to bypass the router (and arrive at A's host endpoint as a stray ICMP).

import { hostExec, netnsPath, type Exec } from '../nft/exec.js';
import { ipJson, mustRun, namespaceOwned, NetnsError } from './namespace.js';
import { cidrContains, parseCidr, parseIp } from '../../api/index.js';
import { OUTSIDE_BRIDGE, UPLINK_IFACE, UPLINK_IPV4_NET, UPLINK_IPV6_NET, uplinkPeerName } from './uplink.js';

/** A node's uplink as the kernel shows it: the outside namespace its eth0 ends in, and eth0's global addresses. */
export interface ProvenUplink {
  outside: string;
  ipv4?: string;
  ipv6?: string;
}

interface IpLink { ifindex: number; link_index?: number; link_netnsid?: number; linkinfo?: { info_kind?: string } }
interface AddrInfo { local?: string; scope?: string; family?: string }

const ADDRESS = /^[0-9a-fA-F:.]+$/;

function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The uplink of node namespace `nodeNetns` when the kernel proves it: its eth0 is a veth whose peer is the
 * interface `uplinkPeerName(nodeNetns)` in a namespace carrying Tabby's mark, and that interface's index is the
 * peer index eth0 names. Undefined otherwise (no uplink, or not one Tabby made).
 */
export async function provenUplink(nodeNetns: string, exec: Exec = hostExec): Promise<ProvenUplink | undefined> {
  const [links, addrs, ids] = await Promise.all([
    ipJson<IpLink>(exec, ['ip', '-n', nodeNetns, '-j', '-d', 'link', 'show', 'dev', UPLINK_IFACE]),
    ipJson<{ addr_info?: AddrInfo[] }>(exec, ['ip', '-n', nodeNetns, '-j', 'addr', 'show', 'dev', UPLINK_IFACE]),
    ipJson<{ nsid: number; name?: string }>(exec, ['ip', '-n', nodeNetns, '-j', 'netns', 'list-id']),
  ]);
  const eth0 = links?.[0];
  if (!eth0 || eth0.linkinfo?.info_kind !== 'veth' || eth0.link_netnsid === undefined || eth0.link_index === undefined) return undefined;
  const outside = ids?.find((i) => i.nsid === eth0.link_netnsid)?.name;
  if (!outside || outside === nodeNetns || !(await namespaceOwned(outside, exec))) return undefined;
  const peer = (await ipJson<IpLink>(exec, ['ip', '-n', outside, '-j', 'link', 'show', 'dev', uplinkPeerName(nodeNetns)]))?.[0];
  if (!peer || peer.ifindex !== eth0.link_index) return undefined;
  const global = (addrs?.[0]?.addr_info ?? []).filter((a) => a.scope === 'global' && typeof a.local === 'string' && ADDRESS.test(a.local));
  const ipv4 = global.find((a) => !a.local!.includes(':'))?.local;
  const ipv6 = global.find((a) => a.local!.includes(':'))?.local;
  return { outside, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

const UPLINK_NETS = [UPLINK_IPV4_NET, UPLINK_IPV6_NET].map((n) => parseCidr(n)!);

function hostRoute(address: string): string {
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

/** The outside namespace as a router: forwarding on, no redirects (idempotent; also fixes an older namespace). */
export function outsideRouterLine(outside: string): string {
  return `nsenter --net=${q(netnsPath(outside))} sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ` +
    `net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.${OUTSIDE_BRIDGE}.send_redirects=0`;
}

/**
 * Routes `addresses` (a workload's, on node `nodeNetns`) from the outside network via the node's uplink. Does
 * nothing for a node without a proven uplink, or for a family the uplink has no address of.
 */
export async function routeFromOutside(nodeNetns: string, addresses: readonly string[], exec: Exec = hostExec): Promise<void> {
  for (const a of addresses) if (!ADDRESS.test(a)) throw new NetnsError(`'${a}' is not an IP address`);
  // A workload address inside the uplink network would route another node's (or the bridge's) own address to
  // this node: refused, as an IPPool overlapping it is documented to be.
  const inUplink = addresses.find((a) => {
    const ip = parseIp(a);
    return ip !== undefined && UPLINK_NETS.some((n) => cidrContains(n, ip));
  });
  if (inUplink !== undefined) {
    throw new NetnsError(`workload address ${inUplink} is inside the uplink network (${UPLINK_IPV4_NET}, ${UPLINK_IPV6_NET}); not routing it from outside (keep IPPools out of it)`);
  }
  const up = await provenUplink(nodeNetns, exec);
  if (!up) return;
  const lines = addresses.flatMap((a) => {
    const via = a.includes(':') ? up.ipv6 : up.ipv4;
    return via ? [`route replace ${hostRoute(a)} via ${via} dev ${OUTSIDE_BRIDGE}`] : [];
  });
  if (lines.length === 0) return;
  await mustRun(exec, ['sh', '-ec', [
    outsideRouterLine(up.outside),
    `ip -n ${q(up.outside)} -batch - <<'TABBY_EOF'`, ...lines, 'TABBY_EOF',
  ].join('\n')]);
}

/**
 * Removes the outside routes of `addresses` that still lead via node `nodeNetns`'s uplink (a route another node
 * took over since is left alone). Best effort: a missing route is not an error.
 */
export async function unrouteFromOutside(nodeNetns: string, addresses: readonly string[], exec: Exec = hostExec): Promise<void> {
  const up = await provenUplink(nodeNetns, exec);
  if (!up) return;
  const lines = addresses.filter((a) => ADDRESS.test(a)).flatMap((a) => {
    const via = a.includes(':') ? up.ipv6 : up.ipv4;
    return via ? [`ip -n ${q(up.outside)} route del ${hostRoute(a)} via ${via} 2>/dev/null || true`] : [];
  });
  if (lines.length > 0) await exec(['sh', '-c', lines.join('\n')]);
}

/**
 * Removes every route of the outside namespace via `vias` (a node's uplink addresses): when the node goes, and
 * before a new uplink takes an address an earlier node had. Best effort.
 */
export async function flushOutsideRoutesVia(outside: string, vias: readonly string[], exec: Exec = hostExec): Promise<void> {
  const lines = vias.filter((v) => ADDRESS.test(v)).map((v) => `ip -n ${q(outside)} ${v.includes(':') ? '-6' : '-4'} route flush via ${v} 2>/dev/null || true`);
  if (lines.length > 0) await exec(['sh', '-c', lines.join('\n')]);
}
