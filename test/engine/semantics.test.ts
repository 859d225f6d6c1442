// The Calico behaviours the engine reproduces that calico-eval does not pin down on its own: the §1.8 rewrites,
// Felix's rule rendering quirks (§3.1), profiles and end-of-tier traces (§3.3), host-endpoint paths (§3.7,
// §3.8), the change feed, and how bad input is reported.

import { describe, expect, it } from 'vitest';

import type { Resource, Rule } from '../../src/api/index.js';
import { PolicyEngine, type EngineChange, type Flow, type FlowVerdict } from '../../src/engine/index.js';
import { entityRuleSelectors, policySelectorText } from '../../src/engine/selector-rewrite.js';
import { gnp, hostEndpoint, namespace, np, pod, profile, tier } from './support.js';

function engineWith(resources: Resource[], options: ConstructorParameters<typeof PolicyEngine>[0] = {}): PolicyEngine {
  const engine = new PolicyEngine(options);
  engine.load(resources);
  return engine;
}

function verdict(engine: PolicyEngine, flow: Flow): FlowVerdict {
  const r = engine.evaluate(flow);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const wep = (name: string, ip: string, labels: Record<string, string>, profiles: string[], extra: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default', labels },
  spec: { node: 'node1', orchestrator: 'test', endpoint: 'eth0', interfaceName: `cali${name}`, ipNetworks: [ip], profiles, ...extra },
} as Resource);

describe('§1.8 selector rewrites', () => {
  it('scopes a namespaced policy to its namespace and appends the pcsa. service account selector', () => {
    expect(policySelectorText({ namespace: 'ns', selector: "app == 'a'" })).toBe("(app == 'a') && projectcalico.org/namespace == 'ns'");
    expect(policySelectorText({ namespace: 'ns', serviceAccountSelector: "role == 'x'" }))
      .toBe("(projectcalico.org/namespace == 'ns') && pcsa.role == \"x\"");
  });

  it('rewrites all() in the whole global selector once a namespaceSelector is set', () => {
    expect(policySelectorText({ selector: 'all()', namespaceSelector: "env == 'prod'" }))
      .toBe('(has(projectcalico.org/namespace)) && pcns.env == "prod"');
    expect(policySelectorText({ selector: '' })).toBe('');
  });

  it('namespaces a NetworkPolicy rule even when only notSelector is set (then folds the two, as Felix does)', () => {
    expect(entityRuleSelectors({ notSelector: "app == 'x'" }, 'ns'))
      .toEqual({ positive: "(projectcalico.org/namespace == 'ns') && (!(app == 'x'))", negated: '' });
    // A global policy adds no namespace clause, so notSelector stays a negated set (it matches non-Calico IPs).
    expect(entityRuleSelectors({ notSelector: "app == 'x'" }, undefined)).toEqual({ positive: '', negated: "app == 'x'" });
  });

  it('folds a negated selector into the positive one, as Felix renders one IP set', () => {
    expect(entityRuleSelectors({ selector: "app == 'a'", notSelector: "tier == 'b'" }, undefined))
      .toEqual({ positive: "(app == 'a') && (!(tier == 'b'))", negated: '' });
  });

  it('maps global() and all() in namespaceSelectors, and serviceAccounts names to a set', () => {
    expect(entityRuleSelectors({ namespaceSelector: 'global()' }, 'ns').positive).toBe('!has(projectcalico.org/namespace)');
    expect(entityRuleSelectors({ namespaceSelector: 'all()' }, undefined).positive).toBe('has(projectcalico.org/namespace)');
    expect(entityRuleSelectors({ serviceAccounts: { names: ['b', 'a'] } }, 'ns').positive)
      .toBe("(projectcalico.org/namespace == 'ns') && (projectcalico.org/serviceaccount in {\"a\", \"b\"})");
  });
});

describe('§3.1 rule rendering', () => {
  const base = [namespace('default'), pod('default', 'client', '10.0.0.1', { app: 'client' })];

  it('a named port without a rule protocol is a TCP named port (rule_scanner default)', () => {
    const server: Resource = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'server', namespace: 'default', labels: { app: 'server' } },
      spec: { containers: [{ name: 'c', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'web', containerPort: 80 }] }] },
      status: { podIP: '10.0.0.2' },
    };
    const engine = engineWith([...base, server, np('default', 'p', { selector: "app == 'server'", ingress: [{ action: 'Allow', destination: { ports: ['dns', 'web'] } }] })]);
    expect(verdict(engine, { from: 'default/client', to: 'default/server', protocol: 'TCP', port: 80 }).verdict).toBe('Allow');
    expect(verdict(engine, { from: 'default/client', to: 'default/server', protocol: 'UDP', port: 53 }).verdict).toBe('Deny');
  });

  it('drops a rule in a family where its nets or notNets lose every CIDR, and one that negates a catch-all', () => {
    const rules: Rule[] = [
      { action: 'Deny', source: { notNets: ['fd00::/8'] } },
      { action: 'Allow', source: { nets: ['fd00::/8'] } },
      { action: 'Allow', protocol: 'TCP', destination: { ports: ['1000:2000'] } },
    ];
    const engine = engineWith([...base, pod('default', 'server', '10.0.0.2', { app: 'server' }), np('default', 'p', { selector: "app == 'server'", ingress: rules })]);
    const v = verdict(engine, { from: 'default/client', to: 'default/server', protocol: 'TCP', port: 1500 });
    expect(v.ingress?.decision).toEqual({ action: 'Allow', tier: 'default', kind: 'NetworkPolicy', policy: 'default/p', rule: 2 });
    expect(verdict(engine, { from: 'default/client', to: 'default/server', protocol: 'TCP', port: 2001 }).verdict).toBe('Deny');
  });

  it('protocol ICMP (by name) applies to IPv4 only; the number 1 pins no family', () => {
    const dual = (name: string, v4: string, v6: string, labels: Record<string, string>): Resource => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: {}, status: { podIPs: [{ ip: v4 }, { ip: v6 }] },
    });
    const engine = engineWith([
      namespace('default'), dual('a', '10.0.0.1', 'fd00::1', { app: 'a' }), dual('b', '10.0.0.2', 'fd00::2', { app: 'b' }),
      gnp('icmp', { selector: "app == 'b'", ingress: [{ action: 'Allow', protocol: 'ICMP' }, { action: 'Allow', protocol: 58 }] }),
    ]);
    expect(verdict(engine, { from: 'default/a', to: 'default/b', protocol: 'ICMP', icmp: { type: 8 } }).verdict).toBe('Allow');
    expect(verdict(engine, { from: 'default/a', to: 'default/b', protocol: 'ICMP', ipVersion: 6 }).verdict).toBe('Deny');
    expect(verdict(engine, { from: 'default/a', to: 'default/b', protocol: 58, ipVersion: 6 }).verdict).toBe('Allow');
  });
});

describe('§3.3 tiers and profiles', () => {
  it('Pass in a profile goes on to the next profile; a profile nobody defined denies (rule 0)', () => {
    const engine = engineWith([
      profile('passer', {}, { ingress: [{ action: 'Pass' }] }),
      profile('opener', {}, { ingress: [{ action: 'Allow' }] }),
      wep('a', '10.0.0.1/32', {}, ['passer', 'opener']),
      wep('b', '10.0.0.2/32', {}, ['missing', 'opener']),
    ]);
    expect(verdict(engine, { from: { ip: '192.0.2.1' }, to: 'default/a', protocol: 'TCP', port: 1 }).ingress?.decision)
      .toEqual({ action: 'Allow', profile: 'opener', rule: 0 });
    expect(verdict(engine, { from: { ip: '192.0.2.1' }, to: 'default/b', protocol: 'TCP', port: 1 }).ingress?.decision)
      .toEqual({ action: 'Deny', profile: 'missing', rule: 0 });
  });

  it('end of tier names the first applicable policy that did not match; Log does not end evaluation', () => {
    const engine = engineWith([
      tier('t', 1),
      wep('a', '10.0.0.1/32', { app: 'a' }, []),
      gnp('first', { tier: 't', order: 1, selector: 'all()', ingress: [{ action: 'Log' }, { action: 'Allow', protocol: 'UDP' }] }),
      gnp('second', { tier: 't', order: 2, selector: 'all()', ingress: [{ action: 'Allow', protocol: 'SCTP' }] }),
    ]);
    const v = verdict(engine, { from: { ip: '192.0.2.1' }, to: 'default/a', protocol: 'TCP', port: 1 });
    expect(v.ingress?.decision).toEqual({ action: 'Deny', tier: 't', kind: 'GlobalNetworkPolicy', policy: 'first', rule: -1 });
    expect(v.ingress?.trace.map((s) => `${s.policy}:${s.action}:${s.rule}`)).toEqual(['first:Log:0', 'first:NoMatch:-1', 'second:NoMatch:-1', 'first:Deny:-1']);
  });
});

describe('§3.2 ordering', () => {
  it('breaks order ties on the joined "<name>/<namespace>/<kind>" string: x-1 sorts before x', () => {
    const engine = engineWith([
      wep('a', '10.0.0.1/32', {}, []),
      gnp('x', { order: 5, selector: 'all()', ingress: [{ action: 'Allow' }] }),
      gnp('x-1', { order: 5, selector: 'all()', ingress: [{ action: 'Allow' }] }),
      gnp('w', { order: 5, selector: 'all()', ingress: [{ action: 'Allow' }] }),
    ]);
    expect(engine.policiesFor('default/a')!.ingress[0]!.policies.map((p) => p.id.name)).toEqual(['w', 'x-1', 'x']);
  });
});

describe('§3.7–3.8 host endpoints', () => {
  const cluster = [
    namespace('default'),
    pod('default', 'w0', '10.65.0.2', { app: 'w0' }, { node: 'n0' }),
    pod('default', 'w1', '10.65.1.2', { app: 'w1' }, { node: 'n1' }),
    hostEndpoint('h0', 'n0', ['172.17.0.2'], { host: 'h0' }),
    hostEndpoint('h1', 'n1', ['172.17.0.3'], { host: 'h1' }),
  ];

  it('failsafe ports open the host whatever the policy, but not forwarded traffic', () => {
    const engine = engineWith([...cluster, gnp('deny-all', { selector: 'has(host)', ingress: [{ action: 'Deny' }], egress: [{ action: 'Deny' }], applyOnForward: true })]);
    const ssh = verdict(engine, { from: { ip: '203.0.113.1' }, to: 'hep:h1', protocol: 'TCP', port: 22 });
    expect(ssh.verdict).toBe('Allow');
    expect(ssh.ingress?.decision).toMatchObject({ hostRule: 'failsafe', detail: 'failsafe inbound tcp:22' });
    expect(verdict(engine, { from: { ip: '203.0.113.1' }, to: 'default/w1', protocol: 'TCP', port: 22 }).ingress?.decision)
      .toMatchObject({ action: 'Deny', policy: 'deny-all', stage: 'forward', endpoint: 'hep:h1' });
  });

  it('an untracked Allow accepts for the later stages of that host endpoint; an untracked Deny drops', () => {
    const engine = engineWith([
      ...cluster,
      gnp('raw-allow', { selector: "host == 'h1'", doNotTrack: true, applyOnForward: true, ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }] }),
      gnp('raw-deny', { selector: "host == 'h1'", doNotTrack: true, applyOnForward: true, order: 5, ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [9090] } }] }),
    ]);
    const ok = verdict(engine, { from: { ip: '203.0.113.1' }, to: 'hep:h1', protocol: 'TCP', port: 8080 });
    expect(ok.verdict).toBe('Allow');
    expect(ok.ingress?.decision).toMatchObject({ policy: 'raw-allow', stage: 'untracked' });
    expect(verdict(engine, { from: { ip: '203.0.113.1' }, to: 'hep:h1', protocol: 'TCP', port: 9090 }).ingress?.decision)
      .toMatchObject({ action: 'Deny', policy: 'raw-deny', stage: 'untracked' });
    // Neither policy decides port 80: the normal stage has no policy and no profile, so the host drops it.
    expect(verdict(engine, { from: { ip: '203.0.113.1' }, to: 'hep:h1', protocol: 'TCP', port: 80 }).ingress?.decision)
      .toEqual({ action: 'Deny', profile: '__PROFILE__', rule: -1 });
  });

  it('host → own pod is not policed; pod → own host follows DefaultEndpointToHostAction', () => {
    const deny = [gnp('deny', { selector: 'all()', ingress: [{ action: 'Deny' }] })];
    const accept = engineWith([...cluster, ...deny]);
    expect(verdict(accept, { from: 'hep:h0', to: 'default/w0', protocol: 'TCP', port: 80 }).ingress?.decision)
      .toMatchObject({ action: 'Allow', hostRule: 'host-to-local-workload' });
    expect(verdict(accept, { from: 'default/w0', to: 'hep:h0', protocol: 'TCP', port: 80 }).verdict).toBe('Allow');
    const drop = engineWith([...cluster, ...deny], { defaultEndpointToHostAction: 'Drop' });
    expect(verdict(drop, { from: 'default/w0', to: 'hep:h0', protocol: 'TCP', port: 80 }).ingress?.decision)
      .toMatchObject({ action: 'Deny', hostRule: 'endpoint-to-host' });
  });

  it('drops VXLAN a workload sends, before any policy', () => {
    const engine = engineWith(cluster);
    expect(verdict(engine, { from: 'default/w0', to: 'default/w1', protocol: 'UDP', port: 4789 }).egress?.decision)
      .toMatchObject({ action: 'Deny', hostRule: 'workload-encap' });
    const allowed = engineWith(cluster, { allowVXLANPacketsFromWorkloads: true });
    expect(verdict(allowed, { from: 'default/w0', to: 'default/w1', protocol: 'UDP', port: 4789 }).verdict).toBe('Allow');
  });
});

describe('change feed', () => {
  const resources = [
    namespace('default'),
    pod('default', 'a', '10.0.0.1', { app: 'a' }),
    pod('default', 'b', '10.0.0.2', { app: 'b' }),
    np('default', 'from-a', { selector: "app == 'b'", ingress: [{ action: 'Allow', source: { selector: "app == 'a'" } }] }),
  ];

  it('emits nothing before in-sync, then the whole state in dependency order', () => {
    const engine = new PolicyEngine();
    for (const resource of resources) engine.apply({ type: 'upsert', resource });
    expect(engine.flush()).toEqual([]);
    const heard: EngineChange[][] = [];
    engine.subscribe((c) => heard.push(c));
    engine.markInSync();
    const changes = engine.flush();
    expect(heard).toEqual([changes]);
    const order = changes.map((c) => c.type);
    const first = (t: EngineChange['type']) => order.indexOf(t);
    expect(first('ipset-added')).toBeLessThan(first('policy-updated'));
    expect(first('policy-updated')).toBeLessThan(first('endpoint-updated'));
    expect(order.filter((t) => t === 'endpoint-updated')).toHaveLength(2);
    const set = changes.find((c): c is Extract<EngineChange, { type: 'ipset-added' }> => c.type === 'ipset-added')!;
    expect(set.members).toEqual(['10.0.0.1/32']);
    expect(engine.flush()).toEqual([]);
  });

  it('a label change emits only what it touches', () => {
    const engine = engineWith(resources);
    engine.flush();
    engine.apply({ type: 'upsert', resource: pod('default', 'b', '10.0.0.2', { app: 'a' }) });
    const changes = engine.flush();
    expect(changes.map((c) => c.type)).toEqual(['ipset-members', 'endpoint-updated']);
    expect(changes[0]).toMatchObject({ added: ['10.0.0.2/32'], removed: [] });
    expect(changes[1]).toMatchObject({ type: 'endpoint-updated', endpoint: { ref: 'default/b' }, stages: { normal: { ingress: [], egress: [] } } });
    engine.apply({ type: 'delete', key: { kind: 'NetworkPolicy', namespace: 'default', name: 'from-a' } });
    expect(engine.flush().map((c) => c.type)).toEqual(['policy-removed', 'ipset-removed']);
  });
});

describe('implied namespaces', () => {
  it('gives pods of a namespace nobody defined the kns profile an unlabelled Namespace would give, and says so', () => {
    const engine = engineWith([pod('shop', 'a', '10.0.0.1', { app: 'a' }), pod('shop', 'b', '10.0.0.2', { app: 'b' })]);
    expect(verdict(engine, { from: 'shop/a', to: 'shop/b', protocol: 'TCP', port: 80 }).ingress?.decision)
      .toEqual({ action: 'Allow', profile: 'kns.shop', rule: 0 });
    expect(engine.endpoint('shop/a')?.labels['pcns.projectcalico.org/name']).toBe('shop');
    expect(engine.issues().map((i) => i.code)).toEqual(['engine.implied-resource']);
    engine.apply({ type: 'upsert', resource: namespace('shop', { team: 'x' }) });
    expect(engine.issues()).toEqual([]);
    expect(engine.endpoint('shop/a')?.labels['pcns.team']).toBe('x');
    engine.apply({ type: 'delete', key: { kind: 'Namespace', name: 'shop' } });
    expect(engine.endpoint('shop/a')?.labels['pcns.team']).toBeUndefined();
    expect(engine.issues().map((i) => i.code)).toEqual(['engine.implied-resource']);
  });
});

describe('bad input', () => {
  it('leaves out a policy whose selector does not parse and says why; the rest still applies', () => {
    const broken = np('default', 'broken', { selector: 'app ==', ingress: [{ action: 'Allow' }] });
    const engine = engineWith([namespace('default'), pod('default', 'a', '10.0.0.1', { app: 'a' }), broken]);
    expect(engine.issues()).toMatchObject([{ code: 'engine.invalid-resource', resource: 'NetworkPolicy default/broken' }]);
    expect(engine.policies()).toEqual([]);
    expect(verdict(engine, { from: 'default/a', to: { ip: '192.0.2.1' }, protocol: 'TCP', port: 1 }).verdict).toBe('Allow');
  });

  it('reports unknown endpoints, bad addresses and protocols as issues', () => {
    const engine = engineWith([namespace('default')]);
    const r = engine.evaluate({ from: 'default/nope', to: { ip: '300.1.1.1' }, protocol: 'tcpx' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.code)).toEqual(['flow.unknown-endpoint', 'flow.invalid-address', 'flow.invalid-protocol']);
  });
});
