// Discovery, as kubectl reads it before anything else: /api (APIVersions), /apis (APIGroupList), and one
// APIResourceList per group/version, all built from served-kinds.ts. kubectl also asks for aggregated discovery
// (apidiscovery.k8s.io/v2); answering with the legacy documents in plain application/json is what older API
// servers do, and client-go falls back to them. /version answers `kubectl version`.

import { GROUP_VERSIONS, shortNames, singularName, type GroupVersion } from './served-kinds.js';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: GROUP_VERSIONS.filter((gv) => gv.group === '').map((gv) => gv.version),
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(): unknown {
  const groups = new Map<string, GroupVersion[]>();
  for (const gv of GROUP_VERSIONS) if (gv.group !== '') groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv]);
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, gvs]) => apiGroup(name, gvs)),
  };
}

export function apiGroup(name: string, gvs: readonly GroupVersion[]): unknown {
  const versions = gvs.map((gv) => ({ groupVersion: gv.groupVersion, version: gv.version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions, preferredVersion: versions[0] };
}

export function apiResourceList(gv: GroupVersion): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv.groupVersion,
    resources: gv.kinds.map((k) => ({
      name: k.plural,
      singularName: singularName(k),
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: VERBS,
      shortNames: shortNames(k),
      ...(gv.group === 'projectcalico.org' && { categories: ['calico'] }),
    })),
  };
}

export function versionInfo(tabbyVersion: string): unknown {
  return {
    major: '1', minor: '32', gitVersion: `v1.32.0+tabby-${tabbyVersion}`, gitCommit: '', gitTreeState: 'clean',
    buildDate: '', goVersion: '', compiler: 'node', platform: `${process.platform}/${process.arch}`,
  };
}
