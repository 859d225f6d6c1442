// The renderer's settings (FelixConfiguration fields that change what is programmed) and their defaults.

import { FELIX_DEFAULTS } from '../../api/index.js';
import { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND, type FailsafePort } from '../../engine/index.js';

export interface RenderOptions {
  /** The node whose workload endpoints are rendered (EndpointInfo.node). */
  node: string;
  /** FelixConfiguration DefaultEndpointToHostAction (§3.7); Tabby's default is Accept, as calico.yaml sets it. */
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  allowVXLANPacketsFromWorkloads?: boolean;
  allowIPIPPacketsFromWorkloads?: boolean;
  vxlanPort?: number;
  /** Strict reverse-path check on workload sources (Felix's raw-PREROUTING anti-spoofing). Default true. */
  antiSpoofing?: boolean;
  /** Also send every policy verdict to NFLOG (group 1 ingress, 2 egress), for flow logs. Default false. */
  flowLogs?: boolean;
  /** NFLOG group of the Log action. Default 3. */
  logGroup?: number;
  /**
   * Felix's NFTablesFlowTableOffload: a flowtable (devices set by the agent: ruleset.setFlowtableDevices) and a
   * `fwd-offload` base chain after both policy chains that offloads established TCP and UDP flows. Default false.
   */
  flowtableOffload?: boolean;
  /** FelixConfiguration FailsafeInboundHostPorts (§3.8); default Felix's (engine options.ts). */
  failsafeInboundHostPorts?: readonly FailsafePort[];
  /** FelixConfiguration FailsafeOutboundHostPorts. */
  failsafeOutboundHostPorts?: readonly FailsafePort[];
}

export type Settings = Required<RenderOptions>;

/** The settings that come from FelixConfiguration, which the agent may change while it runs (Renderer.updateSettings). */
export type FelixRenderSettings = Pick<Settings,
  'defaultEndpointToHostAction' | 'allowVXLANPacketsFromWorkloads' | 'allowIPIPPacketsFromWorkloads' | 'vxlanPort' |
  'failsafeInboundHostPorts' | 'failsafeOutboundHostPorts'>;

export function withDefaults(options: RenderOptions): Settings {
  return {
    defaultEndpointToHostAction: FELIX_DEFAULTS.defaultEndpointToHostAction,
    allowVXLANPacketsFromWorkloads: false,
    allowIPIPPacketsFromWorkloads: false,
    vxlanPort: 4789,
    antiSpoofing: true,
    flowLogs: false,
    logGroup: 3,
    flowtableOffload: false,
    failsafeInboundHostPorts: DEFAULT_FAILSAFE_INBOUND,
    failsafeOutboundHostPorts: DEFAULT_FAILSAFE_OUTBOUND,
    ...options,
  };
}
