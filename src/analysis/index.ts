// Analysis over the engine's state: the reachability matrix, the policies that apply to an endpoint, and what a
// selector matches. Everything here reads a loaded PolicyEngine and returns plain data; printing is the CLI's.

export {
  matrixJsonHead,
  reachabilityMatrix,
  type MatrixOptions,
  type MatrixProgress,
  type MatrixStats,
  type ReachabilityMatrix,
} from './matrix.js';
export type { Mode } from './end-features.js';
export { externalPeers, type ExternalPeer } from './external-peers.js';
export {
  policiesFor,
  type EndpointSummary,
  type PoliciesForReport,
  type PolicyEntry,
  type StageEntry,
  type TierEntry,
} from './policies-for.js';
export { selectMatches, type NetworkSetSummary, type SelectOptions, type SelectReport } from './select.js';
export { resolveEndpoint } from './endpoint-ref.js';
export {
  reachabilityImpact,
  type ExternalClass,
  type FlowImpact,
  type ImpactCounts,
  type ImpactOptions,
  type ImpactProbe,
  type ReachabilityImpact,
  type VerdictChange,
  type VerdictSummary,
} from './impact.js';
export {
  describeResource,
  ruleText,
  type DescribeReport,
  type DescribeTarget,
  type NetworkSetDescription,
  type ObjectSummary,
  type PolicyDescription,
  type PolicyRef,
  type RbacDescription,
  type RuleReference,
  type RuleSummary,
  type TierDescription,
  type TierPlacement,
} from './describe.js';
export {
  shadowAnalysis,
  type Decider,
  type OverriddenDeny,
  type PolicyCoverage,
  type RuleShadow,
  type ShadowOptions,
  type ShadowReport,
} from './shadow.js';
export { serviceClasses, type ServiceClass } from './shadow-services.js';
export { classProbes, decidedByEvaluate, neverDecided, ruleKey, shadowKey, type Probes, type RuleKey } from './shadow-reference.js';
export * from './lint/index.js';
export { decisionText } from './decision-text.js';
export {
  cutCriticalFlows,
  lockoutCheck,
  type CriticalFlowPlace,
  type CriticalFlowStatus,
  type LockoutFinding,
  type LockoutOptions,
  type LockoutPeerKind,
  type LockoutReport,
} from './lockout.js';
export {
  criticalFlows,
  DEFAULT_CRITICAL_FLOWS,
  mergeFlows,
  flowLabel,
  parseLockoutPorts,
  type CriticalDirection,
  type CriticalFlow,
} from './lockout-flows.js';
