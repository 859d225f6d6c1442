// The engine commands honour the FelixConfigurations of their input (manifests or the datastore), per node:
// node.<name> over default over the built-in defaults, for failsafe ports, DefaultEndpointToHostAction and the
// workload encapsulation checks; traces name the FelixConfiguration a value came from.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { captureCli, type CliRun } from './captureCli.js';
import { storesUnderTest } from './stores.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-felixcfg-engine-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tabby(argv: string[]): Promise<CliRun> {
  return captureCli(argv, { env: {}, cwd: root });
}

const HOSTS = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: host}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [192.168.1.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n2-eth0, labels: {role: host}}
spec: {node: n2, interfaceName: eth0, expectedIPs: [192.168.1.2]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-hosts}
spec: {selector: role == 'host', types: [Ingress, Egress]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.0.1.1}
`;

const FELIX = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  defaultEndpointToHostAction: Drop
  allowVXLANPacketsFromWorkloads: true
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.n1}
spec:
  failsafeInboundHostPorts: [{protocol: TCP, port: 2222}]
  defaultEndpointToHostAction: Accept
  allowVXLANPacketsFromWorkloads: false
`;

const hosts = join(root, 'hosts.yaml');
const felix = join(root, 'felix.yaml');
writeFileSync(hosts, HOSTS);
writeFileSync(felix, FELIX);

function verdict(run: CliRun): string {
  expect(run.stderr).toBe('');
  return /^Verdict: (\w+)$/m.exec(run.stdout)?.[1] ?? `no verdict in: ${run.stdout}`;
}

const explain = (from: string, to: string, port: string, protocol = 'TCP'): string[] =>
  ['explain', '--from', from, '--to', to, '--protocol', protocol, '--port', port];

describe('FelixConfiguration in the manifests', () => {
  it('without one: Felix\'s failsafes and Accept for a workload to its own host', async () => {
    expect(verdict(await tabby([...explain('192.168.1.9', 'hep:n1-eth0', '22'), '-f', hosts]))).toBe('Allow');
    expect(verdict(await tabby([...explain('192.168.1.9', 'hep:n1-eth0', '2222'), '-f', hosts]))).toBe('Deny');
    expect(verdict(await tabby([...explain('shop/api', 'hep:n2-eth0', '80'), '-f', hosts]))).toBe('Allow');
  });

  it('node.<name> over default, per field and per node', async () => {
    const on = (argv: string[]) => tabby([...argv, '-f', hosts, '-f', felix]);
    // n1: its own failsafes replace Felix's; n2 keeps Felix's.
    const n1ssh = await on(explain('192.168.1.9', 'hep:n1-eth0', '22'));
    expect(verdict(n1ssh)).toBe('Deny');
    const n1alt = await on(explain('192.168.1.9', 'hep:n1-eth0', '2222'));
    expect(verdict(n1alt)).toBe('Allow');
    expect(n1alt.stdout).toContain('→ Allow: failsafe inbound tcp:2222 per FelixConfiguration node.n1');
    expect(verdict(await on(explain('192.168.1.9', 'hep:n2-eth0', '22')))).toBe('Allow');
    // DefaultEndpointToHostAction: default says Drop, node.n1 says Accept.
    const n2pod = await on(explain('shop/api', 'hep:n2-eth0', '80'));
    expect(verdict(n2pod)).toBe('Deny');
    expect(n2pod.stdout).toContain('workload to its own host: DefaultEndpointToHostAction Drop per FelixConfiguration default');
    expect(verdict(await on(explain('shop/web', 'hep:n1-eth0', '80')))).toBe('Allow');
    // VXLAN from workloads: allowed by default, dropped on n1 by its own setting.
    expect(verdict(await on(explain('shop/api', 'shop/web', '4789', 'UDP')))).toBe('Allow');
    const vx = await on(explain('shop/web', 'shop/api', '4789', 'UDP'));
    expect(verdict(vx)).toBe('Deny');
    expect(vx.stdout).toContain('VXLAN (UDP 4789) from a workload');
  });

  it('the matrix keeps nodes apart that only their FelixConfiguration tells apart', async () => {
    /** One cell of a CSV matrix: from the row's endpoint to the column's. */
    const csvMatrix = async (protocol: string, port: string): Promise<(from: string, to: string) => string> => {
      const m = await tabby(['matrix', '--protocol', protocol, '--port', port, '--endpoints-only', '-o', 'csv', '-f', hosts, '-f', felix]);
      expect(m.code).toBe(0);
      const [head, ...lines] = m.stdout.trim().split('\n').map((l) => l.split(','));
      const rows = new Map(lines.map((l) => [l[0], l.slice(1)]));
      return (from, to) => rows.get(from)![head!.slice(1).indexOf(to)]!;
    };
    // pod → own host: Accept on n1 (node.n1), Drop on n2 (default).
    const tcp = await csvMatrix('TCP', '22');
    expect(tcp('shop/web', 'hep:n1-eth0')).not.toBe(tcp('shop/api', 'hep:n2-eth0'));
    // VXLAN from workloads: dropped on n1 only.
    const udp = await csvMatrix('UDP', '4789');
    expect(udp('shop/web', 'shop/api')).not.toBe(udp('shop/api', 'shop/web'));
  });

  it('describe of a host endpoint shows the failsafes of its node and where they come from', async () => {
    const d = await tabby(['describe', 'hep', 'n1-eth0', '-f', hosts, '-f', felix]);
    expect(d.stdout).toContain('Note: failsafe inbound (before any policy): tcp:2222 (FelixConfiguration node.n1)\n');
    expect(d.stdout).toContain('Note: failsafe outbound (before any policy): udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667 (built-in default)\n');
    const n2 = await tabby(['describe', 'hep', 'n2-eth0', '-f', hosts, '-f', felix]);
    expect(n2.stdout).toContain('Note: failsafe inbound (before any policy): tcp:22,udp:68,tcp:179,');
  });

  it('tabby test reads them from its resources', async () => {
    const file = join(root, 'failsafe.test.yaml');
    writeFileSync(file, `name: failsafe moved to 2222 on n1
include: [hosts.yaml, felix.yaml]
flows:
- {from: {ip: 192.168.1.9}, to: hep:n1-eth0, protocol: TCP, port: 2222, expect: Allow}
- {from: {ip: 192.168.1.9}, to: hep:n1-eth0, protocol: TCP, port: 22, expect: Deny}
- {from: {ip: 192.168.1.9}, to: hep:n2-eth0, protocol: TCP, port: 22, expect: Allow}
`);
    const run = await tabby(['test', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});

for (const s of storesUnderTest(root, 'felixconfiguration engine')) {
  describe.skipIf(s.skip !== undefined)(`FelixConfiguration in the ${s.name}`, () => {
    let location: string;
    beforeAll(async () => {
      location = s.location();
      expect(await tabby(['apply', '-f', hosts, '--allow-lockout', '--datastore', location])).toMatchObject({ code: 0 });
    });

    it('explain follows what is stored, change by change', async () => {
      const ask = [...explain('192.168.1.9', 'hep:n1-eth0', '22'), '--datastore', location];
      expect(verdict(await tabby(ask))).toBe('Allow');
      expect((await tabby(['apply', '-f', felix, '--allow-lockout', '--datastore', location])).code).toBe(0);
      expect(verdict(await tabby(ask))).toBe('Deny');
      expect((await tabby(['delete', 'felixconfig', 'node.n1', '--allow-lockout', '--datastore', location])).code).toBe(0);
      expect(verdict(await tabby(ask))).toBe('Allow');
      const pod = await tabby([...explain('shop/web', 'hep:n1-eth0', '80'), '--datastore', location]);
      expect(pod.stdout).toContain('DefaultEndpointToHostAction Drop per FelixConfiguration default');
    });
  });
}
