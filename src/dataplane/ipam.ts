// IP address management from IPPools, kept deliberately small: an address is in use exactly while a
// WorkloadEndpoint in the datastore lists it in `ipNetworks`, so assigning is "lowest free address of an enabled
// pool" and releasing is deleting the endpoint (no separate allocation records to leak). One IPv4 and one IPv6
// address per workload when pools of both families exist (Calico's dual-stack default); `--ip` pins exact
// addresses instead, which must be free but need not lie in a pool (as with Calico's ipAddrsNoIpam).

import {
  cidrContains,
  formatIp,
  parseCidr,
  parseIp,
  type IPPool,
  type IpAddr,
  type Issue,
  type Resource,
  type Result,
  type WorkloadEndpoint,
} from '../api/index.js';

function issue(code: string, message: string, value?: unknown): Issue {
  return { code, path: [], message, ...(value !== undefined ? { value } : {}) };
}

/** The addresses every workload endpoint holds, canonical text without prefix. */
export function addressesInUse(resources: readonly Resource[]): Set<string> {
  const used = new Set<string>();
  for (const r of resources) {
    if (r.kind !== 'WorkloadEndpoint') continue;
    for (const n of (r as WorkloadEndpoint).spec.ipNetworks ?? []) {
      const ip = parseIp(n.split('/')[0] ?? '');
      if (ip) used.add(formatIp(ip));
    }
  }
  return used;
}

function usable(pool: IPPool): boolean {
  if (pool.spec.disabled) return false;
  if (pool.spec.assignmentMode === 'Manual') return false;
  return !pool.spec.allowedUses || pool.spec.allowedUses.includes('Workload');
}

/**
 * Chooses the addresses for a new workload. `pinned` addresses are taken as given (each checked and free);
 * otherwise one address per family that has a usable pool.
 */
export function assignAddresses(pools: readonly IPPool[], used: ReadonlySet<string>, pinned: readonly string[] = []): Result<string[]> {
  if (pinned.length > 0) {
    const out: string[] = [];
    const issues: Issue[] = [];
    const families = new Set<number>();
    for (const text of pinned) {
      const ip = parseIp(text);
      if (!ip) { issues.push(issue('ipam.invalid', `'${text}' is not an IP address`, text)); continue; }
      const canon = formatIp(ip);
      if (used.has(canon)) issues.push(issue('ipam.in-use', `address ${canon} is already assigned to a workload`, text));
      else if (families.has(ip.family)) issues.push(issue('ipam.family', `more than one IPv${ip.family} address given`, text));
      else { out.push(canon); families.add(ip.family); }
    }
    return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
  }
  const enabled = pools.filter(usable).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  if (enabled.length === 0) {
    return {
      ok: false,
      issues: [issue('ipam.no-pool', 'no enabled IPPool to assign an address from; create one (tabby apply -f pool.yaml) or pass --ip')],
    };
  }
  const out: string[] = [];
  const issues: Issue[] = [];
  for (const family of [4, 6] as const) {
    const familyPools = enabled.filter((p) => parseCidr(p.spec.cidr)?.family === family);
    if (familyPools.length === 0) continue;
    let found: string | undefined;
    for (const pool of familyPools) {
      found = lowestFree(pool, used);
      if (found) break;
    }
    if (found) out.push(found);
    else issues.push(issue('ipam.exhausted', `every IPv${family} pool is full (${familyPools.map((p) => p.metadata.name).join(', ')})`));
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

/** The lowest free address of a pool, skipping its network address (and, for IPv4, its broadcast address). */
function lowestFree(pool: IPPool, used: ReadonlySet<string>): string | undefined {
  const net = parseCidr(pool.spec.cidr);
  if (!net) return undefined;
  const bits = net.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - net.prefixLength);
  const last = net.network + size - 1n;
  const first = size > 2n ? net.network + 1n : net.network;
  const end = net.family === 4 && size > 2n ? last - 1n : last;
  // Bounded scan: at most used.size + 1 candidates can be taken before a free one appears.
  const limit = first + BigInt(used.size) + 1n;
  for (let v = first; v <= end && v <= limit; v++) {
    const addr: IpAddr = { family: net.family, value: v };
    if (!cidrContains(net, addr)) break;
    const text = formatIp(addr);
    if (!used.has(text)) return text;
  }
  return undefined;
}
