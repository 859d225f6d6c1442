// Nodes and workloads for real: what `tabby node` and `tabby workload` do. A node is a network namespace acting
// as a host; a workload is a namespace of its own behind a Calico-style veth (netns/topology.ts), with addresses
// from IPPools (ipam.ts), recorded as a WorkloadEndpoint in the datastore — the record the agent enforces policy
// for, and the record of which addresses are taken.
//
// Order of a create follows Calico's CNI plugin: addresses are chosen, the endpoint is written (which reserves
// them), then the namespace and veth are made; if that fails, the endpoint is removed again. A node gets the
// fail-closed nftables skeleton when it is created, so a workload is dropped until an agent programs it.
//
// Root actions never follow a stored object: a WorkloadEndpoint can be written by anyone with access to the
// datastore, so the namespace and veth a delete, an exec or a node delete acts on are computed from the
// workload's identity (namespace/name, checked by api/names.ts), and acted on only when the kernel proves them
// Tabby's (netns/namespace.ts: the mark in every namespace Tabby creates; netns/topology.ts: both ends of the
// veth). An endpoint whose `tabby.dev/netns` annotation or `spec.interfaceName` names anything else is reported,
// and what it names is left alone; an endpoint whose namespace or veth was refused is kept, since IPAM counts
// addresses from endpoints and what was refused may still be live (`adoptNode` / `adoptWorkload` mark the
// namespaces of a release before marks, after the same proofs).

import {
  CALICO_API_VERSION,
  checkNodeName,
  checkWorkloadName,
  K8S_CORE_API_VERSION,
  nodeFelixConfigurationName,
  type IPPool,
  type Issue,
  type Labels,
  type Namespace,
  type Result,
  type ServiceAccount,
  type WorkloadEndpoint,
  type WorkloadEndpointPort,
} from '../api/index.js';
import { isDns1123Subdomain } from '../api/kubernetes/names.js';
import { isAlreadyExists, isNotFound, type Datastore } from '../datastore/index.js';
import { addressesInUse, assignAddresses } from './ipam.js';
import {
  deleteNamespace, deleteOwnedNamespace, listNamespaces, loAlias, markNamespace, namespaceExists, namespaceOwned, NetnsError,
  ownerMark, sweepNamespaces, unmarkedMessage,
} from './netns/namespace.js';
import {
  createNodeNetwork,
  createWorkloadNetwork,
  deleteWorkloadNetwork,
  inspectWorkloadLink,
  netnsPrefixProblem,
  nodeNetns,
  nodeOfNetns,
  vethName,
  workloadMac,
  workloadNetns,
  type Naming,
} from './netns/topology.js';
import { flushOutsideRoutesVia, provenUplink } from './netns/outside-routes.js';
import { createUplink, deleteOutsideIfUnused, inspectUplink, type Uplink } from './netns/uplink.js';
import { hostExec, netnsExec, netnsPath, type Exec } from './nft/exec.js';
import { NftTables } from './nft/nftables.js';
import { Renderer } from './render/renderer.js';
import { TABLE_FAMILY, TABLE_NAME } from './render/names.js';

/** Annotation naming the network namespace a workload runs in. */
export const NETNS_ANNOTATION = 'tabby.dev/netns';
export const DEFAULT_PREFIX = 'tabby-';

const NAMESPACE_LABEL = 'projectcalico.org/namespace';
const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';

export interface WorkloadSpec {
  namespace: string;
  name: string;
  node: string;
  labels?: Labels;
  /** Pinned addresses (`--ip`); otherwise one per IPPool family. */
  ips?: string[];
  ports?: WorkloadEndpointPort[];
  serviceAccount?: string;
}

export interface WorkloadView {
  namespace: string;
  name: string;
  node: string;
  interfaceName: string;
  addresses: string[];
  labels: Labels;
  netns: string;
  /** Whether the workload's namespace exists on this machine. */
  running: boolean;
}

/** What a workload delete did, and what it refused to touch (each refusal says what and why). */
export interface WorkloadDeletion {
  /** The endpoint was removed from the datastore (its addresses are free again). */
  endpoint: boolean;
  /** The workload's namespace was removed, with its processes and veth. */
  namespace: boolean;
  refused: Issue[];
}

export interface WorkloadsOptions {
  store: Datastore;
  /** Namespace-name prefix; default `tabby-` (tests use a per-run prefix). */
  prefix?: string;
  exec?: Exec;
}

function issue(code: string, path: Array<string | number>, message: string, value?: unknown): Issue {
  return { code, path, message, ...(value !== undefined ? { value } : {}) };
}

export class Workloads {
  readonly naming: Naming;
  private readonly store: Datastore;
  private readonly exec: Exec;

  constructor(options: WorkloadsOptions) {
    this.store = options.store;
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const bad = netnsPrefixProblem(prefix);
    if (bad) throw new TypeError(bad);
    this.naming = { prefix };
    this.exec = options.exec ?? hostExec;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Nodes

  nodeNetns(node: string): string {
    return nodeNetns(this.naming, node);
  }

  nodes(): string[] {
    return listNodes(this.naming);
  }

  nodeExists(node: string): boolean {
    return namespaceExists(this.nodeNetns(node));
  }

  /** Creates the node namespace and installs the fail-closed skeleton (no agent needed to drop unknown workloads). */
  createNode(node: string): Promise<Result<{ netns: string }>> {
    return createNode(this.naming, node, this.exec);
  }

  /**
   * Why `deleteNode(node)` would refuse (a bad name, a namespace Tabby did not mark, no such node), or undefined:
   * asked before anything is stopped or removed, so a refused delete leaves the node's agent running.
   */
  async nodeDeletionRefusal(node: string): Promise<Issue | undefined> {
    const bad = checkNodeName(node, []);
    if (bad) return bad;
    const netns = this.nodeNetns(node);
    if (namespaceExists(netns) && !(await namespaceOwned(netns, this.exec))) {
      const why = unmarkedMessage(netns, `not deleting it (if an earlier tabby made it: tabby node adopt ${node})`);
      return issue('node.not-owned', [], why);
    }
    if (!namespaceExists(netns) && !(await this.list()).some((w) => w.node === node)) {
      return issue('node.not-found', [], `node ${node} does not exist (see 'tabby node list')`);
    }
    return undefined;
  }

  /**
   * Deletes a node with every workload on it (endpoints, addresses, namespaces): only a node namespace Tabby
   * created, and of the endpoints naming the node only those whose namespace is absent or whose veth the kernel
   * proves ends on this node.
   */
  async deleteNode(node: string): Promise<Result<{ workloads: string[]; refused: Issue[]; felixConfiguration?: string }>> {
    const refusal = await this.nodeDeletionRefusal(node);
    if (refusal) return { ok: false, issues: [refusal] };
    const netns = this.nodeNetns(node);
    const views = (await this.list()).filter((w) => w.node === node);
    const deleted: string[] = [];
    const refused: Issue[] = [];
    for (const w of views) {
      const res = await this.delete(w.namespace, w.name, netns);
      if (!res.ok) refused.push(...res.issues);
      else {
        refused.push(...res.value.refused);
        if (res.value.endpoint || res.value.namespace) deleted.push(`${w.namespace}/${w.name}`);
      }
    }
    const uplink = namespaceExists(netns) ? await provenUplink(netns, this.exec) : undefined;
    await deleteOwnedNamespace(netns, this.exec);
    // Routes via the node's uplink would send its old pods' addresses to whoever takes the address next.
    if (uplink) await flushOutsideRoutesVia(uplink.outside, [uplink.ipv4, uplink.ipv6].filter((a): a is string => a !== undefined), this.exec);
    // The uplink's veth went with the node namespace; the outside network goes with the last node (uplink.ts).
    await deleteOutsideIfUnused(this.naming, this.exec);
    // Calico deletes a node's own FelixConfiguration (node.<name>) with the node; a node created later under this
    // name starts from `default`.
    const own = nodeFelixConfigurationName(node);
    const felixDeleted = await this.store.delete({ kind: 'FelixConfiguration', name: own }).then(() => true, (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    });
    return { ok: true, value: { workloads: deleted, refused, ...(felixDeleted ? { felixConfiguration: own } : {}) } };
  }

  /** Marks a node namespace made by a release before marks, after proving it Tabby's (`adoptNode`). */
  adoptNode(node: string): Promise<Result<{ netns: string; already: boolean }>> {
    return adoptNode(this.naming, node, this.exec);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Workloads

  /** Checks a spec without touching anything. */
  validate(spec: WorkloadSpec): Issue[] {
    const issues: Issue[] = checkWorkloadName(spec.namespace, spec.name);
    const badNode = checkNodeName(spec.node);
    if (badNode) issues.push(badNode);
    else if (!this.nodeExists(spec.node)) {
      issues.push(issue('workload.node', ['node'], `node ${spec.node} does not exist (create it with 'tabby node create ${spec.node}')`, spec.node));
    }
    if (spec.serviceAccount !== undefined && isDns1123Subdomain(spec.serviceAccount).length > 0) {
      issues.push(issue('workload.serviceAccount', ['serviceAccount'], `service account '${spec.serviceAccount}' must be a lower-case DNS name`));
    }
    return issues;
  }

  /** Creates a workload: endpoint in the datastore, namespace and veth on the node. */
  async create(spec: WorkloadSpec): Promise<Result<WorkloadEndpoint>> {
    const invalid = this.validate(spec);
    if (invalid.length > 0) return { ok: false, issues: invalid };
    if (!(await namespaceOwned(this.nodeNetns(spec.node), this.exec))) {
      const why = unmarkedMessage(this.nodeNetns(spec.node), `not adding workloads to node ${spec.node}`);
      return { ok: false, issues: [issue('workload.node', ['node'], why)] };
    }
    // Checked before the endpoint is written: a namespace already there (Tabby's or not) is never reused.
    const taken = workloadNetns(this.naming, spec.namespace, spec.name);
    if (namespaceExists(taken)) {
      return { ok: false, issues: [issue('workload.exists', [], `network namespace ${taken} of workload ${spec.namespace}/${spec.name} already exists (delete the workload first, or remove the namespace if it is not Tabby's)`)] };
    }
    const [pools, endpoints] = await Promise.all([
      this.store.list({ kind: 'IPPool' }),
      this.store.list({ kind: 'WorkloadEndpoint' }),
    ]);
    const assigned = assignAddresses(pools.items as IPPool[], addressesInUse(endpoints.items), spec.ips ?? []);
    if (!assigned.ok) return assigned;
    await this.ensureNamespace(spec.namespace);
    if (spec.serviceAccount) await this.ensureServiceAccount(spec.namespace, spec.serviceAccount);

    const iface = vethName(spec.namespace, spec.name);
    const netns = workloadNetns(this.naming, spec.namespace, spec.name);
    const mac = workloadMac(spec.namespace, spec.name);
    const labels: Labels = {
      ...(spec.labels ?? {}),
      [NAMESPACE_LABEL]: spec.namespace,
      [ORCHESTRATOR_LABEL]: 'k8s',
      ...(spec.serviceAccount ? { [SERVICE_ACCOUNT_LABEL]: spec.serviceAccount } : {}),
    };
    const wep: WorkloadEndpoint = {
      apiVersion: CALICO_API_VERSION,
      kind: 'WorkloadEndpoint',
      metadata: { name: spec.name, namespace: spec.namespace, labels, annotations: { [NETNS_ANNOTATION]: netns } },
      spec: {
        orchestrator: 'k8s',
        node: spec.node,
        workload: spec.name,
        pod: spec.name,
        endpoint: 'eth0',
        interfaceName: iface,
        mac,
        ipNetworks: assigned.value.map((a) => (a.includes(':') ? `${a}/128` : `${a}/32`)),
        profiles: [`kns.${spec.namespace}`, ...(spec.serviceAccount ? [`ksa.${spec.namespace}.${spec.serviceAccount}`] : [])],
        ...(spec.serviceAccount ? { serviceAccountName: spec.serviceAccount } : {}),
        ...(spec.ports && spec.ports.length > 0 ? { ports: spec.ports } : {}),
      },
    };
    const created = (await this.store.create(wep)) as WorkloadEndpoint;
    // Two creates racing for one address: the later endpoint gives way (its creation revision is higher).
    const clash = await this.addressClash(created);
    if (clash) {
      await this.store.delete({ kind: 'WorkloadEndpoint', namespace: spec.namespace, name: spec.name });
      return { ok: false, issues: [issue('ipam.in-use', ['ips'], `address ${clash} was assigned to another workload at the same time; retry`)] };
    }
    try {
      await createWorkloadNetwork({ nodeNetns: this.nodeNetns(spec.node), netns, iface, mac, addresses: assigned.value }, this.exec);
    } catch (e) {
      await this.store.delete({ kind: 'WorkloadEndpoint', namespace: spec.namespace, name: spec.name }).catch(() => undefined);
      if (e instanceof NetnsError) return { ok: false, issues: [issue('workload.network', [], `workload ${spec.namespace}/${spec.name} not created: ${e.message}`)] };
      throw e;
    }
    return { ok: true, value: created };
  }

  /**
   * Deletes a workload's namespace and its endpoint (releasing its addresses). Missing parts are not an error.
   * The namespace and veth are the ones computed from `namespace/name` and proven Tabby's by the kernel; what the
   * stored endpoint names instead is refused (left alone, reported in `refused`), and when anything was refused the
   * endpoint is kept (its addresses stay reserved). With `onNode`, a workload whose namespace exists but whose veth
   * is not proven to end on `onNode` is refused whole (a node delete removes only its own workloads).
   */
  async delete(namespace: string, name: string, onNode?: string): Promise<Result<WorkloadDeletion>> {
    const invalid = checkWorkloadName(namespace, name);
    if (invalid.length > 0) return { ok: false, issues: invalid };
    const ref = `${namespace}/${name}`;
    let wep: WorkloadEndpoint | undefined;
    try {
      wep = (await this.store.get({ kind: 'WorkloadEndpoint', namespace, name })) as WorkloadEndpoint;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const netns = workloadNetns(this.naming, namespace, name);
    const iface = vethName(namespace, name);
    const refused: Issue[] = [];
    const stated = wep?.metadata.annotations?.[NETNS_ANNOTATION];
    if (stated !== undefined && stated !== netns) {
      refused.push(issue('workload.netns-mismatch', ['metadata', 'annotations', NETNS_ANNOTATION],
        `workload ${ref}: annotation ${NETNS_ANNOTATION} names network namespace ${JSON.stringify(stated)}, not the ` +
        `workload's own ${netns}; left it alone`, stated));
    }
    const statedIface = wep?.spec.interfaceName;
    if (statedIface !== undefined && statedIface !== iface) {
      refused.push(issue('workload.interface-mismatch', ['spec', 'interfaceName'],
        `workload ${ref}: spec.interfaceName ${JSON.stringify(statedIface)} is not the workload's own interface ${iface} ` +
        `(Calico's veth name for ${ref}); left it alone`, statedIface));
    }
    // A node delete takes the endpoint's word for which node a workload is on only as far as the kernel confirms
    // it: a workload namespace that exists goes only when its veth is proven to end on this node. One whose veth
    // cannot be inspected (missing, broken) may be another node's, so it is left to `tabby workload delete`.
    if (onNode !== undefined && namespaceExists(netns)) {
      const link = await inspectWorkloadLink(netns, iface, this.exec);
      if (!link || link.nodeNetns !== onNode) {
        const where = link ? `its veth is on ${link.nodeNetns}` : `its veth cannot be proven on this node (missing or broken)`;
        return { ok: true, value: { endpoint: false, namespace: false, refused: [...refused, issue('workload.other-node', ['spec', 'node'],
            `workload ${ref}: its endpoint names this node, but ${where}; ` +
          `left it alone (delete it with 'tabby workload delete ${ref}')`)] } };
      }
    }
    const existed = namespaceExists(netns);
    const removed = await deleteWorkloadNetwork(netns, iface, this.exec);
    if (removed.namespace === 'not-owned') {
      refused.push(issue('workload.netns-not-owned', [],
        `workload ${ref}: ${unmarkedMessage(netns, 'left it and its processes alone ' +
          `(if an earlier tabby made it: tabby workload adopt ${ref})`)}`));
    }
    // Whatever was refused may be live — an unmarked namespace of a release before marks, or what the endpoint
    // names instead (a namespace of another --netns-prefix): IPAM counts addresses from endpoints, so the record is
    // kept and its addresses stay reserved rather than handed to the next workload while the old veth still routes.
    const keep = refused.length > 0;
    if (wep && keep) {
      refused.push(issue('workload.endpoint-kept', [],
        `workload ${ref}: kept its WorkloadEndpoint, so its addresses stay reserved while what it names may be live ` +
        `(once that is gone: tabby delete workloadendpoint -n ${namespace} ${name})`));
    }
    if (wep && !keep) {
      await this.store.delete({ kind: 'WorkloadEndpoint', namespace, name }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
    if (!wep && !existed) {
      return { ok: false, issues: [issue('workload.not-found', [], `workload ${ref} does not exist (see 'tabby workload get')`)] };
    }
    return { ok: true, value: { endpoint: wep !== undefined && !keep, namespace: removed.namespace === 'deleted', refused } };
  }

  async list(): Promise<WorkloadView[]> {
    const { items } = await this.store.list({ kind: 'WorkloadEndpoint' });
    return (items as WorkloadEndpoint[])
      .filter((w) => w.metadata.annotations?.[NETNS_ANNOTATION] !== undefined)
      .map((w) => viewOf(this.naming, w));
  }

  async get(namespace: string, name: string): Promise<WorkloadView | undefined> {
    try {
      return viewOf(this.naming, (await this.store.get({ kind: 'WorkloadEndpoint', namespace, name })) as WorkloadEndpoint);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** The argv that runs `argv` inside a workload's namespace. */
  async execArgv(namespace: string, name: string, argv: readonly string[]): Promise<Result<string[]>> {
    const invalid = checkWorkloadName(namespace, name);
    if (invalid.length > 0) return { ok: false, issues: invalid };
    const w = await this.get(namespace, name);
    if (!w) return { ok: false, issues: [issue('workload.not-found', [], `workload ${namespace}/${name} does not exist (see 'tabby workload get')`)] };
    // The namespace entered is the workload's own, computed, and proven Tabby's — never the stored annotation.
    const netns = workloadNetns(this.naming, namespace, name);
    if (!namespaceExists(netns)) return { ok: false, issues: [issue('workload.not-running', [], `workload ${namespace}/${name} has no namespace ${netns} on this machine`)] };
    if (!(await namespaceOwned(netns, this.exec))) {
      const why = unmarkedMessage(netns, `not entering it (if an earlier tabby made it: tabby workload adopt ${namespace}/${name})`);
      return { ok: false, issues: [issue('workload.netns-not-owned', [], why)] };
    }
    return { ok: true, value: ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv] };
  }

  /** Marks a workload namespace made by a release before marks, after proving it Tabby's (`adoptWorkload`). */
  adoptWorkload(namespace: string, name: string): Promise<Result<{ netns: string; node: string; already: boolean }>> {
    return adoptWorkload(this.naming, namespace, name, this.exec);
  }

  /**
   * Removes every namespace this instance's prefix names (nodes and workloads) that carries Tabby's mark; the
   * datastore is left alone.
   */
  sweep(): Promise<string[]> {
    return sweepNamespaces(this.naming.prefix, this.exec);
  }

  private async addressClash(wep: WorkloadEndpoint): Promise<string | undefined> {
    const mine = new Set(wep.spec.ipNetworks ?? []);
    const { items } = await this.store.list({ kind: 'WorkloadEndpoint' });
    const myRev = Number(wep.metadata.resourceVersion ?? 0);
    for (const other of items as WorkloadEndpoint[]) {
      if (other.metadata.namespace === wep.metadata.namespace && other.metadata.name === wep.metadata.name) continue;
      for (const n of other.spec.ipNetworks ?? []) {
        if (mine.has(n) && Number(other.metadata.resourceVersion ?? 0) < myRev) return n.split('/')[0];
      }
    }
    return undefined;
  }

  private async ensureNamespace(name: string): Promise<void> {
    const ns: Namespace = {
      apiVersion: K8S_CORE_API_VERSION, kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    };
    await this.store.create(ns).catch((e: unknown) => {
      if (!isAlreadyExists(e)) throw e;
    });
  }

  private async ensureServiceAccount(namespace: string, name: string): Promise<void> {
    const sa: ServiceAccount = { apiVersion: K8S_CORE_API_VERSION, kind: 'ServiceAccount', metadata: { name, namespace } };
    await this.store.create(sa).catch((e: unknown) => {
      if (!isAlreadyExists(e)) throw e;
    });
  }
}

/**
 * Creates a node: its namespace acting as a host, with the fail-closed skeleton installed so workloads are
 * dropped until an agent programs them. Needs no datastore.
 */
export async function createNode(
  naming: Naming, node: string, exec: Exec = hostExec, options: { uplink?: boolean } = {},
): Promise<Result<{ netns: string; uplink?: Uplink }>> {
  const bad = checkNodeName(node, []);
  if (bad) return { ok: false, issues: [bad] };
  const netns = nodeNetns(naming, node);
  if (namespaceExists(netns)) return { ok: false, issues: [issue('node.exists', [], `node ${node} already exists (namespace ${netns})`)] };
  await createNodeNetwork(netns, undefined, exec);
  let uplink: Uplink | undefined;
  try {
    // One node of this process at a time picks its uplink address (the lowest free one, netns/uplink.ts).
    if (options.uplink !== false) uplink = await serially(() => createUplink(naming, netns, exec));
    // An earlier node with this address may have left routes via it (removed without `node delete`).
    if (uplink) await flushOutsideRoutesVia(uplink.outsideNamespace, uplink.addresses.map((a) => a.split('/')[0]!), exec);
    const renderer = new Renderer({ node });
    renderer.settle();
    const nft = new NftTables({ family: TABLE_FAMILY, table: TABLE_NAME, exec: netnsExec(netns, exec) });
    await nft.run(renderer.ruleset.plan({ full: true }).tx);
  } catch (e) {
    await deleteNamespace(netns, exec);
    // The outside network goes with its last node, also when this node was to be its first (as node delete does).
    if (options.uplink !== false) await deleteOutsideIfUnused(naming, exec).catch(() => undefined);
    throw e;
  }
  return { ok: true, value: { netns, ...(uplink ? { uplink } : {}) } };
}

let uplinkQueue: Promise<unknown> = Promise.resolve();
function serially<T>(f: () => Promise<T>): Promise<T> {
  const next = uplinkQueue.then(f, f);
  uplinkQueue = next.catch(() => undefined);
  return next;
}

export interface NodeView {
  name: string;
  namespace: string;
  /** Null for a node made before uplinks (or with `uplink: false`). */
  uplink: Uplink | null;
}

/** What `tabby node get` shows: the node's namespace (proven Tabby's) and its uplink. */
export async function getNode(naming: Naming, node: string, exec: Exec = hostExec): Promise<Result<NodeView>> {
  const bad = checkNodeName(node, []);
  if (bad) return { ok: false, issues: [bad] };
  const netns = nodeNetns(naming, node);
  if (!namespaceExists(netns)) return { ok: false, issues: [issue('node.not-found', [], `node ${node} does not exist (see 'tabby node list')`)] };
  if (!(await namespaceOwned(netns, exec))) {
    return { ok: false, issues: [issue('node.not-owned', [], unmarkedMessage(netns, `not reading it (if an earlier tabby made it: tabby node adopt ${node})`))] };
  }
  return { ok: true, value: { name: node, namespace: netns, uplink: (await inspectUplink(naming, netns, exec)) ?? null } };
}

/** The argv that runs `argv` in node `node`'s namespace (the host), only when Tabby's mark proves it Tabby's. */
export async function nodeExecArgv(naming: Naming, node: string, argv: readonly string[], exec: Exec = hostExec): Promise<Result<string[]>> {
  const res = await getNode(naming, node, exec);
  if (!res.ok) return res;
  return { ok: true, value: ['nsenter', `--net=${netnsPath(res.value.namespace)}`, '--', ...argv] };
}

/**
 * Marks the namespace of a node made by a release before marks, after proving it Tabby's node: it has the node's
 * computed name, its `lo` carries no alias, and it holds Tabby's table `inet tabby` (every release installs the
 * fail-closed skeleton when it creates a node). `already` when it carries the mark.
 */
export async function adoptNode(naming: Naming, node: string, exec: Exec = hostExec): Promise<Result<{ netns: string; already: boolean }>> {
  const bad = checkNodeName(node, []);
  if (bad) return { ok: false, issues: [bad] };
  const netns = nodeNetns(naming, node);
  if (!namespaceExists(netns)) {
    return { ok: false, issues: [issue('node.not-found', [], `node ${node} does not exist (no network namespace ${netns})`)] };
  }
  if (await namespaceOwned(netns, exec)) return { ok: true, value: { netns, already: true } };
  const refuse = (why: string): Result<{ netns: string; already: boolean }> =>
    ({ ok: false, issues: [issue('node.not-adopted', [], `network namespace ${netns}: ${why}; not adopting it as node ${node}`)] });
  const alias = await loAlias(netns, exec);
  if (alias === undefined) return refuse('its lo cannot be read');
  if (alias !== '') return refuse(`its lo carries the alias ${JSON.stringify(alias)}, not a tabby mark`);
  const table = await netnsExec(netns, exec)(['nft', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
  if (table.code !== 0) return refuse(`it holds no nftables table ${TABLE_FAMILY} ${TABLE_NAME} (every tabby node has one)`);
  await markNamespace(netns, exec);
  return { ok: true, value: { netns, already: false } };
}

/**
 * Marks the namespace of a workload made by a release before marks, after the proof `workload delete` asks of a
 * veth: the namespace has the workload's computed name and no alias on `lo`, and its eth0 is a veth whose peer is
 * the computed cali name in a marked node namespace, whose peer is that eth0 again (adopt the node first).
 */
export async function adoptWorkload(
  naming: Naming, namespace: string, name: string, exec: Exec = hostExec,
): Promise<Result<{ netns: string; node: string; already: boolean }>> {
  const invalid = checkWorkloadName(namespace, name);
  if (invalid.length > 0) return { ok: false, issues: invalid };
  const ref = `${namespace}/${name}`;
  const netns = workloadNetns(naming, namespace, name);
  if (!namespaceExists(netns)) {
    return { ok: false, issues: [issue('workload.not-found', [], `workload ${ref} has no network namespace ${netns} on this machine`)] };
  }
  const refuse = (why: string): Result<{ netns: string; node: string; already: boolean }> =>
    ({ ok: false, issues: [issue('workload.not-adopted', [], `network namespace ${netns}: ${why}; not adopting it as workload ${ref}`)] });
  const alias = await loAlias(netns, exec);
  if (alias === undefined) return refuse('its lo cannot be read');
  if (alias !== '' && alias !== ownerMark(netns)) return refuse(`its lo carries the alias ${JSON.stringify(alias)}, not a tabby mark`);
  const link = await inspectWorkloadLink(netns, vethName(namespace, name), exec);
  if (!link) {
    return refuse(`its eth0 is not a veth whose peer is ${vethName(namespace, name)} in a marked node namespace ` +
      `(adopt its node first: tabby node adopt NODE)`);
  }
  if (alias !== '') return { ok: true, value: { netns, node: link.nodeNetns, already: true } };
  await markNamespace(netns, exec);
  return { ok: true, value: { netns, node: link.nodeNetns, already: false } };
}

/** Node names on this machine under a prefix. */
export function listNodes(naming: Naming): string[] {
  return listNamespaces(`${naming.prefix}n-`).flatMap((n) => nodeOfNetns(naming, n) ?? []).sort();
}

/** What `workload get` shows; `netns` is the workload's own namespace (computed), whatever the endpoint says. */
function viewOf(naming: Naming, w: WorkloadEndpoint): WorkloadView {
  const ns = w.metadata.namespace ?? 'default';
  const netns = checkWorkloadName(ns, w.metadata.name).length === 0 ? workloadNetns(naming, ns, w.metadata.name) : '';
  return {
    namespace: w.metadata.namespace ?? 'default',
    name: w.metadata.name,
    node: w.spec.node ?? '',
    interfaceName: w.spec.interfaceName ?? '',
    addresses: (w.spec.ipNetworks ?? []).map((n) => n.split('/')[0]!),
    labels: Object.fromEntries(Object.entries(w.metadata.labels ?? {}).filter(([k]) => !k.startsWith('projectcalico.org/'))),
    netns,
    running: netns !== '' && namespaceExists(netns),
  };
}
