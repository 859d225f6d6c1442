// The authorization step of the pipeline: the attributes of a resource request, the one call to the authorizer
// (authorization.ts), and the 403 Status for a denial. Resource handlers and watches call only these.
//
// Named objects of tiered kinds carry their tier (the stored object's; a write also the new object's). A list or
// watch goes through listFilter: refused whole (403), or allowed with a predicate applied to every object listed
// and every watch event sent — so a list shows only the policies of the tiers the caller may list, and a watch
// never carries one of another tier (Calico's API server does the same: EnsureTierSelector). The predicate is
// taken when the watch starts, as Kubernetes authorizes a watch once.

import type { Resource } from '../api/index.js';
import { validateResource } from '../api/index.js';
import { isRbacResource, isTieredRequest, tiersFromSelectors } from './rbac/index.js';
import type { RequestAttributes, Verb } from './authorization.js';
import type { ApiContext, ResourceRequest } from './request.js';
import { restGroup } from './served-kinds.js';
import { badRequest, StatusError } from './status.js';

export function attributesOf(req: ResourceRequest, verb: Verb, name: string, tier?: string): RequestAttributes {
  const { info, namespace } = req.target;
  return {
    user: req.user.name, groups: req.user.groups, verb, apiGroup: restGroup(info), resource: info.plural,
    ...(namespace !== undefined && { namespace }), ...(name !== '' && { name }), ...(tier !== undefined && { tier }),
  };
}

function forbidden(a: RequestAttributes, message: string): StatusError {
  return new StatusError(403, 'Forbidden', message, { ...(a.name !== undefined && { name: a.name }), group: a.apiGroup, kind: a.resource });
}

/** Asks the authorizer; a denial is a 403 Status with the API server's wording. */
export async function authorize(ctx: ApiContext, req: ResourceRequest, verb: Verb, name: string, tier?: string): Promise<void> {
  const a = attributesOf(req, verb, name, tier);
  const decision = await ctx.authorizer.authorize(a);
  if (!decision.allowed) throw forbidden(a, decision.message);
}

function singleName(fieldSelector: string | null): string | undefined {
  const m = /^metadata\.name==?([^,=!]+)$/.exec(fieldSelector?.trim() ?? '');
  return m ? m[1]! : undefined;
}

/** The tiers that exist now, stored and built in (a list of kind Tier shows both). */
async function existingTiers(ctx: ApiContext): Promise<string[]> {
  return (await ctx.store.list({ kind: 'Tier' })).items.map((t) => t.metadata.name);
}

/** A list or watch: 403, or the predicate every object must pass. */
export async function listAccess(ctx: ApiContext, req: ResourceRequest, verb: 'list' | 'watch'): Promise<(r: Resource) => boolean> {
  // As kube-apiserver's RequestInfo: a list or watch narrowed to one name by `fieldSelector=metadata.name=N` is
  // authorized for that name, so a grant with resourceNames covers `kubectl get KIND N -w`.
  const a = attributesOf(req, verb, singleName(req.query.get('fieldSelector')) ?? '');
  let tierSelector: string[] | undefined;
  if (isTieredRequest(a)) {
    const selected = tiersFromSelectors(req.query.get('labelSelector') ?? undefined, req.query.get('fieldSelector') ?? undefined);
    if (!selected.ok) throw badRequest(selected.message);
    tierSelector = selected.tiers;
  }
  const tiers = isTieredRequest(a) && tierSelector === undefined ? await existingTiers(ctx) : [];
  const decision = await ctx.authorizer.listFilter({ ...a, ...(tierSelector !== undefined && { tierSelector }) }, tiers);
  if (!decision.allowed) throw forbidden(a, decision.message);
  return decision.admits;
}

/**
 * A write of an RBAC object, after authorize(): Kubernetes' escalation prevention on the object as it would be
 * stored (validated and defaulted; an invalid one is left for the store to refuse with every issue). A binding to
 * a role that does not exist, by a caller who may not `bind` it, is a 404 as in Kubernetes.
 */
export function authorizeRbacWrite(ctx: ApiContext, req: ResourceRequest, object: Resource): void {
  const checked = validateResource(object);
  if (!checked.ok || !isRbacResource(checked.value)) return;
  const d = ctx.authorizer.authorizeRbacWrite(req.user.name, req.user.groups, checked.value);
  if (d.allowed) return;
  const details = { name: checked.value.metadata.name, group: 'rbac.authorization.k8s.io', kind: req.target.info.plural };
  throw 'notFound' in d ? new StatusError(404, 'NotFound', d.message, details) : new StatusError(403, 'Forbidden', d.message, details);
}
