// What `tabby get` lists beyond the stored objects: the WorkloadEndpoints and Profiles Calico derives from
// Kubernetes objects (api/kubernetes/endpoints.ts; calico-semantics.md §3.5, §3.9). On a Kubernetes cluster
// `calicoctl get workloadendpoints` lists one endpoint per pod with an address, and `calicoctl get profiles` a
// `kns.<ns>` profile per Namespace and a `ksa.<ns>.<sa>` one per ServiceAccount, though none of them is stored as
// such; Tabby's engine enforces exactly these (engine/dispatcher.ts), so `get` shows them too.
//
// A stored object of the same kind and name wins, as in the engine (an explicit profile outranks a derived one).
// Derived objects cannot be deleted or edited: the Pod, Namespace or ServiceAccount they come from can.

import {
  kindInfo, namespaceProfile, podToWorkloadEndpoint, serviceAccountProfile, type KindKey, type Namespace, type Pod,
  type Resource, type ResourceKey, type ServiceAccount,
} from '../api/index.js';
import {
  isDatastoreError, parseLabelSelector, type Datastore, type ListOptions, type ResourceList, type WatchEvent,
} from '../datastore/index.js';

/** The kinds whose objects Calico derives from others, and from which kinds. */
const DERIVED_FROM: Partial<Record<KindKey, KindKey[]>> = {
  WorkloadEndpoint: ['Pod'],
  Profile: ['Namespace', 'ServiceAccount'],
};

function derive(resource: Resource): Resource | undefined {
  switch (resource.kind) {
    case 'Pod': return podToWorkloadEndpoint(resource as Pod);
    case 'Namespace': return namespaceProfile(resource as Namespace);
    case 'ServiceAccount': return serviceAccountProfile(resource as ServiceAccount);
    default: return undefined;
  }
}

const identity = (r: Resource): string => `${r.metadata.namespace ?? ''}/${r.metadata.name}`;

/** `store.list` of one kind, plus what Calico derives for that kind from the stored Kubernetes objects. */
export async function listWithDerived(store: Datastore, options: ListOptions & { kind: KindKey }): Promise<ResourceList> {
  const own = await store.list(options);
  const sources = DERIVED_FROM[options.kind];
  if (!sources) return own;
  const labels = options.labelSelector !== undefined ? parseLabelSelector(options.labelSelector) : undefined;
  const matches = (r: Resource): boolean => labels === undefined || !labels.ok || labels.value(r.metadata.labels);
  const taken = new Set(own.items.map(identity));
  const derived: Resource[] = [];
  const skipped = [...(own.skipped ?? [])];
  for (const kind of sources) {
    // Pods are read from the namespace asked for; profiles are cluster-wide, so every ServiceAccount counts.
    const scoped = kindInfo(options.kind).namespaced && options.namespace !== undefined ? { namespace: options.namespace } : {};
    const from = await store.list({ kind, ...scoped });
    skipped.push(...(from.skipped ?? []));
    for (const r of from.items) {
      const d = derive(r);
      if (d && !taken.has(identity(d)) && matches(d)) {
        taken.add(identity(d));
        derived.push(d);
      }
    }
  }
  const items = [...own.items, ...derived]
    .sort((a, b) => compare(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || compare(a.metadata.name, b.metadata.name));
  return { ...own, items, ...(skipped.length > 0 ? { skipped } : {}) };
}

/** `store.get`, falling back to the object Calico derives under that name (a pod's endpoint, `kns.*`, `ksa.*`). */
export async function getWithDerived(store: Datastore, key: ResourceKey): Promise<Resource> {
  try {
    return await store.get(key);
  } catch (err) {
    if (!isDatastoreError(err) || err.code !== 'not-found' || !DERIVED_FROM[key.kind]) throw err;
    const found = await derivedNamed(store, key);
    if (!found) throw err;
    return found;
  }
}

async function derivedNamed(store: Datastore, key: ResourceKey): Promise<Resource | undefined> {
  const tryGet = async (k: ResourceKey): Promise<Resource | undefined> => {
    try {
      return await store.get(k);
    } catch (err) {
      if (isDatastoreError(err) && err.code === 'not-found') return undefined;
      throw err;
    }
  };
  if (key.kind === 'Profile') {
    // kns.<ns> and ksa.<ns>.<sa> (a namespace name has no dots, so the first dot after ksa. ends it).
    if (key.name.startsWith('kns.')) {
      const ns = await tryGet({ kind: 'Namespace', name: key.name.slice(4) });
      return ns && derive(ns);
    }
    const m = /^ksa\.([^.]+)\.(.+)$/.exec(key.name);
    const sa = m ? await tryGet({ kind: 'ServiceAccount', namespace: m[1]!, name: m[2]! }) : undefined;
    return sa && derive(sa);
  }
  // An endpoint's name is derived from its pod's node and name (`<node>-k8s-<pod>-eth0`): look among the pods.
  const pods = await store.list({ kind: 'Pod', ...(key.namespace !== undefined && { namespace: key.namespace }) });
  return pods.items.map(derive).find((d) => d !== undefined && d.metadata.name === key.name);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `resources` plus the objects Calico derives from them that none of them already is (a stored object of that kind
 * and name wins), for commands that work on a loaded set rather than the store (`describe profile kns.shop`).
 */
export function withDerived(resources: readonly Resource[]): Resource[] {
  const taken = new Set(resources.map((r) => `${r.kind}/${identity(r)}`));
  const derived: Resource[] = [];
  for (const r of resources) {
    const d = derive(r);
    if (d && !taken.has(`${d.kind}/${identity(d)}`)) {
      taken.add(`${d.kind}/${identity(d)}`);
      derived.push(d);
    }
  }
  return [...resources, ...derived];
}

/** A watch event of a derived object: what `get -w` prints for it. */
export type DerivedEvent =
  | { type: 'upsert'; resource: Resource }
  | { type: 'delete'; previous: Resource };

const keyOf = (r: Resource): string => `${r.kind}/${identity(r)}`;

/**
 * The derived objects of a `get -w`: a Pod's endpoint changes with its Pod, a `kns.*`/`ksa.*` profile with its
 * Namespace/ServiceAccount. `prime` lists the sources once (at their own revisions); `onEvent` turns an event of
 * a source kind into the event of what it derives. A stored object of the derived kind and name wins, as in
 * listWithDerived: while one exists, its derived namesake's events are not reported.
 */
export class DerivedWatch {
  /** Source key → the object it derived, as last reported. */
  private readonly derived = new Map<string, Resource>();
  private readonly stored = new Set<string>();
  private readonly revisions = new Map<KindKey, number>();

  constructor(private readonly kinds: readonly KindKey[]) {}

  /** The source kinds the watch must follow (Pod for WorkloadEndpoint, Namespace and ServiceAccount for Profile). */
  get sourceKinds(): KindKey[] {
    return [...new Set(this.kinds.flatMap((k) => DERIVED_FROM[k] ?? []))];
  }

  async prime(store: Datastore, namespace: string | undefined): Promise<void> {
    for (const kind of this.kinds) {
      if (!DERIVED_FROM[kind]) continue;
      const scoped = kindInfo(kind).namespaced && namespace !== undefined ? { namespace } : {};
      for (const r of (await store.list({ kind, ...scoped })).items) this.stored.add(keyOf(r));
      for (const source of DERIVED_FROM[kind]!) {
        const list = await store.list({ kind: source, ...scoped });
        this.revisions.set(source, list.revision);
        for (const r of list.items) {
          const d = derive(r);
          if (d) this.derived.set(keyOf(r), d);
        }
      }
    }
  }

  /** Notes a stored object of a derived kind (it hides its derived namesake), from the watch's own events. */
  noteStored(event: WatchEvent): void {
    if (event.type === 'upsert' && DERIVED_FROM[event.resource.kind]) this.stored.add(keyOf(event.resource));
    if (event.type === 'delete' && DERIVED_FROM[event.key.kind]) {
      this.stored.delete(`${event.key.kind}/${event.key.namespace ?? ''}/${event.key.name}`);
    }
  }

  /** The derived events an event of a source kind makes (none, one, or a delete then an add when it was renamed). */
  onEvent(event: WatchEvent): DerivedEvent[] {
    if (event.type !== 'upsert' && event.type !== 'delete') return [];
    const kind = event.type === 'upsert' ? event.resource.kind : event.key.kind;
    const listedAt = this.revisions.get(kind);
    if (listedAt === undefined || event.revision <= listedAt) return [];
    const sourceKey = event.type === 'upsert' ? keyOf(event.resource)
      : `${event.key.kind}/${event.key.namespace ?? ''}/${event.key.name}`;
    const before = this.derived.get(sourceKey);
    const after = event.type === 'upsert' ? derive(event.resource) : undefined;
    if (after) this.derived.set(sourceKey, after);
    else this.derived.delete(sourceKey);
    const visible = (r: Resource | undefined): r is Resource => r !== undefined && !this.stored.has(keyOf(r));
    const out: DerivedEvent[] = [];
    // A pod that lost its address derives no endpoint, and one that moved node another name: the old one goes.
    if (visible(before) && (!after || keyOf(after) !== keyOf(before))) out.push({ type: 'delete', previous: before });
    if (visible(after)) out.push({ type: 'upsert', resource: after });
    return out;
  }
}
