// NetworkPolicy, GlobalNetworkPolicy and their staged forms (§2.2–§2.4, §5.3). One spec check parameterised by
// the kind's traits: whether it is cluster-scoped (GNP fields, Service namespaces) and whether it is staged
// (stagedAction, the Delete rule).

import type {
  GlobalNetworkPolicySpec,
  NetworkPolicySpec,
  StagedAction,
  StagedGlobalNetworkPolicySpec,
} from '../types.js';
import type { CalicoPolicy } from '../types.js';
import type { Path, ValidationContext } from './context.js';
import type { CalicoKindValidation } from './kind.js';
import { isResourceName } from './metadata.js';
import { msg } from './messages.js';
import { checkRules, ruleSchema } from './rule.js';
import { arr, bool, num, obj, str, type Field, type Schema } from './schema.js';
import { checkSelector } from './selectors.js';

export const POLICY_TYPES = ['Ingress', 'Egress'] as const;
export const PERFORMANCE_HINTS = ['AssumeNeededOnEveryNode'] as const;
export const STAGED_ACTIONS = ['Set', 'Delete', 'Learn', 'Ignore'] as const;

const SELECTOR_MAX = 1024;

interface PolicyTraits {
  /** GlobalNetworkPolicy-like: namespaceSelector/doNotTrack/preDNAT/applyOnForward, Services need a namespace. */
  clusterScoped: boolean;
  staged: boolean;
}

function policySpecSchema(name: string, traits: PolicyTraits): Schema {
  const fields: Record<string, Schema | Field> = {
    tier: str(),
    order: num(),
    selector: str({ maxLength: SELECTOR_MAX }),
    types: arr(str({ enum: POLICY_TYPES }), { maxItems: 2 }),
    ingress: arr(ruleSchema, { maxItems: 1024 }),
    egress: arr(ruleSchema, { maxItems: 1024 }),
    serviceAccountSelector: str({ maxLength: SELECTOR_MAX }),
    performanceHints: arr(str({ enum: PERFORMANCE_HINTS })),
  };
  if (traits.clusterScoped) {
    fields.namespaceSelector = str({ maxLength: SELECTOR_MAX });
    fields.doNotTrack = bool();
    fields.preDNAT = bool();
    fields.applyOnForward = bool();
  }
  if (traits.staged) fields.stagedAction = str({ enum: STAGED_ACTIONS });
  return obj(name, fields);
}

type AnyPolicySpec = NetworkPolicySpec & Partial<GlobalNetworkPolicySpec> & Partial<StagedGlobalNetworkPolicySpec>;

function duplicates<T>(items: readonly T[]): T[] {
  const seen = new Set<T>();
  const dups = new Set<T>();
  items.forEach((i) => (seen.has(i) ? dups.add(i) : seen.add(i)));
  return [...dups];
}

/** GNP CEL rules (globalnetworkpolicy.go): preDNAT, doNotTrack and applyOnForward. */
function checkGlobalFlags(ctx: ValidationContext, spec: AnyPolicySpec, path: Path): void {
  if (spec.doNotTrack === true && spec.preDNAT === true) {
    ctx.report('policy.preDNAT', [...path, 'preDNAT'], msg.preDnatAndDoNotTrack());
  }
  if (spec.preDNAT === true && (spec.egress?.length ?? 0) > 0) {
    ctx.report('policy.preDNAT', [...path, 'egress'], msg.preDnatEgressRules());
  }
  if (spec.preDNAT === true && spec.types?.includes('Egress')) {
    ctx.report('policy.preDNAT', [...path, 'types'], msg.preDnatEgressType());
  }
  if (spec.applyOnForward !== true && (spec.doNotTrack === true || spec.preDNAT === true) &&
    ctx.intact([...path, 'applyOnForward'])) {
    ctx.report('policy.applyOnForward', [...path, 'applyOnForward'], msg.applyOnForward());
  }
}

/** validateNetworkPolicySpec / validateGlobalNetworkPolicySpec plus the CRD CEL rules on the spec. */
function checkPolicySpec(ctx: ValidationContext, spec: AnyPolicySpec, traits: PolicyTraits): void {
  const path = ['spec'];
  if (spec.tier !== undefined && spec.tier !== '' && !isResourceName(spec.tier)) {
    ctx.report('name.invalid', [...path, 'tier'], msg.resourceName(spec.tier), spec.tier);
  }
  if (spec.selector !== undefined) checkSelector(ctx, spec.selector, [...path, 'selector'], 'subject');
  if (spec.serviceAccountSelector !== undefined) {
    checkSelector(ctx, spec.serviceAccountSelector, [...path, 'serviceAccountSelector'], 'subject');
  }
  if (spec.namespaceSelector !== undefined) {
    checkSelector(ctx, spec.namespaceSelector, [...path, 'namespaceSelector'], 'subject');
  }
  for (const t of duplicates(spec.types ?? [])) ctx.report('policy.types', [...path, 'types'], msg.duplicateType(t), t);
  for (const h of duplicates(spec.performanceHints ?? [])) {
    ctx.report('policy.performanceHints', [...path, 'performanceHints'], msg.duplicateHint(h), h);
  }
  const place = { directional: true, clusterScoped: traits.clusterScoped };
  checkRules(ctx, spec.ingress, [...path, 'ingress'], { ...place, direction: 'ingress' });
  checkRules(ctx, spec.egress, [...path, 'egress'], { ...place, direction: 'egress' });
  if (traits.clusterScoped) checkGlobalFlags(ctx, spec, path);
}

function isZero(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

/** §5.3: a staged Delete names the policy to delete and nothing else (tier aside). */
export function nonZeroFields(spec: object, except: readonly string[]): string[] {
  return Object.entries(spec).filter(([k, v]) => !except.includes(k) && !isZero(v)).map(([k]) => k);
}

function policyKind(specName: string, traits: PolicyTraits): CalicoKindValidation<CalicoPolicy> {
  return {
    nameRule: traits.clusterScoped ? 'globalPolicy' : 'policy',
    spec: policySpecSchema(specName, traits),
    hasStatus: true,
    check(ctx, resource) {
      const spec = resource.spec as AnyPolicySpec;
      if (traits.staged && (spec.stagedAction as StagedAction | undefined) === 'Delete') {
        const set = nonZeroFields(spec, ['tier', 'stagedAction']);
        if (set.length > 0) ctx.report('staged.delete', ['spec'], msg.stagedDeleteNotEmpty(set));
        return;
      }
      checkPolicySpec(ctx, spec, traits);
    },
  };
}

export const networkPolicyKind = policyKind('NetworkPolicySpec', { clusterScoped: false, staged: false });
export const globalNetworkPolicyKind = policyKind('GlobalNetworkPolicySpec', { clusterScoped: true, staged: false });
export const stagedNetworkPolicyKind = policyKind('StagedNetworkPolicySpec', { clusterScoped: false, staged: true });
export const stagedGlobalNetworkPolicyKind =
  policyKind('StagedGlobalNetworkPolicySpec', { clusterScoped: true, staged: true });
