// Address classes: which addresses the policies can tell apart. A rule matches a peer address only through the
// IP sets it is in (selectors, §3.1), the named-port sets its (address, protocol, port) is in, and the rule
// CIDRs (nets / notNets) that contain it — so two addresses with the same memberships in all of those are
// matched by exactly the same rules, and the matrix evaluates each rule once per class instead of per endpoint.
//
// Classes are exact, not heuristic: the key lists every membership. nets / notNets may single out one address
// (`10.1.0.2/32` in an ipBlock except), which is why the rule CIDRs are part of the key and not only the sets.
//
// What it does not do: it does not evaluate rules (hook-vector.ts) nor know which endpoint owns an address.

import { cidrContains, formatIp, isSingleAddress, parseCidr, parseCidrOrIp, type IpAddr, type IpNet } from '../api/index.js';
import type { CompiledRule, EntityMatch, IpSetInfo } from '../engine/index.js';

/** What the classifier reads from the engine (the PolicyEngine satisfies it). */
export interface IpSetSource {
  ipSets(): IpSetInfo[];
  ipSetMembers(id: string): string[] | undefined;
}

interface WideMember {
  net: IpNet;
  set: number;
}

const addressKey = (ip: IpAddr): string => `${ip.family}:${ip.value.toString(16)}`;

export class AddressClassifier {
  /** Net-set numbers per single address held as a /32 or /128 member. */
  private readonly exact = new Map<string, number[]>();
  /** Members wider than one address (network sets), checked by containment. */
  private readonly wide: WideMember[] = [];
  /** Named-port set numbers per `address,protocol:port` member. */
  private readonly ipPort = new Map<string, number[]>();
  private readonly ruleNets: IpNet[] = [];

  constructor(sets: IpSetSource, rules: Iterable<CompiledRule>) {
    let n = 0;
    for (const info of sets.ipSets()) {
      const set = n++;
      for (const member of sets.ipSetMembers(info.id) ?? []) {
        if (info.kind === 'ip-port') {
          push(this.ipPort, member, set);
          continue;
        }
        const net = parseCidrOrIp(member);
        if (!net) continue;
        if (isSingleAddress(net)) push(this.exact, addressKey({ family: net.family, value: net.network }), set);
        else this.wide.push({ net, set });
      }
    }
    const cidrs = new Set<string>();
    const collect = (e: EntityMatch): void => {
      for (const c of e.nets) cidrs.add(c);
      for (const c of e.notNets) cidrs.add(c);
    };
    for (const rule of rules) {
      collect(rule.src);
      collect(rule.dst);
    }
    for (const text of [...cidrs].sort()) {
      const net = parseCidr(text);
      if (net) this.ruleNets.push(net);
    }
  }

  /** The class of an address as a packet's source or as a peer without a port: its set and CIDR memberships. */
  addressKey(ip: IpAddr): string {
    const sets = [...(this.exact.get(addressKey(ip)) ?? [])];
    for (const w of this.wide) if (cidrContains(w.net, ip)) sets.push(w.set);
    sets.sort((a, b) => a - b);
    let nets = '';
    this.ruleNets.forEach((net, i) => {
      if (cidrContains(net, ip)) nets += `${i},`;
    });
    return `${ip.family}|${dedupe(sets).join(',')}|${nets}`;
  }

  /**
   * The class of a destination: its address class, the port the packet goes to, and the named-port sets that
   * hold (address, protocol, port) — `protocol` is `tcp`/`udp`/`sctp`, or undefined when named ports cannot
   * match (another protocol, or no port).
   */
  destinationKey(ip: IpAddr, protocol: string | undefined, port: number | undefined): string {
    const base = `${this.addressKey(ip)}|${port ?? ''}`;
    if (protocol === undefined || port === undefined) return base;
    const sets = this.ipPort.get(`${formatIp(ip)},${protocol}:${port}`) ?? [];
    return `${base}|${dedupe([...sets].sort((a, b) => a - b)).join(',')}`;
  }
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function dedupe(sorted: number[]): number[] {
  return sorted.filter((v, i) => i === 0 || sorted[i - 1] !== v);
}
