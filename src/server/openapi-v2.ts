// OpenAPI v2 (/openapi/v2), made from the same kind schemas as v3 (openapi.ts). kubectl before v1.27 reads only v2:
// `kubectl explain` walks a kind's definition (found by its `x-kubernetes-group-version-kind`), `kubectl apply`
// and `edit` validate manifests against it on the client, and v1.20's DryRunVerifier refuses `--dry-run=server`
// unless the kind's PATCH operation (matched by its own x-kubernetes-group-version-kind) lists a `dryRun`
// parameter. kubectl v1.32 reads v3 and falls back to v2 only for a kind v3 does not have (then it finds nothing
// here and reports `no matches for kind`, as against any API server).
//
// client-go asks for protobuf (gnostic's openapi_v2.Document, openapi-v2-proto.ts); JSON is served otherwise, as
// kube-apiserver does. The differences from v3 are v2's: `#/definitions/` references, parameters carry their type
// themselves, bodies are `in: body` parameters, responses hold the schema directly. Open objects (Calico's opaque
// fields, a Pod's spec) have no `type`, as kube-apiserver publishes preserve-unknown-fields in v2: kubectl v1.20
// then reads them as arbitrary values instead of maps lacking `additionalProperties`.
//
// `fieldValidation` is documented in v3 only (as kube-apiserver did before v1.23): kubectl v1.32 looks for it in v2
// only for a kind v3 lacks, and when v2's Namespace lists it, it decides the kind must be a CRD and lists
// /apis/apiextensions.k8s.io/v1/customresourcedefinitions, which Tabby does not serve — an unknown kind would then
// fail with "failed to check CRD" instead of `no matches for kind`.

import { kindSchema, gvk, schemaName } from './openapi.js';
import { GROUP_VERSIONS, type GroupVersion } from './served-kinds.js';
import type { KindInfo } from '../api/index.js';

type Json = Record<string, unknown>;

/** The media type kube-openapi answers with: client-go asks with the older '@v1.0' spelling, which Go's mime parser refuses in a reply. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Whether an Accept header asks for the protobuf document (client-go's `…spec.v2@v1.0+protobuf`, or kube-openapi's spelling). */
export function wantsOpenApiV2Protobuf(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((t) => /^\s*application\/com\.github\.proto-openapi\.spec\.v2[@.]v1\.0\+protobuf\s*(;|$)/i.test(t));
}

/** A v3 schema (as openapi.ts makes it) in v2's form. */
function toV2Schema(schema: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (value === undefined) continue;
    if (key === '$ref') out.$ref = (value as string).replace('#/components/schemas/', '#/definitions/');
    else if (key === 'properties') out.properties = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, toV2Schema(v as Json)]));
    else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) out[key] = toV2Schema(value as Json);
    else out[key] = value;
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === true && out.properties === undefined) delete out.type;
  // kubectl's v2 explain prints no enums, so the values go in the description too, as kube-openapi's
  // "Possible enum values" do (v3 readers print `enum:` from the schema itself).
  if (Array.isArray(out.enum)) {
    const values = `Allowed values: ${out.enum.join(', ')}.`;
    out.description = typeof out.description === 'string' ? `${out.description} ${values}` : values;
  }
  return out;
}

const ref = (name: string): Json => ({ $ref: `#/definitions/${name}` });
const query = (name: string, type: 'string' | 'boolean', description: string): Json => ({ name, in: 'query', type, uniqueItems: true, description });
const pathParam = (name: string, description: string): Json => ({ name, in: 'path', required: true, type: 'string', uniqueItems: true, description });
const body = (schema: Json): Json => ({ name: 'body', in: 'body', required: true, schema });

const DRY_RUN = query('dryRun', 'string', "'All': check and return the would-be object without storing it.");
const FIELD_MANAGER = query('fieldManager', 'string', 'Accepted for kubectl; Tabby keeps no managedFields.');
const LIST_QUERY = [
  query('labelSelector', 'string', 'Only objects whose labels match this Kubernetes label selector.'),
  query('fieldSelector', 'string', 'Only objects whose fields match: metadata.name, metadata.namespace, spec.tier.'),
  query('watch', 'boolean', 'Stream the changes as watch events (ADDED, MODIFIED, DELETED) after the current objects.'),
  query('resourceVersion', 'string', 'With watch: the changes after this version.'),
];

/** kube-apiserver's shared definitions the operations refer to, open here: Tabby checks them in code. */
const SHARED: Json = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': { description: 'A merge, JSON or strategic-merge patch.' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions': { description: 'Options of a delete (dryRun).' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status': { description: 'The outcome of a request that returns no object.' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta': { description: 'A list\'s metadata (resourceVersion).' },
};

function listSchema(info: KindInfo, gv: GroupVersion): Json {
  return {
    type: 'object',
    description: `A list of ${info.kind} objects.`,
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: `APIVersion: ${info.apiVersion}.` },
      kind: { type: 'string', description: `Kind: ${info.kind}List.` },
      items: { type: 'array', items: ref(schemaName(info, gv)), description: `The ${info.kind} objects.` },
      metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta'),
    },
    'x-kubernetes-group-version-kind': [{ ...gvk(info, gv), kind: `${info.kind}List` }],
  };
}

function kindPaths(info: KindInfo, gv: GroupVersion): Json {
  const base = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.groupVersion}`;
  const collection = info.namespaced ? `${base}/namespaces/{namespace}/${info.plural}` : `${base}/${info.plural}`;
  const scope = info.namespaced ? [pathParam('namespace', 'The object\'s namespace.')] : [];
  const one = ref(schemaName(info, gv));
  const ok = (schema: Json) => ({ 200: { description: 'OK', schema } });
  const op = (action: string, operationId: string, parameters: Json[], responses: Json, extra: Json = {}): Json => ({
    description: `${action} ${info.kind}`, operationId, consumes: ['application/json', 'application/yaml'],
    produces: ['application/json', 'application/yaml'], parameters, responses, tags: [gv.groupVersion], ...extra,
    'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk(info, gv),
  });
  return {
    [collection]: {
      parameters: scope,
      get: op('list', `list${info.kind}`, LIST_QUERY, ok(ref(`${schemaName(info, gv)}List`))),
      post: op('post', `create${info.kind}`, [body(one), DRY_RUN, FIELD_MANAGER], { ...ok(one), 201: { description: 'Created', schema: one } }),
    },
    [`${collection}/{name}`]: {
      parameters: [pathParam('name', `The ${info.kind}'s name.`), ...scope],
      get: op('get', `read${info.kind}`, [], ok(one)),
      put: op('put', `replace${info.kind}`, [body(one), DRY_RUN, FIELD_MANAGER], ok(one)),
      patch: op('patch', `patch${info.kind}`, [body(ref('io.k8s.apimachinery.pkg.apis.meta.v1.Patch')), DRY_RUN, FIELD_MANAGER], ok(one), {
        consumes: ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'],
      }),
      delete: op('delete', `delete${info.kind}`, [{ ...body(ref('io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions')), required: false }, DRY_RUN],
        ok(ref('io.k8s.apimachinery.pkg.apis.meta.v1.Status'))),
    },
  };
}

/** The whole v2 document: every served kind of every group/version. */
export function openApiV2Json(tabbyVersion: string): Json {
  const definitions: Json = { ...SHARED };
  const paths: Json = {};
  for (const gv of GROUP_VERSIONS) {
    for (const info of gv.kinds) {
      definitions[schemaName(info, gv)] = toV2Schema(kindSchema(info, gv));
      definitions[`${schemaName(info, gv)}List`] = listSchema(info, gv);
      Object.assign(paths, kindPaths(info, gv));
    }
  }
  return { swagger: '2.0', info: { title: 'Tabby', version: tabbyVersion }, paths, definitions };
}
