// Which stored objects a command's arguments name, read as kubectl reads them (kubectl's resource builder,
// ResourceTypeOrNameArgs): either `KIND NAME...` (one kind, then names), or any number of `KIND/NAME` refs, where
// KIND may carry its API group — `gnp/allow-dns`, `globalnetworkpolicy.projectcalico.org/allow-dns`,
// `networkpolicy.networking.k8s.io/web`, `pod/web` (the core group has no suffix). That is what `tabby get -o name`
// prints, so `tabby get gnp -o name | xargs tabby delete` round-trips. get, delete, label and patch all parse
// their arguments here, so the four accept the same forms and say the same thing about a bad one.
//
// The two forms do not mix (kubectl: "there is no need to specify a resource type as a separate argument when
// passing arguments in resource/name form"). A namespaced ref's namespace comes from -n, as with kubectl.

import { isPrintable, kindFromCliName, KINDS, quote, type KindInfo, type ResourceKey } from '../api/index.js';
import { UsageError } from './command.js';
import { didYouMean } from './suggest.js';

/** One object a command was asked to act on. */
export interface ResourceRef {
  info: KindInfo;
  name: string;
}

export interface ResourceArguments {
  /** The kinds named, in order, without repeats (for `get KIND[,KIND]`, the kinds to list). */
  kinds: KindInfo[];
  /** The objects named; empty when only kinds were given. */
  refs: ResourceRef[];
}

function shown(text: string): string {
  return isPrintable(text) ? `'${text}'` : quote(text);
}

/** The group a ref spells for a kind: kubectl's `-o name` leaves the core group out (`pod/web`). */
function groupOf(info: KindInfo): string {
  return info.group === 'core' ? '' : info.group;
}

/**
 * The kind a command-line name stands for: a calicoctl or kubectl name (`gnp`, `netpol`, `networkpolicies`), or
 * `NAME.GROUP` where NAME is one of those (or the kind's own name) and GROUP is the kind's API group
 * (`globalnetworkpolicy.projectcalico.org`, `networkpolicy.networking.k8s.io`). The group decides between kinds
 * that share a name: `networkpolicy` alone is Calico's, `networkpolicy.networking.k8s.io` is Kubernetes'.
 */
export function kindOf(text: string, verb: string): KindInfo {
  const direct = kindFromCliName(text);
  if (direct) return direct;
  const dot = text.indexOf('.');
  if (dot > 0) {
    const base = text.slice(0, dot).toLowerCase();
    const group = text.slice(dot + 1).toLowerCase();
    const match = KINDS.find((k) => groupOf(k) === group &&
      (k.cliNames.includes(base) || k.kind.toLowerCase() === base || k.plural === base));
    if (match) return match;
    if (KINDS.some((k) => groupOf(k) === group)) {
      const names = KINDS.filter((k) => groupOf(k) === group).map((k) => k.kind.toLowerCase()).join(', ');
      throw new UsageError(`unknown resource type ${shown(text)}: the group ${shown(group)} has ${names}`);
    }
  }
  const names = KINDS.map((k) => k.cliNames[0]).join(', ');
  // Every name of every kind is a candidate, and a kind is suggested once, by its nearest name (suggest.ts).
  const hint = isPrintable(text) ? didYouMean(text, KINDS.flatMap((k) => k.cliNames), (n) => kindFromCliName(n)!.key) : '';
  throw new UsageError(`unknown resource type ${shown(text)}${hint} (known: ${names}); e.g. tabby ${verb} globalnetworkpolicy`);
}

/** `KIND/NAME` → the ref; the name is checked by the store like any other. */
function parseRef(text: string, verb: string): ResourceRef {
  const slash = text.indexOf('/');
  const kind = text.slice(0, slash);
  const name = text.slice(slash + 1);
  if (kind === '' || name === '' || name.includes('/')) {
    throw new UsageError(`${shown(text)} is not KIND/NAME (e.g. gnp/allow-dns or globalnetworkpolicy.projectcalico.org/allow-dns); ` +
      'the namespace of a namespaced object is given with -n');
  }
  return { info: kindOf(kind, verb), name };
}

/**
 * The objects (or kinds) a command's positional arguments name. `namesRequired`: a command that acts on objects
 * (delete, label, patch) needs at least one name; get may list kinds (`KIND[,KIND...]`).
 */
export function parseResourceArguments(
  args: readonly string[],
  verb: string,
  options: { namesRequired: boolean; example: string },
): ResourceArguments {
  const [first, ...rest] = args;
  if (first === undefined) throw new UsageError(`which resources? e.g. ${options.example} (see tabby ${verb} --help)`);
  if (first.includes('/')) {
    const bare = rest.find((a) => !a.includes('/'));
    if (bare !== undefined) {
      throw new UsageError(`${shown(bare)} is not KIND/NAME: give every object as KIND/NAME, or the kind once and then ` +
        `names (tabby ${verb} KIND NAME...), not both`);
    }
    const refs = args.map((a) => parseRef(a, verb));
    return { kinds: distinct(refs.map((r) => r.info)), refs };
  }
  const kinds = distinct(first.split(',').filter((k) => k !== '').map((k) => kindOf(k, verb)));
  if (kinds.length === 0) throw new UsageError(`which resources? e.g. ${options.example}`);
  const slashed = rest.find((a) => a.includes('/'));
  if (slashed !== undefined) {
    throw new UsageError(`${shown(slashed)}: there is no need to give the kind as a separate argument when objects ` +
      `are given as KIND/NAME (tabby ${verb} ${slashed})`);
  }
  if (rest.length > 0 && kinds.length > 1) {
    throw new UsageError(`names select objects of one kind; give KIND/NAME for each object to name several kinds`);
  }
  if (rest.length === 0 && options.namesRequired) {
    throw new UsageError(`which ${kinds[0]!.kind}? e.g. ${options.example}`);
  }
  return { kinds, refs: rest.map((name) => ({ info: kinds[0]!, name })) };
}

function distinct(kinds: readonly KindInfo[]): KindInfo[] {
  return [...new Set(kinds)];
}

/** The store key of a ref: namespaced kinds in `namespace` (-n, default `default`). */
export function keyOfRef(ref: ResourceRef, namespace: string | undefined): ResourceKey {
  return { kind: ref.info.key, name: ref.name, ...(ref.info.namespaced && { namespace: namespace ?? 'default' }) };
}

/** -n with only cluster-scoped kinds is a mistake worth saying (calicoctl refuses it too). */
export function checkNamespaceOption(refs: readonly ResourceRef[], namespace: string | undefined): void {
  if (namespace === undefined || refs.length === 0 || refs.some((r) => r.info.namespaced)) return;
  throw new UsageError(`${refs[0]!.info.kind} is not namespaced; drop -n ${namespace}`);
}

/** `kind.group/name`, as `tabby get -o name` and `kubectl get -o name` print an object. */
export function refText(ref: ResourceRef): string {
  const group = groupOf(ref.info);
  return `${ref.info.kind.toLowerCase()}${group ? `.${group}` : ''}/${ref.name}`;
}
