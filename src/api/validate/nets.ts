// IP and CIDR fields (§5.5, §5.6). Rules are strict (a CIDR with no host bits; a bare IP is rejected by the
// rule-level `invalid CIDR` check), network sets and spoofing prefixes are lax (any IP or CIDR), endpoint
// networks are single addresses. Parsing lives in api/net.ts, shared with the engine and the dataplane.

import { formatCidr, hasHostBits, parseCidr, parseCidrOrIp, parseIp, type IpFamily, type IpNet } from '../net.js';
import type { Path, ValidationContext } from './context.js';
import { msg } from './messages.js';

/**
 * A rule's nets/notNets entry: the `net` field tag (IP or CIDR, host bits clear) and then validateRule's
 * `cnet.ParseCIDR`, which needs a prefix. Returns the network when usable for the family checks.
 */
export function checkRuleNet(ctx: ValidationContext, text: string, path: Path): IpNet | undefined {
  const net = parseCidr(text);
  if (!net) {
    ctx.report('net.invalid', path, msg.ruleNetInvalid(text), text);
    return undefined;
  }
  if (hasHostBits(net)) ctx.report('net.hostBits', path, msg.netHostBits(text, formatCidr(net)), text);
  return net;
}

/** The `net` tag alone: an IP or a CIDR with host bits clear (endpoint networks, hostIP). */
export function checkMaskedNet(ctx: ValidationContext, text: string, path: Path): IpNet | undefined {
  const net = parseCidrOrIp(text);
  if (!net) {
    ctx.report('net.invalid', path, msg.netInvalid(text), text);
    return undefined;
  }
  if (hasHostBits(net)) ctx.report('net.hostBits', path, msg.netHostBits(text, formatCidr(net)), text);
  return net;
}

/** The `cidr` tag: any IP or CIDR, host bits allowed (network sets, allowSpoofedSourcePrefixes). */
export function checkLaxNet(ctx: ValidationContext, text: string, path: Path): IpNet | undefined {
  const net = parseCidrOrIp(text);
  if (!net) ctx.report('net.invalid', path, msg.cidrInvalid(text), text);
  return net;
}

/** The `ip` / `ipv4` / `ipv6` tags: a bare address, optionally of one family. */
export function checkIp(ctx: ValidationContext, text: string, path: Path, family?: IpFamily): void {
  const ip = parseIp(text);
  if (!ip) ctx.report('ip.invalid', path, msg.ipInvalid(text), text);
  else if (family !== undefined && ip.family !== family) ctx.report('ip.family', path, msg.ipFamily(text, family), text);
}
