// Calico's defaulting (calico-semantics.md §2.10, §2.5): what a resource looks like once Calico has stored it.
// Each kind declares its own defaulter in DEFAULTERS; `applyDefaults` is pure and never mutates its input.
// Kubernetes objects get the API server's defaults instead (kubernetes/defaults.ts), at both stages: the API
// server applies them before it validates, and Calico only ever sees them defaulted.
//
// Two stages, because validation must see the object as Calico's validator sees it:
//   * `applyAdmissionDefaults` — what happens BEFORE validation: CRD `+kubebuilder:default` markers (policy `tier`,
//     `stagedAction`, Tier `defaultAction`) and the libcalico-go client's Tier order default. CEL rules run after
//     these, so a `default` tier with only `order` is valid (§5.6).
//   * `applyDefaults` — everything, including what Calico fills in on create after validation (policy `types`
//     inferred from the rules, the `projectcalico.org/tier` label, IPPool fields).

import { kindFromManifest, type KindKey } from './kinds.js';
import { applyKubernetesDefaults } from './kubernetes/defaults.js';
import type {
  GlobalNetworkPolicy,
  IPPool,
  NetworkPolicy,
  NetworkPolicySpec,
  PolicyType,
  Resource,
  StagedAction,
  StagedGlobalNetworkPolicy,
  StagedKubernetesNetworkPolicy,
  StagedNetworkPolicy,
  Tier,
  TierDefaultAction,
} from './types.js';

export const DEFAULT_TIER_NAME = 'default';
/** `projectcalico.org/tier`, set on NetworkPolicy and GlobalNetworkPolicy metadata on create (§2.2). */
export const TIER_LABEL = 'projectcalico.org/tier';
export const DEFAULT_TIER_ORDER = 1_000_000;

export interface BuiltinTier {
  name: string;
  order: number;
  defaultAction: TierDefaultAction;
}

/** Tiers whose order and defaultAction Calico v3.32 fixes by CEL (§2.5). */
export const BUILTIN_TIERS: readonly BuiltinTier[] = [
  { name: 'default', order: DEFAULT_TIER_ORDER, defaultAction: 'Deny' },
  { name: 'kube-admin', order: 1_000, defaultAction: 'Pass' },
  { name: 'kube-baseline', order: 10_000_000, defaultAction: 'Pass' },
];

export function builtinTier(name: string): BuiltinTier | undefined {
  return BUILTIN_TIERS.find((t) => t.name === name);
}

/** §2.10: no egress rules → [Ingress]; egress only → [Egress]; both → [Ingress, Egress]. */
export function inferPolicyTypes(spec: Pick<NetworkPolicySpec, 'ingress' | 'egress'>): PolicyType[] {
  const ingress = (spec.ingress?.length ?? 0) > 0;
  const egress = (spec.egress?.length ?? 0) > 0;
  if (!egress) return ['Ingress'];
  if (!ingress) return ['Egress'];
  return ['Ingress', 'Egress'];
}

type CalicoPolicyResource = NetworkPolicy | GlobalNetworkPolicy | StagedNetworkPolicy | StagedGlobalNetworkPolicy;

interface Defaulter<R extends Resource = Resource> {
  /** Defaults Calico applies before validating (CRD markers, libcalico-go client). Mutates its (copied) argument. */
  admission?(resource: R): void;
  /** Defaults Calico applies when it stores the object. Mutates its (copied) argument. */
  stored?(resource: R): void;
}

function defaultTierField(p: CalicoPolicyResource): void {
  if (p.spec.tier === undefined || p.spec.tier === '') p.spec.tier = DEFAULT_TIER_NAME;
}

function defaultStagedAction(p: StagedNetworkPolicy | StagedGlobalNetworkPolicy | StagedKubernetesNetworkPolicy): void {
  if (p.spec.stagedAction === undefined || (p.spec.stagedAction as string) === '') p.spec.stagedAction = 'Set';
}

function isStagedDelete(p: CalicoPolicyResource | StagedKubernetesNetworkPolicy): boolean {
  return 'stagedAction' in p.spec && (p.spec.stagedAction as StagedAction | undefined) === 'Delete';
}

function defaultTypes(p: CalicoPolicyResource): void {
  // A staged Delete must keep every field but tier empty (§5.3), and never reaches Felix anyway (§2.4).
  if (isStagedDelete(p)) return;
  if (p.spec.types === undefined || p.spec.types.length === 0) p.spec.types = inferPolicyTypes(p.spec);
}

function setTierLabel(p: NetworkPolicy | GlobalNetworkPolicy): void {
  const tier = p.spec.tier ?? DEFAULT_TIER_NAME;
  p.metadata.labels = { ...(p.metadata.labels ?? {}), [TIER_LABEL]: tier };
}

const enforcedPolicy: Defaulter<NetworkPolicy | GlobalNetworkPolicy> = {
  admission: defaultTierField,
  stored(p) {
    defaultTypes(p);
    setTierLabel(p);
  },
};

const stagedPolicy: Defaulter<StagedNetworkPolicy | StagedGlobalNetworkPolicy> = {
  admission(p) {
    defaultTierField(p);
    defaultStagedAction(p);
  },
  stored: defaultTypes,
};

const tier: Defaulter<Tier> = {
  // libcalico-go `DefaultTierFields` (Create/Update/Get/List): nil order → 1e6, nil defaultAction → Deny. The
  // built-in tiers' fixed values are left to validation to insist on, exactly as Calico does.
  admission(t) {
    if (t.spec.order === undefined) t.spec.order = DEFAULT_TIER_ORDER;
    if (t.spec.defaultAction === undefined) t.spec.defaultAction = 'Deny';
  },
};

/** A built-in tier nobody wrote down (e.g. one the engine synthesises) gets its fixed values. */
function storedTier(t: Tier): void {
  const builtin = builtinTier(t.metadata.name);
  if (builtin) {
    if (t.spec.order === undefined) t.spec.order = builtin.order;
    if (t.spec.defaultAction === undefined) t.spec.defaultAction = builtin.defaultAction;
  }
}

const ipPool: Defaulter<IPPool> = {
  // libcalico-go clientv3/ippool.go fills these on create.
  stored(p) {
    const v6 = p.spec.cidr.includes(':');
    if (p.spec.blockSize === undefined) p.spec.blockSize = v6 ? 122 : 26;
    if (p.spec.ipipMode === undefined) p.spec.ipipMode = 'Never';
    if (p.spec.vxlanMode === undefined) p.spec.vxlanMode = 'Never';
    if (p.spec.nodeSelector === undefined || p.spec.nodeSelector === '') p.spec.nodeSelector = 'all()';
    if (p.spec.allowedUses === undefined || p.spec.allowedUses.length === 0) p.spec.allowedUses = ['Workload', 'Tunnel'];
    if (p.spec.assignmentMode === undefined) p.spec.assignmentMode = 'Automatic';
  },
};

const DEFAULTERS: Partial<Record<KindKey, Defaulter<never>>> = {
  NetworkPolicy: enforcedPolicy,
  GlobalNetworkPolicy: enforcedPolicy,
  StagedNetworkPolicy: stagedPolicy,
  StagedGlobalNetworkPolicy: stagedPolicy,
  StagedKubernetesNetworkPolicy: { admission: defaultStagedAction } satisfies Defaulter<StagedKubernetesNetworkPolicy>,
  Tier: { admission: tier.admission, stored: storedTier } satisfies Defaulter<Tier>,
  IPPool: ipPool,
};

function defaulterOf(value: Resource): Defaulter<Resource> | undefined {
  const info = kindFromManifest(value.apiVersion, value.kind);
  return info ? (DEFAULTERS[info.key] as Defaulter<Resource> | undefined) : undefined;
}

function withSpec(value: Resource): Resource {
  const copy = structuredClone(value) as Resource & { spec?: unknown };
  if (copy.spec === undefined || copy.spec === null) (copy as { spec: object }).spec = {};
  return copy;
}

/**
 * Fills defaults into `value` itself, for a caller that owns a fresh copy (the validator, which has just decoded
 * one). `stage` 'admission' applies what Calico applies before validating; 'stored' everything.
 */
export function fillDefaults(value: Resource, stage: 'admission' | 'stored'): void {
  const d = defaulterOf(value);
  if (!d) return;
  const v = value as Resource & { spec?: unknown };
  if (v.spec === undefined || v.spec === null) (v as { spec: object }).spec = {};
  if (stage === 'stored') d.stored?.(value);
  d.admission?.(value);
}

/**
 * The defaults Calico applies before it validates (CRD markers and the libcalico-go client), or for a Kubernetes
 * object the API server's. Used by the validator; most callers want `applyDefaults`.
 */
export function applyAdmissionDefaults(value: Resource): Resource {
  const d = defaulterOf(value);
  if (!d?.admission) return applyKubernetesDefaults(structuredClone(value));
  const copy = withSpec(value);
  d.admission(copy);
  return copy;
}

/**
 * The resource as Calico stores it: admission defaults, then `types` inferred from the rules (§2.10), the
 * `projectcalico.org/tier` label, Tier order/defaultAction and IPPool fields; a Kubernetes object as the API
 * server stores it (NetworkPolicy policyTypes and port protocols, container port protocols, the Namespace name
 * label: kubernetes/defaults.ts). Never mutates `value`; the result
 * shares with it every part the defaults leave alone (rules, nets, label maps), so treat it as read-only. The
 * engine defaults every policy it is fed, and deep copies of 2,000 policies were a tenth of an agent's full sync.
 */
export function applyDefaults(value: Resource): Resource {
  const d = defaulterOf(value);
  if (!d) return applyKubernetesDefaults(value);
  // Every defaulter assigns top-level fields of spec or replaces metadata.labels, so fresh spec and metadata
  // objects are all the copying it needs.
  const v = value as Resource & { spec?: object | null };
  const copy = { ...value, metadata: { ...value.metadata }, spec: v.spec === undefined || v.spec === null ? {} : { ...v.spec } } as Resource;
  // Stored defaults first: they only fill fields admission leaves alone, except the built-in tiers' values,
  // which must win over the generic Tier order default.
  d.stored?.(copy);
  d.admission?.(copy);
  return copy;
}
