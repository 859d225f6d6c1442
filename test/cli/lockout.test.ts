// The lockout check (issue 17 §4) through the CLI, on a file store: a change that cuts a host's critical flow —
// SSH, kubelet, API server, etcd (client and peers), BGP, DNS over UDP and TCP, a port the user lists — is refused
// (exit 11, nothing written) naming the node, the flow and the rule; failsafe ports, doNotTrack and preDNAT
// policies, FelixConfiguration (failsafe ports with nets, DefaultEndpointToHostAction) count; --allow-lockout
// writes with a warning; --dry-run prints the findings and writes nothing.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/command.js';
import { captureCli, type CliRun } from './captureCli.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-lockout-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
function file(text: string): string {
  const p = join(root, `m${++files}.yaml`);
  writeFileSync(p, text);
  return p;
}

let stores = 0;
/** A fresh file store holding `manifests`. */
async function storeWith(...manifests: string[]): Promise<string> {
  const location = `file:${join(root, `store-${++stores}`)}`;
  const run = await tabby(['apply', '-f', file(manifests.join('\n---\n')), '--datastore', location, '--allow-lockout']);
  expect(run.code, run.stderr).toBe(0);
  return location;
}

function tabby(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  // HOME inside the temp root: no user's config.yaml is read.
  return captureCli(argv, { cwd: root, env: { HOME: root, ...env } });
}

const HOSTS = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [172.31.0.2]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n2-eth0, labels: {role: node}}
spec: {node: n2, interfaceName: eth0, expectedIPs: [172.31.0.3]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-all-hosts}
spec: {order: 100, selector: role == 'node', ingress: [{action: Allow}], egress: [{action: Allow}]}`;

/** No failsafe ports: every critical flow is the policies' alone. */
const NO_FAILSAFES = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {failsafeInboundHostPorts: [], failsafeOutboundHostPorts: []}`;

function denyPolicy(name: string, direction: 'ingress' | 'egress', protocol: string, port: number, extra = ''): string {
  return `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: ${name}}
spec:
  order: 10
  selector: role == 'node'
  types: [${direction === 'ingress' ? 'Ingress' : 'Egress'}]${extra}
  ${direction}: [{action: Deny, protocol: ${protocol}, destination: {ports: [${port}]}}]`;
}

const DENY_ALL = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all-hosts}
spec: {order: 10, selector: role == 'node', types: [Ingress, Egress], ingress: [{action: Deny}], egress: [{action: Deny}]}`;

async function expectNotStored(store: string, name: string): Promise<void> {
  const get = await tabby(['get', 'gnp', name, '--datastore', store]);
  expect(get.code, get.stdout).toBe(EXIT.notFound);
}

describe('tabby apply refuses a change that cuts a critical host flow', () => {
  const CASES = [
    { flow: 'SSH (TCP 22 inbound)', direction: 'ingress', protocol: 'TCP', port: 22, peer: 'from outside' },
    { flow: 'kubelet (TCP 10250 inbound)', direction: 'ingress', protocol: 'TCP', port: 10250, peer: 'from outside' },
    { flow: 'API server (TCP 6443 inbound)', direction: 'ingress', protocol: 'TCP', port: 6443, peer: 'from outside' },
    { flow: 'etcd (TCP 2379 inbound)', direction: 'ingress', protocol: 'TCP', port: 2379, peer: 'from outside' },
    { flow: 'etcd peers (TCP 2380 inbound)', direction: 'ingress', protocol: 'TCP', port: 2380, peer: 'from node n2 (172.31.0.3)' },
    { flow: 'BGP (TCP 179 inbound)', direction: 'ingress', protocol: 'TCP', port: 179, peer: 'from node n2 (172.31.0.3)' },
    { flow: 'BGP (TCP 179 outbound)', direction: 'egress', protocol: 'TCP', port: 179, peer: 'to node n2 (172.31.0.3)' },
    { flow: 'API server (TCP 6443 outbound)', direction: 'egress', protocol: 'TCP', port: 6443, peer: 'to outside' },
    { flow: 'DNS (UDP 53 outbound)', direction: 'egress', protocol: 'UDP', port: 53, peer: 'to outside' },
    { flow: 'DNS (TCP 53 outbound)', direction: 'egress', protocol: 'TCP', port: 53, peer: 'to outside' },
  ] as const;

  for (const c of CASES) {
    it(`${c.flow}: refused naming node, flow and rule; nothing written`, async () => {
      const store = await storeWith(HOSTS, NO_FAILSAFES);
      const name = `deny-${c.protocol.toLowerCase()}-${c.port}`;
      const run = await tabby(['apply', '-f', file(denyPolicy(name, c.direction, c.protocol, c.port)), '--datastore', store]);
      expect(run.code, run.stderr).toBe(EXIT.lockout);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^error: the change would cut \d+ critical host flows? on nodes n1, n2; nothing was applied/);
      expect(run.stderr).toContain(`node n1 eth0 (hep:n1-eth0): ${c.flow} ${c.peer}`);
      expect(run.stderr).toContain(`cut by GlobalNetworkPolicy ${name} rule 0 (tier default)`);
      // Only this flow: the other critical flows stay open.
      const flows = new Set([...run.stderr.matchAll(/\): ([^:]+ \((?:TCP|UDP) \d+ \w+\))/g)].map((m) => m[1]));
      expect([...flows]).toEqual([c.flow]);
      await expectNotStored(store, name);
    });
  }

  it('a port the user lists (--lockout-ports, TABBY_LOCKOUT_PORTS, lockoutPorts in config.yaml) is protected too', async () => {
    const store = await storeWith(HOSTS, NO_FAILSAFES);
    const deny = file(denyPolicy('deny-9100', 'ingress', 'TCP', 9100));
    expect((await tabby(['apply', '-f', deny, '--datastore', store])).code).toBe(EXIT.ok);
    await tabby(['delete', 'gnp', 'deny-9100', '--datastore', store]);

    const flag = await tabby(['apply', '-f', deny, '--datastore', store, '--lockout-ports', 'in:tcp:9100']);
    expect(flag.code, flag.stderr).toBe(EXIT.lockout);
    expect(flag.stderr).toContain('node n1 eth0 (hep:n1-eth0): port tcp:9100 (TCP 9100 inbound) from outside');
    expect(flag.stderr).toContain('cut by GlobalNetworkPolicy deny-9100 rule 0 (tier default)');

    const env = await tabby(['apply', '-f', deny, '--datastore', store], { TABBY_LOCKOUT_PORTS: 'tcp:9100' });
    expect(env.code, env.stderr).toBe(EXIT.lockout);
    expect(env.stderr).toContain('port tcp:9100 (TCP 9100 inbound)');

    const home = join(root, 'home-config');
    mkdirSync(join(home, '.config', 'tabby'), { recursive: true });
    writeFileSync(join(home, '.config', 'tabby', 'config.yaml'), 'lockoutPorts: "in:tcp:9100"\n');
    const config = await tabby(['apply', '-f', deny, '--datastore', store], { HOME: home });
    expect(config.code, config.stderr).toBe(EXIT.lockout);
    expect(config.stderr).not.toContain('unknown setting');
    await expectNotStored(store, 'deny-9100');

    const bad = await tabby(['apply', '-f', deny, '--datastore', store, '--lockout-ports', 'tcp:99999']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain('lockoutPorts entry "tcp:99999" (from --lockout-ports): write [in:|out:]tcp|udp|sctp:PORT');
  });
});

describe('what the check takes into account', () => {
  it("failsafes: a deny-all keeps SSH, BGP, etcd and the API server (Felix's default failsafes) but cuts the kubelet and DNS over TCP", async () => {
    const store = await storeWith(HOSTS);
    const run = await tabby(['apply', '-f', file(DENY_ALL), '--datastore', store]);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    const flows = new Set([...run.stderr.matchAll(/\): ([^:]+ \((?:TCP|UDP) \d+ \w+\))/g)].map((m) => m[1]));
    expect([...flows].sort()).toEqual(['DNS (TCP 53 outbound)', 'kubelet (TCP 10250 inbound)']);
    expect(run.stderr).toContain('node n2 eth0 (hep:n2-eth0): kubelet (TCP 10250 inbound) from outside');
    expect(run.stderr).toContain('cut by GlobalNetworkPolicy deny-all-hosts rule 0 (tier default)');
  });

  it('a FelixConfiguration failsafe with a net: SSH from the admin net stays, SSH between the nodes is cut', async () => {
    const fc = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  failsafeInboundHostPorts: [{protocol: TCP, port: 22, net: 10.0.0.0/8}]
  failsafeOutboundHostPorts: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]`;
    const store = await storeWith(HOSTS, fc);
    const run = await tabby(['apply', '-f', file(DENY_ALL), '--datastore', store]);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    expect(run.stderr).toContain('node n1 eth0 (hep:n1-eth0): SSH (TCP 22 inbound) from node n2 (172.31.0.3): cut by GlobalNetworkPolicy deny-all-hosts');
    expect(run.stderr).not.toMatch(/SSH \(TCP 22 inbound\) from outside/);
    // 6443 is no longer a failsafe port here: cut from everywhere.
    expect(run.stderr).toContain('API server (TCP 6443 inbound) from outside');
    expect(run.stderr).not.toContain('DNS (');
  });

  it('doNotTrack: an untracked deny cuts the kubelet at the untracked stage; an untracked deny of SSH is overridden by the failsafe', async () => {
    const store = await storeWith(HOSTS);
    const untracked = "\n  doNotTrack: true\n  applyOnForward: true";
    const kubelet = await tabby(['apply', '-f', file(denyPolicy('raw-deny-kubelet', 'ingress', 'TCP', 10250, untracked)), '--datastore', store]);
    expect(kubelet.code, kubelet.stderr).toBe(EXIT.lockout);
    expect(kubelet.stderr).toContain('kubelet (TCP 10250 inbound) from outside');
    expect(kubelet.stderr).toContain('cut by GlobalNetworkPolicy raw-deny-kubelet rule 0 (tier default) [at untracked stage]');
    await expectNotStored(store, 'raw-deny-kubelet');

    const ssh = await tabby(['apply', '-f', file(denyPolicy('raw-deny-ssh', 'ingress', 'TCP', 22, untracked)), '--datastore', store]);
    expect(ssh.code, ssh.stderr).toBe(EXIT.ok);
  });

  it('preDNAT: a pre-DNAT deny cuts at the preDNAT stage; a pre-DNAT allow keeps SSH open under a deny-all', async () => {
    const store = await storeWith(HOSTS, NO_FAILSAFES);
    const preDnat = "\n  preDNAT: true\n  applyOnForward: true";
    const deny = await tabby(['apply', '-f', file(denyPolicy('nat-deny-api', 'ingress', 'TCP', 6443, preDnat)), '--datastore', store]);
    expect(deny.code, deny.stderr).toBe(EXIT.lockout);
    expect(deny.stderr).toContain('API server (TCP 6443 inbound) from outside');
    expect(deny.stderr).toContain('cut by GlobalNetworkPolicy nat-deny-api rule 0 (tier default) [at preDNAT stage]');

    const allowSsh = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: nat-allow-ssh}
spec:
  order: 5
  selector: role == 'node'
  preDNAT: true
  applyOnForward: true
  types: [Ingress]
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [22]}}]`;
    const run = await tabby(['apply', '-f', file(`${allowSsh}\n---\n${DENY_ALL}`), '--datastore', store]);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    expect(run.stderr).toContain('kubelet (TCP 10250 inbound)');
    expect(run.stderr).not.toContain('SSH (TCP 22 inbound)');
  });

  it("DefaultEndpointToHostAction Drop (FelixConfiguration) cuts the host's critical ports from its own pods", async () => {
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.1.5}`;
    const store = await storeWith(HOSTS, pod);
    const drop = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.n1}
spec: {defaultEndpointToHostAction: Drop}`;
    const run = await tabby(['apply', '-f', file(drop), '--datastore', store]);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    expect(run.stderr).toMatch(/on node n1; nothing was applied/);
    expect(run.stderr).toContain("node n1 eth0 (hep:n1-eth0): kubelet (TCP 10250 inbound) from the node's workloads (e.g. shop/web): " +
      'cut by endpoint-to-host (workload to its own host: DefaultEndpointToHostAction Drop per FelixConfiguration node.n1)');
    const get = await tabby(['get', 'felixconfiguration', '--datastore', store, '-o', 'name']);
    expect(get.stdout).not.toContain('node.n1');
  });

  it('applyOnForward: a forward policy on the DNS pods\' node cuts the other node\'s DNS to them', async () => {
    const dns = `apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.244.2.10}`;
    const store = await storeWith(HOSTS, dns);
    const forward = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: fwd-deny-dns}
spec:
  order: 10
  selector: role == 'node'
  applyOnForward: true
  types: [Ingress]
  ingress: [{action: Deny, protocol: UDP, destination: {ports: [53], nets: [10.244.0.0/16]}}]`;
    const run = await tabby(['apply', '-f', file(forward), '--datastore', store]);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    expect(run.stderr).toContain('node n1 eth0 (hep:n1-eth0): DNS (UDP 53 outbound) to the cluster DNS pods (k8s-app=kube-dns), e.g. kube-system/coredns: ' +
      'cut by GlobalNetworkPolicy fwd-deny-dns rule 0 (tier default) [at hep:n2-eth0, forward stage]');
  });
});

describe('--allow-lockout, --dry-run and the other writes', () => {
  it('--allow-lockout writes and warns, naming each cut flow', async () => {
    const store = await storeWith(HOSTS);
    const run = await tabby(['apply', '-f', file(DENY_ALL), '--datastore', store, '--allow-lockout']);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toContain("Successfully applied 1 'GlobalNetworkPolicy' resource(s)");
    expect(run.stderr).toMatch(/^warning: --allow-lockout: the change cuts \d+ critical host flows on nodes n1, n2:/);
    expect(run.stderr).toContain('warning:   node n1 eth0 (hep:n1-eth0): kubelet (TCP 10250 inbound) from outside');
    const get = await tabby(['get', 'gnp', 'deny-all-hosts', '--datastore', store]);
    expect(get.code).toBe(EXIT.ok);
  });

  it('--dry-run prints the findings after the impact, exits 11 as the real run would, and writes nothing', async () => {
    const store = await storeWith(HOSTS);
    const deny = file(DENY_ALL);
    const run = await tabby(['apply', '-f', deny, '--datastore', store, '--dry-run']);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    expect(run.stdout).toContain('Reachability impact:');
    expect(run.stdout).toMatch(/\nLockout check: the change cuts \d+ critical host flows on nodes n1, n2; a real run refuses it \(exit 11\) unless --allow-lockout is given:\n/);
    expect(run.stdout).toContain('  node n1 eth0 (hep:n1-eth0): kubelet (TCP 10250 inbound) from outside');
    await expectNotStored(store, 'deny-all-hosts');

    const json = await tabby(['apply', '-f', deny, '--datastore', store, '--dry-run', '-o', 'json']);
    expect(json.code).toBe(EXIT.lockout);
    const out = JSON.parse(json.stdout) as { lockout: { refused: boolean; nodes: string[]; cut: Array<Record<string, any>> } };
    expect(out.lockout.refused).toBe(true);
    expect(out.lockout.nodes).toEqual(['n1', 'n2']);
    const kubelet = out.lockout.cut.find((c) => c.node === 'n1' && c.flow.port === 10250 && c.peerKind === 'outside')!;
    expect(kubelet).toMatchObject({
      interface: 'eth0', hostEndpoint: 'hep:n1-eth0', to: 'hep:n1-eth0',
      flow: { name: 'kubelet', direction: 'inbound', protocol: 'TCP', port: 10250, origin: 'default' },
      before: { verdict: 'Allow', decision: { policy: 'allow-all-hosts', rule: 0 } },
      after: { verdict: 'Deny', decision: { action: 'Deny', tier: 'default', kind: 'GlobalNetworkPolicy', policy: 'deny-all-hosts', rule: 0 } },
    });
    expect(kubelet.after.trace.length).toBeGreaterThan(0);
    await expectNotStored(store, 'deny-all-hosts');

    const allowed = await tabby(['apply', '-f', deny, '--datastore', store, '--dry-run', '--allow-lockout']);
    expect(allowed.code).toBe(EXIT.ok);
    expect(allowed.stdout).toContain('a real run writes anyway (--allow-lockout)');

    const safe = await tabby(['apply', '-f', file(denyPolicy('deny-8080', 'ingress', 'TCP', 8080)), '--datastore', store, '--dry-run']);
    expect(safe.code).toBe(EXIT.ok);
    expect(safe.stdout).toMatch(/Lockout check: no critical host flow is cut \(12 flows on 2 nodes: \d+ checked\)/);
  });

  it('delete: removing the only allow of a host endpoint leaves it failsafe-only — refused', async () => {
    const store = await storeWith(HOSTS);
    const run = await tabby(['delete', 'gnp', 'allow-all-hosts', '--datastore', store]);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    expect(run.stderr).toContain('nothing was deleted');
    expect(run.stderr).toContain('kubelet (TCP 10250 inbound) from outside (every outside address class), e.g. 1.0.0.1: cut by no policy or profile allowing it (end of profiles)');
    expect((await tabby(['get', 'gnp', 'allow-all-hosts', '--datastore', store])).code).toBe(EXIT.ok);
  });

  it('patch and label: refused the same way', async () => {
    const store = await storeWith(HOSTS);
    const patch = await tabby(['patch', 'gnp', 'allow-all-hosts', '-p', '{"spec":{"ingress":[{"action":"Deny"}]}}', '--datastore', store]);
    expect(patch.code, patch.stderr).toBe(EXIT.lockout);
    expect(patch.stderr).toContain('nothing was patched');
    expect(patch.stderr).toContain('kubelet (TCP 10250 inbound) from outside (every outside address class), e.g. 1.0.0.1: cut by GlobalNetworkPolicy allow-all-hosts rule 0 (tier default)');

    const label = await tabby(['label', 'hep', 'n1-eth0', 'role=other', '--overwrite', '--datastore', store]);
    expect(label.code, label.stderr).toBe(EXIT.lockout);
    expect(label.stderr).toContain('node n1 eth0 (hep:n1-eth0): kubelet (TCP 10250 inbound)');
    const get = await tabby(['get', 'hep', 'n1-eth0', '--datastore', store, '-o', 'json']);
    expect((JSON.parse(get.stdout) as { metadata: { labels: Record<string, string> } }).metadata.labels.role).toBe('node');
  });

  it('creating the first host endpoint of a node, with no policy for it: fail closed but for the failsafes — refused', async () => {
    const store = await storeWith(HOSTS);
    const hep = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n3-eth0}
spec: {node: n3, interfaceName: eth0, expectedIPs: [172.31.0.4]}`;
    const run = await tabby(['create', '-f', file(hep), '--datastore', store]);
    expect(run.code, run.stderr).toBe(EXIT.lockout);
    expect(run.stderr).toContain('nothing was created');
    expect(run.stderr).toContain('node n3 eth0 (hep:n3-eth0): kubelet (TCP 10250 inbound) from outside (every outside address class), e.g. 1.0.0.1: ' +
      'cut by no policy or profile allowing it (end of profiles)');
    // The other nodes lose n3 as a peer too: their BGP to it is no failsafe problem (179 is one), but their DNS over TCP to it is.
    expect(run.stderr).toContain('node n3 eth0 (hep:n3-eth0): kubelet (TCP 10250 inbound) from 2 other nodes: n1 (172.31.0.2), n2 (172.31.0.3)');
  });

  it("a named interface's host endpoint deleted: the node's all-interfaces (*) host endpoint takes eth0 over", async () => {
    const star = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-all, labels: {role: strict}}
spec: {node: n1, interfaceName: "*"}`;
    const store = await storeWith(HOSTS, star);
    const run = await tabby(['delete', 'hep', 'n1-eth0', '--datastore', store, '--dry-run', '-o', 'json']);
    expect(run.code, run.stdout).toBe(EXIT.lockout);
    const out = JSON.parse(run.stdout) as { lockout: { cut: Array<{ node: string; interface: string; hostEndpoint: string; flow: { port: number } }> } };
    const kubelet = out.lockout.cut.find((c) => c.node === 'n1' && c.interface === 'eth0' && c.flow.port === 10250);
    expect(kubelet?.hostEndpoint).toBe('hep:n1-all');
  });

  it('a store without host endpoints: no lockout section, writes as before', async () => {
    const store = await storeWith(DENY_ALL.replace("role == 'node'", 'all()'));
    const run = await tabby(['apply', '-f', file(DENY_ALL), '--datastore', store, '--dry-run']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).not.toContain('Lockout check');
  });
});
