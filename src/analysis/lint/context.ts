// The lint context: the loaded PolicyEngine (the judge of every semantic question: which policies apply to an
// endpoint, in which tier and order, what a rule matches) and the resources it was loaded from, with their source
// positions when they came from manifests. Built once per run; every rule reads it and none changes it.

import { kindKeyOf, NAMESPACE_NAME_LABEL, type KindKey, type LoadedResource, type PathSegment, type Resource } from '../../api/index.js';
import type { EndpointInfo, PolicyEngine } from '../../engine/index.js';
import { RULES } from './registry.js';
import {
  DEFAULT_SETTINGS,
  type LintContext,
  type LintPolicy,
  type LintResource,
  type LintSettings,
  type NamespaceInfo,
  type ResourceRef,
  type SourceLocation,
} from './types.js';

/** Input resources: from manifests (with positions) or a datastore (without). */
export type LintInput = ReadonlyArray<LoadedResource | { resource: Resource; source?: undefined }>;

const POLICY_KINDS: ReadonlySet<KindKey> = new Set<KindKey>([
  'NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy', 'KubernetesNetworkPolicy',
]);

const key = (kind: string, namespace: string | undefined, name: string): string => `${kind}\u0000${namespace ?? ''}\u0000${name}`;

export function buildLintContext(engine: PolicyEngine, input: LintInput, settings: Partial<LintSettings> = {}): LintContext {
  const resources: LintResource[] = input.map(({ resource, source }) => {
    const ref: ResourceRef = { kind: kindKeyOf(resource), name: resource.metadata.name };
    if (resource.metadata.namespace !== undefined) ref.namespace = resource.metadata.namespace;
    return source === undefined ? { resource, ref } : { resource, ref, source };
  });
  const byKey = new Map<string, LintResource>();
  for (const r of resources) byKey.set(key(r.ref.kind, r.ref.namespace, r.ref.name), r);

  const policiesByKey = new Map<string, LintPolicy>();
  const policies: LintPolicy[] = [];
  // Kubernetes policies are compiled under their own name (v3.32) or knp.default.<name> (older Calico naming).
  const knpPrefix = engine.settings.kubernetesPolicyNaming === 'knp.default' ? 'knp.default.' : '';
  for (const at of resources) {
    if (!POLICY_KINDS.has(at.ref.kind)) continue;
    const k8s = at.ref.kind === 'KubernetesNetworkPolicy' || at.ref.kind === 'StagedKubernetesNetworkPolicy';
    const name = k8s ? knpPrefix + at.ref.name : at.ref.name;
    const namespace = at.ref.kind.includes('Global') ? undefined : (at.ref.namespace ?? 'default');
    const compiled = engine.policy({ kind: at.ref.kind as Parameters<PolicyEngine['policy']>[0]['kind'], namespace, name });
    const entry: LintPolicy = compiled ? { at, compiled } : { at };
    policies.push(entry);
    policiesByKey.set(key(at.ref.kind, namespace, name), entry);
  }

  const endpoints = engine.endpoints();
  const namespaces = namespacesOf(resources, endpoints);
  const resolved: LintSettings = { ...DEFAULT_SETTINGS, now: new Date().toISOString(), ...settings };

  return {
    engine,
    resources,
    policies,
    endpoints,
    networkSets: engine.networkSets(),
    namespaces,
    settings: resolved,
    ruleIds: new Set(RULES.map((r) => r.id)),
    find: (kind, namespace, name) => byKey.get(key(kind, namespace, name)),
    endpointResource: (e) => byKey.get(key(e.source, e.namespace, e.name)),
    policyResource: (id) => policiesByKey.get(key(id.kind, id.kind.includes('Global') ? undefined : id.namespace, id.name)),
    locate: (at, path = []) => locationOf(at, path),
  };
}

function locationOf(at: LintResource, path: readonly PathSegment[]): SourceLocation | undefined {
  if (!at.source) return undefined;
  const p = at.source.positionOf(path);
  return { file: p.file, line: p.line, column: p.col };
}

/** Given Namespaces, and those only implied by a namespaced object (they exist in a real cluster). */
function namespacesOf(resources: readonly LintResource[], endpoints: readonly EndpointInfo[]): NamespaceInfo[] {
  const out = new Map<string, NamespaceInfo>();
  for (const at of resources) {
    if (at.ref.kind !== 'Namespace') continue;
    const labels = { [NAMESPACE_NAME_LABEL]: at.ref.name, ...(at.resource.metadata.labels ?? {}) };
    out.set(at.ref.name, { name: at.ref.name, labels, at });
  }
  const implied = (ns: string | undefined): void => {
    if (ns !== undefined && !out.has(ns)) out.set(ns, { name: ns, labels: { [NAMESPACE_NAME_LABEL]: ns } });
  };
  for (const e of endpoints) implied(e.namespace);
  for (const at of resources) implied(at.ref.namespace);
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
