// The HTTP application: Hono routes the fixed documents (discovery, OpenAPI, version, Tabby's own endpoints) and
// hands every other /api and /apis path to the resource pipeline. Order for every request:
//   1. the raw request line is checked for dot segments (resource-paths.ts: before URL parsing hides them)
//   2. authentication: a bearer token from the token table, or 401 (authentication.ts)
//   3. authorization inside the pipeline, per request and per item (access.ts → the Authorizer)
// Hono was chosen for web-standard Request/Response (a watch is a ReadableStream), no dependencies of its own,
// and middleware small enough to read; @hono/node-server runs it on node:https (README.md).

import { Hono, type Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';

import type { Authorizer } from './authorization.js';
import { MAX_BODY_BYTES, parseJsonBody, readBody } from './body.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { openApiV3Group, openApiV3Root } from './openapi.js';
import { encodeOpenApiV2 } from './openapi-v2-proto.js';
import { OPENAPI_V2_PROTOBUF, openApiV2Json, wantsOpenApiV2Protobuf } from './openapi-v2.js';
import { handleResource, jsonResponse } from './resource-handlers.js';
import { parseResourcePath, rawPathProblem } from './resource-paths.js';
import type { ApiContext } from './request.js';
import { GROUP_VERSIONS, groupVersion } from './served-kinds.js';
import { StatusError, toStatusError } from './status.js';
import type { TokenTable, UserInfo } from './token-file.js';
import { tabbyRoutes } from './tabby-endpoints.js';
import type { Datastore } from '../datastore/index.js';

export interface AppOptions {
  store: Datastore;
  tokens: TokenTable;
  authorizer: Authorizer;
  onWrite?: ApiContext['onWrite'];
  agents?: ApiContext['agents'];
  tabbyVersion: string;
  /** host:port clients reach the server at, for /api's serverAddressByClientCIDRs. */
  address: () => string;
}

type Env = { Bindings: HttpBindings; Variables: { user: UserInfo } };

function statusResponse(err: StatusError): Response {
  return jsonResponse(err.toStatus(), err.code);
}

const UNAUTHORIZED = new StatusError(401, 'Unauthorized', 'Unauthorized');

export function createApp(options: AppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const ctx: ApiContext = {
    store: options.store, authorizer: options.authorizer,
    ...(options.onWrite && { onWrite: options.onWrite }), ...(options.agents && { agents: options.agents }),
  };

  app.use('*', async (c, next) => {
    const raw = c.env?.incoming?.url ?? new URL(c.req.url).pathname;
    const problem = rawPathProblem(raw);
    if (problem) return statusResponse(new StatusError(400, 'BadRequest', `${problem}; names may not be '.' or '..'`));
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const user = m ? options.tokens.lookup(m[1]!) : undefined;
    if (!user) return statusResponse(UNAUTHORIZED);
    c.set('user', user);
    await next();
  });

  app.get('/version', (c) => c.json(versionInfo(options.tabbyVersion)));
  // kube-apiserver's health endpoints (any authenticated caller, as its system:public-info-viewer role allows).
  for (const path of ['/healthz', '/livez', '/readyz']) app.get(path, (c) => c.text('ok'));
  app.get('/api', (c) => c.json(apiVersions(options.address())));
  app.get('/apis', (c) => c.json(apiGroupList()));
  // The served kinds are fixed, so both encodings are made once, on first use.
  let v2: { json: string; protobuf: Uint8Array } | undefined;
  app.get('/openapi/v2', (c) => {
    if (!v2) {
      const doc = openApiV2Json(options.tabbyVersion);
      v2 = { json: JSON.stringify(doc), protobuf: encodeOpenApiV2(doc) };
    }
    return wantsOpenApiV2Protobuf(c.req.header('accept'))
      ? new Response(v2.protobuf, { headers: { 'content-type': OPENAPI_V2_PROTOBUF } })
      : new Response(v2.json, { headers: { 'content-type': 'application/json' } });
  });
  app.get('/openapi/v3', (c) => c.json(openApiV3Root()));
  app.get('/openapi/v3/*', (c) => {
    const rest = c.req.path.slice('/openapi/v3/'.length).split('/');
    const gv = rest[0] === 'api' ? groupVersion('', rest[1] ?? '') : rest[0] === 'apis' ? groupVersion(rest[1] ?? '', rest[2] ?? '') : undefined;
    if (!gv) return statusResponse(new StatusError(404, 'NotFound', `no OpenAPI document for ${c.req.path}`));
    return c.json(openApiV3Group(gv));
  });
  app.route('/tabby/v1', tabbyRoutes(ctx));

  const resource = async (c: Context<Env>): Promise<Response> => {
    const url = new URL(c.req.url);
    const path = url.pathname.replace(/\/+$/, '');
    try {
      const discovery = discoveryDocument(path);
      if (discovery !== undefined) {
        if (c.req.method !== 'GET') throw new StatusError(405, 'MethodNotAllowed', `${c.req.method} is not allowed on ${path}`);
        return c.json(discovery);
      }
      const target = parseResourcePath(path);
      if (!target) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${path})`);
      const request = c.req.raw;
      let parsed: { value: unknown } | undefined;
      return await handleResource(ctx, {
        method: c.req.method,
        target,
        query: url.searchParams,
        user: c.get('user'),
        accept: c.req.header('accept'),
        contentType: c.req.header('content-type'),
        json: async () => (parsed ??= { value: parseJsonBody(await readBody(request, MAX_BODY_BYTES)) }).value,
        signal: request.signal,
      }, hasBody(c));
    } catch (err) {
      return statusResponse(toStatusError(err));
    }
  };
  app.all('/api/*', resource);
  app.all('/apis/*', resource);

  app.notFound(() => statusResponse(new StatusError(404, 'NotFound', 'the server could not find the requested resource')));
  app.onError((err) => statusResponse(toStatusError(err)));
  return app;
}

function hasBody(c: Context<Env>): boolean {
  const length = c.req.header('content-length');
  return (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
}

/** /api/v1, /apis/GROUP and /apis/GROUP/VERSION. */
function discoveryDocument(path: string): unknown {
  const segs = path.split('/').slice(1);
  if (segs[0] === 'api' && segs.length === 2) {
    const gv = groupVersion('', segs[1]!);
    return gv ? apiResourceList(gv) : undefined;
  }
  if (segs[0] === 'apis' && segs.length === 2) {
    const gvs = GROUP_VERSIONS.filter((gv) => gv.group === segs[1]);
    return gvs.length > 0 ? apiGroup(segs[1]!, gvs) : undefined;
  }
  if (segs[0] === 'apis' && segs.length === 3) {
    const gv = groupVersion(segs[1]!, segs[2]!);
    return gv ? apiResourceList(gv) : undefined;
  }
  return undefined;
}
