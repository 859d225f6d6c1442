// FelixConfiguration (api/pkg/apis/projectcalico/v3/felixconfig.go, Calico v3.32). Every field of Calico's
// FelixConfigurationSpec decodes with its Go type, so a manifest calicoctl accepts loads here and one it rejects for a
// wrong type or an unknown field is rejected here too. The value checks are libcalico-go validator.go's `validate:`
// tags (oneof, gte/lte, dropAcceptReturn, acceptReturn, dropReject) and validateProtoPort. Tabby applies only the
// fields api/felix-configuration.ts names; it checks those as strictly as calicoctl, plus what Tabby needs to use
// them (a failsafe port from 1 to 65535, a parsable failsafe `net`, a VXLAN port that is a port).

import type { FelixConfiguration } from '../types.js';
import type { Path, ValidationContext } from './context.js';
import type { CalicoKindValidation } from './kind.js';
import { msg } from './messages.js';
import { checkLaxNet } from './nets.js';
import { portSchema } from './ports.js';
import { arr, bool, int, obj, req, str, stringMap, type CustomSchema, type Schema } from './schema.js';

// Go's time.ParseDuration, which metav1.Duration's UnmarshalJSON calls on a JSON string: `0`, or one or more
// decimal numbers each with a unit (`1h30m`, `1.5s`, `300ms`), optionally signed.
const GO_DURATION = /^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$/;

export const durationSchema: CustomSchema = {
  type: 'custom',
  expected: 'a duration such as "30s", "1m30s" or "500ms"',
  decode(value) {
    if (typeof value !== 'string') return { ok: false, code: 'schema.type', message: msg.durationType(value) };
    if (!GO_DURATION.test(value)) return { ok: false, code: 'duration.invalid', message: msg.durationInvalid(value) };
    return { ok: true, value };
  },
};

const duration = (): Schema => durationSchema;
const oneOf = (...values: string[]): Schema => str({ enum: values });

const PROTO_PORT = obj('ProtoPort', {
  protocol: str(),
  port: int('uint16'),
  net: str(),
});

const HEALTH_TIMEOUT_OVERRIDE = obj('HealthTimeoutOverride', { name: req(str()), timeout: req(duration()) });
const ROUTE_TABLE_RANGE = obj('RouteTableRange', { min: req(int('int')), max: req(int('int')) });
const CONNTRACK_TIMEOUTS = obj('BPFConntrackTimeouts', Object.fromEntries(
  ['creationGracePeriod', 'tcpSynSent', 'tcpEstablished', 'tcpFinsSeen', 'tcpResetSeen', 'udpTimeout', 'genericTimeout',
    'icmpTimeout'].map((f) => [f, str()]),
));

/** Go `*uint32` fields (mark masks). */
const uint32 = (): Schema => ({ type: 'integer', min: 0, max: 2 ** 32 - 1, goType: 'uint32' });

/** The spec, field by field in felixconfig.go's order. */
const FIELDS: Record<string, Schema> = {
  useInternalDataplaneDriver: bool(),
  dataplaneDriver: str(),
  dataplaneWatchdogTimeout: duration(),
  ipv6Support: bool(),
  routeRefreshInterval: duration(),
  interfaceRefreshInterval: duration(),
  iptablesRefreshInterval: duration(),
  iptablesPostWriteCheckInterval: duration(),
  iptablesLockFilePath: str(),
  iptablesLockTimeout: duration(),
  iptablesLockProbeInterval: duration(),
  featureDetectOverride: str(),
  featureGates: str(),
  ipsetsRefreshInterval: duration(),
  maxIpsetSize: int('int'),
  iptablesBackend: oneOf('Legacy', 'NFT', 'Auto'),
  xdpRefreshInterval: duration(),
  netlinkTimeout: duration(),
  metadataAddr: str(),
  metadataPort: int('int'),
  openstackRegion: str(),
  interfacePrefix: str(),
  interfaceExclude: str(),
  chainInsertMode: str(),
  defaultEndpointToHostAction: oneOf('Drop', 'Accept', 'Return'),
  iptablesFilterAllowAction: oneOf('Accept', 'Return'),
  iptablesMangleAllowAction: oneOf('Accept', 'Return'),
  iptablesFilterDenyAction: oneOf('Drop', 'Reject'),
  logPrefix: str(),
  logActionRateLimit: str(),
  logActionRateLimitBurst: int('int'),
  logFilePath: str(),
  logSeverityFile: str(),
  logSeverityScreen: str(),
  logSeveritySys: str(),
  logDebugFilenameRegex: str(),
  ipipEnabled: bool(),
  ipipMTU: int('int'),
  vxlanEnabled: bool(),
  vxlanMTU: int('int'),
  vxlanMTUV6: int('int'),
  vxlanPort: int('int'),
  vxlanVNI: int('int'),
  allowVXLANPacketsFromWorkloads: bool(),
  allowIPIPPacketsFromWorkloads: bool(),
  reportingInterval: duration(),
  reportingTTL: duration(),
  endpointReportingEnabled: bool(),
  endpointReportingDelay: duration(),
  endpointStatusPathPrefix: str(),
  iptablesMarkMask: uint32(),
  disableConntrackInvalidCheck: bool(),
  healthEnabled: bool(),
  healthHost: str(),
  healthPort: int('int'),
  healthTimeoutOverrides: arr(HEALTH_TIMEOUT_OVERRIDE),
  prometheusMetricsEnabled: bool(),
  prometheusMetricsHost: str(),
  prometheusMetricsPort: int('int'),
  prometheusGoMetricsEnabled: bool(),
  prometheusProcessMetricsEnabled: bool(),
  prometheusWireGuardMetricsEnabled: bool(),
  failsafeInboundHostPorts: arr(PROTO_PORT),
  failsafeOutboundHostPorts: arr(PROTO_PORT),
  kubeNodePortRanges: arr(portSchema),
  policySyncPathPrefix: str(),
  usageReportingEnabled: bool(),
  usageReportingInitialDelay: duration(),
  usageReportingInterval: duration(),
  natPortRange: portSchema,
  natOutgoingAddress: str(),
  natOutgoingExclusions: oneOf('IPPoolsOnly', 'IPPoolsAndHostIPs'),
  deviceRouteSourceAddress: str(),
  deviceRouteSourceAddressIPv6: str(),
  deviceRouteProtocol: int('int'),
  removeExternalRoutes: bool(),
  programClusterRoutes: oneOf('Enabled', 'Disabled'),
  ipForwarding: oneOf('Enabled', 'Disabled'),
  externalNodesList: arr(str()),
  debugMemoryProfilePath: str(),
  debugDisableLogDropping: bool(),
  debugSimulateCalcGraphHangAfter: duration(),
  debugSimulateDataplaneHangAfter: duration(),
  debugSimulateDataplaneApplyDelay: duration(),
  debugHost: str(),
  debugPort: int('int'),
  iptablesNATOutgoingInterfaceFilter: str(),
  sidecarAccelerationEnabled: bool(),
  xdpEnabled: bool(),
  genericXDPEnabled: bool(),
  nftablesMode: oneOf('Disabled', 'Enabled', 'Auto'),
  nftablesRefreshInterval: duration(),
  nftablesFilterAllowAction: oneOf('Accept', 'Return'),
  nftablesMangleAllowAction: oneOf('Accept', 'Return'),
  nftablesFilterDenyAction: oneOf('Drop', 'Reject'),
  nftablesMarkMask: uint32(),
  bpfEnabled: bool(),
  bpfDisableUnprivileged: bool(),
  bpfLogLevel: str(),
  bpfConntrackLogLevel: oneOf('Off', 'Debug'),
  bpfConntrackMode: oneOf('Auto', 'Userspace', 'BPFProgram'),
  bpfConntrackTimeouts: CONNTRACK_TIMEOUTS,
  bpfLogFilters: stringMap(),
  bpfCTLBLogFilter: str(),
  bpfDataIfacePattern: str(),
  bpfL3IfacePattern: str(),
  bpfConnectTimeLoadBalancingEnabled: bool(),
  bpfConnectTimeLoadBalancing: oneOf('TCP', 'Enabled', 'Disabled'),
  bpfHostNetworkedNATWithoutCTLB: oneOf('Enabled', 'Disabled'),
  bpfExternalServiceMode: str(),
  bpfDSROptoutCIDRs: arr(str()),
  bpfExtToServiceConnmark: int('int'),
  bpfKubeProxyIptablesCleanupEnabled: bool(),
  bpfKubeProxyMinSyncPeriod: duration(),
  bpfKubeProxyEndpointSlicesEnabled: bool(),
  bpfPSNATPorts: portSchema,
  bpfMapSizeNATFrontend: int('int'),
  bpfMapSizeNATBackend: int('int'),
  bpfMapSizeNATAffinity: int('int'),
  bpfMapSizeRoute: int('int'),
  bpfMapSizeConntrack: int('int'),
  bpfMapSizePerCpuConntrack: int('int'),
  bpfMapSizeConntrackScaling: str(),
  bpfMapSizeConntrackCleanupQueue: int('int'),
  bpfMapSizeIPSets: int('int'),
  bpfMapSizeIfState: int('int'),
  bpfHostConntrackBypass: bool(),
  bpfEnforceRPF: str(),
  bpfPolicyDebugEnabled: bool(),
  bpfForceTrackPacketsFromIfaces: arr(str()),
  bpfDisableGROForIfaces: str(),
  bpfExcludeCIDRsFromNAT: arr(str()),
  bpfExportBufferSizeMB: int('int'),
  flowLogsPolicyEvaluationMode: oneOf('None', 'Continuous'),
  bpfRedirectToPeer: str(),
  flowLogsFlushInterval: duration(),
  flowLogsCollectorDebugTrace: bool(),
  flowLogsGoldmaneServer: str(),
  flowLogsLocalReporter: oneOf('Disabled', 'Enabled'),
  bpfProfiling: str(),
  routeSource: str(),
  routeTableRanges: arr(ROUTE_TABLE_RANGE),
  routeTableRange: ROUTE_TABLE_RANGE,
  routeSyncDisabled: bool(),
  wireguardEnabled: bool(),
  wireguardEnabledV6: bool(),
  wireguardThreadingEnabled: bool(),
  wireguardListeningPort: int('int'),
  wireguardListeningPortV6: int('int'),
  wireguardRoutingRulePriority: int('int'),
  wireguardInterfaceName: str(),
  wireguardInterfaceNameV6: str(),
  wireguardMTU: int('int'),
  wireguardMTUV6: int('int'),
  wireguardHostEncryptionEnabled: bool(),
  wireguardKeepAlive: duration(),
  awsSrcDstCheck: oneOf('DoNothing', 'Enable', 'Disable'),
  serviceLoopPrevention: oneOf('Drop', 'Reject', 'Disabled'),
  workloadSourceSpoofing: oneOf('Disabled', 'Any'),
  mtuIfacePattern: str(),
  floatingIPs: oneOf('Enabled', 'Disabled'),
  windowsManageFirewallRules: oneOf('Enabled', 'Disabled'),
  goGCThreshold: int('int'),
  goMemoryLimitMB: int('int'),
  goMaxProcs: int('int'),
  requireMTUFile: bool(),
};

/** The `gte`/`lte`/`gt`/`lt` tags of felixconfig.go, as inclusive bounds. */
const BOUNDS: Record<string, readonly [number, number]> = {
  debugPort: [0, 65535],
  wireguardListeningPort: [1, 65535],
  wireguardListeningPortV6: [1, 65535],
  wireguardRoutingRulePriority: [1, 32765],
  bpfExtToServiceConnmark: [0, 4294967295],
  bpfMapSizeConntrackCleanupQueue: [1, Number.MAX_SAFE_INTEGER],
  goGCThreshold: [-1, Number.MAX_SAFE_INTEGER],
  goMemoryLimitMB: [-1, Number.MAX_SAFE_INTEGER],
  goMaxProcs: [-1, Number.MAX_SAFE_INTEGER],
  // Not a tag: Tabby matches this port in the workload egress chains (§3.3), so it must be one.
  vxlanPort: [1, 65535],
};

const FAILSAFE_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

function checkProtoPorts(ctx: ValidationContext, entries: FelixConfiguration['spec']['failsafeInboundHostPorts'], path: Path): void {
  entries?.forEach((entry, i) => {
    const at = [...path, i];
    if (!ctx.intact(at)) return;
    // validateProtoPort: exact case, so `tcp` is refused as calicoctl refuses it (Felix's env-var form is lower case).
    if (!(FAILSAFE_PROTOCOLS as readonly string[]).includes(entry.protocol ?? '')) {
      ctx.report('protoPort.protocol', [...at, 'protocol'], msg.protoPortProtocol(entry.protocol), entry.protocol);
    }
    if ((entry.port ?? 0) === 0) ctx.report('protoPort.port', [...at, 'port'], msg.protoPortPort());
    if (entry.net !== undefined && entry.net !== '') checkLaxNet(ctx, entry.net, [...at, 'net']);
  });
}

export const felixConfigurationKind: CalicoKindValidation<FelixConfiguration> = {
  nameRule: 'subdomain',
  spec: obj('FelixConfigurationSpec', FIELDS),
  check(ctx, config) {
    const spec = config.spec;
    checkProtoPorts(ctx, spec.failsafeInboundHostPorts, ['spec', 'failsafeInboundHostPorts']);
    checkProtoPorts(ctx, spec.failsafeOutboundHostPorts, ['spec', 'failsafeOutboundHostPorts']);
    for (const [field, [min, max]] of Object.entries(BOUNDS)) {
      const v = spec[field];
      if (typeof v === 'number' && (v < min || v > max) && ctx.intact(['spec', field])) {
        ctx.report('felixConfiguration.range', ['spec', field], msg.felixRange(field, min, max), v);
      }
    }
  },
};
