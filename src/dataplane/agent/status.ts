// What the agent reports and keeps on disk: the status (read by `tabby agent status`), the rule-ID table (read by
// `tabby agent rules`) and the enforced record — which store, at which revision, the node's kernel enforces.
//
// The enforced record is what lets a fresh agent process refuse a store that went back in time (issue 10 §1): it
// is rewritten after every transaction the kernel accepted, by rename, so a killed agent leaves the old record or
// the new one. It is not fsynced: the table it describes lives in the kernel and does not survive a reboot either.

import { readFile, rename, writeFile } from 'node:fs/promises';

import type { SkippedObject } from '../../datastore/index.js';
import type { DatastoreHealth, StoreBaseline } from '../../sync/index.js';

export type AgentState = 'starting' | 'syncing' | 'in-sync' | 'error' | 'stopped';

export interface AgentStatus {
  node: string;
  pid: number;
  /** `error`: the last transaction failed, or the datastore's contents are refused or damaged (see lastError). */
  state: AgentState;
  /** The datastore revision whose consequences the kernel enforces (−1 before the first sync). */
  enforcedRevision: number;
  /** The newest datastore revision the agent has received. */
  seenRevision: number;
  /**
   * What the enforced record said when this process started: the store and revision an earlier run left in the
   * kernel. Until this run's first sync (and for as long as the store is refused) that is what the kernel holds.
   */
  earlierRun?: StoreBaseline;
  /**
   * `rolled-back`: the store went back in time or lost objects; `replaced`: it is not the store this node enforces;
   * `damaged`: the store refuses to serve its damaged data. In all three the kernel keeps what it enforces.
   */
  datastore: DatastoreHealth;
  /** The store's endpoint, once opened. */
  datastoreEndpoint?: string;
  /** Local workload endpoints programmed. */
  endpoints: number;
  syncs: number;
  fullSyncs: number;
  failures: number;
  /** Stored objects left out (malformed, invalid, or refused by the engine): the first 100 by key, and the count. */
  skipped: SkippedObject[];
  skippedCount: number;
  lastSyncMs?: number;
  /** Where the last sync's time went: engine flush, rendering and planning, the nft transaction. */
  lastSyncPhases?: { engineMs: number; renderMs: number; nftMs: number };
  lastSyncAt?: string;
  lastError?: string;
  /**
   * The FelixConfiguration settings this node enforces, each with where it came from: a `tabby agent` flag,
   * FelixConfiguration node.<node>, default, or the built-in default. Absent before the first sync.
   */
  settings?: AgentSetting[];
  updatedAt: string;
}

export interface AgentSetting {
  name: string;
  /** Felix's text form: `tcp:22,udp:68`, `none` for an empty list. */
  value: string;
  source: string;
}

/** The enforced record's file format. */
interface EnforcedRecord {
  format: 1;
  node: string;
  endpoint: string;
  revision: number;
  updatedAt: string;
}

export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export async function writeEnforcedRecord(path: string, node: string, baseline: StoreBaseline): Promise<void> {
  const record: EnforcedRecord = { format: 1, node, endpoint: baseline.endpoint, revision: baseline.revision, updatedAt: new Date().toISOString() };
  await writeAtomically(path, JSON.stringify(record, null, 2) + '\n');
}

/**
 * The store and revision an earlier agent run left in the kernel; undefined when no run recorded any. A record
 * that exists but cannot be read throws: the agent must not guess (fail closed).
 */
export async function readEnforcedRecord(path: string, node: string): Promise<StoreBaseline | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the enforced record ${path}: ${(err as Error).message}`);
  }
  let r: Partial<EnforcedRecord>;
  try {
    r = JSON.parse(text) as Partial<EnforcedRecord>;
  } catch (err) {
    throw new Error(`the enforced record ${path} is not JSON: ${(err as Error).message}`);
  }
  if (r === null || typeof r !== 'object' || r.format !== 1 || typeof r.endpoint !== 'string' ||
      !Number.isSafeInteger(r.revision) || r.node !== node) {
    throw new Error(`the enforced record ${path} is not an enforced record of node ${node}`);
  }
  return { endpoint: r.endpoint, revision: r.revision! };
}
