// A cluster for real-traffic suites: a file datastore in a temp directory, one or more nodes (namespaces with the
// fail-closed skeleton and an uplink to the shared outside network, which routes each workload address via its
// node: src/dataplane/netns/outside-routes.ts), an in-process agent per node enforcing the one datastore on its
// node, workloads and "outside" peers as namespaces, and a probe agent per namespace. Everything it creates carries
// the caller's prefix, and close() removes it all (suites also sweep the prefix in afterAll in case close() never
// ran). `node`, `agent` and the single-node helpers name the first node.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileStore } from '../../src/datastore/index.js';
import { Agent, type AgentOptions } from '../../src/dataplane/agent.js';
import { deleteNamespace, interfaceAddresses } from '../../src/dataplane/netns/namespace.js';
import { createWorkloadNetwork, workloadMac } from '../../src/dataplane/netns/topology.js';
import { inspectUplink, outsideNetns, type Uplink } from '../../src/dataplane/netns/uplink.js';
import { NftTables, netnsExec } from '../../src/dataplane/nft/index.js';
import { ProbeAgent, type ProbeProtocol, type ProbeResult } from '../../src/dataplane/probe/agent.js';
import { ArrivalCounter, type WatchedFlow } from '../../src/dataplane/probe/arrivals.js';
import { rawPayload } from '../../src/dataplane/probe/raw-packet.js';
import { Workloads } from '../../src/dataplane/workloads.js';

export class TestCluster {
  readonly agents = new Map<string, ProbeAgent>();
  /** Node → its in-process agent (the first node's is also `agent`). */
  readonly nodeAgents = new Map<string, Agent>();
  private readonly listening = new Map<string, Promise<void>>();
  private readonly counters = new Map<string, Promise<ArrivalCounter>>();
  private rawId = 0;
  agent: Agent | undefined;
  private peerCount = 0;

  private constructor(
    readonly prefix: string,
    readonly nodes: readonly string[],
    readonly dir: string,
    readonly store: FileStore,
    readonly workloads: Workloads,
  ) {}

  /** The first node. */
  get node(): string {
    return this.nodes[0]!;
  }

  static async create(prefix: string, nodes: string | readonly string[] = 'node1'): Promise<TestCluster> {
    const names = typeof nodes === 'string' ? [nodes] : [...nodes];
    if (names.length === 0) throw new Error('a cluster needs a node');
    const dir = await mkdtemp(join(tmpdir(), 'tabby-cluster-'));
    // Written as Calico's backend client writes (no checks between objects): scenarios may hold states Felix must
    // enforce but calicoctl would refuse to create, such as a policy whose tier is missing (§3.2).
    const store = await FileStore.open({ dir, pollIntervalMs: 50, crossObjectChecks: false });
    const workloads = new Workloads({ store, prefix });
    const c = new TestCluster(prefix, names, dir, store, workloads);
    for (const node of names) {
      const res = await workloads.createNode(node);
      if (!res.ok) {
        await c.close();
        throw new Error(res.issues.map((i) => i.message).join('; '));
      }
    }
    return c;
  }

  get nodeNetns(): string {
    return this.workloads.nodeNetns(this.node);
  }

  netnsOf(node: string): string {
    return this.workloads.nodeNetns(node);
  }

  /** The shared outside network the nodes' uplinks join. */
  get outsideNetns(): string {
    return outsideNetns(this.workloads.naming);
  }

  async uplink(node: string): Promise<Uplink> {
    const up = await inspectUplink(this.workloads.naming, this.netnsOf(node));
    if (!up) throw new Error(`node ${node} has no uplink`);
    return up;
  }

  nft(node = this.node): NftTables {
    return new NftTables({ family: 'inet', table: 'tabby', exec: netnsExec(this.netnsOf(node)) });
  }

  async startAgent(options: Partial<AgentOptions> = {}, node = this.node): Promise<Agent> {
    const agent = new Agent({
      node, store: this.store, nft: this.nft(node),
      hostInterfaces: { read: () => interfaceAddresses(netnsExec(this.netnsOf(node))), pollMs: 500 }, ...options,
    });
    this.nodeAgents.set(node, agent);
    if (node === this.node) this.agent = agent;
    await agent.start();
    return agent;
  }

  /** Waits until every node's agent enforces everything written to the datastore so far. */
  async enforced(timeoutMs = 30_000): Promise<number> {
    const revision = await this.store.revision();
    const agents = new Set([...this.nodeAgents.values(), ...(this.agent ? [this.agent] : [])]);
    await Promise.all([...agents].map((a) => a.waitForRevision(revision, timeoutMs)));
    return revision;
  }

  /** The namespace a workload (namespace/name) runs in, made outside the Workloads API (the endpoint is given). */
  async addNetwork(key: string, iface: string, addresses: string[], node = this.node): Promise<string> {
    const netns = `${this.prefix}w-${iface}`;
    await createWorkloadNetwork({ nodeNetns: this.netnsOf(node), netns, iface, mac: workloadMac('net', key), addresses });
    await this.startProbe(key, netns);
    return netns;
  }

  /**
   * An outside peer: a namespace behind a non-workload interface of the node (no policy applies to it), holding
   * bare addresses flows name as `{ip: …}`.
   */
  async addPeer(key: string, addresses: string[]): Promise<void> {
    const iface = `tbext${this.peerCount++}`;
    const netns = `${this.prefix}p-${iface}`;
    await createWorkloadNetwork({ nodeNetns: this.nodeNetns, netns, iface, mac: workloadMac('peer', key), addresses });
    await this.startProbe(key, netns);
  }

  async startProbe(key: string, netns: string): Promise<ProbeAgent> {
    const agent = await ProbeAgent.start(netns, key);
    this.agents.set(key, agent);
    return agent;
  }

  probe(key: string): ProbeAgent {
    const a = this.agents.get(key);
    if (!a) throw new Error(`no probe agent for ${key}`);
    return a;
  }

  /** Makes `key` serve protocol/port (once). */
  async serve(key: string, protocol: ProbeProtocol, port: number): Promise<void> {
    const id = `${key}|${protocol}|${port}`;
    let pending = this.listening.get(id);
    if (!pending) this.listening.set(id, (pending = this.probe(key).listen(protocol, port)));
    await pending;
  }

  connect(from: string, protocol: ProbeProtocol, host: string, port: number, opts: { timeoutMs?: number; srcAddress?: string; srcPort?: number } = {}): Promise<ProbeResult> {
    return this.probe(from).connect(protocol, host, port, opts.timeoutMs ?? 1000, {
      ...(opts.srcAddress !== undefined ? { address: opts.srcAddress } : {}),
      ...(opts.srcPort !== undefined ? { port: opts.srcPort } : {}),
    });
  }

  /**
   * Sends one raw packet per flow (ICMP, bare IP protocols) from `from[i]` and tells, per flow, whether it reached
   * its destination's namespace, counted there (arrivals.ts). A flow not seen is sent again after a third of the
   * timeout; allowed flows return as soon as all have arrived.
   */
  async rawFlows(flows: ReadonlyArray<{ from: string; to: string; flow: WatchedFlow }>, timeoutMs = 1000): Promise<boolean[]> {
    const byDestination = new Map<string, number[]>();
    flows.forEach((f, i) => byDestination.set(f.to, [...(byDestination.get(f.to) ?? []), i]));
    const keys: string[] = new Array<string>(flows.length);
    const counters = new Map<string, ArrivalCounter>();
    await Promise.all([...byDestination].map(async ([to, indexes]) => {
      const counter = await this.arrivals(to);
      counters.set(to, counter);
      const watched = await counter.watch(indexes.map((i) => flows[i]!.flow));
      indexes.forEach((i, n) => { keys[i] = watched[n]!; });
    }));
    const ids = flows.map(() => ++this.rawId);
    const send = async (i: number): Promise<void> => {
      const { from, flow } = flows[i]!;
      // A packet the sender's own output policy dropped simply does not arrive (a host endpoint's egress deny).
      await this.probe(from).sendRaw({ ...flow, payload: rawPayload(flow, flow.src, flow.dst, ids[i]!) });
    };
    const arrived = new Set<number>();
    const look = async (): Promise<void> => {
      await Promise.all([...byDestination].map(async ([to, indexes]) => {
        const seen = await counters.get(to)!.arrived();
        for (const i of indexes) if (seen.has(keys[i]!)) arrived.add(i);
      }));
    };
    await Promise.all(flows.map((_, i) => send(i)));
    const start = Date.now();
    let resent = false;
    while (arrived.size < flows.length && Date.now() - start < timeoutMs) {
      await new Promise((r) => setTimeout(r, 100));
      await look();
      if (!resent && Date.now() - start >= timeoutMs / 3) {
        resent = true;
        await Promise.all(flows.map((_, i) => (arrived.has(i) ? undefined : send(i))));
      }
    }
    return flows.map((_, i) => arrived.has(i));
  }

  private arrivals(key: string): Promise<ArrivalCounter> {
    let pending = this.counters.get(key);
    const netns = this.probe(key).netns;
    // A node receiving: count after its own host-endpoint policy (arrivals.ts).
    const afterPolicy = this.nodes.some((n) => this.netnsOf(n) === netns);
    if (!pending) this.counters.set(key, (pending = ArrivalCounter.install(netns, undefined, { afterPolicy })));
    return pending;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop().catch(() => undefined)));
    this.agents.clear();
    await Promise.all([...new Set([...this.nodeAgents.values(), ...(this.agent ? [this.agent] : [])])].map((a) => a.stop().catch(() => undefined)));
    await this.workloads.sweep().catch(() => undefined);
    for (const node of this.nodes) await deleteNamespace(this.netnsOf(node)).catch(() => undefined);
    await this.store.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
