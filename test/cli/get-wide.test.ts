// Issue 12 §4: `tabby get` prints the columns calicoctl prints for each kind (calicoctl/resourcemgr/*.go), in
// the default table and with -o wide; Kubernetes policies sit at order 1000 in tier default, as Calico converts
// them; the endpoints and profiles Calico derives from Pods, Namespaces and ServiceAccounts are listed; NAMESPACE
// is a column only with -A. Through the CLI, on a real file store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-get-wide-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const env = { TABBY_DATASTORE: `file:${join(root, 'store')}` };

const MANIFESTS = `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool1}
spec: {cidr: 10.1.0.0/16, natOutgoing: true, ipipMode: CrossSubnet, nodeSelector: "zone == 'a'"}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool2}
spec: {cidr: 10.9.0.0/16, vxlanMode: Always, disabled: true, disableBGPExport: true}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h1}
spec: {node: node1, interfaceName: eth0, expectedIPs: [192.168.1.1, 192.168.1.2], profiles: [p1, p2]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: g1}
spec: {nets: [1.2.3.0/24, 10.0.0.0/8]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: n1, namespace: prod}
spec: {nets: [1.2.3.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.g1}
spec: {tier: security, order: 5, selector: "app == 'web'", namespaceSelector: "env == 'prod'", types: [Ingress]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow, namespace: prod}
spec: {selector: "app == 'db'", types: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: prod}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: prod, labels: {app: web}}
spec: {nodeName: node1, serviceAccountName: api, containers: [{name: c, image: x}]}
status: {phase: Running, podIP: 10.1.0.5}
---
# What 'tabby workload create prod/db --node node1' stores (dataplane/workloads.ts).
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: db
  namespace: prod
  labels: {app: db, projectcalico.org/namespace: prod, projectcalico.org/orchestrator: k8s}
spec:
  orchestrator: k8s
  node: node1
  workload: db
  pod: db
  endpoint: eth0
  interfaceName: cali0123456789a
  ipNetworks: [10.1.0.7/32]
  profiles: [kns.prod]
`;

async function get(...args: string[]): Promise<string[]> {
  const run = await captureCli(['get', ...args], { cwd: root, env });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  // Columns are separated by at least two spaces; cells hold none.
  return run.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/).join('|'));
}

describe('tabby get: calicoctl columns per kind', () => {
  beforeAll(async () => {
    // The host endpoints have no policy: a lockout the check warns about (--allow-lockout) and nothing else.
    const run = await captureCli(['apply', '-f', '-', '--allow-lockout'], { stdin: MANIFESTS, cwd: root, env });
    expect(run.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning: '))).toEqual([]);
    expect(run.code).toBe(0);
  });

  it('IPPool: CIDR and SELECTOR; wide adds NAT, IPIP and VXLAN modes, DISABLED, DISABLEBGPEXPORT', async () => {
    expect(await get('ippools')).toEqual(['NAME|CIDR|SELECTOR', "pool1|10.1.0.0/16|zone == 'a'", 'pool2|10.9.0.0/16|all()']);
    expect(await get('ippools', '-o', 'wide')).toEqual([
      'NAME|CIDR|NAT|IPIPMODE|VXLANMODE|DISABLED|DISABLEBGPEXPORT|SELECTOR',
      "pool1|10.1.0.0/16|true|CrossSubnet|Never|false|false|zone == 'a'",
      'pool2|10.9.0.0/16|false|Never|Always|true|true|all()',
    ]);
  });

  it('Tier: ORDER, sorted by it; wide adds DEFAULTACTION', async () => {
    expect(await get('tiers')).toEqual(['NAME|ORDER', 'security|100', 'kube-admin|1000', 'default|1000000', 'kube-baseline|10000000']);
    expect((await get('tiers', '-o', 'wide')).slice(0, 2)).toEqual(['NAME|ORDER|DEFAULTACTION', 'security|100|Pass']);
    expect(await get('tier', 'default', '-o', 'wide')).toEqual(['NAME|ORDER|DEFAULTACTION', 'default|1000000|Deny']);
  });

  it('HostEndpoint: NODE; wide adds INTERFACE, IPS (expectedIPs) and PROFILES', async () => {
    expect(await get('hep')).toEqual(['NAME|NODE', 'h1|node1']);
    expect(await get('hep', '-o', 'wide')).toEqual(['NAME|NODE|INTERFACE|IPS|PROFILES', 'h1|node1|eth0|192.168.1.1,192.168.1.2|p1,p2']);
  });

  it('(Global)NetworkSet: wide adds NETS', async () => {
    expect(await get('gns', '-o', 'wide')).toEqual(['NAME|NETS', 'g1|1.2.3.0/24,10.0.0.0/8']);
    expect(await get('netsets', '-n', 'prod', '-o', 'wide')).toEqual(['NAME|NETS', 'n1|1.2.3.0/24']);
  });

  it('policies: TIER, ORDER, SELECTOR (and NAMESPACESELECTOR for global ones); Kubernetes ones at order 1000', async () => {
    expect(await get('gnp')).toEqual(['NAME', 'security.g1']);
    expect(await get('gnp', '-o', 'wide')).toEqual([
      'NAME|TIER|ORDER|SELECTOR|NAMESPACESELECTOR', "security.g1|security|5|app == 'web'|env == 'prod'",
    ]);
    expect(await get('np', '-n', 'prod')).toEqual(['NAME|TIER', 'allow|default']);
    expect(await get('np', '-n', 'prod', '-o', 'wide')).toEqual(['NAME|TIER|ORDER|SELECTOR', "allow|default|<none>|app == 'db'"]);
    expect(await get('netpol', '-n', 'prod')).toEqual(['NAME|POD-SELECTOR', 'web|app=web']);
    expect(await get('netpol', '-n', 'prod', '-o', 'wide')).toEqual([
      'NAME|TIER|ORDER|SELECTOR', "web|default|1000|projectcalico.org/orchestrator == 'k8s' && app == 'web'",
    ]);
  });

  it('WorkloadEndpoint: the stored ones and those Calico derives from pods, with NODE, NETWORKS and INTERFACE', async () => {
    expect(await get('weps', '-n', 'prod')).toEqual([
      'WORKLOAD|NODE|NETWORKS|INTERFACE',
      'db|node1|10.1.0.7/32|cali0123456789a',
      'web-1|node1|10.1.0.5/32|cali91bef8fbcc9',
    ]);
    expect(await get('weps', '-A', '-o', 'wide')).toEqual([
      'NAMESPACE|NAME|WORKLOAD|NODE|NETWORKS|INTERFACE|PROFILES|NATS',
      'prod|db|db|node1|10.1.0.7/32|cali0123456789a|kns.prod|<none>',
      'prod|node1-k8s-web--1-eth0|web-1|node1|10.1.0.5/32|cali91bef8fbcc9|kns.prod,ksa.prod.api|<none>',
    ]);
    // -l selects among derived endpoints too (their labels are the pod's plus Calico's); a derived one is found by name.
    expect(await get('weps', '-n', 'prod', '-l', 'app=web', '-o', 'name')).toEqual(['workloadendpoint.projectcalico.org/node1-k8s-web--1-eth0']);
    const yaml = (await captureCli(['get', 'wep', 'node1-k8s-web--1-eth0', '-n', 'prod', '-o', 'yaml'], { cwd: root, env })).stdout;
    expect(yaml).toContain('pod: web-1');
    expect((await captureCli(['get', 'weps'], { cwd: root, env })).stderr).toBe('No resources found in namespace default.\n');
  });

  it('Profile: kns.<ns> and ksa.<ns>.<sa> as Calico derives them; wide adds LABELS (labelsToApply)', async () => {
    expect(await get('profiles')).toEqual(['NAME', 'kns.prod', 'ksa.prod.api']);
    expect(await get('profiles', '-o', 'wide')).toEqual([
      'NAME|LABELS',
      'kns.prod|pcns.kubernetes.io/metadata.name=prod,pcns.projectcalico.org/name=prod',
      'ksa.prod.api|pcsa.projectcalico.org/name=api',
    ]);
    expect(await get('profile', 'ksa.prod.api')).toEqual(['NAME', 'ksa.prod.api']);
    expect((await captureCli(['get', 'profile', 'kns.nope'], { cwd: root, env })).code).toBe(3);
  });

  it('NAMESPACE is a column only with -A, as in kubectl', async () => {
    expect((await get('netsets', '-n', 'prod'))[0]).toBe('NAME');
    expect((await get('netsets', '-A'))).toEqual(['NAMESPACE|NAME', 'prod|n1']);
    expect((await get('pods', '-A', '-o', 'wide'))).toEqual(['NAMESPACE|NAME|STATUS|IP|NODE|LABELS', 'prod|web-1|Running|10.1.0.5|node1|app=web']);
  });

  it('the default table fits 100 columns: a long selector is cut, names never are', async () => {
    const long = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-with-a-rather-long-name-that-stays-whole}
spec: {cidr: 10.3.0.0/16, nodeSelector: "zone == 'a' && rack in {'r1','r2','r3','r4','r5','r6','r7','r8','r9','r10','r11'} && has(gpu)"}
`;
    expect((await captureCli(['apply', '-f', '-', '--allow-lockout'], { stdin: long, cwd: root, env })).code).toBe(0);
    const table = (await captureCli(['get', 'ippools'], { cwd: root, env })).stdout.trimEnd().split('\n');
    for (const line of table) expect(line.length).toBeLessThanOrEqual(100);
    expect(table.find((l) => l.startsWith('pool-with-a-rather-long-name-that-stays-whole '))).toMatch(/\.\.\.$/);
    // Wide keeps the whole selector.
    expect((await captureCli(['get', 'ippools', '-o', 'wide'], { cwd: root, env })).stdout).toContain("'r11'} && has(gpu)");
  });
});
