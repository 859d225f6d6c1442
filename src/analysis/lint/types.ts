// The vocabulary of `tabby lint`: a rule (stable ID, severity, the paragraph `--explain` prints, a check), what a
// check reports (a draft naming the resource and the field it is about), and the finding the runner makes of it
// (severity after the config's overrides, source position resolved, suppression applied). Everything is plain
// data that serialises to JSON unchanged; the CLI's JSON and SARIF are projections of LintReport.

import type { KindKey, PathSegment, Resource } from '../../api/index.js';
import type { SourceLocator } from '../../api/index.js';
import type { EndpointInfo, NetworkSetInfo, PolicyEngine } from '../../engine/index.js';
import type { CompiledPolicy } from '../../engine/index.js';
import type { CriticalFlow } from '../lockout-flows.js';

export type Severity = 'error' | 'warning' | 'info';

/** Least to most severe: `--fail-on warning` fails on warnings and errors. */
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error'];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** A resource as findings name it: the kind key (KubernetesNetworkPolicy for networking.k8s.io/v1), ns, name. */
export interface ResourceRef {
  kind: KindKey;
  namespace?: string;
  name: string;
}

/** 1-based, as the loader reports positions. Resources read from a datastore have none. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** One resource of the linted input, with where it was written (manifests only). */
export interface LintResource {
  resource: Resource;
  ref: ResourceRef;
  source?: SourceLocator;
}

/** A Namespace as selectors see it: its labels (kubernetes.io/metadata.name included when the manifest has it). */
export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  /** Undefined for a namespace only implied by the objects in it (no Namespace resource was given). */
  at?: LintResource;
}

/** A policy resource and what the engine compiled of it (undefined for a staged Delete, which never applies). */
export interface LintPolicy {
  at: LintResource;
  compiled?: CompiledPolicy;
}

/** Thresholds the rules read; `.tabby-lint.yaml` `settings:` overrides them. */
export interface LintSettings {
  /** A policy that selects at least this many endpoints counts as "selecting many" (default 2). */
  manyEndpoints: number;
  /** A staged policy older than this many days counts as forgotten (default 30). */
  stagedMaxAgeDays: number;
  /** Where DNS egress is probed when the input has no cluster DNS pod (k8s-app=kube-dns): the kube-dns address. */
  clusterDnsAddress: string;
  /** Where API-server egress is probed (TCP 443) for system endpoints: the API server's address as pods reach it. */
  apiServerAddress: string;
  /** The clock the age rules use (an ISO time; default now): fixed in tests. */
  now: string;
  /**
   * The critical host flows `host-critical-flow-cut` checks (default: the lockout check's defaults); the CLI adds
   * the `lockoutPorts` setting's. Not a .tabby-lint.yaml key: the setting is Tabby's, shared with apply.
   */
  lockoutFlows?: readonly CriticalFlow[];
}

export const DEFAULT_SETTINGS: Readonly<Omit<LintSettings, 'now'>> = {
  manyEndpoints: 2,
  stagedMaxAgeDays: 30,
  clusterDnsAddress: '10.96.0.10',
  apiServerAddress: '10.96.0.1',
};

/** What a check reads: the loaded engine and the resources it was loaded from. See context.ts. */
export interface LintContext {
  readonly engine: PolicyEngine;
  readonly resources: readonly LintResource[];
  readonly policies: readonly LintPolicy[];
  readonly endpoints: readonly EndpointInfo[];
  readonly networkSets: readonly NetworkSetInfo[];
  readonly namespaces: readonly NamespaceInfo[];
  readonly settings: Readonly<LintSettings>;
  /** Every rule ID the registry knows (whether or not it runs): what suppression annotations may name. */
  readonly ruleIds: ReadonlySet<string>;
  /** The resource by kind, namespace and name. */
  find(kind: KindKey, namespace: string | undefined, name: string): LintResource | undefined;
  /** The Pod, WorkloadEndpoint or HostEndpoint an engine endpoint came from. */
  endpointResource(endpoint: EndpointInfo): LintResource | undefined;
  /** The policy resource behind a compiled policy (or a trace's policy id). */
  policyResource(id: { kind: string; namespace?: string; name: string }): LintPolicy | undefined;
  /** Where a field of a resource is written; undefined for datastore input. */
  locate(at: LintResource, path?: readonly PathSegment[]): SourceLocation | undefined;
}

/** Another place a finding concerns: the rule that shadows, the policy that is missing an allow, … */
export interface RelatedDraft {
  at: LintResource;
  /** Field path inside `at` (e.g. ['spec', 'egress', 0]); its position becomes the related location. */
  path?: readonly PathSegment[];
  /** A rule of a policy, as traces name it: `egress[0]`. */
  rule?: string;
  message?: string;
}

/** What a check returns: the runner adds the rule ID, severity and position. */
export interface FindingDraft {
  at: LintResource;
  /** The field the finding is about; the finding is located there (or at the resource). */
  path?: readonly PathSegment[];
  message: string;
  /** The fix for this case; the rule's general fix when absent. */
  fix?: string;
  related?: readonly RelatedDraft[];
}

export interface LintRule {
  /** Stable: users write it in --enable, annotations and config files. kebab-case. */
  id: string;
  severity: Severity;
  /** One line: what is wrong. SARIF shortDescription. */
  title: string;
  /** One paragraph: why it is wrong in Calico's semantics. */
  explanation: string;
  /** A manifest (YAML) that triggers the rule. */
  bad: string;
  /** The closest manifest that does not. */
  good: string;
  /** What to do, in general. */
  fix: string;
  check(context: LintContext): FindingDraft[];
}

export interface RelatedItem {
  resource: ResourceRef;
  rule?: string;
  location?: SourceLocation;
  message?: string;
}

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  fix: string;
  resource: ResourceRef;
  location?: SourceLocation;
  related: RelatedItem[];
}

/** A finding an annotation suppressed: counted and listed, never silent. */
export interface SuppressedFinding {
  finding: Finding;
  /** `lint.tabby.dev/ignore-reason`, or undefined when the annotation gave none. */
  reason?: string;
}

export type LintCounts = Record<Severity, number> & { suppressed: number; total: number };

export interface LintReport {
  /** Sorted by file, line, column (input order for unlocated findings), then rule ID. */
  findings: Finding[];
  suppressed: SuppressedFinding[];
  counts: LintCounts;
  /** The rules that ran, in registry order, with the severity they ran at. */
  rules: Array<{ rule: LintRule; severity: Severity }>;
}
