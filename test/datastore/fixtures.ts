// Small valid resources for the datastore suites, and helpers to drain watches.

import type { Resource } from '../../src/api/types.js';
import type { Watch, WatchEvent } from '../../src/datastore/index.js';

export function gnp(name: string, opts: { labels?: Record<string, string>; order?: number } = {}): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name, ...(opts.labels && { labels: opts.labels }) },
    spec: {
      selector: 'role == "db"',
      ...(opts.order !== undefined && { order: opts.order }),
      ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: 'role == "app"' }, destination: { ports: [5432] } }],
    },
  };
}

export function np(namespace: string, name: string, labels?: Record<string, string>): Resource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, ...(labels && { labels }) },
    spec: { selector: 'app == "web"', egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }] },
  };
}

export function knp(namespace: string, name: string): Resource {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] },
  };
}

/** A resource's spec as a plain record (the Resource union includes kinds without one). */
export function specOf(r: Resource): Record<string, unknown> {
  return ((r as { spec?: Record<string, unknown> }).spec ??= {});
}

export function tier(name: string, order: number): Resource {
  return { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec: { order } };
}

/** Collects a watch's events in the background. */
export class Collector {
  readonly events: WatchEvent[] = [];
  error: unknown;
  private readonly done: Promise<void>;
  private wake: (() => void) | undefined;

  constructor(readonly watch: Watch) {
    this.done = (async () => {
      try {
        for await (const e of watch) {
          this.events.push(e);
          this.wake?.();
        }
      } catch (err) {
        this.error = err;
        this.wake?.();
      }
    })();
  }

  /** Waits until `pred` holds for the events so far (or the watch fails). */
  async until(pred: (events: WatchEvent[]) => boolean, timeoutMs = 20_000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.events)) {
      if (this.error !== undefined) throw this.error;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms; events so far: ${JSON.stringify(this.events.map(brief))}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
    return this.events;
  }

  async close(): Promise<void> {
    await this.watch.close();
    await this.done;
  }
}

/** `add GlobalNetworkPolicy//a@5`: enough to compare event sequences in assertions. */
export function brief(e: WatchEvent): string {
  if (e.type === 'synced') return `synced@${e.revision}`;
  if (e.type === 'delete') return `delete ${e.key.kind}/${e.key.namespace ?? ''}/${e.key.name}@${e.revision}`;
  if (e.type === 'skipped') return `skipped ${e.skipped.key}@${e.revision}`;
  const m = e.resource.metadata;
  return `${e.op} ${e.resource.kind}/${m.namespace ?? ''}/${m.name}@${e.revision}`;
}

/** The state a consumer holds after applying events: key → resourceVersion. */
export function foldEvents(events: WatchEvent[], into = new Map<string, string>()): Map<string, string> {
  for (const e of events) {
    if (e.type === 'upsert') {
      const m = e.resource.metadata;
      into.set(`${e.resource.apiVersion}/${e.resource.kind}/${m.namespace ?? ''}/${m.name}`, m.resourceVersion!);
    } else if (e.type === 'delete') {
      const p = e.previous;
      if (p) into.delete(`${p.apiVersion}/${p.kind}/${p.metadata.namespace ?? ''}/${p.metadata.name}`);
    }
  }
  return into;
}

export function stateOf(items: Resource[]): Map<string, string> {
  return new Map(items.map((r) => [`${r.apiVersion}/${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`, r.metadata.resourceVersion!]));
}
