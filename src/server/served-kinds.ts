// Which kinds the API serves, under which group and version: every kind Tabby stores (src/api/kinds.ts), at the
// group/version its manifests carry. Discovery, OpenAPI and the router all read this one table.

import { KINDS, type KindInfo } from '../api/index.js';

export interface GroupVersion {
  /** '' for the core group (served under /api). */
  group: string;
  version: string;
  /** `projectcalico.org/v3`, or `v1` for the core group. */
  groupVersion: string;
  kinds: KindInfo[];
}

/** The REST group of a kind: '' for core (kinds.ts says `core`, as Calico's etcd keys do). */
export function restGroup(info: KindInfo): string {
  return info.group === 'core' ? '' : info.group;
}

function versionOf(info: KindInfo): string {
  const slash = info.apiVersion.indexOf('/');
  return slash < 0 ? info.apiVersion : info.apiVersion.slice(slash + 1);
}

function build(kinds: readonly KindInfo[]): GroupVersion[] {
  const byGv = new Map<string, GroupVersion>();
  for (const info of kinds) {
    const group = restGroup(info);
    const version = versionOf(info);
    const groupVersion = group === '' ? version : `${group}/${version}`;
    let gv = byGv.get(groupVersion);
    if (!gv) byGv.set(groupVersion, gv = { group, version, groupVersion, kinds: [] });
    gv.kinds.push(info);
  }
  return [...byGv.values()];
}

export const GROUP_VERSIONS: readonly GroupVersion[] = build(KINDS);

export function groupVersion(group: string, version: string): GroupVersion | undefined {
  return GROUP_VERSIONS.find((gv) => gv.group === group && gv.version === version);
}

/** The kind served as `plural` in a group/version. */
export function kindByPlural(gv: GroupVersion, plural: string): KindInfo | undefined {
  return gv.kinds.find((k) => k.plural === plural);
}

/** The singular resource name kubectl shows (`globalnetworkpolicy`): the kind, lower case. */
export function singularName(info: KindInfo): string {
  return info.kind.toLowerCase();
}

/**
 * Short names for discovery: the CLI's short names (`gnp`, `hep`), without plurals of short names (`gnps`), the
 * plural, the singular or `kind.group` forms, and only where no other kind claims the name — kubectl warns about
 * ambiguous short names, and `ns` is the Namespace's (not the NetworkSet's), `netpol` the Kubernetes policy's.
 */
export function shortNames(info: KindInfo): string[] {
  const claimed = (n: string): boolean => KINDS.some((k) => k !== info && k.cliNames.includes(n));
  const mine = info.cliNames.filter((n) => n !== info.plural && n !== singularName(info) && !n.includes('.') && n.length <= 8);
  return mine.filter((n) => !claimed(n) && !(n.endsWith('s') && (mine.includes(n.slice(0, -1)) || (n.endsWith('ies') && mine.includes(`${n.slice(0, -3)}y`)))));
}
