// Issue 13 §1: an agent logs every verdict to NFLOG unless told not to (`tabby agent --no-flow-logs` passes
// render.flowLogs = false). On FakeNft: with the default, each policy rule's verdict, the end-of-tier drop and the
// no-profile drop carry `log prefix "<A|D> <rule ID>" group <1|2> snaplen 80`, and each ID is one the agent can
// name; switched off, no rule logs but the Log action's.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NetworkPolicy, WorkloadEndpoint } from '../../../src/api/index.js';
import { FileStore } from '../../../src/datastore/index.js';
import { Agent } from '../../../src/dataplane/agent.js';
import { parsePrefix } from '../../../src/dataplane/flowlog/index.js';
import { FakeNft } from '../../../src/dataplane/nft/index.js';

const wep: WorkloadEndpoint = {
  apiVersion: 'projectcalico.org/v3', kind: 'WorkloadEndpoint',
  metadata: { name: 'node1-k8s-a-eth0', namespace: 'x', labels: { pod: 'a', 'projectcalico.org/namespace': 'x', 'projectcalico.org/orchestrator': 'k8s' } },
  spec: { node: 'node1', orchestrator: 'k8s', workload: 'a', endpoint: 'eth0', pod: 'a', interfaceName: 'caliaaaaaaaaaaa', ipNetworks: ['10.1.0.1/32'] },
} as WorkloadEndpoint;
const policy: NetworkPolicy = {
  apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'x' },
  spec: { selector: "pod == 'a'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }] },
};

describe('agent flow logs on FakeNft', () => {
  let dir: string;
  let store: FileStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabby-flowlog-agent-'));
    store = await FileStore.open({ dir, pollIntervalMs: 20, crossObjectChecks: false });
    await store.apply(wep);
    await store.apply(policy);
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const rules = async (options: { flowLogs?: boolean }): Promise<{ rules: string[]; agent: Agent }> => {
    const fake = new FakeNft();
    const agent = new Agent({ node: 'node1', store, nft: fake, debounceMs: 1, ...(options.flowLogs !== undefined ? { render: { flowLogs: options.flowLogs } } : {}) });
    await agent.start();
    await agent.waitForRevision(await store.revision());
    const out = [...fake.state!.chains.values()].flatMap((c) => c.rules.map((r) => r.rule));
    await agent.stop();
    return { rules: out, agent };
  };

  it('logs every verdict by default, with prefixes the agent maps back', async () => {
    const { rules: all, agent } = await rules({});
    const logged = all.filter((r) => r.includes('log prefix'));
    const prefixes = logged.map((r) => /log prefix "([^"]+)" group (\d+) snaplen 80/.exec(r));
    expect(prefixes.every((m) => m !== null), logged.join('\n')).toBe(true);
    const meanings = prefixes.map((m) => ({ group: Number(m![2]), prefix: parsePrefix(m![1]!)!, meaning: agent.ruleMeaning(parsePrefix(m![1]!)!.ruleId) }));
    const what = meanings.map((m) => `${m.prefix.code} ${m.group} ${m.meaning?.what} ${m.meaning?.direction}`).sort();
    // The policy's Allow (ingress, group 1), the end of tier default's drop, and each direction's no-profile drop.
    expect(what).toEqual(expect.arrayContaining([
      'A 1 policy-rule ingress', 'D 1 end-of-tier ingress', 'D 1 no-profile ingress', 'D 2 no-profile egress',
    ]));
    expect(meanings.every((m) => m.meaning !== undefined && (m.group === 1) === (m.meaning.direction === 'ingress'))).toBe(true);
  });

  it('logs nothing with flow logs off', async () => {
    const { rules: all } = await rules({ flowLogs: false });
    expect(all.filter((r) => r.includes('log prefix'))).toEqual([]);
    expect(all.some((r) => r.endsWith('accept'))).toBe(true);
  });
});
