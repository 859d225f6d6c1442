// PolicyCompiler: one defaulted policy or profile resource → the engine's model of it, as Felix receives it
// from libcalico-go's update processors (§1.8, §2.2–§2.4, §2.10): the effective selector, types, stage flags and
// compiled rules. Errors (a selector that does not parse, an unknown protocol) come back as a message; the
// graph reports the resource and leaves it out, as Calico's validation would have refused it.

import { DEFAULT_TIER_NAME, kindInfo, type GlobalNetworkPolicySpec, type NetworkPolicySpec, type Profile } from '../api/index.js';
import { SelectorError } from '../selector/index.js';
import { isStagedKind, policyIdOf, policyKeyOf, type PolicyModel, type ProfileModel } from './model.js';
import { RuleError, scanRules } from './rule-scanner.js';
import type { SelectorCache } from './selector-cache.js';
import { policySelectorText } from './selector-rewrite.js';
import type { CompiledPolicy, Direction, PolicyKind } from './types.js';

export type Compiled<T> = { ok: true; value: T } | { ok: false; message: string };

export interface PolicyInput {
  kind: PolicyKind;
  /** Set for the namespaced kinds (NetworkPolicy, StagedNetworkPolicy and the Kubernetes ones). */
  namespace?: string;
  name: string;
  spec: NetworkPolicySpec & Partial<Pick<GlobalNetworkPolicySpec, 'namespaceSelector' | 'doNotTrack' | 'preDNAT' | 'applyOnForward'>>;
}

/** Scope is a kind trait (api/kinds.ts); every PolicyKind is a KindKey. */
export function isNamespacedKind(kind: PolicyKind): boolean {
  return kindInfo(kind).namespaced;
}

function errorMessage(err: unknown): string | undefined {
  if (err instanceof SelectorError || err instanceof RuleError) return err.message;
  return undefined;
}

function policyTypes(types: readonly string[] | undefined): Direction[] {
  // §2.10: empty types reaching Felix mean both directions (policy_sorter.go ExtractPolicyMetadata).
  if (!types || types.length === 0) return ['ingress', 'egress'];
  const out: Direction[] = [];
  if (types.includes('Ingress')) out.push('ingress');
  if (types.includes('Egress')) out.push('egress');
  return out;
}

export function compilePolicy(input: PolicyInput, selectors: SelectorCache): Compiled<PolicyModel> {
  const namespaced = isNamespacedKind(input.kind);
  const namespace = namespaced ? input.namespace ?? 'default' : undefined;
  const spec = input.spec;
  try {
    const selectorText = policySelectorText({
      ...(namespace !== undefined && { namespace }),
      ...(spec.selector !== undefined && { selector: spec.selector }),
      ...(!namespaced && spec.namespaceSelector !== undefined && { namespaceSelector: spec.namespaceSelector }),
      ...(spec.serviceAccountSelector !== undefined && { serviceAccountSelector: spec.serviceAccountSelector }),
    });
    const subject = selectors.get(selectorText);
    const { rules, ipSets } = scanRules(spec.ingress, spec.egress, namespace, selectors);
    const id = policyIdOf(input.kind, namespace, input.name);
    const compiled: CompiledPolicy = {
      id,
      tier: spec.tier || DEFAULT_TIER_NAME,
      types: policyTypes(spec.types),
      staged: isStagedKind(input.kind),
      // Only (Staged)GlobalNetworkPolicy has these; networkpolicyprocessor.go sets ApplyOnForward for the rest.
      doNotTrack: !namespaced && spec.doNotTrack === true,
      preDNAT: !namespaced && spec.preDNAT === true,
      applyOnForward: namespaced || spec.applyOnForward === true,
      selector: subject.toString(),
      rules,
    };
    if (spec.order !== undefined && spec.order !== null) compiled.order = spec.order;
    return { ok: true, value: { key: policyKeyOf(id), compiled, subject, ipSets } };
  } catch (err) {
    const message = errorMessage(err);
    if (message === undefined) throw err;
    return { ok: false, message };
  }
}

export function compileProfile(profile: Profile, selectors: SelectorCache): Compiled<ProfileModel> {
  try {
    const { rules, ipSets } = scanRules(profile.spec?.ingress, profile.spec?.egress, undefined, selectors);
    const model: ProfileModel = { name: profile.metadata.name, rules, ipSets };
    if (profile.spec?.labelsToApply) model.labelsToApply = profile.spec.labelsToApply;
    return { ok: true, value: model };
  } catch (err) {
    const message = errorMessage(err);
    if (message === undefined) throw err;
    return { ok: false, message };
  }
}
