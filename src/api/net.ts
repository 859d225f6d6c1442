// IP addresses and CIDRs, IPv4 and IPv6, parsed the way Calico's Go code parses them (Go `net.ParseIP` /
// `net.ParseCIDR`, wrapped by libcalico-go `cnet.ParseCIDROrIP`): dotted-quad IPv4 without leading zeros, RFC 4291
// IPv6 text (with an optional trailing dotted quad), no zones. Addresses are held as bigints so the validator,
// the engine (containment) and the dataplane (canonical nft text) share one representation.

export type IpFamily = 4 | 6;

export interface IpAddr {
  readonly family: IpFamily;
  /** The address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
  readonly value: bigint;
}

export interface IpNet {
  readonly family: IpFamily;
  /** The address exactly as written, host bits included (`10.0.0.1/24` keeps `.1`). */
  readonly addr: bigint;
  readonly prefixLength: number;
  /** The network address: `addr` with the host bits cleared. */
  readonly network: bigint;
}

export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

function masksOf(bits: number): bigint[] {
  const all = (1n << BigInt(bits)) - 1n;
  return Array.from({ length: bits + 1 }, (_, len) => (all >> BigInt(len)) ^ all);
}

// Every mask computed once: parsing a CIDR is on the hot path of a full sync (tens of thousands of members).
const MASKS4 = masksOf(32);
const MASKS6 = masksOf(128);

function maskOf(family: IpFamily, prefixLength: number): bigint {
  return (family === 4 ? MASKS4 : MASKS6)[prefixLength]!;
}

/**
 * A dotted quad as a plain number, or undefined. Go rejects leading zeros (ambiguous octal) since 1.17, and
 * empty or over-long octets. Read character by character into a number: the bigint is made once, by the caller.
 */
function ipv4Number(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    // A second digit after a leading 0 is a leading zero; a fourth digit always makes the octet exceed 255.
    if (digits > 0 && octet === 0) return undefined;
    octet = octet * 10 + (c - 48);
    digits++;
    if (octet > 255) return undefined;
  }
  if (digits === 0 || dots !== 3) return undefined;
  return value * 256 + octet;
}

function parseIpv4(text: string): bigint | undefined {
  const n = ipv4Number(text);
  return n === undefined ? undefined : BigInt(n);
}

function parseIpv6(text: string): bigint | undefined {
  if (text.length === 0 || text.includes('%')) return undefined;
  let groups: number[] = [];
  let ellipsisAt = -1;
  let rest = text;
  // A trailing dotted quad fills the last two groups.
  let tail: bigint | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon >= 0 && rest.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(rest.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    rest = rest.slice(0, lastColon + 1);
    // `::1.2.3.4` leaves `::`; `a::1.2.3.4` leaves `a::`; `a:b:c:d:e:f:1.2.3.4` leaves `a:…:f:`.
    if (rest.endsWith(':') && !rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const maxGroups = tail === undefined ? 8 : 6;
  if (rest === '::') {
    ellipsisAt = 0;
  } else {
    const dbl = rest.indexOf('::');
    if (dbl >= 0 && rest.indexOf('::', dbl + 1) >= 0) return undefined;
    const parse = (s: string): number[] | undefined => {
      if (s === '') return [];
      const out: number[] = [];
      for (const g of s.split(':')) {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
      return out;
    };
    if (dbl >= 0) {
      const head = parse(rest.slice(0, dbl));
      const after = parse(rest.slice(dbl + 2));
      if (!head || !after) return undefined;
      ellipsisAt = head.length;
      groups = [...head, ...after];
    } else {
      const all = parse(rest);
      if (!all) return undefined;
      groups = all;
    }
  }
  if (ellipsisAt >= 0) {
    // `::` stands for at least one group of zeros.
    if (groups.length >= maxGroups) return undefined;
    const zeros = new Array<number>(maxGroups - groups.length).fill(0);
    groups = [...groups.slice(0, ellipsisAt), ...zeros, ...groups.slice(ellipsisAt)];
  } else if (groups.length !== maxGroups) {
    return undefined;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  if (tail !== undefined) value = (value << 32n) | tail;
  return value;
}

/** Parses a bare IP address (no prefix). Returns undefined when the text is not an address. */
export function parseIp(text: string): IpAddr | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/**
 * Parses `address/prefix` (Go `net.ParseCIDR`). Host bits may be set; `hasHostBits` tells. A bare address is not a
 * CIDR here; use `parseCidrOrIp` for fields that accept both.
 */
export function parseCidr(text: string): IpNet | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const len = text.slice(slash + 1);
  // Go's ParseCIDR reads the length with dtoi, which tolerates leading zeros (`/024`).
  if (!ip || !/^[0-9]{1,4}$/.test(len)) return undefined;
  const prefixLength = Number(len);
  if (prefixLength > familyBits(ip.family)) return undefined;
  return { family: ip.family, addr: ip.value, prefixLength, network: ip.value & maskOf(ip.family, prefixLength) };
}

/** libcalico-go `ParseCIDROrIP`: a CIDR, or a bare address taken as /32 or /128. */
export function parseCidrOrIp(text: string): IpNet | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes('/')) return parseCidr(text);
  const ip = parseIp(text);
  if (!ip) return undefined;
  return { family: ip.family, addr: ip.value, prefixLength: familyBits(ip.family), network: ip.value };
}

export function hasHostBits(net: IpNet): boolean {
  return net.addr !== net.network;
}

/** Whether the network covers exactly one address (/32 or /128). */
export function isSingleAddress(net: IpNet): boolean {
  return net.prefixLength === familyBits(net.family);
}

export function cidrContains(net: IpNet, ip: IpAddr): boolean {
  return net.family === ip.family && (ip.value & maskOf(net.family, net.prefixLength)) === net.network;
}

/** Whether `inner` lies entirely inside `outer`. */
export function cidrCovers(outer: IpNet, inner: IpNet): boolean {
  return outer.family === inner.family && outer.prefixLength <= inner.prefixLength &&
    (inner.network & maskOf(outer.family, outer.prefixLength)) === outer.network;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run of 2+ groups compressed). */
export function formatIp(ip: IpAddr): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${Math.floor(v / 16777216)}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** Canonical masked text of a network, e.g. `10.0.0.0/24` for `10.0.0.1/24`. */
export function formatCidr(net: IpNet): string {
  return `${formatIp({ family: net.family, value: net.network })}/${net.prefixLength}`;
}
