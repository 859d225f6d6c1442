// Network namespaces: the unit of isolation for nodes and workloads. Names carry a caller-chosen prefix so
// that everything one run created can be found and removed again (`sweepNamespaces`), even after a crash.
// A namespace is removed with the processes still running in it, so nothing keeps it alive.

import { readdirSync } from 'node:fs';

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

/** Creates a namespace with `lo` up. Fails if it exists. */
export async function createNamespace(name: string, exec: Exec = hostExec): Promise<void> {
  if (!validNetnsName(name)) throw new NetnsError(`'${name}' is not a valid network namespace name`);
  await mustRun(exec, ['ip', 'netns', 'add', name]);
  try {
    await mustRun(exec, ['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await exec(['ip', 'netns', 'del', name]);
    throw e;
  }
}

/** Kills whatever runs in the namespace, then removes it. Missing namespaces are not an error. */
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

/** Removes every namespace whose name starts with `prefix`; returns the names removed. */
export async function sweepNamespaces(prefix: string, exec: Exec = hostExec): Promise<string[]> {
  if (prefix.length < 3) throw new NetnsError(`refusing to sweep namespaces by the short prefix '${prefix}'`);
  const names = listNamespaces(prefix);
  for (const n of names) await deleteNamespace(n, exec);
  return names;
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
    if (m) names.add(m[1]!);
  }
  return names;
}
