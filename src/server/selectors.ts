// Field selectors, as far as the API server supports them for every kind: metadata.name and metadata.namespace,
// with =, == and != (`kubectl get gnp NAME -w` watches with fieldSelector=metadata.name=NAME), and spec.tier for
// the tiered kinds, as Calico's API server has it. Any other field is a 400, as it is there ("field label not
// supported").

import type { KindKey, Resource } from '../api/index.js';
import { TIERED_KINDS, tierOf } from '../datastore/index.js';
import { badRequest } from './status.js';

export interface ObjectFilter {
  labels(r: Resource): boolean;
  fields(r: Resource): boolean;
  matches(r: Resource): boolean;
  /** No selector was given: every object matches. */
  all: boolean;
}

const FIELDS: Record<string, (r: Resource) => string> = {
  'metadata.name': (r) => r.metadata.name,
  'metadata.namespace': (r) => r.metadata.namespace ?? '',
};

export function fieldSelectorOf(text: string | null, kind: KindKey): (r: Resource) => boolean {
  if (text === null || text.trim() === '') return () => true;
  const tiered = TIERED_KINDS.includes(kind);
  const tests = text.split(',').map((part) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid field selector ${JSON.stringify(part)}: expected field=value or field!=value`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = Object.hasOwn(FIELDS, field) ? FIELDS[field]
      : field === 'spec.tier' && tiered ? (r: Resource) => tierOf(r, kind) ?? '' : undefined;
    if (!get) throw badRequest(`field label not supported: ${field} (metadata.name${tiered ? ', metadata.namespace and spec.tier are' : ' and metadata.namespace are'})`);
    return op === '!=' ? (r: Resource) => get(r) !== value : (r: Resource) => get(r) === value;
  });
  return (r) => tests.every((t) => t(r));
}
