// IP and CIDR parsing with Go's `net.ParseIP` / `net.ParseCIDR` rules, which both the Kubernetes API server
// (ipBlock, podIPs) and Calico's conversion (re-masking ipBlock CIDRs, §4.1) use: dotted-quad IPv4 without
// leading zeros, RFC 4291 IPv6 with `::` and a trailing dotted quad, no zones. Printing follows Go's
// `IP.String()`: IPv4 dotted, IPv6 in RFC 5952 form (lowercase, longest run of two or more zero groups
// compressed, the first on a tie).

export interface IPAddress {
  family: 4 | 6;
  /** The address as an unsigned integer of 32 or 128 bits. */
  value: bigint;
}

export interface CIDR {
  /** The address as written (host bits kept). */
  ip: IPAddress;
  prefixLength: number;
}

function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Go ≥1.17 rejects leading zeros (they were ambiguous with octal).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  let head = text;
  let tail = '';
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0) {
    if (text.indexOf('::', doubleColon + 1) >= 0) return undefined;
    head = text.slice(0, doubleColon);
    tail = text.slice(doubleColon + 2);
  }
  const groupsOf = (part: string, allowIPv4: boolean): number[] | undefined => {
    if (part === '') return [];
    const fields = part.split(':');
    const groups: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] ?? '';
      if (allowIPv4 && i === fields.length - 1 && field.includes('.')) {
        const v4 = parseIPv4(field);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(field)) return undefined;
      groups.push(parseInt(field, 16));
    }
    return groups;
  };
  const headGroups = groupsOf(head, doubleColon < 0);
  const tailGroups = groupsOf(tail, true);
  if (!headGroups || !tailGroups) return undefined;
  const count = headGroups.length + tailGroups.length;
  if (doubleColon < 0 ? count !== 8 : count > 7) return undefined;
  const groups = [...headGroups, ...new Array<number>(8 - count).fill(0), ...tailGroups];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

export function parseIP(text: string): IPAddress | undefined {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export function parseCIDR(text: string): CIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > bitsOf(ip.family)) return undefined;
  return { ip, prefixLength };
}

function hostMask(family: 4 | 6, prefixLength: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefixLength)) - 1n;
}

/** The CIDR with host bits cleared: `10.0.0.1/24` → `10.0.0.0/24`. */
export function networkOf(cidr: CIDR): CIDR {
  const value = cidr.ip.value & ~hostMask(cidr.ip.family, cidr.prefixLength);
  return { ip: { family: cidr.ip.family, value }, prefixLength: cidr.prefixLength };
}

/** Whether `ip` lies in the network of `cidr` (families must match, as Go's IPNet.Contains requires). */
export function cidrContains(cidr: CIDR, ip: IPAddress): boolean {
  if (cidr.ip.family !== ip.family) return false;
  return networkOf(cidr).ip.value === (ip.value & ~hostMask(ip.family, cidr.prefixLength));
}

export function formatIP(ip: IPAddress): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Go prints an IPv4-mapped address (::ffff:a.b.c.d) in dotted form.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return formatIP({ family: 4, value: ip.value & 0xffffffffn });
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function formatCIDR(cidr: CIDR): string {
  return `${formatIP(cidr.ip)}/${cidr.prefixLength}`;
}
