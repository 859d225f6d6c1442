// FelixConfiguration applied live == applied at start (FakeNft, no root): after any sequence of FelixConfiguration
// changes (default, this node's node.<name>, another node's), mixed with host endpoint and workload changes, the
// table the agent's sync (agent/policy-sync.ts → Renderer.updateSettings) maintains incrementally equals a fresh
// full render of the same resources, and a flag given at start keeps its value whatever the datastore says.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/index.js';
import { PolicySync } from '../../src/dataplane/agent/policy-sync.js';
import { FakeNft } from '../../src/dataplane/nft/index.js';
import { PolicyEngine, type EngineOptions } from '../../src/engine/index.js';

const contents = (nft: FakeNft): unknown => ({
  chains: [...nft.state!.chains].map(([n, c]) => [n, c.rules.map((r) => `${r.rule} # ${r.comment}`)]).sort(),
  sets: [...nft.state!.sets].map(([n, s]) => [n, [...s.elements.keys()].sort()]).sort(),
  maps: [...nft.state!.maps].map(([n, m]) => [n, [...m.elements.entries()].map(([k, v]) => `${k}:${JSON.stringify(v)}`).sort()]).sort(),
});

const V3 = 'projectcalico.org/v3';
const felix = (name: string, spec: Record<string, unknown>): Resource => ({ apiVersion: V3, kind: 'FelixConfiguration', metadata: { name }, spec }) as unknown as Resource;

const specArb = fc.record({
  failsafeInboundHostPorts: fc.option(fc.subarray([{ protocol: 'TCP', port: 22 }, { protocol: 'TCP', port: 2222, net: '10.0.0.0/8' }, { protocol: 'UDP', port: 68 }]), { nil: undefined }),
  failsafeOutboundHostPorts: fc.option(fc.subarray([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 6443, net: 'fd00::/8' }]), { nil: undefined }),
  defaultEndpointToHostAction: fc.option(fc.constantFrom('Drop', 'Accept', 'Return'), { nil: undefined }),
  allowVXLANPacketsFromWorkloads: fc.option(fc.boolean(), { nil: undefined }),
  allowIPIPPacketsFromWorkloads: fc.option(fc.boolean(), { nil: undefined }),
  vxlanPort: fc.option(fc.constantFrom(4789, 8472), { nil: undefined }),
}).map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));

const OTHERS: Record<string, Resource> = {
  hep: { apiVersion: V3, kind: 'HostEndpoint', metadata: { name: 'eth0-hep', labels: { role: 'host' } }, spec: { node: 'node1', interfaceName: 'eth0' } } as unknown as Resource,
  wep: {
    apiVersion: V3, kind: 'WorkloadEndpoint', metadata: { name: 'node1-k8s-a-eth0', namespace: 'x', labels: { app: 'a' } },
    spec: { node: 'node1', orchestrator: 'k8s', workload: 'a', endpoint: 'eth0', pod: 'a', interfaceName: 'cali1', ipNetworks: ['10.1.0.1/32'] },
  } as unknown as Resource,
};

type Step = { key: 'default' | 'node.node1' | 'node.node2'; spec: Record<string, unknown> | null } | { key: 'hep' | 'wep'; put: boolean };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ key: fc.constantFrom('default' as const, 'node.node1' as const, 'node.node2' as const), spec: fc.option(specArb, { nil: null }) }),
  fc.record({ key: fc.constantFrom('hep' as const, 'wep' as const), put: fc.boolean() }),
);

async function rendered(engine: PolicyEngine, options: EngineOptions, nft: FakeNft, sync?: PolicySync): Promise<PolicySync> {
  const s = sync ?? new PolicySync('node1', options, {}, nft, undefined);
  const result = await s.sync(engine);
  if (!result.ok) throw new Error(result.error);
  return s;
}

describe('FelixConfiguration: live == at start', () => {
  for (const [label, options] of [
    ['from the datastore', {}],
    ['with a flag over it', { defaultEndpointToHostAction: 'Drop', optionSources: { defaultEndpointToHostAction: '--default-endpoint-to-host-action' } }],
  ] as Array<[string, EngineOptions]>) {
    it(`after every change (${label})`, async () => {
      await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 12 }), async (steps) => {
        const present = new Map<string, Resource>();
        const engine = new PolicyEngine(options);
        engine.load([]);
        const nft = new FakeNft();
        const live = await rendered(engine, options, nft);
        for (const step of steps) {
          const resource = 'spec' in step ? (step.spec ? felix(step.key, step.spec) : undefined) : step.put ? OTHERS[step.key] : undefined;
          const old = present.get(step.key) ?? ('spec' in step ? felix(step.key, {}) : OTHERS[step.key]!);
          if (resource) {
            present.set(step.key, resource);
            engine.apply({ type: 'upsert', resource });
          } else {
            present.delete(step.key);
            engine.apply({ type: 'delete', key: { kind: old.kind, name: old.metadata.name, ...(old.metadata.namespace ? { namespace: old.metadata.namespace } : {}) } as never });
          }
          await rendered(engine, options, nft, live);
          const fresh = new PolicyEngine(options);
          fresh.load([...present.values()]);
          const freshNft = new FakeNft();
          // At start: the renderer is built with the node's settings, so nothing is updated afterwards.
          const { sourceOf: _sources, ...atStart } = fresh.nodeSettings('node1');
          const freshSync = new PolicySync('node1', { ...atStart, failsafeInboundHostPorts: [...atStart.failsafeInboundHostPorts], failsafeOutboundHostPorts: [...atStart.failsafeOutboundHostPorts] }, {}, freshNft, undefined);
          expect(freshSync.renderer.felixSettings()).toEqual(atStart);
          await rendered(fresh, options, freshNft, freshSync);
          expect(contents(nft)).toEqual(contents(freshNft));
          if (options.defaultEndpointToHostAction) {
            expect(live.renderer.felixSettings().defaultEndpointToHostAction).toBe(options.defaultEndpointToHostAction);
          }
        }
      }), { numRuns: 80 });
    });
  }
});
