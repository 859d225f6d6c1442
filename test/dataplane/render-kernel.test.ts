// Every rule shape the renderer emits must be accepted by the real nft, and every incremental transaction must
// apply on top of the previous ones: a sequence of change-feed steps runs through the kernel (in a throwaway
// namespace) and through FakeNft, and both must hold the same table after each step.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNamespace, deleteNamespace } from '../../src/dataplane/netns/namespace.js';
import { FakeNft, NftTables, netnsExec, type ListedTable } from '../../src/dataplane/nft/index.js';
import { Renderer } from '../../src/dataplane/render/index.js';
import type { EngineChange } from '../../src/engine/types.js';
import { allowAll, endpoint, endpointUpdate, policy, profile, rule, tier } from './render-fixtures.js';
import { KERNEL_SKIP_REASON, sweepStaleTestNamespaces, uniquePrefix } from './support.js';

function shape(t: ListedTable | undefined): unknown {
  if (!t) return null;
  return {
    chains: [...t.chains.values()].map(({ chain, rules }) => `${chain.name}: ${rules.map((r) => r.comment?.split(' ')[0]).join(',')}`).sort(),
    sets: [...t.sets.values()].map(({ set, elements }) => `${set.name}: ${[...elements.keys()].sort().join(',')}`).sort(),
    maps: [...t.maps.values()].map(({ map, elements }) => `${map.name}: ${[...elements.values()].map((e) => `${e.key}=${e.value}`).sort().join(',')}`).sort(),
  };
}

const web = policy('web', {
  ingress: [
    rule(0, 'Log', { protocol: 6, dst: { ports: [{ first: 80, last: 80 }], namedPortIpSets: ['np-http'] } }),
    rule(1, 'Allow', { protocol: 6, src: { ipSets: ['sel-front'], notNets: ['10.9.0.0/16', 'fd00:9::/32'] }, dst: { ports: [{ first: 80, last: 81 }, { first: 8000, last: 8100 }], namedPortIpSets: ['np-http'] } }),
    rule(2, 'Allow', { ipVersion: 4, protocol: 1, icmp: { type: 8, code: 0 } }),
    rule(3, 'Deny', { ipVersion: 6, protocol: 58, notIcmp: { type: 128, code: 0 } }),
    rule(4, 'Deny', { protocol: 17, notProtocol: 6, src: { notIpSets: ['sel-front'], notPorts: [{ first: 53, last: 53 }] } }),
    rule(5, 'Allow', { src: { nets: ['10.0.0.0/8', '192.168.0.0/16'] }, dst: { notNamedPortIpSets: ['np-http'] } }),
    rule(6, 'Allow', { protocol: 132, dst: { ports: [{ first: 9, last: 9 }] } }),
  ],
  egress: [rule(0, 'Allow', { dst: { nets: ['fd00::/8'] } }), rule(1, 'Deny', { notProtocol: 17 })],
}, { namespace: 'x' });
const admin = policy('admin', { ingress: [rule(0, 'Pass', { src: { nets: ['10.1.0.0/16'] } }), rule(1, 'Deny')] }, { tier: 'admin' });

const STEPS: Array<[string, EngineChange[]]> = [
  ['everything at once', [
    { type: 'ipset-added', ipSet: { id: 'sel-front', kind: 'net', selector: "app == 'front'" }, members: ['10.1.0.2/32', '10.1.0.0/24', 'fd00::2/128'] },
    { type: 'ipset-added', ipSet: { id: 'np-http', kind: 'ip-port', selector: 'all()', namedPort: { name: 'http', protocol: 'tcp' } }, members: ['10.1.0.1,tcp:8080', 'fd00::1,tcp:8080'] },
    { type: 'policy-updated', policy: web },
    { type: 'policy-updated', policy: admin },
    { type: 'profile-updated', profile: allowAll('kns.x') },
    { type: 'profile-updated', profile: profile('ksa.x.default', { ingress: [rule(0, 'Pass')], egress: [] }) },
    endpointUpdate(endpoint('x', 'a', 'cali0000000000a', ['10.1.0.1', 'fd00::1'], { profiles: ['kns.x', 'ksa.x.default'] }),
      [tier('admin', [admin], 'Pass'), tier('default', [web])], [tier('default', [web])]),
    endpointUpdate(endpoint('x', 'b', 'cali0000000000b', ['10.1.0.2']), [tier('default', [web])], []),
  ]],
  ['members change, a broader CIDR arrives and goes', [
    { type: 'ipset-members', id: 'sel-front', added: ['10.1.0.0/16', '10.7.7.7/32'], removed: ['10.1.0.2/32'] },
    { type: 'ipset-members', id: 'np-http', added: ['10.1.0.3,tcp:8080'], removed: ['fd00::1,tcp:8080'] },
  ]],
  ['policy edited', [{ type: 'policy-updated', policy: { ...web, rules: { ...web.rules, egress: [rule(0, 'Deny', { protocol: 6 })] } } }]],
  ['broader CIDR removed', [{ type: 'ipset-members', id: 'sel-front', added: [], removed: ['10.1.0.0/16'] }]],
  ['endpoint b goes, a moves to Pass-free admin', [
    { type: 'endpoint-removed', ref: 'x/b' },
    { type: 'policy-updated', policy: { ...admin, rules: { ingress: [rule(0, 'Deny', { protocol: 17 })], egress: [] } } },
  ]],
  ['ip set removed while still referenced, then the policy and endpoint go', [
    { type: 'ipset-removed', id: 'np-http' },
    { type: 'endpoint-removed', ref: 'x/a' },
    { type: 'policy-removed', id: web.id },
    { type: 'policy-removed', id: admin.id },
    { type: 'ipset-removed', id: 'sel-front' },
  ]],
];

describe.skipIf(KERNEL_SKIP_REASON)('rendered rulesets in the kernel', () => {
  const ns = `${uniquePrefix()}render`;
  let real: NftTables;

  beforeAll(async () => {
    await sweepStaleTestNamespaces();
    await createNamespace(ns);
    real = new NftTables({ family: 'inet', table: 'tabby', exec: netnsExec(ns) });
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('applies every step in the kernel exactly as in the fake', async () => {
    const renderer = new Renderer({ node: 'node1', flowLogs: true });
    const fake = new FakeNft();
    for (const [name, changes] of STEPS) {
      renderer.apply(changes);
      renderer.settle();
      const plan = renderer.ruleset.plan();
      await fake.run(plan.tx);
      await real.run(plan.tx).catch((e: Error) => { throw new Error(`${name}: ${e.message}\n${plan.tx.toString()}`); });
      plan.commit();
      expect({ step: name, table: shape(await real.list()) }).toEqual({ step: name, table: shape(await fake.list()) });
    }
    // After everything is gone, only the skeleton is left, and a full resync writes the same table again.
    const full = renderer.ruleset.plan({ full: true });
    await real.run(full.tx);
    full.commit();
    const fresh = new FakeNft();
    const r2 = new Renderer({ node: 'node1', flowLogs: true });
    r2.settle();
    await fresh.run(r2.ruleset.plan().tx);
    expect(shape(await real.list())).toEqual(shape(await fresh.list()));
  });
});
