// The engine's configuration: the FelixConfiguration settings that change verdicts, with Felix's defaults.
// The engine never reads files or the environment; the composition root (cli, daemon) passes these in.

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
}

export type ResolvedOptions = Required<EngineOptions>;

const tcp = (port: number): FailsafePort => ({ protocol: 'tcp', port });
const udp = (port: number): FailsafePort => ({ protocol: 'udp', port });

/** Felix's defaults (felix/config/config_params.go). */
export const DEFAULT_FAILSAFE_INBOUND: readonly FailsafePort[] = [
  tcp(22), udp(68), tcp(179), tcp(2379), tcp(2380), tcp(5473), tcp(6443), tcp(6666), tcp(6667),
];
export const DEFAULT_FAILSAFE_OUTBOUND: readonly FailsafePort[] = [
  udp(53), udp(67), tcp(179), tcp(2379), tcp(2380), tcp(5473), tcp(6443), tcp(6666), tcp(6667),
];

export function resolveOptions(options: EngineOptions = {}): ResolvedOptions {
  return {
    failsafeInboundHostPorts: options.failsafeInboundHostPorts ?? [...DEFAULT_FAILSAFE_INBOUND],
    failsafeOutboundHostPorts: options.failsafeOutboundHostPorts ?? [...DEFAULT_FAILSAFE_OUTBOUND],
    defaultEndpointToHostAction: options.defaultEndpointToHostAction ?? 'Accept',
    allowVXLANPacketsFromWorkloads: options.allowVXLANPacketsFromWorkloads ?? false,
    allowIPIPPacketsFromWorkloads: options.allowIPIPPacketsFromWorkloads ?? false,
    vxlanPort: options.vxlanPort ?? 4789,
    kubernetesPolicyNaming: options.kubernetesPolicyNaming ?? 'v3.32',
  };
}
