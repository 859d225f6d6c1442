// validateResource: calicoctl-strict validation of one decoded manifest (calico-semantics.md §5), returning every
// issue or the resource as Calico would store it. Steps, in Calico's order:
//
//   raw value ──► type check (apiVersion/kind → kind traits)
//             ──► structural decode (strict fields, JSON types, CRD enums and limits)       schema.ts
//             ──► admission defaults (CRD markers, client Tier defaults)                    ../defaults.ts
//             ──► metadata checks (names, labels, annotations)                              metadata.ts
//             ──► the kind's own semantic checks (rules, CEL, validator.go)                  policy.ts, tier.ts, …
//             ──► stored defaults (types, tier label, …) on success                         ../defaults.ts
//
// Kubernetes kinds are checked as the Kubernetes API server checks them (../kubernetes/validate.ts).

import { fillDefaults } from '../defaults.js';
import type { Issue, Result } from '../issues.js';
import { fail, ok } from '../issues.js';
import { KINDS, kindFromManifest, knownManifestKinds, type KindInfo } from '../kinds.js';
import { validateKubernetesResource } from '../kubernetes/validate.js';
import type { CalicoResource, ObjectMeta, Resource } from '../types.js';
import { ValidationContext } from './context.js';
import type { CalicoKindValidation } from './kind.js';
import { CALICO_KIND_VALIDATION } from './kinds.js';
import { msg } from './messages.js';
import { checkMetadata, objectMetaSchema } from './metadata.js';
import { decode, decodeObject, isPlainObject, obj, opaque, req, str, type Field, type Schema } from './schema.js';

export type { Issue, Result } from '../issues.js';

/** Finds the kind for apiVersion/kind, or reports why there is none. */
function resolveKind(ctx: ValidationContext, value: Record<string, unknown>): KindInfo | undefined {
  const { apiVersion, kind } = value;
  for (const [field, v] of [['apiVersion', apiVersion], ['kind', kind]] as const) {
    if (v === undefined || v === null || v === '') ctx.structural('schema.required', [field], msg.missingTypeField(field));
    else if (typeof v !== 'string') ctx.structural('schema.type', [field], msg.typeMismatch('a string', v), v);
  }
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '') return undefined;
  const info = kindFromManifest(apiVersion, kind);
  if (info) return info;
  const sameKind = KINDS.filter((k) => k.kind === kind);
  if (sameKind.length > 0) {
    ctx.structural('kind.apiVersion', ['apiVersion'], msg.wrongApiVersion(kind, apiVersion, sameKind.map((k) => k.apiVersion)), apiVersion);
  } else {
    ctx.structural('kind.unknown', ['kind'], msg.unknownKind(apiVersion, kind, knownManifestKinds()), kind);
  }
  return undefined;
}

function envelopeSchema(info: KindInfo, kv: CalicoKindValidation<never>) {
  const fields: Record<string, Schema | Field> = {
    apiVersion: req(str()),
    kind: req(str()),
    metadata: objectMetaSchema,
    spec: kv.spec,
  };
  if (kv.hasStatus) fields.status = opaque();
  return obj(info.kind, fields);
}

function validateCalico(ctx: ValidationContext, info: KindInfo, kv: CalicoKindValidation<never>, value: Record<string, unknown>): Resource | undefined {
  const decoded = decodeObject(ctx, envelopeSchema(info, kv), value, []);
  if (!decoded) return undefined;
  // Go decodes a missing metadata or spec as the zero struct.
  decoded.metadata ??= {};
  decoded.spec ??= {};
  if (!isPlainObject(decoded.spec)) decoded.spec = {};
  // `decoded` is our own fresh copy, so defaults go straight into it.
  const resource = decoded as unknown as CalicoResource;
  fillDefaults(resource, 'admission');
  checkMetadata(ctx, resource.metadata as Partial<ObjectMeta>, {
    nameRule: kv.nameRule,
    namespaced: info.namespaced,
    kind: info.kind,
    ...(kv.reservedLabels ? { reservedLabels: kv.reservedLabels } : {}),
  });
  (kv as CalicoKindValidation).check(ctx, resource);
  return resource;
}

/**
 * Validates one decoded manifest (any JSON/YAML value) as calicoctl would, reporting every issue with its path
 * from the resource root. On success returns the resource with Calico's defaults applied (§2.10). Never throws
 * for bad input.
 */
export function validateResource(value: unknown): Result<Resource> {
  const ctx = new ValidationContext();
  if (!isPlainObject(value)) {
    ctx.structural('schema.type', [], msg.notAnObject(value), value);
    return fail(ctx.issues);
  }
  const info = resolveKind(ctx, value);
  if (!info) return fail(ctx.issues);
  const kv = CALICO_KIND_VALIDATION[info.key];
  if (!kv) return validateKubernetesResource(value);
  const resource = validateCalico(ctx, info, kv, value);
  if (ctx.issues.length > 0 || !resource) return fail(ctx.issues);
  fillDefaults(resource, 'stored');
  return ok(resource);
}

/** Checks a value against one schema on its own (used by tests and by callers holding a fragment). */
export function decodeWith(schema: Schema, value: unknown): { value: unknown; issues: Issue[] } {
  const ctx = new ValidationContext();
  const out = decode(ctx, schema, value, []);
  return { value: out, issues: ctx.issues };
}

/**
 * The structural schema of a kind's `spec` (the shape the strict decoder checks), for callers that describe
 * the API — the server's OpenAPI documents. Undefined for Kubernetes kinds, which are checked by their own code.
 */
export function specSchemaOf(kind: KindInfo['key']): Schema | undefined {
  return CALICO_KIND_VALIDATION[kind]?.spec;
}

export { objectMetaSchema };
export type { Schema, ObjectSchema } from './schema.js';
