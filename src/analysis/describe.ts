// What `tabby describe` shows about one object: the object itself (name, labels, annotations) and what the
// engine knows about it, as kubectl describe adds events and related objects to a resource.
//
//   policy       its effective selector and the endpoints it selects, its place in its tier (the tier's order and
//                defaultAction, the tier's policies before and after it, §3.2), and its rules as compiled (§1.8),
//                numbered as traces and the dataplane's rule IDs number them — so hit counts can be put beside them
//   endpoint     a Pod, WorkloadEndpoint or HostEndpoint: its effective labels, profiles and the policies that
//                apply per stage and direction (policies-for.ts)
//   tier         its order, defaultAction and policies in evaluation order
//   network set  its nets, effective labels and the policy rules whose selectors match it (rule selectors only,
//                §2.6)
//
// Everything here is plain data; the CLI prints it and adds what only a running agent knows (hit counts).

import {
  builtinTier, describeSource, FELIX_SETTING_NAMES, formatSettingValue, kindInfo, kindKeyOf, type ClusterRole,
  type ClusterRoleBinding, type FelixConfiguration, type Issue, type KindKey, type PolicyRule, type Resource, type Result,
  type Role, type RoleBinding, type RoleRef, type Subject,
} from '../api/index.js';
import {
  comparePolicies, protocolName, type CompiledPolicy, type CompiledRule, type Direction, type EntityMatch, type IpSetInfo,
  type PolicyEngine, type PolicyKind,
} from '../engine/index.js';
import { trySelector } from '../selector/index.js';
import { endpointSummary, policiesFor, sortedLabels, type EndpointSummary, type PoliciesForReport } from './policies-for.js';

export interface DescribeTarget {
  kind: KindKey;
  name: string;
  /** For namespaced kinds; `default` when absent. */
  namespace?: string;
}

export interface ObjectSummary {
  kind: string;
  apiVersion: string;
  name: string;
  namespace: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion: string | null;
  creationTimestamp: string | null;
}

export interface PolicyRef {
  kind: PolicyKind;
  /** `name` or `namespace/name`. */
  policy: string;
  /** Null: no order (sorts last, §3.2). */
  order: number | null;
  staged: boolean;
}

export interface RuleSummary {
  /** The rule's index in its direction: what traces and rule IDs report. */
  index: number;
  action: CompiledRule['action'];
  /** One line: `Allow TCP from selector "app == 'web'" to ports 80,443`. */
  text: string;
}

export interface TierPlacement {
  tier: string;
  /** Null: the tier has no order (sorts after every ordered tier). */
  tierOrder: number | null;
  defaultAction: 'Deny' | 'Pass';
  /** False: policies name the tier but no Tier resource defines it (sorted last, Deny, §3.2). */
  tierExists: boolean;
  /** 1-based place among the tier's policies, and how many it has. */
  position: number;
  count: number;
  before: PolicyRef[];
  after: PolicyRef[];
}

export interface PolicyDescription {
  id: PolicyRef;
  /** The effective selector after §1.8 (namespace clause, service accounts, namespaceSelector). */
  selector: string;
  types: Direction[];
  doNotTrack: boolean;
  preDNAT: boolean;
  applyOnForward: boolean;
  placement: TierPlacement;
  selects: EndpointSummary[];
  rules: { ingress: RuleSummary[]; egress: RuleSummary[] };
}

export interface TierDescription {
  order: number | null;
  defaultAction: 'Deny' | 'Pass';
  exists: boolean;
  policies: PolicyRef[];
}

export interface RuleReference {
  policy: PolicyRef;
  direction: Direction;
  index: number;
  /** Which side of the rule's match the set's nets fill: `source` or `destination`, `not` when negated. */
  side: 'source' | 'destination' | 'not source' | 'not destination';
}

export interface NetworkSetDescription {
  nets: string[];
  /** Effective labels, as rule selectors see them (own, namespace, profile labels, §1.7). */
  labels: Record<string, string>;
  selectedBy: RuleReference[];
}

export type DescribeReport =
  | { about: 'policy'; object: ObjectSummary; policy: PolicyDescription | null; notes: string[] }
  | { about: 'endpoint'; object: ObjectSummary; endpoint: PoliciesForReport | null; notes: string[] }
  | { about: 'tier'; object: ObjectSummary; tier: TierDescription; notes: string[] }
  | { about: 'network-set'; object: ObjectSummary; networkSet: NetworkSetDescription | null; notes: string[] }
  | { about: 'rbac'; object: ObjectSummary; rbac: RbacDescription; notes: string[] }
  | { about: 'object'; object: ObjectSummary; spec: unknown; notes: string[] };

/** A Role's or ClusterRole's rules, or a binding's role and subjects, as stored. */
export interface RbacDescription {
  rules?: PolicyRule[];
  roleRef?: RoleRef;
  subjects?: Subject[];
}

function objectSummary(r: Resource): ObjectSummary {
  const m = r.metadata;
  return {
    kind: r.kind, apiVersion: r.apiVersion, name: m.name,
    namespace: kindInfoOfKey(r).namespaced ? m.namespace ?? 'default' : null,
    labels: sortedLabels(m.labels ?? {}), annotations: sortedLabels(m.annotations ?? {}),
    resourceVersion: m.resourceVersion ?? null, creationTimestamp: m.creationTimestamp ?? null,
  };
}

function kindInfoOfKey(r: Resource) {
  return kindInfo(kindKeyOf(r));
}

function policyRef(p: CompiledPolicy): PolicyRef {
  return { kind: p.id.kind, policy: p.id.ref, order: p.order ?? null, staged: p.staged };
}

/** The tier's order and default action: its Tier resource, else the built-in tier's, else a missing tier (§3.2). */
function tierMeta(resources: readonly Resource[], name: string): { order: number | null; defaultAction: 'Deny' | 'Pass'; exists: boolean } {
  const t = resources.find((r) => r.kind === 'Tier' && r.metadata.name === name) as Extract<Resource, { kind: 'Tier' }> | undefined;
  if (t) return { order: t.spec.order ?? null, defaultAction: t.spec.defaultAction === 'Pass' ? 'Pass' : 'Deny', exists: true };
  const b = builtinTier(name);
  if (b) return { order: b.order ?? null, defaultAction: b.defaultAction, exists: true };
  return { order: null, defaultAction: 'Deny', exists: false };
}

function tierPolicies(engine: PolicyEngine, tier: string): CompiledPolicy[] {
  return engine.policies().filter((p) => p.tier === tier).sort(comparePolicies);
}

/** The compiled policy a stored policy became: a Kubernetes one keeps its name (v3.32) or gets `knp.default.`. */
function compiledPolicyOf(engine: PolicyEngine, r: Resource): CompiledPolicy | undefined {
  const key = kindKeyOf(r);
  const namespace = kindInfo(key).namespaced ? r.metadata.namespace ?? 'default' : undefined;
  const names = [r.metadata.name, `knp.default.${r.metadata.name}`];
  // Every policy kind compiles to a policy of its own kind key (a Kubernetes one: KubernetesNetworkPolicy).
  return engine.policies().find((p) => p.id.kind === key && names.includes(p.id.name) && p.id.namespace === namespace);
}

function ranges(list: ReadonlyArray<{ first: number; last: number }>): string {
  return list.map((p) => (p.first === p.last ? String(p.first) : `${p.first}-${p.last}`)).join(',');
}

function entityText(e: EntityMatch, sets: ReadonlyMap<string, IpSetInfo>): string[] {
  const parts: string[] = [];
  const selectorOf = (id: string): string => `selector (${sets.get(id)?.selector ?? id})`;
  if (e.nets.length > 0) parts.push(`nets ${e.nets.join(',')}`);
  if (e.notNets.length > 0) parts.push(`not nets ${e.notNets.join(',')}`);
  for (const id of e.ipSets) parts.push(selectorOf(id));
  for (const id of e.notIpSets) parts.push(`not ${selectorOf(id)}`);
  // Numeric and named ports are one list in a Calico rule (either may match), and are written as one here.
  const named = (ids: readonly string[]): string[] => ids.map((id) => sets.get(id)?.namedPort?.name ?? id);
  const ports = [ranges(e.ports), ...named(e.namedPortIpSets)].filter((p) => p !== '');
  const notPorts = [ranges(e.notPorts), ...named(e.notNamedPortIpSets)].filter((p) => p !== '');
  if (ports.length > 0) parts.push(`ports ${ports.join(',')}`);
  if (notPorts.length > 0) parts.push(`not ports ${notPorts.join(',')}`);
  return parts;
}

/** A compiled rule in one line, in the words of a Calico rule (action, protocol, source, destination). */
export function ruleText(r: CompiledRule, sets: ReadonlyMap<string, IpSetInfo>): string {
  const words: string[] = [r.action];
  if (r.ipVersion !== undefined) words.push(`IPv${r.ipVersion}`);
  if (r.protocol !== undefined) words.push(protocolName(r.protocol));
  if (r.notProtocol !== undefined) words.push(`not ${protocolName(r.notProtocol)}`);
  if (r.icmp) words.push(`type ${r.icmp.type}${r.icmp.code !== undefined ? ` code ${r.icmp.code}` : ''}`);
  if (r.notIcmp) words.push(`not type ${r.notIcmp.type}${r.notIcmp.code !== undefined ? ` code ${r.notIcmp.code}` : ''}`);
  const src = entityText(r.src, sets);
  const dst = entityText(r.dst, sets);
  if (src.length > 0) words.push(`from ${src.join(' ')}`);
  if (dst.length > 0) words.push(`to ${dst.join(' ')}`);
  if (src.length === 0 && dst.length === 0 && r.protocol === undefined) words.push('all traffic');
  if (r.neverMatches) words.push('(never matches: Tabby has no Services)');
  return words.join(' ');
}

function describePolicy(engine: PolicyEngine, resources: readonly Resource[], p: CompiledPolicy): PolicyDescription {
  const sets = new Map(engine.ipSets().map((s) => [s.id, s]));
  const inTier = tierPolicies(engine, p.tier);
  const at = inTier.findIndex((q) => q.id.kind === p.id.kind && q.id.ref === p.id.ref);
  const meta = tierMeta(resources, p.tier);
  const rules = (list: readonly CompiledRule[]): RuleSummary[] => list.map((r) => ({ index: r.index, action: r.action, text: ruleText(r, sets) }));
  return {
    id: policyRef(p), selector: p.selector, types: p.types, doNotTrack: p.doNotTrack, preDNAT: p.preDNAT,
    applyOnForward: p.applyOnForward,
    placement: {
      tier: p.tier, tierOrder: meta.order, defaultAction: meta.defaultAction, tierExists: meta.exists,
      position: at + 1, count: inTier.length,
      before: inTier.slice(0, at).map(policyRef), after: inTier.slice(at + 1).map(policyRef),
    },
    selects: engine.endpointsSelectedBy(p.id).sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)).map(endpointSummary),
    rules: { ingress: rules(p.rules.ingress), egress: rules(p.rules.egress) },
  };
}

/** The policy rules whose (rewritten) selectors match a network set's effective labels. */
function rulesSelecting(engine: PolicyEngine, labels: Readonly<Record<string, string>>): RuleReference[] {
  const matching = new Set<string>();
  for (const s of engine.ipSets()) {
    if (s.kind !== 'net') continue;
    const parsed = trySelector(s.selector);
    if (parsed.ok && parsed.selector.matches(labels)) matching.add(s.id);
  }
  const out: RuleReference[] = [];
  const policies = [...engine.policies()].sort((a, b) => (a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : comparePolicies(a, b)));
  for (const p of policies) {
    for (const direction of ['ingress', 'egress'] as const) {
      for (const r of p.rules[direction]) {
        const sides: Array<[string[], RuleReference['side']]> = [
          [r.src.ipSets, 'source'], [r.dst.ipSets, 'destination'], [r.src.notIpSets, 'not source'], [r.dst.notIpSets, 'not destination'],
        ];
        for (const [ids, side] of sides) {
          if (ids.some((id) => matching.has(id))) out.push({ policy: policyRef(p), direction, index: r.index, side });
        }
      }
    }
  }
  return out;
}

function endpointRefOf(r: Resource): string {
  return r.kind === 'HostEndpoint' ? `hep:${r.metadata.name}` : `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
}

function notFound(target: DescribeTarget): Result<DescribeReport> {
  const info = kindInfo(target.kind);
  const name = info.namespaced ? `${target.namespace ?? 'default'}/${target.name}` : target.name;
  const issue: Issue = { code: 'describe.not-found', path: [], message: `${info.kind} ${JSON.stringify(name)} not found`, value: name };
  return { ok: false, issues: [issue] };
}

function engineNotes(engine: PolicyEngine, r: Resource): string[] {
  const label = `${r.kind} ${kindInfoOfKey(r).namespaced ? `${r.metadata.namespace ?? 'default'}/` : ''}${r.metadata.name}`;
  return engine.issues().filter((i) => i.resource === label).map((i) => i.message);
}

/** The report for one object of `resources` (what the engine was loaded from); not-found when it is not there. */
export function describeResource(engine: PolicyEngine, resources: readonly Resource[], target: DescribeTarget): Result<DescribeReport> {
  const info = kindInfo(target.kind);
  const namespace = info.namespaced ? target.namespace ?? 'default' : undefined;
  const r = resources.find((x) => {
    const k = kindKeyOf(x);
    return k === target.kind && x.metadata.name === target.name && (!info.namespaced || (x.metadata.namespace ?? 'default') === namespace);
  });
  if (!r) {
    // The built-in tiers exist in every cluster without a Tier resource (§2.5): described as the API server shows them.
    const b = target.kind === 'Tier' ? builtinTier(target.name) : undefined;
    if (!b) return notFound(target);
    const meta = tierMeta(resources, b.name);
    const object: ObjectSummary = {
      kind: 'Tier', apiVersion: info.apiVersion, name: b.name, namespace: null, labels: {}, annotations: {}, resourceVersion: null, creationTimestamp: null,
    };
    return { ok: true, value: { about: 'tier', object, tier: { ...meta, policies: tierPolicies(engine, b.name).map(policyRef) }, notes: ['a built-in tier (no Tier resource stored)'] } };
  }
  const object = objectSummary(r);
  const notes = engineNotes(engine, r);
  if (info.policy) {
    const compiled = compiledPolicyOf(engine, r);
    if (!compiled && notes.length === 0) {
      // §2.4: a staged Delete never reaches Felix; it is the only policy the engine leaves out without an issue.
      notes.push('not evaluated: a staged Delete never reaches the dataplane (§2.4)');
    }
    return { ok: true, value: { about: 'policy', object, policy: compiled ? describePolicy(engine, resources, compiled) : null, notes } };
  }
  switch (target.kind) {
    case 'Pod':
    case 'WorkloadEndpoint':
    case 'HostEndpoint': {
      if (r.kind === 'HostEndpoint') notes.push(...failsafeNotes(engine, r.spec.node));
      const report = policiesFor(engine, endpointRefOf(r));
      return { ok: true, value: { about: 'endpoint', object, endpoint: report.ok ? report.value : null, notes } };
    }
    case 'Tier': {
      const meta = tierMeta(resources, r.metadata.name);
      return { ok: true, value: { about: 'tier', object, tier: { ...meta, policies: tierPolicies(engine, r.metadata.name).map(policyRef) }, notes } };
    }
    case 'NetworkSet':
    case 'GlobalNetworkSet': {
      const set = engine.networkSets().find((s) => s.kind === target.kind && s.name === r.metadata.name && s.namespace === namespace);
      const networkSet = set ? { nets: set.nets, labels: sortedLabels(set.labels), selectedBy: rulesSelecting(engine, set.labels) } : null;
      return { ok: true, value: { about: 'network-set', object, networkSet, notes } };
    }
    case 'FelixConfiguration':
      notes.push(...felixConfigurationNotes(r as FelixConfiguration));
      return { ok: true, value: { about: 'object', object, spec: (r as { spec?: unknown }).spec ?? null, notes } };
    case 'Role':
    case 'ClusterRole':
      return { ok: true, value: { about: 'rbac', object, rbac: { rules: (r as Role | ClusterRole).rules ?? [] }, notes } };
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const b = r as RoleBinding | ClusterRoleBinding;
      return { ok: true, value: { about: 'rbac', object, rbac: { roleRef: b.roleRef, subjects: b.subjects ?? [] }, notes } };
    }
    default:
      return { ok: true, value: { about: 'object', object, spec: (r as { spec?: unknown }).spec ?? null, notes } };
  }
}

/** The failsafe ports before a host endpoint's policy (§3.8), as its node's FelixConfiguration sets them. */
function failsafeNotes(engine: PolicyEngine, node: string | undefined): string[] {
  const settings = engine.felixSettings(node);
  return (['failsafeInboundHostPorts', 'failsafeOutboundHostPorts'] as const).map((name) => {
    const { value, source } = settings[name];
    return `${name === 'failsafeInboundHostPorts' ? 'failsafe inbound' : 'failsafe outbound'} (before any policy): ` +
      `${formatSettingValue(value)} (${describeSource(source)})`;
  });
}

/** Which nodes a FelixConfiguration configures, and which of its fields Tabby applies there (api/felix-configuration.ts). */
function felixConfigurationNotes(config: FelixConfiguration): string[] {
  const name = config.metadata.name;
  const node = name.startsWith('node.') ? name.slice('node.'.length) : undefined;
  if (name !== 'default' && node === undefined) {
    return ['applies to no node: Felix reads only FelixConfiguration default and node.<nodename>'];
  }
  const spec = config.spec ?? {};
  const known = new Set<string>(FELIX_SETTING_NAMES);
  const applied = Object.keys(spec).filter((f) => known.has(f));
  const ignored = Object.keys(spec).filter((f) => !known.has(f));
  const notes = [node === undefined
    ? 'applies to every node, for each field that the node\'s FelixConfiguration node.<nodename> does not set'
    : `applies to node ${node}, over FelixConfiguration default, field by field`];
  notes.push(applied.length === 0 ? 'sets no field Tabby applies'
    : `Tabby applies: ${applied.map((f) => `${f}=${formatSettingValue(spec[f])}`).join('; ')}`);
  if (ignored.length > 0) notes.push(`stored, not applied by Tabby: ${ignored.join(', ')}`);
  return notes;
}
