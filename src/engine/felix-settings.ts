// The FelixConfiguration settings in force on each node, kept from the FelixConfigurations the engine is fed (the
// dispatcher records them here) and the options the engine was constructed with, which override the datastore as
// Felix's environment overrides it (api/felix-configuration.ts has the precedence). The verdict code asks
// `forNode(node)` for the node an evaluation happens on: a host endpoint's failsafes are its node's, a workload's
// encapsulation checks and its traffic to its own host follow its node's settings.

import {
  describeSource, effectiveFelixConfiguration, felixSettingValues, type EffectiveFelixConfiguration, type FelixConfiguration,
  type FelixConfigurationSpec, type FelixOverrides, type FelixSettings,
} from '../api/index.js';
import { engineOptionsFromFelix, type EngineOptions, type FailsafePort, type FelixOptionName } from './options.js';

/** The engine's per-node settings: what host-path.ts reads. */
export interface NodeSettings {
  failsafeInboundHostPorts: readonly FailsafePort[];
  failsafeOutboundHostPorts: readonly FailsafePort[];
  defaultEndpointToHostAction: 'Drop' | 'Accept' | 'Return';
  allowVXLANPacketsFromWorkloads: boolean;
  allowIPIPPacketsFromWorkloads: boolean;
  vxlanPort: number;
  /** Where each value came from when not the built-in default (`FelixConfiguration node.n1`), for traces. */
  sourceOf: Partial<Record<FelixOptionName, string>>;
}

/** EngineOptions fields that are FelixConfiguration settings, and so override the datastore's. */
function overridesOf(options: EngineOptions, sources: Partial<Record<keyof NodeSettings, string>>): FelixOverrides {
  const out: FelixOverrides = {};
  const what = (k: keyof NodeSettings): string => sources[k] ?? 'engine option';
  const toProto = (ports: readonly FailsafePort[]) => ports.map((p) => ({
    protocol: p.protocol.toUpperCase() as 'TCP' | 'UDP' | 'SCTP', port: p.port, ...(p.net !== undefined ? { net: p.net } : {}),
  }));
  if (options.failsafeInboundHostPorts) out.failsafeInboundHostPorts = { value: toProto(options.failsafeInboundHostPorts), what: what('failsafeInboundHostPorts') };
  if (options.failsafeOutboundHostPorts) out.failsafeOutboundHostPorts = { value: toProto(options.failsafeOutboundHostPorts), what: what('failsafeOutboundHostPorts') };
  if (options.defaultEndpointToHostAction) out.defaultEndpointToHostAction = { value: options.defaultEndpointToHostAction, what: what('defaultEndpointToHostAction') };
  if (options.allowVXLANPacketsFromWorkloads !== undefined) out.allowVXLANPacketsFromWorkloads = { value: options.allowVXLANPacketsFromWorkloads, what: what('allowVXLANPacketsFromWorkloads') };
  if (options.allowIPIPPacketsFromWorkloads !== undefined) out.allowIPIPPacketsFromWorkloads = { value: options.allowIPIPPacketsFromWorkloads, what: what('allowIPIPPacketsFromWorkloads') };
  if (options.vxlanPort !== undefined) out.vxlanPort = { value: options.vxlanPort, what: what('vxlanPort') };
  return out;
}

const FELIX_OPTION_NAMES: readonly FelixOptionName[] = [
  'failsafeInboundHostPorts', 'failsafeOutboundHostPorts', 'defaultEndpointToHostAction',
  'allowVXLANPacketsFromWorkloads', 'allowIPIPPacketsFromWorkloads', 'vxlanPort',
];

export class FelixSettingsIndex {
  private readonly configs = new Map<string, FelixConfigurationSpec>();
  private readonly overrides: FelixOverrides;
  private readonly effectiveCache = new Map<string, EffectiveFelixConfiguration>();
  private readonly nodeCache = new Map<string, NodeSettings>();
  /** Bumped on every change of a stored FelixConfiguration. */
  private rev = 0;

  constructor(options: EngineOptions) {
    this.overrides = overridesOf(options, options.optionSources ?? {});
  }

  get revision(): number {
    return this.rev;
  }

  /** A FelixConfiguration was upserted (spec) or deleted (undefined). */
  set(name: string, spec: FelixConfigurationSpec | undefined): void {
    if (spec === undefined ? !this.configs.has(name) : JSON.stringify(this.configs.get(name)) === JSON.stringify(spec)) return;
    if (spec === undefined) this.configs.delete(name);
    else this.configs.set(name, spec);
    this.rev++;
    this.effectiveCache.clear();
    this.nodeCache.clear();
  }

  /**
   * The settings on `node` (undefined: the cluster-wide ones), each with its source; with `overrides` false, what
   * the FelixConfigurations alone say (to tell a user which stored value an option overrides).
   */
  effective(node: string | undefined, overrides = true): EffectiveFelixConfiguration {
    const k = `${overrides ? 'o' : 'd'}${node ?? ''}`;
    let e = this.effectiveCache.get(k);
    if (!e) {
      const resources: FelixConfiguration[] = [...this.configs].map(([name, spec]) => ({
        apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec,
      }));
      e = effectiveFelixConfiguration(resources, node, overrides ? this.overrides : {});
      this.effectiveCache.set(k, e);
    }
    return e;
  }

  values(node: string | undefined): FelixSettings {
    return felixSettingValues(this.effective(node));
  }

  forNode(node: string | undefined): NodeSettings {
    const k = node ?? '';
    let s = this.nodeCache.get(k);
    if (!s) {
      const effective = this.effective(node);
      const sourceOf: NodeSettings['sourceOf'] = {};
      for (const k of FELIX_OPTION_NAMES) {
        const src = effective[k].source;
        if (src.kind !== 'builtin') sourceOf[k] = describeSource(src);
      }
      s = { ...(engineOptionsFromFelix(felixSettingValues(effective)) as Omit<NodeSettings, 'sourceOf'>), sourceOf };
      this.nodeCache.set(k, s);
    }
    return s;
  }
}
