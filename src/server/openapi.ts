// OpenAPI v3, the documents kubectl v1.32 reads: `kubectl explain` walks a kind's schema, and `kubectl apply/edit/patch`
// look for the `fieldValidation` parameter on the kind's PATCH operation (client-go's QueryParamVerifierV3): with
// it, kubectl leaves validation to the server and sends fieldValidation=Strict — which is what Tabby does anyway
// (unknown fields are refused, as calicoctl refuses them). Calico kinds get their schema from the api part's
// strict decoder (the same table that validates them), so the documented shape is the checked one; Kubernetes
// kinds are checked by their own code, and documented from the Kubernetes API reference (openapi-kubernetes.ts).
//
// OpenAPI v2 (/openapi/v2, openapi-v2.ts) is made from the same kind schemas, for kubectls before v3 (v1.20 reads
// only v2) and for v1.32's fallback.

import { objectMetaSchema, specSchemaOf, type KindInfo, type Schema } from '../api/index.js';
import { KUBERNETES_PROPERTIES } from './openapi-kubernetes.js';
import { GROUP_VERSIONS, restGroup, type GroupVersion } from './served-kinds.js';

type Json = Record<string, unknown>;

/** A schema of the strict decoder as an OpenAPI schema object. */
export function toOpenApi(schema: Schema, description?: string): Json {
  const d = description === undefined ? {} : { description };
  switch (schema.type) {
    case 'string':
      return { type: 'string', ...(schema.enum && { enum: [...schema.enum] }), ...(schema.maxLength !== undefined && { maxLength: schema.maxLength }), ...d };
    case 'number':
      return { type: 'number', ...d };
    case 'integer':
      return { type: 'integer', format: schema.goType === 'int64' || schema.goType === 'int' ? 'int64' : 'int32', minimum: schema.min, maximum: schema.max, ...d };
    case 'boolean':
      return { type: 'boolean', ...d };
    case 'array':
      return { type: 'array', items: toOpenApi(schema.items), ...(schema.maxItems !== undefined && { maxItems: schema.maxItems }), ...d };
    case 'object': {
      const properties: Json = {};
      const required: string[] = [];
      for (const [name, field] of Object.entries(schema.fields)) {
        properties[name] = toOpenApi(field.schema);
        if (field.required) required.push(name);
      }
      return { type: 'object', description: description ?? `${schema.name}.`, properties, ...(required.length > 0 && { required }) };
    }
    case 'stringMap':
      return { type: 'object', additionalProperties: { type: 'string' }, ...d };
    case 'opaque':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...d };
    case 'custom':
      // numorstring.Port / Protocol: a number or a string, as Calico's CRDs declare them.
      return { 'x-kubernetes-int-or-string': true, description: description ?? `${schema.expected[0]!.toUpperCase()}${schema.expected.slice(1)}.` };
  }
}

export function gvk(info: KindInfo, gv: GroupVersion): Json {
  return { group: restGroup(info), version: gv.version, kind: info.kind };
}

/** `org.projectcalico.v3.GlobalNetworkPolicy`: the reversed-group naming the API server's documents use. */
export function schemaName(info: KindInfo, gv: GroupVersion): string {
  const group = restGroup(info);
  const prefix = group === '' ? 'io.k8s.api.core' : group.split('.').reverse().join('.');
  return `${prefix}.${gv.version}.${info.kind}`;
}

export function kindSchema(info: KindInfo, gv: GroupVersion): Json {
  const spec = specSchemaOf(info.key);
  const own = KUBERNETES_PROPERTIES[info.key];
  const properties: Json = {
    apiVersion: { type: 'string', description: `APIVersion defines the versioned schema of this representation of an object: ${info.apiVersion}.` },
    kind: { type: 'string', description: `Kind is a string value representing the REST resource this object represents: ${info.kind}.` },
    metadata: toOpenApi(objectMetaSchema, "Standard object's metadata."),
    ...(spec
      ? { spec: toOpenApi(spec, `The ${info.kind}'s specification.`) }
      : own ?? { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: `The ${info.kind}'s specification.` } }),
  };
  return {
    type: 'object',
    description: `${info.kind} (${info.apiVersion}), ${info.namespaced ? 'namespaced' : 'cluster-scoped'}, as Tabby stores and validates it.`,
    properties,
    'x-kubernetes-group-version-kind': [gvk(info, gv)],
  };
}

const QUERY = (name: string, description: string): Json => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });

function kindPaths(info: KindInfo, gv: GroupVersion): Json {
  const base = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.groupVersion}`;
  const collection = info.namespaced ? `${base}/namespaces/{namespace}/${info.plural}` : `${base}/${info.plural}`;
  const ext = { 'x-kubernetes-group-version-kind': gvk(info, gv) };
  const ref = { $ref: `#/components/schemas/${schemaName(info, gv)}` };
  const ok = { 200: { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const common = [QUERY('dryRun', "'All': check and return the would-be object without storing it"),
    QUERY('fieldValidation', 'Strict (what Tabby always does: unknown fields are refused)')];
  return {
    [collection]: {
      get: { operationId: `list${info.kind}`, responses: ok, ...ext, 'x-kubernetes-action': 'list' },
      post: { operationId: `create${info.kind}`, parameters: common, responses: ok, ...ext, 'x-kubernetes-action': 'post' },
    },
    [`${collection}/{name}`]: {
      get: { operationId: `read${info.kind}`, responses: ok, ...ext, 'x-kubernetes-action': 'get' },
      put: { operationId: `replace${info.kind}`, parameters: common, responses: ok, ...ext, 'x-kubernetes-action': 'put' },
      patch: { operationId: `patch${info.kind}`, parameters: common, responses: ok, ...ext, 'x-kubernetes-action': 'patch' },
      delete: { operationId: `delete${info.kind}`, parameters: [common[0]], responses: ok, ...ext, 'x-kubernetes-action': 'delete' },
    },
  };
}

export function openApiV3Group(gv: GroupVersion): Json {
  const schemas: Json = {};
  let paths: Json = {};
  for (const info of gv.kinds) {
    schemas[schemaName(info, gv)] = kindSchema(info, gv);
    paths = { ...paths, ...kindPaths(info, gv) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Tabby', version: gv.groupVersion },
    paths,
    components: { schemas },
  };
}

/** The index: one relative URL per group/version document. */
export function openApiV3Root(): Json {
  const paths: Json = {};
  for (const gv of GROUP_VERSIONS) {
    const rel = gv.group === '' ? `api/${gv.version}` : `apis/${gv.groupVersion}`;
    paths[rel] = { serverRelativeURL: `/openapi/v3/${rel}` };
  }
  return { paths };
}
