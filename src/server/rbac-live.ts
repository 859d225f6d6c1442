// The RBAC authorizer over a live datastore: an RbacIndex filled from a listing of the four RBAC kinds and kept
// in step by a watch from that listing's revision (relisting when the watch ends or fails). The server's own
// writes of RBAC objects are applied to the index as they return (`observe`), so a `kubectl apply` of a
// RoleBinding is in force for the very next request rather than when the watch event arrives; the watch then
// brings the same version again (upsert is idempotent) and every write made elsewhere (another server, the CLI).

import type { Resource, ResourceKey } from '../api/index.js';
import type { Datastore, Watch } from '../datastore/index.js';
import { Authorizer, isRbacResource, RbacIndex } from './rbac/index.js';

const RBAC_KIND_KEYS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'] as const;

export class LiveRbac {
  readonly index = new RbacIndex();
  readonly authorizer = new Authorizer(this.index);
  private watches: Watch[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** kind → `ns/name` of what the index holds, so a relist can remove what vanished. */
  private readonly held = new Map<string, Set<string>>();
  /**
   * `kind/ns/name` → the newest revision applied (an upsert's resourceVersion, a delete's revision). The server's
   * own writes arrive before their watch events, so an older event must not undo a newer write — above all, an
   * upsert delivered after the delete this server already applied must not grant a removed binding again.
   */
  private readonly newest = new Map<string, number>();

  constructor(private readonly store: Datastore, private readonly log: (line: string) => void = () => undefined) {}

  /** Lists the RBAC objects (resolves once the index holds them), then follows their changes. */
  async start(): Promise<void> {
    for (const kind of RBAC_KIND_KEYS) {
      const listed = await this.store.list({ kind });
      for (const r of listed.items) this.upsert(r);
      this.loops.push(this.follow(kind, listed.revision));
    }
  }

  private async follow(kind: (typeof RBAC_KIND_KEYS)[number], fromRevision: number): Promise<void> {
    let from = fromRevision;
    while (!this.stopped) {
      const watch = this.store.watch({ kind, fromRevision: from });
      this.watches.push(watch);
      try {
        for await (const e of watch) {
          if (e.type === 'upsert') this.upsert(e.resource);
          else if (e.type === 'delete') this.remove(e.key, e.revision);
          from = Math.max(from, e.revision);
        }
        // A watch that ended without stop() (the store closed it): watch again, but never in a tight loop.
        if (!this.stopped) await new Promise((r) => setTimeout(r, 100));
      } catch (err) {
        if (this.stopped) return;
        // Compacted or broken: list again (what the index holds is replaced object by object, deletions too).
        this.log(`rbac: the ${kind} watch failed (${err instanceof Error ? err.message : String(err)}); listing again`);
        try {
          const listed = await this.store.list({ kind });
          const names = new Set(listed.items.map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`));
          for (const r of listed.items) this.upsert(r);
          for (const id of [...(this.held.get(kind) ?? [])]) {
            const [namespace, name] = id.split('/') as [string, string];
            if (!names.has(id)) this.remove({ kind, ...(namespace !== '' && { namespace }), name });
          }
          from = listed.revision;
        } catch {
          await new Promise((r) => setTimeout(r, 1000));
        }
      } finally {
        this.watches = this.watches.filter((w) => w !== watch);
      }
    }
  }

  /** A write this server made: in force at once. A delete passes the deleted object's last resourceVersion. */
  observe(change: { upserted: Resource } | { deleted: ResourceKey; resourceVersion?: string }): void {
    if ('upserted' in change) this.upsert(change.upserted);
    else this.remove(change.deleted, Number(change.resourceVersion ?? 0));
  }

  private static id(kind: string, namespace: string | undefined, name: string): string {
    return `${kind}/${namespace ?? ''}/${name}`;
  }

  /** Records `revision` for `id`; false when something as new or newer was applied already. */
  private advance(id: string, revision: number): boolean {
    if (revision <= (this.newest.get(id) ?? -1)) return false;
    this.newest.set(id, revision);
    return true;
  }

  private upsert(r: Resource): void {
    if (!isRbacResource(r)) return;
    if (!this.advance(LiveRbac.id(r.kind, r.metadata.namespace, r.metadata.name), Number(r.metadata.resourceVersion ?? 0))) return;
    this.index.upsert(r);
    let ids = this.held.get(r.kind);
    if (!ids) this.held.set(r.kind, ids = new Set());
    ids.add(`${r.metadata.namespace ?? ''}/${r.metadata.name}`);
  }

  private remove(key: ResourceKey, revision?: number): void {
    if (!(RBAC_KIND_KEYS as readonly string[]).includes(key.kind)) return;
    // A delete is never undone by an older event; a relist's removal (no revision) always applies.
    if (revision !== undefined) this.advance(LiveRbac.id(key.kind, key.namespace, key.name), revision);
    this.index.remove(key.kind, key.namespace ?? '', key.name);
    this.held.get(key.kind)?.delete(`${key.namespace ?? ''}/${key.name}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.watches.map((w) => w.close()));
    await Promise.allSettled(this.loops);
  }
}
