// `tabby get KIND[,KIND...] [NAME...]`: read resources from the datastore (calicoctl get, with kubectl's -l, -A,
// --show-labels, -o custom-columns / jsonpath, and -w). Namespaced kinds are read from -n NS (default: default) or
// every namespace with -A.
//
// -w lists, then watches from the revision of the listing (each kind's own: an event at or below the revision its
// kind was listed at is in the listing already), so no change is lost or printed twice. Events are filtered as the
// listing was (kind, namespace, names, -l); an object that stops matching -l is printed once more, as a deleted one
// is, the way a Kubernetes watch with a label selector reports it as DELETED. Ctrl-C (SIGINT) ends the watch
// quietly with exit 0; the end of the store's watch (the store closed) ends it too.

import { displayText, escapeControls, kindInfoOf, type KindInfo, type KindKey, type Resource, type ResourceKey } from '../../api/index.js';
import { booleanOption, EXIT, stringOption, UsageError, write, type CommandIO, type CommandSpec } from '../command.js';
import { isDatastoreError, parseLabelSelector, type Datastore, type LabelMatcher } from '../../datastore/index.js';
import { DATASTORE_OPTION, describeDatastoreError, NAMESPACE_OPTION, warnSkipped, withStore } from '../datastore-access.js';
import { parseResourceArguments, type ResourceRef } from '../resource-refs.js';
import { GET_TEMPLATE_FORMATS, parseGetOutput, printResources, printsEmpty, WatchPrinter, type GetOutput } from '../output/get-output.js';
import { outputOption } from '../output/printers.js';
import { RESOURCE_PRINTERS } from '../output/resources.js';
import { DerivedWatch, getWithDerived, listWithDerived } from '../derived-resources.js';

/** What one `tabby get` reads: the kinds, where, which names, which labels. */
interface Query {
  kinds: KindInfo[];
  /** undefined with -A. */
  namespace: string | undefined;
  names: string[];
  /** The objects named (KIND NAME... or KIND/NAME...); empty to list the kinds. */
  refs: ResourceRef[];
  selector: string | undefined;
}

export const command: CommandSpec = {
  name: 'get',
  summary: 'List or show resources in the datastore, or watch them change',
  usage: 'tabby get KIND[,KIND...] [NAME...] [-n NS | -A] [-l SELECTOR] [-w | --watch-only] [--show-labels] ' +
    '[-o table|wide|yaml|json|name|custom-columns=SPEC|jsonpath=TEMPLATE] [--datastore LOCATION]',
  examples: [
    'tabby get globalnetworkpolicies',
    'tabby get np -A -o wide            # NAMESPACE NAME TIER ORDER SELECTOR (Kubernetes policies: order 1000)',
    'tabby get wep -n prod -o wide      # stored endpoints and those Calico derives from pods',
    'tabby get gnp allow-dns -o yaml',
    'tabby get networkpolicy,networkset -n prod -l app=web --show-labels',
    'tabby get gnp -w',
    'tabby get gnp --watch-only -o json',
    'tabby get gnp -o custom-columns=NAME:.metadata.name,ORDER:.spec.order',
    "tabby get gnp -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.spec.order}{\"\\n\"}{end}'",
    'tabby get gnp -o name',
  ],
  options: {
    namespace: NAMESPACE_OPTION,
    'all-namespaces': { type: 'boolean', short: 'A', description: 'Namespaced kinds from every namespace, with a NAMESPACE column' },
    selector: {
      type: 'string', short: 'l', valueName: 'SELECTOR',
      description: "Only objects whose labels match (kubectl syntax: 'app=web,env!=prod,tier in (a,b),!legacy')",
    },
    watch: {
      type: 'boolean', short: 'w',
      description: 'After the listing, print each change (a row or object per event; a deleted one again) until Ctrl-C',
    },
    'watch-only': { type: 'boolean', description: 'Watch without listing first' },
    'show-labels': { type: 'boolean', description: 'A LABELS column (k=v,k2=v2 or <none>), as kubectl' },
    output: outputOption(RESOURCE_PRINTERS, 'Output format', GET_TEMPLATE_FORMATS),
    datastore: DATASTORE_OPTION,
  },
  positionals: true,
  async run(args, io) {
    // KIND[,KIND...] [NAME...] or KIND/NAME... (what -o name prints): resource-refs.ts.
    const { kinds, refs } = parseResourceArguments(args.positionals, 'get', { namesRequired: false, example: 'tabby get globalnetworkpolicies' });
    const names = refs.map((r) => r.name);
    const output = await parseGetOutput(args, io.cwd);
    const all = booleanOption(args, 'all-namespaces');
    const ns = stringOption(args, 'namespace');
    const selector = stringOption(args, 'selector');
    const watchOnly = booleanOption(args, 'watch-only');
    const watch = watchOnly || booleanOption(args, 'watch');
    const showLabels = booleanOption(args, 'show-labels');
    if (all && ns !== undefined) throw new UsageError('give -n NS or -A, not both');
    if (names.length > 0 && (all || selector !== undefined)) {
      throw new UsageError('names select objects of one kind in one namespace; drop -A/-l or the names');
    }
    let matcher: LabelMatcher = () => true;
    if (selector !== undefined) {
      const parsed = parseLabelSelector(selector);
      if (!parsed.ok) throw new UsageError(`-l ${displayText(selector)}: ${parsed.issues.map((i) => i.message).join('; ')}`);
      matcher = parsed.value;
    }
    const query: Query = { kinds, namespace: all ? undefined : ns ?? 'default', names, refs, selector };
    return withStore(args, io, async ({ store }) => {
      if (watch) return watchResources(store, query, matcher, { output, showLabels, watchOnly }, io);
      return listOnce(store, query, output, showLabels, io);
    });
  },
};

async function listOnce(store: Datastore, query: Query, output: GetOutput, showLabels: boolean, io: CommandIO): Promise<number> {
  const { kinds, namespace, names, refs, selector } = query;
  const found: Resource[] = [];
  const missing: string[] = [];
  if (names.length > 0) {
    // As kubectl: the names that exist are printed, each missing one is an error on stderr, and the exit is 1.
    // A single missing name keeps its own exit code (3, not found) as before.
    for (const { info, name } of refs) {
      try {
        found.push(await getWithDerived(store, { kind: info.key, name, ...(info.namespaced && { namespace }) }));
      } catch (err) {
        if (names.length === 1 || !isDatastoreError(err) || err.code !== 'not-found') throw err;
        missing.push(describeDatastoreError(err));
      }
    }
  } else {
    for (const info of kinds) {
      const { items, skipped } = await listWithDerived(store, {
        kind: info.key,
        ...(info.namespaced && namespace !== undefined && { namespace }),
        ...(selector !== undefined && { labelSelector: selector }),
      });
      found.push(...items);
      warnSkipped(io, skipped);
    }
  }
  if (found.length === 0 && missing.length === 0 && !printsEmpty(output)) {
    const where = kinds.some((k) => k.namespaced) && namespace !== undefined ? ` in namespace ${displayText(namespace)}` : '';
    write(io.stderr, `No resources found${where}.`);
    return 0;
  }
  if (found.length > 0 || printsEmpty(output)) {
    printResources(output, { resources: found, single: names.length === 1, allNamespaces: namespace === undefined, ...(showLabels && { showLabels }) }, io);
  }
  for (const message of missing) write(io.stderr, `error: ${escapeControls(message)}`);
  return missing.length > 0 ? EXIT.failure : 0;
}

const keyText = (k: ResourceKey): string => `${k.kind}/${k.namespace ?? ''}/${k.name}`;
const keyOfResource = (r: Resource, info: KindInfo): ResourceKey =>
  ({ kind: info.key, name: r.metadata.name, ...(r.metadata.namespace !== undefined && { namespace: r.metadata.namespace }) });

interface WatchFlags {
  output: GetOutput;
  showLabels: boolean;
  watchOnly: boolean;
}

async function watchResources(
  store: Datastore, query: Query, matcher: LabelMatcher, flags: WatchFlags, io: CommandIO,
): Promise<number> {
  const { kinds, namespace, names, refs } = query;
  // A named object is a (kind, name) pair: KIND/NAME refs may name several kinds.
  const named = (kind: KindKey, name: string): boolean => names.length === 0 || refs.some((r) => r.info.key === kind && r.name === name);
  // Ctrl-C ends the watch, at any point (even during the listing), with exit 0 and nothing printed.
  let interrupted = false;
  let stop = (): void => { interrupted = true; };
  const onSigint = (): void => stop();
  process.on('SIGINT', onSigint);
  try {
    const byKey = new Map<KindKey, KindInfo>(kinds.map((k) => [k.key, k]));
    const listedAt = new Map<KindKey, number>();
    /** What is printed as existing, by key: the object a later delete prints again. */
    const shown = new Map<string, Resource>();
    const listed: Resource[] = [];
    for (const info of kinds) {
      const list = await listWithDerived(store, {
        kind: info.key,
        ...(info.namespaced && namespace !== undefined && { namespace }),
        ...(query.selector !== undefined && { labelSelector: query.selector }),
      });
      listedAt.set(info.key, list.revision);
      warnSkipped(io, list.skipped);
      for (const r of list.items) {
        if (!named(info.key, r.metadata.name)) continue;
        listed.push(r);
        shown.set(keyText(keyOfResource(r, info)), r);
      }
    }
    // kubectl get NAME -w on a missing name fails as get does, before watching.
    if (!flags.watchOnly && names.length > 0 && listed.length < names.length) {
      return listOnce(store, query, flags.output, flags.showLabels, io);
    }
    const printer = new WatchPrinter(flags.output, { kinds: kinds.length, showLabels: flags.showLabels, allNamespaces: namespace === undefined }, io);
    if (!flags.watchOnly) printer.list(listed);
    if (interrupted) return EXIT.ok;

    // What Calico derives (a pod's endpoint, kns./ksa. profiles) changes with its source objects, watched too.
    const derived = new DerivedWatch(kinds.map((k) => k.key));
    await derived.prime(store, namespace);
    const fromRevision = Math.min(...listedAt.values());
    const only = kinds.length === 1 && derived.sourceKinds.length === 0 ? kinds[0]! : undefined;
    const watch = store.watch({
      ...(only && { kind: only.key }),
      ...(only?.namespaced && namespace !== undefined && { namespace }),
      fromRevision,
    });
    stop = () => { void watch.close(); };
    const inScope = (info: KindInfo | undefined, ns: string | undefined, name: string): info is KindInfo =>
      info !== undefined && (!info.namespaced || namespace === undefined || ns === namespace) && named(info.key, name);
    for await (const event of watch) {
      if (event.type === 'synced') continue;
      if (event.type === 'skipped') {
        const kind = event.skipped.resource?.kind;
        if (kind === undefined || (byKey.has(kind) && event.revision > listedAt.get(kind)!)) warnSkipped(io, [event.skipped]);
        continue;
      }
      derived.noteStored(event);
      const updates: Array<{ key: ResourceKey; resource: Resource | undefined; previous: Resource | undefined }> =
        derived.onEvent(event).map((d) => d.type === 'upsert'
          ? { key: keyOfResource(d.resource, kindInfoOf(d.resource)), resource: d.resource, previous: undefined }
          : { key: keyOfResource(d.previous, kindInfoOf(d.previous)), resource: undefined, previous: d.previous });
      if (updates.length === 0) {
        const key = event.type === 'upsert' ? keyOfResource(event.resource, kindInfoOf(event.resource)) : event.key;
        const info = byKey.get(key.kind);
        if (!inScope(info, key.namespace, key.name) || event.revision <= listedAt.get(info.key)!) continue;
        updates.push(event.type === 'upsert' ? { key, resource: event.resource, previous: undefined } : { key, resource: undefined, previous: event.previous });
      }
      for (const { key, resource, previous } of updates) {
        if (!inScope(byKey.get(key.kind), key.namespace, key.name)) continue;
        const k = keyText(key);
        if (resource === undefined) {
          const last = previous ?? shown.get(k);
          if (shown.delete(k) && last) printer.event(last);
        } else if (matcher(resource.metadata.labels)) {
          shown.set(k, resource);
          printer.event(resource);
        } else if (shown.delete(k)) {
          // It no longer matches -l: gone from this watch's view, printed once more as a delete is.
          printer.event(resource);
        }
      }
    }
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
