// Object metadata: the ObjectMeta schema, resource names (§5.1), labels and annotations (§5.2). Which name rule
// a kind follows is one of its traits (validate/kinds.ts); this file only knows the rules.

import { isDns1123Label, isLabelValue, isQualifiedName } from '../kubernetes/names.js';
import type { ObjectMeta } from '../types.js';
import type { Path, ValidationContext } from './context.js';
import { msg } from './messages.js';
import { arr, int, obj, opaque, str, stringMap, type ObjectSchema } from './schema.js';

/** k8s ObjectMeta as it appears in manifests, including the server-populated fields `kubectl get -o yaml` prints. */
export const objectMetaSchema: ObjectSchema = obj('ObjectMeta', {
  name: str(),
  generateName: str(),
  namespace: str(),
  selfLink: str(),
  uid: str(),
  resourceVersion: str(),
  generation: int('int64'),
  creationTimestamp: str(),
  deletionTimestamp: str(),
  deletionGracePeriodSeconds: int('int64'),
  labels: stringMap(),
  annotations: stringMap(),
  ownerReferences: arr(opaque()),
  finalizers: arr(str()),
  managedFields: arr(opaque()),
});

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN = `${LABEL}(\\.${LABEL})*`;
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN}$`);
const LABEL_RE = new RegExp(`^${LABEL}$`);
// libcalico-go validator.go networkPolicyNameRegex: a label, a label.label, or knp.default./ossg.default. + subdomain.
const POLICY_NAME_RE = new RegExp(`^((${LABEL})(\\.${LABEL})?|((?:knp|ossg)\\.default\\.(${SUBDOMAIN})))$`);
// globalNetworkPolicyNameRegex: (label.)?label
const GLOBAL_POLICY_NAME_RE = new RegExp(`^(${LABEL}\\.)?${LABEL}$`);

const SUBDOMAIN_MAX = 253;
const LABEL_MAX = 63;
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/**
 * How a kind's names are checked (§5.1). The v3.29–v3.31 rule that policies in a non-default tier be named
 * `<tier>.<name>` was dropped in v3.32 (#11232); both forms pass here, as they do in v3.32.
 */
export type NameRule = 'subdomain' | 'policy' | 'globalPolicy' | 'tier';

const NAME_RULES: Record<NameRule, { max: number; re: RegExp; message: () => string }> = {
  subdomain: { max: SUBDOMAIN_MAX, re: SUBDOMAIN_RE, message: msg.nameSubdomain },
  policy: { max: SUBDOMAIN_MAX, re: POLICY_NAME_RE, message: msg.namePolicy },
  globalPolicy: { max: SUBDOMAIN_MAX, re: GLOBAL_POLICY_NAME_RE, message: msg.nameGlobalPolicy },
  tier: { max: LABEL_MAX, re: LABEL_RE, message: msg.tierName },
};

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function checkName(ctx: ValidationContext, name: string | undefined, rule: NameRule, path: Path): void {
  if (name === undefined || name === '') {
    if (ctx.intact(path)) ctx.report('name.required', path, msg.nameRequired());
    return;
  }
  const r = NAME_RULES[rule];
  if (name.length > r.max) ctx.report('name.tooLong', path, msg.nameTooLong(name.length, r.max), name);
  if (!r.re.test(name)) ctx.report('name.invalid', path, r.message(), name);
}

/** A reference to another resource by name (profiles, node, service names): a DNS subdomain. */
export function isResourceName(name: string): boolean {
  return SUBDOMAIN_RE.test(name);
}

export function checkNamespace(
  ctx: ValidationContext,
  namespace: string | undefined,
  namespaced: boolean,
  kind: string,
  path: Path,
): void {
  if (namespace === undefined || namespace === '') return;
  if (!namespaced) {
    ctx.report('namespace.notAllowed', path, msg.namespaceNotAllowed(kind), namespace);
    return;
  }
  const problems = isDns1123Label(namespace);
  if (problems.length > 0) ctx.report('namespace.invalid', path, msg.namespaceInvalid(problems), namespace);
}

/** Label keys are qualified names, values are label values (§5.2; k8s apimachinery wording). */
export function checkLabels(ctx: ValidationContext, labels: Record<string, string> | undefined, path: Path): void {
  if (!labels) return;
  for (const [k, v] of Object.entries(labels)) {
    const keyProblems = isQualifiedName(k);
    if (keyProblems.length > 0) ctx.report('label.key', [...path, k], msg.labelKey(keyProblems), k);
    const valueProblems = isLabelValue(v);
    if (valueProblems.length > 0) ctx.report('label.value', [...path, k], msg.labelValue(valueProblems), v);
  }
}

/** Annotation keys are checked lower-cased (so upper case is fine); total size at most 256 KiB (§5.2). */
export function checkAnnotations(
  ctx: ValidationContext,
  annotations: Record<string, string> | undefined,
  path: Path,
): void {
  if (!annotations) return;
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) {
    const problems = isQualifiedName(k.toLowerCase());
    if (problems.length > 0) ctx.report('annotation.key', [...path, k], msg.annotationKey(problems), k);
    total += byteLength(k) + byteLength(v);
  }
  if (total > ANNOTATIONS_MAX_BYTES) {
    ctx.report('annotation.size', path, msg.annotationsTooLarge(total, ANNOTATIONS_MAX_BYTES));
  }
}

export interface MetadataTraits {
  nameRule: NameRule;
  namespaced: boolean;
  kind: string;
  /** Labels Calico reserves for itself on this kind (§5.2). */
  reservedLabels?: readonly string[];
}

export function checkMetadata(ctx: ValidationContext, meta: Partial<ObjectMeta>, traits: MetadataTraits): void {
  const path = ['metadata'];
  checkName(ctx, meta.name, traits.nameRule, [...path, 'name']);
  checkNamespace(ctx, meta.namespace, traits.namespaced, traits.kind, [...path, 'namespace']);
  checkLabels(ctx, meta.labels, [...path, 'labels']);
  checkAnnotations(ctx, meta.annotations, [...path, 'annotations']);
  for (const reserved of traits.reservedLabels ?? []) {
    if (meta.labels && reserved in meta.labels) {
      ctx.report('label.reserved', [...path, 'labels', reserved], msg.reservedNamespaceLabel(), reserved);
    }
  }
}
