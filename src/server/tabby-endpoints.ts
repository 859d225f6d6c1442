// Tabby's own endpoints beside the Kubernetes API, under /tabby/v1 (not a Kubernetes group: their answers are
// not resources, and kubectl never looks there). Each answers with the JSON the CLI prints with `-o json`, over
// the datastore's current objects (read per request, as the CLI reads them per command).
//   POST /tabby/v1/explain   {"from": "ns/pod" | "hep:name" | IP, "to": …, "protocol"?, "port"?, "srcPort"?,
//                             "icmp"?: {"type", "code"?}, "ipVersion"?: 4|6}  →  tabby explain -o json
//   GET  /tabby/v1/matrix    ?protocol=TCP&port=80&namespace=NS…&selector=S&pending=true&endpointsOnly=true
//                                                                              →  tabby matrix -o json
//   GET  /tabby/v1/lint      ?enable=ID,…|disable=ID,…                         →  tabby lint -o json
//   POST /tabby/v1/impact    a List (or array) of manifests                    →  the `impact` member of
//                             `tabby apply --dry-run -o json`: reachability before and after applying them
//   GET  /tabby/v1/agents    every node agent's status                         →  {items: [tabby agent status -o json]}
//   GET  /tabby/v1/agents/N  node N's agent                                    →  tabby agent status --node N -o json
// explain hides what the caller may not read (below). matrix answers with endpoints and verdicts only, no policy
// names. lint and impact name policies of every tier: granting `create` on them grants reading those names.
// Authorization: verb `create` on resource `explain` (`matrix`, `lint`, `impact`) in API group `tabby` (as a
// SubjectAccessReview is a create), `list` / `get` on `agents` (resourceNames: node names), through the same hook
// as every resource request; then every decision made by a policy the caller may not `get`
// is shown as "denied in tier security (not readable by you)", without the policy's name or rule.

import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';

import {
  buildLintContext, externalPeers, lintReportJson, matrixJsonHead, reachabilityImpact, reachabilityMatrix, runLint, selectRules,
} from '../analysis/index.js';
import { checkNodeName, validateResource, type Resource } from '../api/index.js';
import { keyOf, keyPath } from '../datastore/index.js';
import { PolicyEngine, type Flow, type FlowPeer } from '../engine/index.js';
import { causesOf } from './status.js';
import type { Authorizer } from './authorization.js';
import { redactFlowVerdict } from './rbac/index.js';
import { MAX_BODY_BYTES, parseJsonBody, readBody } from './body.js';
import type { ApiContext } from './request.js';
import { badRequest, StatusError } from './status.js';
import type { UserInfo } from './token-file.js';

type Env = { Bindings: HttpBindings; Variables: { user: UserInfo } };

async function authorizeTabby(authorizer: Authorizer, user: UserInfo, resource: string, verb = 'create', name?: string): Promise<void> {
  const d = await authorizer.authorize({ user: user.name, groups: user.groups, verb, apiGroup: 'tabby', resource, ...(name !== undefined && { name }) });
  if (!d.allowed) throw new StatusError(403, 'Forbidden', d.message, { group: 'tabby', kind: resource });
}

async function engineOf(ctx: ApiContext, resources?: readonly Resource[]): Promise<PolicyEngine> {
  const engine = new PolicyEngine();
  engine.load(resources ?? (await ctx.store.list()).items);
  return engine;
}

function portOf(text: string | undefined): number | string | undefined {
  if (text === undefined || text === '') return undefined;
  if (/^[0-9]+$/.test(text)) {
    if (text.length <= 5 && Number(text) <= 65535) return Number(text);
  } else if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(text) && text.length <= 15) return text; // a named port
  throw badRequest(`port must be a number from 0 to 65535 or a port name, not ${JSON.stringify(text)}`);
}

/** The manifests of an impact request, validated as a write would validate them (422 with every issue). */
function manifestsOf(body: unknown): Resource[] {
  const items = Array.isArray(body) ? body
    : typeof body === 'object' && body !== null && Array.isArray((body as { items?: unknown }).items) ? (body as { items: unknown[] }).items
      : undefined;
  if (!items) throw badRequest('the body must be a List ({"kind": "List", "items": [...]}) or an array of resources');
  return items.map((item, i) => {
    const r = validateResource(item);
    if (!r.ok) {
      throw new StatusError(422, 'Invalid', `items[${i}] is invalid: ${r.issues.map((x) => x.message).join('; ')}`,
        { causes: causesOf(r.issues).map((c) => ({ ...c, field: `items[${i}]${c.field ? `.${c.field}` : ''}` })) });
    }
    return r.value;
  });
}

function peerOf(v: unknown, field: string): FlowPeer {
  if (typeof v === 'string' && v !== '') {
    // As `tabby explain --from`: an address stands for itself here; ns/name and hep:name name endpoints.
    return /^[0-9.]+$|:/.test(v) && !v.startsWith('hep:') ? { ip: v } : v;
  }
  throw badRequest(`${field} must be namespace/name, hep:<name> or an IP address`);
}

function flowOf(body: unknown): Flow {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object describing the flow');
  const b = body as Record<string, unknown>;
  if (b.protocol !== undefined && typeof b.protocol !== 'string' && !(typeof b.protocol === 'number' && Number.isInteger(b.protocol))) {
    throw badRequest('protocol must be a name (TCP, UDP, ICMP, …) or a protocol number');
  }
  const flow: Flow = { from: peerOf(b.from, 'from'), to: peerOf(b.to, 'to'), protocol: (b.protocol as string | number | undefined) ?? 'TCP' };
  for (const k of ['port', 'srcPort'] as const) {
    if (b[k] === undefined) continue;
    if (typeof b[k] !== 'number' || !Number.isInteger(b[k]) || (b[k] as number) < 0 || (b[k] as number) > 65535) throw badRequest(`${k} must be a port number from 0 to 65535`);
    flow[k] = b[k] as number;
  }
  if (b.icmp !== undefined) {
    const icmp = b.icmp as Record<string, unknown>;
    const byte = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
    if (typeof icmp !== 'object' || icmp === null || Array.isArray(icmp) || !byte(icmp.type) || (icmp.code !== undefined && !byte(icmp.code))
      || Object.keys(icmp).some((k) => k !== 'type' && k !== 'code')) {
      throw badRequest('icmp must be {"type": 0–255, "code"?: 0–255}');
    }
    flow.icmp = b.icmp as Flow['icmp'] & object;
  }
  if (b.ipVersion !== undefined) {
    if (b.ipVersion !== 4 && b.ipVersion !== 6) throw badRequest('ipVersion is 4 or 6');
    flow.ipVersion = b.ipVersion;
  }
  return flow;
}

export function tabbyRoutes(ctx: ApiContext): Hono<Env> {
  const app = new Hono<Env>();
  // A thrown StatusError (or any error) becomes its Status in the server's onError (app.ts), as for resources.
  app.post('/explain', async (c) => {
    await authorizeTabby(ctx.authorizer, c.get('user'), 'explain');
    const flow = flowOf(parseJsonBody(await readBody(c.req.raw, MAX_BODY_BYTES)));
    const result = (await engineOf(ctx)).evaluate(flow);
    if (!result.ok) {
      const notFound = result.issues.every((i) => i.code === 'flow.unknown-endpoint');
      throw new StatusError(notFound ? 404 : 422, notFound ? 'NotFound' : 'Invalid', result.issues.map((i) => i.message).join('; '));
    }
    // Decisions of policies the caller may not read show the tier and the action only (rbac/redact.ts).
    const user = c.get('user');
    return c.json(redactFlowVerdict(result.value, (p) => ctx.authorizer.canReadPolicy(user.name, user.groups, p)));
  });
  app.get('/matrix', async (c) => {
    await authorizeTabby(ctx.authorizer, c.get('user'), 'matrix');
    const q = new URL(c.req.url).searchParams;
    const engine = await engineOf(ctx);
    const protocol = q.get('protocol') ?? 'TCP';
    const port = portOf(q.get('port') ?? undefined) ?? (/^(TCP|UDP|SCTP)$/i.test(protocol) ? 80 : undefined);
    const result = reachabilityMatrix(engine, {
      protocol, namespaces: q.getAll('namespace'), ...(port !== undefined && { port }),
      ...(q.get('selector') !== null && { selector: q.get('selector')! }),
      mode: q.get('pending') === 'true' ? 'pending' : 'enforced',
      external: q.get('endpointsOnly') === 'true' ? [] : externalPeers([engine]),
    });
    if (!result.ok) throw badRequest(result.issues.map((i) => i.message).join('; '));
    const m = result.value;
    return c.json({ ...matrixJsonHead(m), allowed: m.endpoints.map((_, i) => m.row(i)) });
  });
  app.get('/lint', async (c) => {
    await authorizeTabby(ctx.authorizer, c.get('user'), 'lint');
    const q = new URL(c.req.url).searchParams;
    const list = (name: string): string[] | undefined => q.get(name)?.split(',').map((x) => x.trim()).filter((x) => x !== '');
    const enable = list('enable');
    const disable = list('disable');
    if (enable && disable) throw badRequest('give either enable or disable, not both');
    const chosen = selectRules(enable ? { enable } : disable ? { disable } : {});
    if (!chosen.ok) throw badRequest(chosen.message);
    const resources = (await ctx.store.list()).items;
    const engine = await engineOf(ctx, resources);
    const report = runLint(buildLintContext(engine, resources.map((resource) => ({ resource })), {}), chosen.rules);
    return c.json(lintReportJson(report));
  });
  app.post('/impact', async (c) => {
    await authorizeTabby(ctx.authorizer, c.get('user'), 'impact');
    const manifests = manifestsOf(parseJsonBody(await readBody(c.req.raw, MAX_BODY_BYTES)));
    const before = (await ctx.store.list()).items;
    const after = new Map(before.map((r) => [keyPath(keyOf(r)), r]));
    for (const r of manifests) after.set(keyPath(keyOf(r)), r);
    return c.json(reachabilityImpact(before, [...after.values()]));
  });
  app.get('/agents', async (c) => {
    await authorizeTabby(ctx.authorizer, c.get('user'), 'agents', 'list');
    if (!ctx.agents) throw new StatusError(404, 'NotFound', 'this server was started without the agents\' state directory');
    return c.json({ items: await ctx.agents.list() });
  });
  app.get('/agents/:node', async (c) => {
    const node = c.req.param('node');
    // Calico's node-name rule, checked before the name reaches a file (api/names.ts).
    const bad = checkNodeName(node, []);
    if (bad) throw badRequest(bad.message);
    await authorizeTabby(ctx.authorizer, c.get('user'), 'agents', 'get', node);
    const s = ctx.agents ? await ctx.agents.get(node) : undefined;
    if (!s) throw new StatusError(404, 'NotFound', `no agent status for node ${node}`, { group: 'tabby', kind: 'agents', name: node });
    return c.json(s);
  });
  return app;
}
