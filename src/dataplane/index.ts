// The dataplane part: enforcing Calico policy with nftables on real Linux endpoints. README.md has the hook and
// priority diagram, the table contract and the naming. Other parts import only this file.
//
//   nft/      object model, transactions, `nft` behind an exec seam, an honest fake (knows nothing of policy)
//   render/   engine change feed → desired table → minimal transactions (pure)
//   netns/    namespaces, nodes and Calico-style workload wiring
//   probe/    probe agents: servers and fresh connections inside a workload
//   flowlog/  flow logs: the NFLOG/conntrack readers (tcpdump, conntrack -E) and the pure interval aggregator
//   agent.ts  the agent: src/sync feeds the engine, agent/ renders each batch into the kernel (enforced revision)
//   workloads.ts, ipam.ts: what `tabby node` / `tabby workload` do

export * as nft from './nft/index.js';
export * as flowlog from './flowlog/index.js';
export { NftTables, FakeNft, NftError, isNftError, hostExec, netnsExec, netnsPath, type Exec, type Nft } from './nft/index.js';
export { Renderer, Ruleset, type RenderOptions, type RuleMeaning, type Plan } from './render/index.js';
export { names } from './render/index.js';
export { Agent, type AgentOptions, type AgentSetting, type AgentState, type AgentStatus } from './agent.js';
export { AgentRunningError, AgentStopError, lockAgent, runningAgent, stopAgent } from './agent/lock.js';
export {
  adoptNode,
  adoptWorkload,
  createNode,
  getNode,
  listNodes,
  nodeExecArgv,
  type NodeView,
  NETNS_ANNOTATION,
  DEFAULT_PREFIX,
  Workloads,
  type WorkloadDeletion,
  type WorkloadSpec,
  type WorkloadView,
  type WorkloadsOptions,
} from './workloads.js';
export { addressesInUse, assignAddresses } from './ipam.js';
export {
  createNamespace,
  deleteNamespace,
  deleteOwnedNamespace,
  flowtableSupport,
  linkNames,
  interfaceAddresses,
  listNamespaces,
  namespaceExists,
  namespaceOwned,
  namespaceSupport,
  NetnsError,
  sweepNamespaces,
  unmarkedMessage,
} from './netns/namespace.js';
export { netnsPrefixProblem, nodeNameKey, nodeNetns, vethName, workloadNetns, type Naming } from './netns/topology.js';
export {
  deleteOutside, outsideExecArgv, outsideNetns, OUTSIDE_IPV4, OUTSIDE_IPV6, UPLINK_IFACE, UPLINK_IPV4_NET, UPLINK_IPV6_NET, type Uplink,
} from './netns/uplink.js';
export { ProbeAgent, rawSendSupport, type ProbeProtocol, type ProbeResult } from './probe/agent.js';
export { ArrivalCounter, PROBE_TABLE, type WatchedFlow } from './probe/arrivals.js';
export { rawPayload, rawProbeGap, type RawFlow } from './probe/raw-packet.js';
