// The engine bench's synthetic cluster (bench/engine.bench.ts, buildCluster), at any scale: pods in namespaces
// with Kubernetes NetworkPolicies (two per namespace), Calico NetworkPolicies and GlobalNetworkPolicies in five
// tiers, staged policies, network sets and host endpoints. At 500 namespaces × 20 pods, 600 Calico, 300 global
// and 100 staged policies it is exactly the engine bench's 10,000 pods × 2,000 policies; the lint bench
// (lint.bench.ts) also builds a small one for the brute-force comparison. The shapes are copied, not imported:
// engine.bench.ts runs its measurements on import.

import type { Resource } from '../src/api/index.js';

export interface ClusterSize {
  namespaces: number;
  podsPerNamespace: number;
  calicoPolicies: number;
  globalPolicies: number;
  stagedPolicies: number;
  networkSetFeeds: number;
}

export const ENGINE_BENCH_SIZE: ClusterSize = {
  namespaces: 500, podsPerNamespace: 20, calicoPolicies: 600, globalPolicies: 300, stagedPolicies: 100, networkSetFeeds: 200,
};

const TIERS = ['security', 'platform', 'apps', 'observability', 'baseline'];
const V3 = 'projectcalico.org/v3';
const ns = (i: number): string => `ns-${String(i).padStart(3, '0')}`;

export function buildCluster(size: ClusterSize): Resource[] {
  const { namespaces: NAMESPACES, podsPerNamespace: PODS_PER_NS } = size;
  const PODS = NAMESPACES * PODS_PER_NS;
  const NODES = Math.max(1, Math.floor(PODS / 100));
  const resources: Resource[] = [];
  for (const [i, name] of TIERS.entries()) {
    resources.push({ apiVersion: V3, kind: 'Tier', metadata: { name }, spec: { order: (i + 1) * 100, defaultAction: i % 2 ? 'Pass' : 'Deny' } } as Resource);
  }
  for (let n = 0; n < NAMESPACES; n++) {
    resources.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns(n), labels: { 'kubernetes.io/metadata.name': ns(n), team: `t${n % 20}`, env: n % 3 ? 'prod' : 'dev' } } } as Resource);
    for (let s = 0; s < 4; s++) resources.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `sa-${s}`, namespace: ns(n), labels: { role: `r${s}` } } } as Resource);
    resources.push({ apiVersion: V3, kind: 'NetworkSet', metadata: { name: 'egress-ok', namespace: ns(n), labels: { 'egress-ok': 'true' } }, spec: { nets: [`172.20.${n % 256}.0/24`] } } as Resource);
  }
  for (let i = 0; i < PODS; i++) {
    const n = Math.floor(i / PODS_PER_NS);
    resources.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `pod-${i}`, namespace: ns(n), labels: { app: `app${i % 5}`, tier: i % 2 ? 'fe' : 'be', version: `v${i % 3}` } },
      spec: {
        nodeName: `node-${i % NODES}`, serviceAccountName: `sa-${i % 4}`,
        containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] }],
      },
      status: { phase: 'Running', podIP: `10.${Math.floor(i / 65536) + 1}.${Math.floor(i / 256) % 256}.${i % 256}` },
    } as Resource);
  }
  for (let h = 0; h < NODES; h++) {
    resources.push({ apiVersion: V3, kind: 'HostEndpoint', metadata: { name: `node-${h}-eth0`, labels: { 'host-endpoint': 'true', rack: `r${h % 10}` } }, spec: { node: `node-${h}`, interfaceName: 'eth0', expectedIPs: [`192.${Math.floor(h / 62_500)}.${Math.floor(h / 250) % 250}.${h % 250 + 1}`] } } as Resource);
  }
  for (let g = 0; g < size.networkSetFeeds; g++) {
    resources.push({ apiVersion: V3, kind: 'GlobalNetworkSet', metadata: { name: `feed-${g}`, labels: { feed: `f${g % 20}` } }, spec: { nets: Array.from({ length: 10 }, (_, k) => `100.${g % 256}.${k}.0/24`) } } as Resource);
  }
  for (let n = 0; n < NAMESPACES; n++) {
    for (let k = 0; k < 2; k++) {
      resources.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `knp-${k}`, namespace: ns(n) },
        spec: {
          podSelector: { matchLabels: { app: `app${(n + k) % 5}` } }, policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'fe' } } }, { namespaceSelector: { matchLabels: { team: `t${n % 20}` } } }], ports: [{ port: 8080 }, { port: 'metrics' }] }],
          egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.99.0.0/16'] } }] }, { ports: [{ protocol: 'UDP', port: 53 }] }],
        },
      } as Resource);
    }
  }
  for (let i = 0; i < size.calicoPolicies; i++) {
    resources.push({
      apiVersion: V3, kind: 'NetworkPolicy',
      metadata: { name: `np-${i}`, namespace: ns(i % NAMESPACES) },
      spec: {
        tier: TIERS[i % TIERS.length], order: (i % 10) * 10,
        selector: `app == 'app${i % 5}'`,
        ingress: [
          { action: 'Allow', protocol: 'TCP', source: { selector: `tier == 'fe'` }, destination: { ports: ['http', 8443] } },
          { action: 'Deny', source: { nets: [`192.168.${i % 256}.0/24`] } },
          { action: 'Pass' },
        ],
        egress: [{ action: 'Allow', destination: { selector: `app == 'app${(i + 1) % 5}'` } }, { action: 'Pass' }],
      },
    } as Resource);
  }
  for (let i = 0; i < size.globalPolicies; i++) {
    const spec: Record<string, unknown> = { tier: TIERS[i % TIERS.length], order: i };
    if (i % 10 === 0) {
      spec.selector = "host-endpoint == 'true'";
      spec.ingress = [{ action: 'Allow', protocol: 'TCP', destination: { ports: [10250] } }];
    } else {
      spec.selector = `tier == '${i % 2 ? 'fe' : 'be'}'`;
      spec.namespaceSelector = `team == 't${i % 20}'`;
      spec.egress = [{ action: 'Deny', destination: { selector: `feed == 'f${i % 20}'` } }, { action: 'Pass' }];
    }
    resources.push({ apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: `gnp-${i}` }, spec } as Resource);
  }
  for (let i = 0; i < size.stagedPolicies; i++) {
    resources.push({
      apiVersion: V3, kind: 'StagedNetworkPolicy', metadata: { name: `snp-${i}`, namespace: ns((i * 5) % NAMESPACES) },
      spec: { tier: 'apps', order: 1, selector: 'all()', ingress: [{ action: 'Deny', source: { notSelector: "app == 'app0'" } }] },
    } as Resource);
  }
  return resources;
}
