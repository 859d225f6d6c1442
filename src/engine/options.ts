// The engine's configuration: the FelixConfiguration settings that change verdicts, with Felix's defaults.
// The engine never reads files or the environment; the composition root (cli, daemon) passes these in, usually
// resolved from the datastore's FelixConfigurations (engineOptionsFromFelix).

import { FELIX_DEFAULTS, type FelixSettings, type ProtoPort } from '../api/index.js';

export interface FailsafePort {
  protocol: 'tcp' | 'udp' | 'sctp';
  port: number;
  /** Only traffic from (inbound) or to (outbound) this CIDR. */
  net?: string;
}

export interface EngineOptions {
  /** FelixConfiguration FailsafeInboundHostPorts (§3.8). */
  failsafeInboundHostPorts?: FailsafePort[];
  /** FelixConfiguration FailsafeOutboundHostPorts (§3.8). */
  failsafeOutboundHostPorts?: FailsafePort[];
  /**
   * FelixConfiguration DefaultEndpointToHostAction: what happens to a workload's traffic to its own host after
   * its egress policy allowed it (§3.7). Felix's default is Drop; calico.yaml sets Accept, and so does Tabby.
   * `Return` hands the packet back to the host's INPUT chain, which Tabby does not model: it counts as Accept.
   */
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  /** FelixConfiguration AllowVXLANPacketsFromWorkloads (default false: workload VXLAN is dropped, §3.3). */
  allowVXLANPacketsFromWorkloads?: boolean;
  /** FelixConfiguration AllowIPIPPacketsFromWorkloads (default false). */
  allowIPIPPacketsFromWorkloads?: boolean;
  /** FelixConfiguration VXLANPort. */
  vxlanPort?: number;
  /** How converted Kubernetes NetworkPolicies are named: `v3.32` keeps the name, `knp.default` prefixes it. */
  kubernetesPolicyNaming?: 'v3.32' | 'knp.default';
  /**
   * Where each FelixConfiguration option above was set (`--failsafe-inbound-host-ports`), for the sources the
   * engine reports (felixSettings). The options override the datastore's FelixConfigurations, as Felix's
   * environment overrides them.
   */
  optionSources?: Partial<Record<FelixOptionName, string>>;
}

/** The EngineOptions that are FelixConfiguration settings. */
export type FelixOptionName =
  | 'failsafeInboundHostPorts' | 'failsafeOutboundHostPorts' | 'defaultEndpointToHostAction'
  | 'allowVXLANPacketsFromWorkloads' | 'allowIPIPPacketsFromWorkloads' | 'vxlanPort';

export type ResolvedOptions = Required<Omit<EngineOptions, 'optionSources'>>;

/** An api ProtoPort (upper-case protocol, as calicoctl stores it) as the engine's FailsafePort. */
export function failsafePortOf(p: ProtoPort): FailsafePort {
  const port: FailsafePort = { protocol: (p.protocol ?? 'TCP').toLowerCase() as FailsafePort['protocol'], port: p.port };
  if (p.net !== undefined && p.net !== '') port.net = p.net;
  return port;
}

/** Felix's defaults (felix/config/config_params.go), kept once in api/felix-configuration.ts. */
export const DEFAULT_FAILSAFE_INBOUND: readonly FailsafePort[] = FELIX_DEFAULTS.failsafeInboundHostPorts.map(failsafePortOf);
export const DEFAULT_FAILSAFE_OUTBOUND: readonly FailsafePort[] = FELIX_DEFAULTS.failsafeOutboundHostPorts.map(failsafePortOf);

/**
 * The engine's part of the FelixConfiguration in force on a node (api effectiveFelixConfiguration): failsafes,
 * DefaultEndpointToHostAction and the workload encapsulation checks. The caller adds what is not Felix's
 * (kubernetesPolicyNaming).
 */
export function engineOptionsFromFelix(settings: FelixSettings): EngineOptions {
  return {
    failsafeInboundHostPorts: settings.failsafeInboundHostPorts.map(failsafePortOf),
    failsafeOutboundHostPorts: settings.failsafeOutboundHostPorts.map(failsafePortOf),
    defaultEndpointToHostAction: settings.defaultEndpointToHostAction,
    allowVXLANPacketsFromWorkloads: settings.allowVXLANPacketsFromWorkloads,
    allowIPIPPacketsFromWorkloads: settings.allowIPIPPacketsFromWorkloads,
    vxlanPort: settings.vxlanPort,
  };
}

export function resolveOptions(options: EngineOptions = {}): ResolvedOptions {
  return {
    failsafeInboundHostPorts: options.failsafeInboundHostPorts ?? [...DEFAULT_FAILSAFE_INBOUND],
    failsafeOutboundHostPorts: options.failsafeOutboundHostPorts ?? [...DEFAULT_FAILSAFE_OUTBOUND],
    defaultEndpointToHostAction: options.defaultEndpointToHostAction ?? FELIX_DEFAULTS.defaultEndpointToHostAction,
    allowVXLANPacketsFromWorkloads: options.allowVXLANPacketsFromWorkloads ?? false,
    allowIPIPPacketsFromWorkloads: options.allowIPIPPacketsFromWorkloads ?? false,
    vxlanPort: options.vxlanPort ?? 4789,
    kubernetesPolicyNaming: options.kubernetesPolicyNaming ?? 'v3.32',
  };
}
