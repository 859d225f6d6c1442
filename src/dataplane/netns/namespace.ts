// Network namespaces: the unit of isolation for nodes and workloads. Names carry a caller-chosen prefix so
// that everything one run created can be found and removed again (`sweepNamespaces`), even after a crash.
// A namespace is removed with the processes still running in it, so nothing keeps it alive.
//
// Ownership: a prefix alone proves nothing (anyone can `ip netns add tabby-w-x.y`, and a stored object can name
// any namespace), and deleting a namespace kills every process in it. So every namespace Tabby creates carries a
// mark inside it — the alias (IFLA_IFALIAS) of its `lo`, `tabby:<its own name>` — and Tabby deletes, sweeps or
// enters only a namespace whose mark names it (`namespaceOwned`). The mark lives and dies with the namespace, so
// it cannot go stale as a record file could, and only root in that namespace can set it: a datastore writer
// cannot forge it, and a mark copied into another namespace names the wrong namespace. The first release set no
// mark; `markNamespace` adds it to such a namespace once workloads.ts (`adoptNode`, `adoptWorkload`) has proven it
// Tabby's by what that release left in it (the `inet tabby` table, the workload's veth).

import { readdirSync } from 'node:fs';

import { isInterfaceName } from '../../api/index.js';
import { hostExec, netnsExec, netnsPath, type Exec } from '../nft/exec.js';

export class NetnsError extends Error {
  constructor(message: string, readonly stderr = '') {
    super(message);
    this.name = 'NetnsError';
  }
}

/** Runs a command and throws NetnsError with its stderr when it fails. */
export async function mustRun(exec: Exec, argv: readonly string[], input?: string): Promise<string> {
  const res = await exec(argv, input);
  if (res.code !== 0) {
    const detail = res.stderr.trim().split('\n').slice(0, 3).join('; ');
    throw new NetnsError(`${argv.slice(0, 6).join(' ')}${argv.length > 6 ? ' …' : ''}: ${detail || `exit ${res.code}`}`, res.stderr);
  }
  return res.stdout;
}

/** Namespace names are file names under /run/netns; keep them to a safe alphabet. */
export function validNetnsName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,200}$/.test(name);
}

export function listNamespaces(prefix = ''): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(prefix)).sort();
  } catch {
    return [];
  }
}

export function namespaceExists(name: string): boolean {
  return listNamespaces(name).includes(name);
}

/** The ownership mark of namespace `name`: the alias of its `lo`. */
export function ownerMark(name: string): string {
  return `tabby:${name}`;
}

/** `ip` arguments that bring `lo` up in namespace `name` and mark the namespace as Tabby's. */
export function markArgs(name: string): string[] {
  return ['ip', '-n', name, 'link', 'set', 'dev', 'lo', 'up', 'alias', ownerMark(name)];
}

/**
 * What every refusal of an unmarked namespace says, then what was not done (`action`, e.g. "not deleting it"):
 * one wording, so a user meets one sentence whichever command refused. A namespace of the first release has no
 * mark either; `tabby node adopt` / `tabby workload adopt` mark those after proving them Tabby's.
 */
export function unmarkedMessage(name: string, action: string): string {
  return `network namespace ${name} has no tabby mark (not made by tabby, or made by a release before marks); ${action}`;
}

/** The alias of `lo` in namespace `name`: `''` when it has none, undefined when it cannot be read. */
export async function loAlias(name: string, exec: Exec = hostExec): Promise<string | undefined> {
  if (!validNetnsName(name) || !namespaceExists(name)) return undefined;
  const res = await exec(['ip', '-n', name, '-j', 'link', 'show', 'dev', 'lo']);
  if (res.code !== 0) return undefined;
  try {
    const links = JSON.parse(res.stdout) as Array<{ ifalias?: unknown }>;
    if (!Array.isArray(links) || links.length === 0) return undefined;
    const alias = links[0]?.ifalias;
    return typeof alias === 'string' ? alias : '';
  } catch {
    return undefined;
  }
}

/** Whether namespace `name` exists and carries Tabby's mark for that name: the proof that Tabby created it. */
export async function namespaceOwned(name: string, exec: Exec = hostExec): Promise<boolean> {
  return (await loAlias(name, exec)) === ownerMark(name);
}

/**
 * Sets Tabby's mark on an existing namespace (adoption of one made by a release before marks). Callers prove the
 * namespace Tabby's first; this only refuses a namespace whose `lo` already carries some other alias.
 */
export async function markNamespace(name: string, exec: Exec = hostExec): Promise<void> {
  const alias = await loAlias(name, exec);
  if (alias === undefined) throw new NetnsError(`cannot read the mark of network namespace ${name}`);
  if (alias !== '' && alias !== ownerMark(name)) {
    throw new NetnsError(`network namespace ${name}: its lo carries the alias ${JSON.stringify(alias)}, not a tabby mark; not marking it`);
  }
  await mustRun(exec, markArgs(name));
}

/** Creates a namespace with `lo` up and Tabby's mark on it. Fails if it exists. */
export async function createNamespace(name: string, exec: Exec = hostExec): Promise<void> {
  if (!validNetnsName(name)) throw new NetnsError(`'${name}' is not a valid network namespace name`);
  await mustRun(exec, ['ip', 'netns', 'add', name]);
  try {
    await mustRun(exec, markArgs(name));
  } catch (e) {
    await exec(['ip', 'netns', 'del', name]);
    throw e;
  }
}

/**
 * Kills whatever runs in the namespace, then removes it. Missing namespaces are not an error. This proves
 * nothing: callers acting on a name they did not just create use `deleteOwnedNamespace`.
 */
export async function deleteNamespace(name: string, exec: Exec = hostExec): Promise<void> {
  if (!namespaceExists(name)) return;
  const pids = await exec(['ip', 'netns', 'pids', name]);
  const list = pids.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number);
  for (const pid of list) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const res = await exec(['ip', 'netns', 'del', name]);
  if (res.code !== 0 && namespaceExists(name)) {
    throw new NetnsError(`ip netns del ${name}: ${res.stderr.trim()}`, res.stderr);
  }
}

export type OwnedDeletion = 'deleted' | 'absent' | 'not-owned';

/** Deletes namespace `name` (and its processes) only if Tabby's mark proves Tabby created it. */
export async function deleteOwnedNamespace(name: string, exec: Exec = hostExec): Promise<OwnedDeletion> {
  if (!namespaceExists(name)) return 'absent';
  if (!(await namespaceOwned(name, exec))) return 'not-owned';
  await deleteNamespace(name, exec);
  return 'deleted';
}

/**
 * Removes every namespace whose name starts with `prefix` and that carries Tabby's mark; returns the names
 * removed. A namespace with the prefix but without the mark is not Tabby's and is left alone.
 */
export async function sweepNamespaces(prefix: string, exec: Exec = hostExec): Promise<string[]> {
  if (prefix.length < 3) throw new NetnsError(`refusing to sweep namespaces by the short prefix '${prefix}'`);
  const removed: string[] = [];
  for (const n of listNamespaces(prefix)) {
    if ((await deleteOwnedNamespace(n, exec)) === 'deleted') removed.push(n);
  }
  return removed;
}

/** Whether the current process can manage namespaces and nftables: undefined when it can, else the reason. */
export async function namespaceSupport(exec: Exec = hostExec): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces, nftables)';
  for (const tool of ['ip', 'nft', 'nsenter']) {
    const res = await exec(['sh', '-c', `command -v ${tool}`]);
    if (res.code !== 0) {
      const pkg = tool === 'nft' ? 'nftables' : tool === 'ip' ? 'iproute2' : 'util-linux';
      return `'${tool}' not found (install the Debian package ${pkg})`;
    }
  }
  return undefined;
}

/**
 * Whether nftables flowtables work here (kernel CONFIG_NF_FLOW_TABLE): undefined when they do, else the reason.
 * Tried for real — a flowtable on a veth in a scratch namespace, removed afterwards — as only the kernel knows.
 */
export async function flowtableSupport(exec: Exec = hostExec): Promise<string | undefined> {
  const basic = await namespaceSupport(exec);
  if (basic) return basic;
  const ns = `tbft${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  try {
    await createNamespace(ns, exec);
  } catch (err) {
    return `cannot create a scratch namespace: ${err instanceof Error ? err.message : String(err)}`;
  }
  try {
    const inside = netnsExec(ns, exec);
    await mustRun(inside, ['ip', 'link', 'add', 'ftprobe0', 'type', 'veth', 'peer', 'name', 'ftprobe1']);
    const res = await inside(['nft', '-f', '-'],
      'add table inet probe\nadd flowtable inet probe ft { hook ingress priority 0 ; devices = { ftprobe0 } ; }\n');
    if (res.code === 0) return undefined;
    const why = res.stderr.split('\n').find((l) => /Error:/.test(l))?.replace(/^.*Error:\s*/, '') ?? `exit ${res.code}`;
    return `this kernel cannot create an nftables flowtable (${why}; it needs CONFIG_NF_FLOW_TABLE and CONFIG_NF_FLOW_TABLE_INET)`;
  } catch (err) {
    return `cannot try a flowtable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await deleteNamespace(ns, exec).catch(() => undefined);
  }
}

export { netnsPath };

/** The names of the interfaces `exec` sees (`ip -o link show`; a veth's `@peer` suffix left out). */
export async function linkNames(exec: Exec = hostExec): Promise<Set<string>> {
  const out = await mustRun(exec, ['ip', '-o', 'link', 'show']);
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)[@:]/.exec(line);
    // Linux allows more than a stored interfaceName may be (a `"` among them): such a name, made by root in the
    // node, is left out rather than quoted into nft text.
    if (m && isInterfaceName(m[1]!)) names.add(m[1]!);
  }
  return names;
}


/**
 * Every interface of the namespace `exec` runs in, with its global and host addresses (no prefix length, canonical
 * as `ip` prints them): what resolves a host endpoint that names expectedIPs and no interface (agent.ts).
 */
export async function interfaceAddresses(exec: Exec = hostExec): Promise<Map<string, string[]>> {
  const out = await mustRun(exec, ['ip', '-j', 'addr', 'show']);
  const links = JSON.parse(out) as Array<{ ifname?: string; addr_info?: Array<{ local?: string; scope?: string }> }>;
  const map = new Map<string, string[]>();
  for (const l of Array.isArray(links) ? links : []) {
    if (typeof l.ifname !== 'string' || !isInterfaceName(l.ifname)) continue;
    map.set(l.ifname, (l.addr_info ?? [])
      .filter((a) => typeof a.local === 'string' && /^[0-9a-fA-F:.]+$/.test(a.local) && a.scope !== 'link')
      .map((a) => a.local!.toLowerCase()));
  }
  return map;
}

/** The JSON array an `ip -j …` command prints; undefined when it fails or prints something else. */
export async function ipJson<T>(exec: Exec, argv: readonly string[]): Promise<T[] | undefined> {
  const res = await exec(argv);
  if (res.code !== 0) return undefined;
  try {
    const parsed = JSON.parse(res.stdout) as unknown;
    return Array.isArray(parsed) ? (parsed as T[]) : undefined;
  } catch {
    return undefined;
  }
}
