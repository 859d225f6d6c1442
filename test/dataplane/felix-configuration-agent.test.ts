// The agent applies FelixConfiguration live (FakeNft, runs anywhere): a change of `default` or of the node's own
// `node.<name>` re-renders the failsafe chains and the endpoint-to-host verdict in an incremental transaction, no
// restart; another node's FelixConfiguration changes nothing here; options given at start (the `tabby agent`
// flags) override the datastore, and the agent says so once; the status names each setting's source.
// The kernel side is test/dataplane/felix-configuration.test.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Resource } from '../../src/api/index.js';
import { FileStore } from '../../src/datastore/index.js';
import { Agent } from '../../src/dataplane/agent.js';
import { FakeNft } from '../../src/dataplane/nft/index.js';
import { CHAIN_FAILSAFE_IN, CHAIN_FAILSAFE_RAW_OUT, CHAIN_IN_HOST } from '../../src/dataplane/render/names.js';

const felix = (name: string, spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec }) as unknown as Resource;
const HEP = {
  apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'eth0-hep', labels: { role: 'host' } },
  spec: { node: 'node1', interfaceName: 'eth0', expectedIPs: ['172.31.0.2'] },
} as unknown as Resource;

describe('FelixConfiguration applied live by the agent (FakeNft)', () => {
  let dir: string;
  let store: FileStore;
  let fake: FakeNft;
  let agent: Agent | undefined;
  let logged: string[];
  const rules = (chain: string): string[] => (fake.state?.chains.get(chain)?.rules ?? []).map((r) => r.rule);
  const enforced = async (): Promise<void> => { await agent!.waitForRevision(await store.revision()); };
  async function start(options: Partial<ConstructorParameters<typeof Agent>[0]> = {}): Promise<Agent> {
    agent = new Agent({ node: 'node1', store, nft: fake, debounceMs: 1, healthCheckMs: 0, log: (l) => logged.push(l), ...options });
    await agent.start();
    return agent;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabby-felixcfg-agent-'));
    store = await FileStore.open({ dir, pollIntervalMs: 20, crossObjectChecks: false });
    await store.apply(HEP);
    fake = new FakeNft();
    logged = [];
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('failsafe ports follow default and node.<name>, field by field, without a restart or a full resync', async () => {
    await start();
    expect(rules(CHAIN_FAILSAFE_IN).some((r) => r.includes('tcp dport 22 '))).toBe(true);
    expect(agent!.status().settings?.find((s) => s.name === 'failsafeInboundHostPorts'))
      .toEqual({ name: 'failsafeInboundHostPorts', value: 'tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667', source: 'built-in default' });
    const fullBefore = agent!.status().fullSyncs;

    await store.apply(felix('default', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 2222 }] }));
    await enforced();
    expect(rules(CHAIN_FAILSAFE_IN)).toEqual([expect.stringMatching(/^tcp dport 2222 counter accept$/)]);
    // The raw table's outbound chain accepts replies from the inbound failsafes: it follows too.
    expect(rules(CHAIN_FAILSAFE_RAW_OUT).filter((r) => r.includes('sport'))).toEqual([expect.stringMatching(/^tcp sport 2222 /)]);
    expect(logged).toContain('FelixConfiguration changed, applied: failsafeInboundHostPorts = tcp:2222 (FelixConfiguration default)');

    // Another node's own FelixConfiguration is not this node's.
    await store.apply(felix('node.node2', { failsafeInboundHostPorts: [] }));
    await enforced();
    expect(rules(CHAIN_FAILSAFE_IN)).toHaveLength(1);

    // This node's own wins over default, for the fields it sets.
    await store.apply(felix('node.node1', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22, net: '172.31.0.0/24' }, { protocol: 'UDP', port: 68 }] }));
    await enforced();
    expect(rules(CHAIN_FAILSAFE_IN)).toEqual([
      expect.stringMatching(/^ip saddr 172\.31\.0\.0\/24 tcp dport 22 counter accept$/), expect.stringMatching(/^udp dport 68 counter accept$/),
    ]);
    expect(agent!.status().settings?.find((s) => s.name === 'failsafeInboundHostPorts'))
      .toEqual({ name: 'failsafeInboundHostPorts', value: 'tcp:172.31.0.0/24:22,udp:68', source: 'FelixConfiguration node.node1' });

    // Deleting both: Felix's defaults again.
    await store.delete({ kind: 'FelixConfiguration', name: 'node.node1' });
    await store.delete({ kind: 'FelixConfiguration', name: 'default' });
    await enforced();
    expect(rules(CHAIN_FAILSAFE_IN)).toHaveLength(9);
    expect(agent!.status().fullSyncs).toBe(fullBefore);
  });

  it('DefaultEndpointToHostAction Drop and Return are applied live in the in-host chain', async () => {
    await start();
    expect(rules(CHAIN_IN_HOST).some((r) => r.endsWith('counter accept') && r.startsWith('iifname "cali*" counter'))).toBe(true);
    await store.apply(felix('default', { defaultEndpointToHostAction: 'Drop' }));
    await enforced();
    expect(rules(CHAIN_IN_HOST).filter((r) => /^iifname "cali\*" counter (drop|accept)$/.test(r))).toEqual(['iifname "cali*" counter drop']);
    await store.apply(felix('node.node1', { defaultEndpointToHostAction: 'Return' }));
    await enforced();
    expect(rules(CHAIN_IN_HOST).filter((r) => /^iifname "cali\*" counter (drop|accept)$/.test(r))).toEqual([]);
  });

  it('a setting given at start overrides the datastore, and the agent says so once', async () => {
    await store.apply(felix('default', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 2222 }], defaultEndpointToHostAction: 'Drop' }));
    await start({
      engine: { failsafeInboundHostPorts: [{ protocol: 'tcp', port: 2022 }], optionSources: { failsafeInboundHostPorts: '--failsafe-inbound-host-ports' } },
    });
    expect(rules(CHAIN_FAILSAFE_IN)).toEqual([expect.stringMatching(/^tcp dport 2022 counter accept$/)]);
    expect(logged).toContain('--failsafe-inbound-host-ports sets failsafeInboundHostPorts = tcp:2022, over any FelixConfiguration in the datastore');
    expect(logged).toContain('FelixConfiguration default sets failsafeInboundHostPorts = tcp:2222; not applied: --failsafe-inbound-host-ports overrides it');
    expect(logged).toContain('FelixConfiguration in force: defaultEndpointToHostAction = Drop (FelixConfiguration default)');
    const settings = new Map(agent!.status().settings!.map((s) => [s.name, s]));
    expect(settings.get('failsafeInboundHostPorts')?.source).toBe('--failsafe-inbound-host-ports');
    expect(settings.get('defaultEndpointToHostAction')).toEqual({ name: 'defaultEndpointToHostAction', value: 'Drop', source: 'FelixConfiguration default' });
    // Unrelated changes do not repeat the note; a new stored value for the field is noted once more.
    await store.apply(felix('node.node2', { vxlanPort: 4790 }));
    await enforced();
    await store.apply(felix('node.node1', { failsafeInboundHostPorts: [] }));
    await enforced();
    expect(rules(CHAIN_FAILSAFE_IN)).toEqual([expect.stringMatching(/^tcp dport 2022 counter accept$/)]);
    expect(logged.filter((l) => l.includes('not applied'))).toEqual([
      'FelixConfiguration default sets failsafeInboundHostPorts = tcp:2222; not applied: --failsafe-inbound-host-ports overrides it',
      'FelixConfiguration node.node1 sets failsafeInboundHostPorts = none; not applied: --failsafe-inbound-host-ports overrides it',
    ]);
  });
});
