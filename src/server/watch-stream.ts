// `?watch=true`: the datastore's watch as Kubernetes watch events, one JSON object per line
// (`{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`), streamed until the client goes away or
// timeoutSeconds passes.
//
//   resourceVersion absent, '' or '0'  every current object as ADDED, then changes (the store's initial listing)
//   resourceVersion N                  changes after N; history compacted away → an ERROR event with a 410
//                                      Expired Status ("too old resource version"), and the client lists again
//
// Selectors and the caller's list filter (access.ts) are applied per event, as the API server's watch cache
// applies a selector (rbac/watch-filter.ts): an object that leaves the view is sent as DELETED with the state the
// watcher last saw (never the new one: a policy moved into a tier the caller cannot read stays unread), one that
// enters it as ADDED. For a watch from N, which objects matched at N is taken
// from a listing made as it starts: an object unchanged since N (resourceVersion ≤ N) is as it was; one changed
// since is settled by its first event (created after N: ADDED; updated: MODIFIED when it matches now — with a
// selector, an object that matched at N and no longer does is then not reported, as its state at N is gone).
// Every event of a tiered kind is checked with the authorizer for its tier, so a watch never carries an object
// the caller may not read.

import { keyOf, keyPath, type WatchEvent } from '../datastore/index.js';
import { filterWatchEvent, type FilteredEvent } from './rbac/index.js';
import type { Resource } from '../api/index.js';
import type { ApiContext, ResourceRequest } from './request.js';
import type { ObjectFilter } from './selectors.js';
import { badRequest, toStatusError } from './status.js';
import { toTable, wantsTable } from './table.js';

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The API server's default --min-request-timeout: a watch without timeoutSeconds ends after 30 minutes. */
const DEFAULT_TIMEOUT_S = 1800;
/** How often a watch that asked for bookmarks gets one (the API server sends about one a minute). */
const BOOKMARK_INTERVAL_MS = 10_000;

function fromRevisionOf(req: ResourceRequest): number | undefined {
  const rv = req.query.get('resourceVersion');
  if (rv === null || rv === '' || rv === '0') return undefined;
  if (!/^[0-9]{1,15}$/.test(rv)) throw badRequest(`resourceVersion ${JSON.stringify(rv)} is not a resource version this server issued (a decimal number)`);
  return Number(rv);
}

function timeoutOf(req: ResourceRequest): number {
  const t = req.query.get('timeoutSeconds');
  if (t === null) return DEFAULT_TIMEOUT_S;
  if (!/^[0-9]{1,9}$/.test(t)) throw badRequest(`timeoutSeconds must be a whole number of seconds, not ${JSON.stringify(t)}`);
  return Number(t);
}

export async function watchResponse(
  ctx: ApiContext, req: ResourceRequest, filter: ObjectFilter, admits: (r: Resource) => boolean,
): Promise<Response> {
  const fromRevision = fromRevisionOf(req);
  const timeoutMs = timeoutOf(req) * 1000;
  const bookmarks = req.query.get('allowWatchBookmarks') === 'true';
  const table = wantsTable(req.accept);
  const { info, namespace } = req.target;
  const visible$ = (r: Resource): boolean => filter.matches(r) && admits(r);
  /** What this watcher was last sent of each object it can see (a DELETED carries that, never a newer state). */
  const visible = new Map<string, Resource>();
  /** Objects changed since fromRevision: whether they were visible at it is settled by their first event. */
  const unsettled = new Set<string>();
  if (fromRevision !== undefined) {
    const now = await ctx.store.list({ kind: info.key, ...(namespace !== undefined && { namespace }) });
    for (const r of now.items) {
      const path = keyPath(keyOf(r));
      if (Number(r.metadata.resourceVersion) > fromRevision) unsettled.add(path);
      else if (visible$(r)) visible.set(path, r);
    }
  }
  const watch = ctx.store.watch({ kind: info.key, ...(namespace !== undefined && { namespace }), ...(fromRevision !== undefined && { fromRevision }) });
  const encoder = new TextEncoder();
  let lastRevision = fromRevision ?? 0;
  let timers: NodeJS.Timeout[] = [];
  const stop = (): void => {
    for (const t of timers) clearTimeout(t);
    timers = [];
    void watch.close();
  };

  const frame = (type: EventType, object: unknown): Uint8Array => {
    const obj = table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')
      ? toTable(info.key, [object as Resource], (object as Resource).metadata.resourceVersion, req.query.get('includeObject') ?? 'Object')
      : object;
    return encoder.encode(JSON.stringify({ type, object: obj }) + '\n');
  };
  const bookmark = (): Uint8Array => frame('BOOKMARK', { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion: String(lastRevision) } });

  /** Records what the watcher now sees and frames the event (rbac/watch-filter.ts decided its type). */
  const send = (path: string, e: FilteredEvent | undefined, revision: number): Uint8Array | undefined => {
    if (!e) return undefined;
    if (e.type === 'DELETED') {
      visible.delete(path);
      return frame('DELETED', { ...e.object, metadata: { ...e.object.metadata, resourceVersion: String(revision) } });
    }
    visible.set(path, e.object);
    return frame(e.type, e.object);
  };

  /** The events one store event becomes for this watcher (none, or one). */
  const translate = async (event: WatchEvent): Promise<Uint8Array | undefined> => {
    switch (event.type) {
      case 'upsert': {
        const r = event.resource;
        const path = keyPath(keyOf(r));
        // An unsettled object's state at fromRevision is gone: created since, it was not there; updated since, it
        // counts as seen when it is seen now (or when no selector narrows the watch).
        const previous = unsettled.delete(path)
          ? (event.op === 'update' && (filter.all || visible$(r)) ? r : undefined)
          : visible.get(path);
        return send(path, filterWatchEvent(previous, r, visible$), event.revision);
      }
      case 'delete': {
        const path = keyPath(event.key);
        const previous = unsettled.delete(path) ? event.previous : visible.get(path);
        return send(path, filterWatchEvent(previous, undefined, visible$), event.revision);
      }
      case 'synced':
        return bookmarks ? bookmark() : undefined;
      case 'skipped':
        return undefined; // never served (datastore.ts SkippedObject); `tabby datastore check` reports it
    }
  };

  const iterator = watch[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      req.signal.addEventListener('abort', stop, { once: true });
      timers.push(setTimeout(() => { stop(); }, timeoutMs));
      if (bookmarks) {
        const tick = (): void => {
          try { controller.enqueue(bookmark()); } catch { return; }
          timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
        };
        timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
      }
    },
    async pull(controller) {
      for (;;) {
        let next: IteratorResult<WatchEvent>;
        try {
          next = await iterator.next();
        } catch (err) {
          const status = toStatusError(err);
          controller.enqueue(encoder.encode(JSON.stringify({ type: 'ERROR', object: status.toStatus() }) + '\n'));
          stop();
          controller.close();
          return;
        }
        if (next.done) {
          stop();
          controller.close();
          return;
        }
        lastRevision = Math.max(lastRevision, next.value.revision);
        const out = await translate(next.value);
        if (out) {
          controller.enqueue(out);
          return;
        }
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' } });
}
