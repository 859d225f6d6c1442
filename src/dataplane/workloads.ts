// Nodes and workloads for real: what `tabby node` and `tabby workload` do. A node is a network namespace acting
// as a host; a workload is a namespace of its own behind a Calico-style veth (netns/topology.ts), with addresses
// from IPPools (ipam.ts), recorded as a WorkloadEndpoint in the datastore — the record the agent enforces policy
// for, and the record of which addresses are taken.
//
// Order of a create follows Calico's CNI plugin: addresses are chosen, the endpoint is written (which reserves
// them), then the namespace and veth are made; if that fails, the endpoint is removed again. A node gets the
// fail-closed nftables skeleton when it is created, so a workload is dropped until an agent programs it.

import {
  CALICO_API_VERSION,
  K8S_CORE_API_VERSION,
  type IPPool,
  type Issue,
  type Labels,
  type Namespace,
  type Result,
  type ServiceAccount,
  type WorkloadEndpoint,
  type WorkloadEndpointPort,
} from '../api/index.js';
import { isAlreadyExists, isNotFound, type Datastore } from '../datastore/index.js';
import { addressesInUse, assignAddresses } from './ipam.js';
import { deleteNamespace, listNamespaces, namespaceExists, sweepNamespaces } from './netns/namespace.js';
import {
  createNodeNetwork,
  createWorkloadNetwork,
  deleteWorkloadNetwork,
  nodeNetns,
  nodeOfNetns,
  vethName,
  workloadMac,
  workloadNetns,
  type Naming,
} from './netns/topology.js';
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
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

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
    this.naming = { prefix: options.prefix ?? DEFAULT_PREFIX };
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

  /** Deletes a node with every workload on it (endpoints, addresses, namespaces). */
  async deleteNode(node: string): Promise<Result<{ workloads: string[] }>> {
    const netns = this.nodeNetns(node);
    const views = (await this.list()).filter((w) => w.node === node);
    if (!namespaceExists(netns) && views.length === 0) {
      return { ok: false, issues: [issue('node.not-found', [], `node ${node} does not exist (see 'tabby node list')`)] };
    }
    for (const w of views) await this.delete(w.namespace, w.name);
    await deleteNamespace(netns, this.exec);
    return { ok: true, value: { workloads: views.map((w) => `${w.namespace}/${w.name}`) } };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Workloads

  /** Checks a spec without touching anything. */
  validate(spec: WorkloadSpec): Issue[] {
    const issues: Issue[] = [];
    if (!DNS_LABEL.test(spec.namespace) || spec.namespace.length > 63) {
      issues.push(issue('workload.namespace', ['namespace'], `namespace '${spec.namespace}' must be a DNS label (a-z, 0-9, '-')`, spec.namespace));
    }
    if (!DNS_SUBDOMAIN.test(spec.name) || spec.name.length > 253) {
      issues.push(issue('workload.name', ['name'], `workload name '${spec.name}' must be a lower-case DNS name`, spec.name));
    }
    if (!this.nodeExists(spec.node)) {
      issues.push(issue('workload.node', ['node'], `node ${spec.node} does not exist (create it with 'tabby node create ${spec.node}')`, spec.node));
    }
    if (spec.serviceAccount !== undefined && !DNS_SUBDOMAIN.test(spec.serviceAccount)) {
      issues.push(issue('workload.serviceAccount', ['serviceAccount'], `service account '${spec.serviceAccount}' must be a lower-case DNS name`));
    }
    return issues;
  }

  /** Creates a workload: endpoint in the datastore, namespace and veth on the node. */
  async create(spec: WorkloadSpec): Promise<Result<WorkloadEndpoint>> {
    const invalid = this.validate(spec);
    if (invalid.length > 0) return { ok: false, issues: invalid };
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
      throw e;
    }
    return { ok: true, value: created };
  }

  /** Deletes a workload's namespace and its endpoint (releasing its addresses). Missing parts are not an error. */
  async delete(namespace: string, name: string): Promise<Result<{ deleted: boolean }>> {
    let wep: WorkloadEndpoint | undefined;
    try {
      wep = (await this.store.get({ kind: 'WorkloadEndpoint', namespace, name })) as WorkloadEndpoint;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const netns = wep?.metadata.annotations?.[NETNS_ANNOTATION] ?? workloadNetns(this.naming, namespace, name);
    const existed = namespaceExists(netns);
    const host = wep?.spec.node && wep.spec.interfaceName
      ? { nodeNetns: this.nodeNetns(wep.spec.node), iface: wep.spec.interfaceName, addresses: (wep.spec.ipNetworks ?? []).map((n) => n.split('/')[0]!) }
      : undefined;
    await deleteWorkloadNetwork(netns, host, this.exec);
    if (wep) {
      await this.store.delete({ kind: 'WorkloadEndpoint', namespace, name }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
    if (!wep && !existed) {
      return { ok: false, issues: [issue('workload.not-found', [], `workload ${namespace}/${name} does not exist (see 'tabby workload get')`)] };
    }
    return { ok: true, value: { deleted: true } };
  }

  async list(): Promise<WorkloadView[]> {
    const { items } = await this.store.list({ kind: 'WorkloadEndpoint' });
    return (items as WorkloadEndpoint[])
      .filter((w) => w.metadata.annotations?.[NETNS_ANNOTATION] !== undefined)
      .map((w) => viewOf(w));
  }

  async get(namespace: string, name: string): Promise<WorkloadView | undefined> {
    try {
      return viewOf((await this.store.get({ kind: 'WorkloadEndpoint', namespace, name })) as WorkloadEndpoint);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** The argv that runs `argv` inside a workload's namespace. */
  async execArgv(namespace: string, name: string, argv: readonly string[]): Promise<Result<string[]>> {
    const w = await this.get(namespace, name);
    if (!w) return { ok: false, issues: [issue('workload.not-found', [], `workload ${namespace}/${name} does not exist (see 'tabby workload get')`)] };
    if (!w.running) return { ok: false, issues: [issue('workload.not-running', [], `workload ${namespace}/${name} has no namespace ${w.netns} on this machine`)] };
    return { ok: true, value: ['nsenter', `--net=${netnsPath(w.netns)}`, '--', ...argv] };
  }

  /** Removes every namespace this instance's prefix names (nodes and workloads); the datastore is left alone. */
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
export async function createNode(naming: Naming, node: string, exec: Exec = hostExec): Promise<Result<{ netns: string }>> {
  if (!DNS_SUBDOMAIN.test(node) || node.length > 120) {
    return { ok: false, issues: [issue('node.name', [], `node name '${node}' must be a lower-case DNS name of at most 120 characters`, node)] };
  }
  const netns = nodeNetns(naming, node);
  if (namespaceExists(netns)) return { ok: false, issues: [issue('node.exists', [], `node ${node} already exists (namespace ${netns})`)] };
  await createNodeNetwork(netns, undefined, exec);
  try {
    const renderer = new Renderer({ node });
    renderer.settle();
    const nft = new NftTables({ family: TABLE_FAMILY, table: TABLE_NAME, exec: netnsExec(netns, exec) });
    await nft.run(renderer.ruleset.plan({ full: true }).tx);
  } catch (e) {
    await deleteNamespace(netns, exec);
    throw e;
  }
  return { ok: true, value: { netns } };
}

/** Node names on this machine under a prefix. */
export function listNodes(naming: Naming): string[] {
  return listNamespaces(`${naming.prefix}n-`).map((n) => nodeOfNetns(naming, n)!).sort();
}

function viewOf(w: WorkloadEndpoint): WorkloadView {
  const netns = w.metadata.annotations?.[NETNS_ANNOTATION] ?? '';
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
