// The request pipeline for resource URLs: authorize (access.ts, the one hook), then read or write the datastore,
// and answer as the Kubernetes API server does — objects, `<Kind>List`s with metadata.resourceVersion, Tables for
// kubectl, Status objects for failures (status.ts).
//
// Tiered kinds (Calico policies): the tier is part of every authorization request. For a named object it is the
// stored object's tier (and, for a write, the written object's too: moving a policy needs rights in both tiers);
// for a name that does not exist the authorizer reads the tier from the name, as Calico's API server does. Lists
// and watches go through the authorizer's list filter: 403 as a whole, or only the objects of the tiers the
// caller may list (what Calico's API server does too). RBAC objects also pass the escalation check.

import { applyJsonPatch, mergePatch, stripForeignServerFields, type KindKey, type Resource } from '../api/index.js';
import {
  isConflict, keyOf, parseLabelSelector, previewDelete, previewWrite, referenceViewOfMap, tierOf, keyPath,
  type Datastore, type Preconditions, type ReferenceView,
} from '../datastore/index.js';
import { authorize, authorizeRbacWrite, listAccess } from './access.js';
import type { Verb } from './authorization.js';
import type { ApiContext, ResourceRequest } from './request.js';
import { badRequest, notFound, StatusError, toStatusError, type Subject } from './status.js';
import { toTable, wantsTable } from './table.js';
import { restGroup } from './served-kinds.js';
import { watchResponse } from './watch-stream.js';
import { fieldSelectorOf, type ObjectFilter } from './selectors.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function subjectOf(req: ResourceRequest, name = req.target.name): Subject {
  return name === undefined ? { info: req.target.info } : { info: req.target.info, name };
}

/** Tells the context about a stored write (the RBAC index takes its own kinds at once: rbac-live.ts). */
function written(ctx: ApiContext, r: Resource): Resource {
  ctx.onWrite?.({ upserted: r });
  return r;
}

function dryRun(req: ResourceRequest): boolean {
  const values = req.query.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw badRequest(`dryRun must be 'All', not ${JSON.stringify(v)}`);
  return values.length > 0;
}

/** The store key of the URL's object. */
function keyOfTarget(req: ResourceRequest, name: string): { kind: KindKey; name: string; namespace?: string } {
  return req.target.info.namespaced
    ? { kind: req.target.info.key, namespace: req.target.namespace!, name }
    : { kind: req.target.info.key, name };
}

async function getOptional(store: Datastore, key: ReturnType<typeof keyOfTarget>): Promise<Resource | undefined> {
  try {
    return await store.get(key);
  } catch (err) {
    if (toStatusError(err).code === 404) return undefined;
    throw err;
  }
}

/**
 * A request body as the object to write: a JSON object of the URL's kind, in the URL's namespace, with the name
 * the URL names (for update and patch). Server-managed fields of other stores are dropped (metadata-strip.ts).
 */
function objectFromBody(req: ResourceRequest, body: unknown, options: { name?: string; created: boolean }): Resource {
  const info = req.target.info;
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object (a resource)');
  const obj = body as Record<string, unknown>;
  obj.apiVersion ??= info.apiVersion;
  obj.kind ??= info.kind;
  if (obj.apiVersion !== info.apiVersion || obj.kind !== info.kind) {
    throw badRequest(`the object is ${String(obj.apiVersion)} ${String(obj.kind)}, but the URL is for ${info.apiVersion} ${info.kind} (${info.plural})`);
  }
  if (obj.metadata === undefined) obj.metadata = {};
  if (!isPlainObject(obj.metadata)) throw badRequest('metadata must be an object');
  const meta = obj.metadata as Record<string, unknown>;
  if (info.namespaced) {
    if (meta.namespace === undefined || meta.namespace === '') meta.namespace = req.target.namespace;
    else if (meta.namespace !== req.target.namespace) {
      throw badRequest(`the namespace of the provided object (${JSON.stringify(meta.namespace)}) does not match the namespace sent on the request (${JSON.stringify(req.target.namespace)})`);
    }
  }
  // generateName is not served: a create names its object. A name of another JSON type is refused here, before
  // any message formats it.
  if (meta.name === undefined && meta.generateName !== undefined) {
    throw new StatusError(422, 'Invalid', 'metadata.generateName is not supported: give metadata.name',
      { kind: info.kind, causes: [{ reason: 'FieldValueNotSupported', field: 'metadata.generateName', message: 'generateName is not supported; give metadata.name' }] });
  }
  if (meta.name !== undefined && typeof meta.name !== 'string') {
    throw new StatusError(422, 'Invalid', `metadata.name must be a string, not ${Array.isArray(meta.name) ? 'an array' : typeof meta.name}`,
      { kind: info.kind, causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: 'must be a string' }] });
  }
  if (options.name !== undefined && meta.name !== options.name) {
    throw badRequest(`the name of the object (${JSON.stringify(meta.name ?? '')}) does not match the name on the URL (${JSON.stringify(options.name)})`);
  }
  const resource = obj as unknown as Resource;
  stripForeignServerFields(resource.metadata, { created: options.created });
  return resource;
}

/** Every stored object, as the checks between objects (a policy's tier, a tier's policies) see them in a dry run. */
async function referenceView(store: Datastore): Promise<ReferenceView> {
  const state = new Map<string, { value: Resource }>();
  for (const r of (await store.list()).items) state.set(keyPath(keyOf(r)), { value: r });
  return referenceViewOfMap(state);
}

function listKind(req: ResourceRequest): string {
  return `${req.target.info.kind}List`;
}

async function list(ctx: ApiContext, req: ResourceRequest): Promise<Response> {
  const filter = objectFilterOf(req);
  if (req.query.get('watch') === 'true' || req.query.get('watch') === '1') {
    return watchResponse(ctx, req, filter, await listAccess(ctx, req, 'watch'));
  }
  const admits = await listAccess(ctx, req, 'list');
  const labelSelector = req.query.get('labelSelector') ?? undefined;
  const result = await ctx.store.list({
    kind: req.target.info.key,
    ...(req.target.namespace !== undefined && { namespace: req.target.namespace }),
    ...(labelSelector !== undefined && { labelSelector }),
  });
  const items: Resource[] = [];
  for (const r of result.items) if (filter.fields(r) && admits(r)) items.push(r);
  const rv = String(result.revision);
  if (wantsTable(req.accept)) return jsonResponse(toTable(req.target.info.key, items, rv, req.query.get('includeObject')));
  return jsonResponse({ kind: listKind(req), apiVersion: req.target.info.apiVersion, metadata: { resourceVersion: rv }, items });
}

/** labelSelector and fieldSelector, checked once (400 for either malformed). */
export function objectFilterOf(req: ResourceRequest): ObjectFilter {
  const labelText = req.query.get('labelSelector');
  let labels: (r: Resource) => boolean = () => true;
  if (labelText !== null) {
    const parsed = parseLabelSelector(labelText);
    if (!parsed.ok) throw badRequest(`unable to parse requirement: ${parsed.issues.map((i) => i.message).join('; ')}`);
    labels = (r) => parsed.value(r.metadata.labels);
  }
  const fields = fieldSelectorOf(req.query.get('fieldSelector'), req.target.info.key);
  return { labels, fields, matches: (r) => labels(r) && fields(r), all: labelText === null && (req.query.get('fieldSelector') ?? '').trim() === '' };
}

function objectResponse(req: ResourceRequest, r: Resource, status = 200): Response {
  if (wantsTable(req.accept)) return jsonResponse(toTable(req.target.info.key, [r], r.metadata.resourceVersion, req.query.get('includeObject')), status);
  return jsonResponse(r, status);
}

async function get(ctx: ApiContext, req: ResourceRequest, name: string): Promise<Response> {
  const current = await getOptional(ctx.store, keyOfTarget(req, name));
  await authorize(ctx, req, 'get', name, current && tierOf(current, req.target.info.key));
  if (!current) throw notFound({ info: req.target.info, name });
  return objectResponse(req, current);
}


async function create(ctx: ApiContext, req: ResourceRequest): Promise<Response> {
  const resource = objectFromBody(req, await req.json(), { created: true });
  const name = typeof resource.metadata.name === 'string' ? resource.metadata.name : '';
  try {
    return await createNamed(ctx, req, resource, name);
  } catch (err) {
    // The URL of a create names no object: failures name the one in the body.
    throw toStatusError(err, subjectOf(req, name));
  }
}

async function createNamed(ctx: ApiContext, req: ResourceRequest, resource: Resource, name: string): Promise<Response> {
  await authorize(ctx, req, 'create', name, tierOf(resource, req.target.info.key));
  authorizeRbacWrite(ctx, req, resource);
  if (dryRun(req)) {
    const current = await getOptional(ctx.store, keyOfTarget(req, name));
    const { resource: wouldBe } = previewWrite('create', resource, current, undefined, await referenceView(ctx.store));
    return objectResponse(req, wouldBe, 201);
  }
  return objectResponse(req, written(ctx, await ctx.store.create(resource)), 201);
}

async function update(ctx: ApiContext, req: ResourceRequest, name: string): Promise<Response> {
  const resource = objectFromBody(req, await req.json(), { name, created: false });
  const current = await getOptional(ctx.store, keyOfTarget(req, name));
  await authorizeWrite(ctx, req, 'update', name, current, resource);
  if (dryRun(req)) {
    const { resource: wouldBe } = previewWrite('update', resource, current, undefined, await referenceView(ctx.store));
    return objectResponse(req, { ...wouldBe, metadata: { ...wouldBe.metadata, resourceVersion: current?.metadata.resourceVersion ?? '' } } as Resource);
  }
  return objectResponse(req, written(ctx, await ctx.store.update(resource)));
}

/** A write is checked against the tier the object is in now and the tier it will be in. */
async function authorizeWrite(ctx: ApiContext, req: ResourceRequest, verb: Verb, name: string, current: Resource | undefined, next: Resource): Promise<void> {
  const kind = req.target.info.key;
  const before = current && tierOf(current, kind);
  const after = tierOf(next, kind);
  await authorize(ctx, req, verb, name, before ?? after);
  if (after !== undefined && before !== undefined && after !== before) await authorize(ctx, req, verb, name, after);
  authorizeRbacWrite(ctx, req, next);
}

const PATCH_TYPES = {
  'application/merge-patch+json': 'merge',
  // Strategic merge is taken as a merge patch: Tabby's kinds have no patchMergeKey lists whose elements would be
  // merged by key, except through kubectl's `$setElementOrder`/`$patch` directives, which are refused below.
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
} as const;

/** Directive keys of strategic merge patches (`$patch`, `$setElementOrder/…`, `$retainKeys`, `$deleteFromPrimitiveList/…`). */
function directiveIn(v: unknown): string | undefined {
  if (Array.isArray(v)) {
    for (const e of v) { const d = directiveIn(e); if (d) return d; }
    return undefined;
  }
  if (!isPlainObject(v)) return undefined;
  for (const [k, e] of Object.entries(v)) {
    if (k.startsWith('$')) return k;
    const d = directiveIn(e);
    if (d) return d;
  }
  return undefined;
}

const PATCH_RETRIES = 5;

async function patch(ctx: ApiContext, req: ResourceRequest, name: string): Promise<Response> {
  const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const kind = Object.hasOwn(PATCH_TYPES, type) ? PATCH_TYPES[type as keyof typeof PATCH_TYPES] : undefined;
  if (!kind) {
    throw new StatusError(415, 'UnsupportedMediaType',
      `the patch content type ${JSON.stringify(type)} is not supported; use application/merge-patch+json, application/json-patch+json ` +
      'or application/strategic-merge-patch+json (server-side apply is not served)');
  }
  const body = await req.json();
  if (kind === 'strategic') {
    const directive = directiveIn(body);
    if (directive) {
      throw new StatusError(415, 'UnsupportedMediaType',
        `strategic merge patch directive ${JSON.stringify(directive)} is not supported: strategic merge patches are applied as JSON merge patches; use kubectl patch --type merge or --type json`);
    }
  }
  const isDry = dryRun(req);
  // As the API server's patcher: patch what is stored and write it back conditioned on that version; a
  // concurrent write in between retries from the new version unless the patch itself named a resourceVersion.
  for (let attempt = 0; ; attempt++) {
    const current = await getOptional(ctx.store, keyOfTarget(req, name));
    if (!current) {
      await authorize(ctx, req, 'patch', name);
      throw notFound({ info: req.target.info, name });
    }
    // Authorized on what is stored before the patch is applied: a failing JSON patch `test` (or any patch
    // error) would otherwise tell a caller who may not patch, or read, the object what it holds.
    await authorize(ctx, req, 'patch', name, tierOf(current, req.target.info.key));
    let patched: unknown;
    if (kind === 'json') {
      const result = applyJsonPatch(current, body);
      if (!result.ok) {
        // A cause, so kubectl prints the reason under "is invalid" (it prints only causes for Invalid).
        throw new StatusError(422, 'Invalid', `the JSON patch cannot be applied: ${result.error}`,
          { name, group: restGroup(req.target.info), kind: req.target.info.kind, causes: [{ reason: 'FieldValueInvalid', message: `the JSON patch cannot be applied: ${result.error}` }] });
      }
      patched = result.value;
    } else {
      if (!isPlainObject(body)) throw badRequest('a merge patch must be a JSON object');
      patched = mergePatch(current, body);
    }
    const next = objectFromBody(req, patched, { name, created: false });
    const pinned = next.metadata.resourceVersion !== current.metadata.resourceVersion;
    next.metadata.resourceVersion ??= current.metadata.resourceVersion!;
    await authorizeWrite(ctx, req, 'patch', name, current, next);
    if (isDry) {
      const { resource: wouldBe } = previewWrite('update', next, current, undefined, await referenceView(ctx.store));
      return objectResponse(req, { ...wouldBe, metadata: { ...wouldBe.metadata, resourceVersion: current.metadata.resourceVersion! } } as Resource);
    }
    try {
      return objectResponse(req, written(ctx, await ctx.store.update(next)));
    } catch (err) {
      if (!isConflict(err) || pinned || attempt >= PATCH_RETRIES) throw err;
    }
  }
}

/** DeleteOptions' preconditions (`kubectl delete` sends none; clients that care send resourceVersion or uid). */
function deletePreconditions(body: unknown): Preconditions {
  if (!isPlainObject(body)) return {};
  const pre = (body as { preconditions?: unknown }).preconditions;
  if (pre === undefined || pre === null) return {};
  if (!isPlainObject(pre)) throw badRequest('DeleteOptions.preconditions must be an object');
  const out: Preconditions = {};
  const { resourceVersion, uid } = pre as Record<string, unknown>;
  if (typeof resourceVersion === 'string' && resourceVersion !== '') out.resourceVersion = resourceVersion;
  if (typeof uid === 'string' && uid !== '') out.uid = uid;
  return out;
}

/** DeleteOptions.dryRun: kubectl sends `--dry-run=server` for a delete in the body, not the query. */
function deleteDryRun(body: unknown): boolean {
  if (!isPlainObject(body) || body.dryRun === undefined || body.dryRun === null) return false;
  const values = body.dryRun;
  if (!Array.isArray(values) || values.some((v) => v !== 'All')) throw badRequest(`DeleteOptions.dryRun must be ["All"], not ${JSON.stringify(values)}`);
  return values.length > 0;
}

async function remove(ctx: ApiContext, req: ResourceRequest, name: string, hasBody: boolean): Promise<Response> {
  const options = hasBody ? await req.json() : undefined;
  const pre = deletePreconditions(options);
  const isDry = deleteDryRun(options) || dryRun(req);
  const key = keyOfTarget(req, name);
  const current = await getOptional(ctx.store, key);
  await authorize(ctx, req, 'delete', name, current && tierOf(current, req.target.info.key));
  if (!current) throw notFound({ info: req.target.info, name });
  if (isDry) {
    previewDelete(key, pre, current, await referenceView(ctx.store));
    return objectResponse(req, current);
  }
  const deleted = await ctx.store.delete(key, pre);
  ctx.onWrite?.({ deleted: key, ...(deleted.metadata.resourceVersion !== undefined && { resourceVersion: deleted.metadata.resourceVersion }) });
  return objectResponse(req, deleted);
}

/** Routes one resource request by method and whether it names an object. */
export async function handleResource(ctx: ApiContext, req: ResourceRequest, hasBody: boolean): Promise<Response> {
  const { name } = req.target;
  try {
    switch (req.method) {
      case 'GET':
        if (name === undefined) return await list(ctx, req);
        if (req.query.get('watch') === 'true') {
          // The old /watch form for one object: a field selector on the name.
          req.query.set('fieldSelector', `metadata.name=${name}`);
          return await list(ctx, { ...req, target: { ...req.target, name: undefined } });
        }
        return await get(ctx, req, name);
      case 'POST':
        if (name !== undefined) throw methodNotAllowed(req);
        return await create(ctx, req);
      case 'PUT':
        if (name === undefined) throw methodNotAllowed(req);
        return await update(ctx, req, name);
      case 'PATCH':
        if (name === undefined) throw methodNotAllowed(req);
        return await patch(ctx, req, name);
      case 'DELETE':
        if (name === undefined) throw methodNotAllowed(req);
        return await remove(ctx, req, name, hasBody);
      default:
        throw methodNotAllowed(req);
    }
  } catch (err) {
    const status = toStatusError(err, subjectOf(req));
    return jsonResponse(status.toStatus(), status.code);
  }
}

function methodNotAllowed(req: ResourceRequest): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${req.method} ${req.target.name === undefined ? 'on a collection' : 'on an object'})`);
}
