// Shared set-up for the dataplane suites that need the kernel: the reason to skip (not root, tools missing),
// a per-process namespace prefix, and a sweeper for namespaces left by earlier runs that died. Every
// namespace a test creates starts with `tbt<pid>-`, so cleanup never touches anything else.

import { deleteNamespace, flowtableSupport, listNamespaces, namespaceSupport } from '../../src/dataplane/netns/namespace.js';

export const KERNEL_SKIP_REASON = await namespaceSupport();
if (KERNEL_SKIP_REASON) process.stderr.write(`dataplane kernel suites skipped: ${KERNEL_SKIP_REASON}\n`);

let flowtables: Promise<string | undefined> | undefined;
/** Why suites that need nftables flowtables skip (the kernel suites' reason, or the kernel's lack of them). */
export function flowtableSkipReason(): Promise<string | undefined> {
  flowtables ??= (async () => {
    const reason = KERNEL_SKIP_REASON ?? await flowtableSupport();
    if (reason) process.stderr.write(`flowtable offload suites skipped: ${reason}\n`);
    return reason;
  })();
  return flowtables;
}

/** The prefix every namespace of this test process carries. */
export const TEST_PREFIX = `tbt${process.pid}-`;

let counter = 0;
/** A fresh namespace-name prefix for one test or suite (`tbt<pid>-<n>-`). */
export function uniquePrefix(): string {
  counter += 1;
  return `${TEST_PREFIX}${counter}-`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces of earlier test processes that are no longer running. */
export async function sweepStaleTestNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of listNamespaces('tbt')) {
    const m = /^tbt(\d+)-/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await deleteNamespace(name);
    removed.push(name);
  }
  return removed;
}

/** Removes every namespace this process created under `prefix`. */
export async function sweepPrefix(prefix: string): Promise<void> {
  for (const name of listNamespaces(prefix)) await deleteNamespace(name);
}
