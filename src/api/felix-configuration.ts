// The FelixConfiguration settings Tabby applies, resolved for one node the way Felix resolves them
// (felix/config/config_params.go, "Configuring Felix"): for each field separately, the first of
//
//   1. an override the process was started with (Felix: environment or config file; Tabby: `tabby agent` flags),
//   2. FelixConfiguration `node.<nodename>`,
//   3. FelixConfiguration `default`,
//   4. the built-in default,
//
// that sets it. A field set to an empty list counts as set (`failsafeInboundHostPorts: []` turns the failsafes off,
// as in Felix). Any other name is stored and ignored, as Felix ignores it. Pure: the callers (the CLI's engine input,
// the agent) pass the resources they read.

import { parseCidrOrIp } from './net.js';
import type { FelixConfiguration, FelixConfigurationSpec, ProtoPort, Resource } from './types.js';

const tcp = (port: number): ProtoPort => ({ protocol: 'TCP', port });
const udp = (port: number): ProtoPort => ({ protocol: 'UDP', port });

/** The settings Tabby applies, with the values each takes when nothing sets it. */
export interface FelixSettings {
  failsafeInboundHostPorts: ProtoPort[];
  failsafeOutboundHostPorts: ProtoPort[];
  defaultEndpointToHostAction: 'Drop' | 'Accept' | 'Return';
  allowVXLANPacketsFromWorkloads: boolean;
  allowIPIPPacketsFromWorkloads: boolean;
  vxlanPort: number;
  /** Flow-log settings: resolved and reported now, used by the flow-log work. */
  flowLogsFlushInterval: string;
  flowLogsCollectorDebugTrace: boolean;
  flowLogsGoldmaneServer: string;
  flowLogsLocalReporter: 'Disabled' | 'Enabled';
  flowLogsPolicyEvaluationMode: 'None' | 'Continuous';
}

export type FelixSettingName = keyof FelixSettings;

/** Felix's defaults (config_params.go), except DefaultEndpointToHostAction: see below. */
export const FELIX_DEFAULTS: Readonly<FelixSettings> = Object.freeze({
  failsafeInboundHostPorts: [tcp(22), udp(68), tcp(179), tcp(2379), tcp(2380), tcp(5473), tcp(6443), tcp(6666), tcp(6667)],
  failsafeOutboundHostPorts: [udp(53), udp(67), tcp(179), tcp(2379), tcp(2380), tcp(5473), tcp(6443), tcp(6666), tcp(6667)],
  // Felix's own default is Drop; Calico's manifests (calico.yaml, the operator) set Accept, and Tabby has always
  // behaved as an installed Calico does (calico-semantics.md §3.7).
  defaultEndpointToHostAction: 'Accept',
  allowVXLANPacketsFromWorkloads: false,
  allowIPIPPacketsFromWorkloads: false,
  vxlanPort: 4789,
  flowLogsFlushInterval: '15s',
  flowLogsCollectorDebugTrace: false,
  flowLogsGoldmaneServer: '',
  flowLogsLocalReporter: 'Disabled',
  flowLogsPolicyEvaluationMode: 'Continuous',
});

export const FELIX_SETTING_NAMES = Object.keys(FELIX_DEFAULTS) as FelixSettingName[];

/** Where a value came from, in words a user can act on. */
export type FelixSettingSource =
  | { kind: 'override'; what: string }
  | { kind: 'node'; name: string }
  | { kind: 'default'; name: 'default' }
  | { kind: 'builtin' };

export interface EffectiveSetting<T> {
  value: T;
  source: FelixSettingSource;
}

export type EffectiveFelixConfiguration = { [K in FelixSettingName]: EffectiveSetting<FelixSettings[K]> };

/** Overrides given at start (`tabby agent` flags), each with the flag that set it. */
export type FelixOverrides = { [K in FelixSettingName]?: { value: FelixSettings[K]; what: string } };

/** `node.<nodename>`, the name Calico gives a node's own FelixConfiguration. */
export function nodeFelixConfigurationName(node: string): string {
  return `node.${node}`;
}

export function describeSource(source: FelixSettingSource): string {
  switch (source.kind) {
    case 'override': return source.what;
    case 'node': return `FelixConfiguration ${source.name}`;
    case 'default': return 'FelixConfiguration default';
    case 'builtin': return 'built-in default';
  }
}

function isFelixConfiguration(r: Resource): r is FelixConfiguration {
  return r.kind === 'FelixConfiguration' && r.apiVersion === 'projectcalico.org/v3';
}

function copyValue<T>(v: T): T {
  return (Array.isArray(v) ? v.map((e: unknown) => (typeof e === 'object' && e !== null ? { ...e } : e)) : v) as T;
}

/**
 * The settings in force on `node` (undefined: the cluster-wide ones, `default` over the built-in defaults), each with
 * its source. `resources` may hold anything; only FelixConfigurations named `default` and `node.<node>` count.
 */
export function effectiveFelixConfiguration(
  resources: Iterable<Resource>,
  node: string | undefined,
  overrides: FelixOverrides = {},
): EffectiveFelixConfiguration {
  let global: FelixConfigurationSpec | undefined;
  let own: FelixConfigurationSpec | undefined;
  const ownName = node === undefined ? undefined : nodeFelixConfigurationName(node);
  for (const r of resources) {
    if (!isFelixConfiguration(r)) continue;
    if (r.metadata.name === 'default') global = r.spec;
    else if (ownName !== undefined && r.metadata.name === ownName) own = r.spec;
  }
  const out = {} as Record<FelixSettingName, EffectiveSetting<unknown>>;
  for (const name of FELIX_SETTING_NAMES) {
    const o = overrides[name];
    const fromNode = own?.[name];
    const fromDefault = global?.[name];
    out[name] = o !== undefined ? { value: copyValue(o.value), source: { kind: 'override', what: o.what } }
      : fromNode !== undefined && ownName !== undefined ? { value: copyValue(fromNode), source: { kind: 'node', name: ownName } }
        : fromDefault !== undefined ? { value: copyValue(fromDefault), source: { kind: 'default', name: 'default' } }
          : { value: copyValue(FELIX_DEFAULTS[name]), source: { kind: 'builtin' } };
  }
  return out as EffectiveFelixConfiguration;
}

/** The values alone. */
export function felixSettingValues(effective: EffectiveFelixConfiguration): FelixSettings {
  return Object.fromEntries(FELIX_SETTING_NAMES.map((n) => [n, effective[n].value])) as unknown as FelixSettings;
}

/** `tcp:22`, `udp:10.0.0.0/8:68`: Felix's own text form of a failsafe entry (lower-case protocol). */
export function formatProtoPort(p: ProtoPort): string {
  const proto = (p.protocol ?? 'TCP').toLowerCase();
  if (p.net === undefined || p.net === '') return `${proto}:${p.port}`;
  return p.net.includes(':') ? `${proto}:[${p.net}]:${p.port}` : `${proto}:${p.net}:${p.port}`;
}

/** A setting's value as one line of text (status, describe). */
export function formatSettingValue(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'none' : (value as ProtoPort[]).map(formatProtoPort).join(',');
  if (value === '') return '""';
  return String(value);
}

/**
 * Parses Felix's text form of a failsafe list (FELIX_FAILSAFEINBOUNDHOSTPORTS): `none`, or comma-separated
 * `[protocol:][net:]port` entries, protocol tcp (the default), udp or sctp in any case, an IPv6 net in brackets.
 * Returns the entries, or a message saying what is wrong with which entry.
 */
export function parseProtoPortList(text: string): { ok: true; value: ProtoPort[] } | { ok: false; message: string } {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'none' || trimmed === '') return { ok: true, value: [] };
  const out: ProtoPort[] = [];
  for (const raw of trimmed.split(',')) {
    const entry = raw.trim();
    const m = /^(?:(tcp|udp|sctp):)?(?:(\[[^\]]+\]|[^:[\]]+):)?([0-9]+)$/i.exec(entry);
    const port = m ? Number(m[3]) : NaN;
    if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
      return { ok: false, message: `${JSON.stringify(entry)} is not a failsafe entry: expected [tcp|udp|sctp:][CIDR:]PORT with PORT 1–65535, e.g. tcp:22 or udp:10.0.0.0/8:68 (or "none")` };
    }
    const p: ProtoPort = { protocol: (m[1] ?? 'tcp').toUpperCase() as 'TCP' | 'UDP' | 'SCTP', port };
    if (m[2] !== undefined) {
      const net = m[2].replace(/^\[|\]$/g, '');
      if (!parseCidrOrIp(net)) {
        const why = /^[a-z]+$/i.test(net) ? 'is not a protocol a failsafe entry takes (tcp, udp or sctp)' : 'is not an IP or CIDR';
        return { ok: false, message: `${JSON.stringify(entry)}: ${JSON.stringify(net)} ${why}` };
      }
      p.net = net;
    }
    out.push(p);
  }
  return { ok: true, value: out };
}
