// The authorization step of the pipeline: the attributes of a resource request, the one call to the authorizer,
// and the 403 Status for a denial. Resource handlers and watches call only these.

import type { Resource } from '../api/index.js';
import { tierOf } from '../datastore/index.js';
import { attributesFor, forbiddenMessage, type RequestAttributes, type Verb } from './authorization.js';
import type { ApiContext, ResourceRequest } from './request.js';
import { restGroup } from './served-kinds.js';
import { StatusError } from './status.js';

/** Asks the authorizer; a denial is a 403 Status with the API server's wording. */
export async function authorize(ctx: ApiContext, req: ResourceRequest, verb: Verb, name: string, tier?: string): Promise<void> {
  const a = attributesOf(req, verb, name, tier);
  const decision = await ctx.authorizer.authorize(a);
  if (!decision.allowed) {
    throw new StatusError(403, 'Forbidden', forbiddenMessage(a, decision.reason), {
      ...(name !== '' && { name }), group: a.apiGroup, kind: a.resource,
    });
  }
}

export function attributesOf(req: ResourceRequest, verb: Verb, name: string, tier?: string): RequestAttributes {
  return attributesFor(req.user, {
    verb, apiGroup: restGroup(req.target.info), resource: req.target.info.plural, subresource: '',
    namespace: req.target.namespace ?? '', name, ...(tier !== undefined && { tier }),
  });
}

/** Whether the caller may `verb` this object (per-item filtering of lists and watches). */
export async function mayRead(ctx: ApiContext, req: ResourceRequest, verb: Verb, r: Resource): Promise<boolean> {
  const tier = tierOf(r, req.target.info.key);
  if (tier === undefined) return true; // the collection-level check already covered it
  const a = attributesOf(req, verb, '', tier);
  a.namespace = r.metadata.namespace ?? '';
  return (await ctx.authorizer.authorize(a)).allowed;
}

