// Every table, chain, set and map name Tabby programs, in one place (kube-proxy keeps its names as constants at
// the top of proxier.go). Readable where the name fits nft's 255-character limit, a hash otherwise. Chain and
// set prefixes say what the object holds; the table contract in ../README.md lists them.

import { createHash } from 'node:crypto';

/** Tabby's one table: `inet`, so IPv4 and IPv6 rules and sets change together in one transaction (§5.1). */
export const TABLE_FAMILY = 'inet' as const;
export const TABLE_NAME = 'tabby';

/** Base chains (dataplane.md §5.2). */
export const CHAIN_PRE_RAW = 'pre-raw';
export const CHAIN_FWD_EGRESS = 'fwd-egress';
export const CHAIN_FWD_INGRESS = 'fwd-ingress';
export const CHAIN_IN_EGRESS = 'in-egress';
export const CHAIN_IN_HOST = 'in-host';
export const CHAIN_OUT_HOST = 'out-host';

/** NFTablesFlowTableOffload: the base chain that offloads established flows, after both policy chains. */
export const CHAIN_FWD_OFFLOAD = 'fwd-offload';
/** The flowtable of the node's workload interfaces. */
export const FLOWTABLE = 'fastpath';

/** Dispatch maps `ifname : verdict`: a workload interface → its egress (`from`) or ingress (`to`) chain. */
export const MAP_WL_FROM = 'wl-from';
export const MAP_WL_TO = 'wl-to';

/** Calico's workload interface prefix (`cali` + 11 hex characters of sha1("<namespace>.<pod>")). */
export const WORKLOAD_IFACE_PREFIX = 'cali';

export type Dir = 'ingress' | 'egress';
const D: Record<Dir, string> = { ingress: 'i', egress: 'e' };

const MAX_READABLE = 200;

export function shortHash(text: string, length = 12): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * A 40-bit hex ID from a 64-bit FNV-1a hash (two 32-bit lanes): rule IDs are made for tens of thousands of rules
 * per sync, where a cryptographic hash per rule shows up in profiles. Stable across runs and versions.
 */
export function ruleIdHash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 15);
  }
  return ((h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0')).slice(0, 10);
}

/** Keeps nft identifier characters; anything else becomes `_`. */
function legal(text: string): string {
  return text.replace(/[^A-Za-z0-9_.\-]/g, '_');
}

function bounded(prefix: string, readable: string, identity: string): string {
  const clean = legal(readable);
  return prefix.length + clean.length <= MAX_READABLE && clean === readable ? prefix + clean : `${prefix}h.${shortHash(identity, 20)}`;
}

/** `we-<iface>` (egress, Felix `cali-fw-`) / `wi-<iface>` (ingress, Felix `cali-tw-`). */
export function endpointChain(dir: Dir, iface: string): string {
  return bounded(`w${D[dir]}-`, iface, `endpoint|${iface}`);
}

/** `te-<iface>-<tier>` / `ti-<iface>-<tier>`: one tier of one endpoint's policy list (§5.5). */
export function tierChain(dir: Dir, iface: string, tier: string): string {
  return bounded(`t${D[dir]}-`, `${iface}-${tier}`, `tier|${iface}|${tier}`);
}

/**
 * `pe-<kind>.<ns>.<name>` / `pi-…`: a policy's rules for one direction, shared by every endpoint. Kubernetes
 * namespaces hold no `.`, so the separators keep distinct policies distinct.
 */
export function policyChain(dir: Dir, shortKind: string, namespace: string | undefined, name: string): string {
  const readable = namespace ? `${shortKind}.${namespace}.${name}` : `${shortKind}.${name}`;
  return bounded(`p${D[dir]}-`, readable, `policy|${shortKind}|${namespace ?? ''}|${name}`);
}

/** `re-<profile>` / `ri-<profile>`: a profile's rules for one direction. */
export function profileChain(dir: Dir, profile: string): string {
  return bounded(`r${D[dir]}-`, profile, `profile|${profile}`);
}

/**
 * The nft sets of one engine IP set, per family: `s4-`/`s6-` for address sets (interval), `n4-`/`n6-` for
 * address+protocol+port sets. Engine IDs are content hashes; `:` and other non-identifier characters are
 * replaced as Felix's LegalizeSetName does.
 */
export function ipSetName(kind: 'net' | 'ip-port', family: 4 | 6, id: string): string {
  // Rules name their sets once per rule and family: remember names rather than hash tens of thousands of times.
  const names = setNames[kind][family];
  let name = names.get(id);
  if (name === undefined) {
    if (names.size > 100_000) names.clear();
    names.set(id, (name = bounded(`${kind === 'net' ? 's' : 'n'}${family}-`, id, `ipset|${id}`)));
  }
  return name;
}

/** Remembered names by kind, family and engine IP set ID. */
const setNames: Record<'net' | 'ip-port', Record<4 | 6, Map<string, string>>> = {
  net: { 4: new Map(), 6: new Map() },
  'ip-port': { 4: new Map(), 6: new Map() },
};

/** Host endpoints (dataplane.md §1.12, §5.7): base chains, one per hook, ahead of nothing Tabby's workloads need. */
export const CHAIN_IN_HEP = 'in-hep';
export const CHAIN_OUT_HEP = 'out-hep';
export const CHAIN_FWD_HEP_IN = 'fwd-hep-in';
export const CHAIN_FWD_HEP_OUT = 'fwd-hep-out';
/** Dispatch maps `ifname : verdict` for host endpoints with a named interface (Felix cali-from/to-host-endpoint). */
export const MAP_HEP_IN = 'hep-in';
export const MAP_HEP_OUT = 'hep-out';
export const MAP_HEPFW_IN = 'hepfw-in';
export const MAP_HEPFW_OUT = 'hepfw-out';
/** The default of each dispatch: empty, or a goto to the all-interfaces (`*`) host endpoint's chain. */
export const CHAIN_HEP_IN_ANY = 'hep-in-any';
export const CHAIN_HEP_OUT_ANY = 'hep-out-any';
export const CHAIN_HEPFW_IN_ANY = 'hepfw-in-any';
export const CHAIN_HEPFW_OUT_ANY = 'hepfw-out-any';
/** Failsafe chains (Felix cali-failsafe-in / -out): FailsafeInboundHostPorts / FailsafeOutboundHostPorts. */
export const CHAIN_FAILSAFE_IN = 'failsafe-in';
export const CHAIN_FAILSAFE_OUT = 'failsafe-out';

/** preDNAT (prerouting, mangle priority, before DNAT) and untracked (raw priority, before conntrack) stages. */
export const CHAIN_PRE_HEP = 'pre-hep';
export const CHAIN_RAW_HEP_IN = 'raw-hep-in';
export const CHAIN_RAW_HEP_OUT = 'raw-hep-out';
export const CHAIN_RAW_NOTRACK_IN = 'raw-notrack-in';
export const CHAIN_RAW_NOTRACK_OUT = 'raw-notrack-out';
export const MAP_HEP_PRE = 'hep-pre';
export const MAP_HEP_RAW_IN = 'hep-raw-in';
export const MAP_HEP_RAW_OUT = 'hep-raw-out';
export const CHAIN_HEP_PRE_ANY = 'hep-pre-any';
export const CHAIN_HEP_RAW_IN_ANY = 'hep-raw-in-any';
export const CHAIN_HEP_RAW_OUT_ANY = 'hep-raw-out-any';
/** Failsafes of the raw table: also the reverse direction (replies from the other list's ports), §1.11. */
export const CHAIN_FAILSAFE_RAW_IN = 'failsafe-raw-in';
export const CHAIN_FAILSAFE_RAW_OUT = 'failsafe-raw-out';
/**
 * The packet-mark bit that says "a host endpoint's untracked or preDNAT policy allowed this packet": the later
 * stages of that host endpoint accept it (Felix's accept mark; its default bit, 0x10000 of IptablesMarkMask
 * 0xffff0000, clear of kube-proxy's 0x4000/0x8000). The raw-notrack chains untrack what the raw stage marked.
 */
export const HEP_ACCEPT_MARK = '0x00010000';

export type HostStage = 'normal' | 'forward' | 'preDNAT' | 'untracked';
const S: Record<HostStage, string> = { normal: 'n', forward: 'f', preDNAT: 'p', untracked: 'u' };

/**
 * A host endpoint's chain for one stage and direction: `hni-<iface>` (traffic to the host arriving on iface,
 * Felix `cali-fh-`), `hne-<iface>` (from the host, `cali-th-`), `hfi-`/`hfe-` (forwarded through it, `cali-fhfw-`
 * / `cali-thfw-`). The all-interfaces endpoint (`*`) has `hni.all` etc.: no named interface gives a name without
 * the `-`.
 */
export function hostEndpointChain(stage: HostStage, dir: Dir, iface: string): string {
  return iface === '*' ? `h${S[stage]}${D[dir]}.all` : bounded(`h${S[stage]}${D[dir]}-`, iface, `hep|${stage}|${iface}`);
}

/** `thni-<iface>.<tier>` …: one tier of a host endpoint's policy list (tier names hold no `.`). */
export function hostTierChain(stage: HostStage, dir: Dir, iface: string, tier: string): string {
  const key = iface === '*' ? '*all' : iface;
  return bounded(`th${S[stage]}${D[dir]}-`, `${key}.${tier}`, `hep-tier|${stage}|${iface}|${tier}`);
}
