// The Nft interface — one family and table, transactions in, table contents out — and its implementation
// over the `nft` binary. FakeNft (fake.ts) implements the same interface in memory for unit tests; the
// real-kernel suite runs one sequence of transactions through both and compares what they hold.

import { classifyNftStderr, NftError } from './errors.js';
import { hostExec, type Exec } from './exec.js';
import type { Family } from './objects.js';
import { parseListing, type ListedTable } from './parse.js';
import { Transaction } from './transaction.js';

export interface Nft {
  readonly family: Family;
  readonly table: string;
  /** A new, empty transaction bound to this family and table. */
  newTransaction(): Transaction;
  /** Applies the transaction as one kernel transaction. Rejects with NftError; on failure nothing changed. */
  run(tx: Transaction): Promise<void>;
  /** Validates the transaction against the current state without applying it (`nft --check`). */
  check(tx: Transaction): Promise<void>;
  /** The table as it is now, with rule counters; undefined when the table does not exist. */
  list(): Promise<ListedTable | undefined>;
}

export interface NftTablesOptions {
  family: Family;
  table: string;
  /** How `nft` is started, e.g. `netnsExec(ns)`; default: in this process's namespace. */
  exec?: Exec;
  /** The nft binary; default `nft`. */
  binary?: string;
}

export class NftTables implements Nft {
  readonly family: Family;
  readonly table: string;
  private readonly exec: Exec;
  private readonly binary: string;

  constructor(options: NftTablesOptions) {
    this.family = options.family;
    this.table = options.table;
    this.exec = options.exec ?? hostExec;
    this.binary = options.binary ?? 'nft';
  }

  newTransaction(): Transaction {
    return new Transaction(this.family, this.table);
  }

  run(tx: Transaction): Promise<void> {
    return this.feed(tx, []);
  }

  check(tx: Transaction): Promise<void> {
    return this.feed(tx, ['--check']);
  }

  async list(): Promise<ListedTable | undefined> {
    const res = await this.exec([this.binary, 'list', 'table', this.family, this.table]);
    if (res.code !== 0) {
      const { code, message } = classifyNftStderr(res.stderr);
      if (code === 'notFound') return undefined;
      throw new NftError(execFailed(res.stderr) ? 'exec' : code, `nft list table: ${message}`, res.stderr);
    }
    const parsed = parseListing(res.stdout);
    if (!parsed.ok) {
      const first = parsed.issues[0]!;
      throw new NftError('unknown', `cannot read nft's listing: line ${first.line}: ${first.message}`, res.stdout);
    }
    return parsed.value.find((t) => t.name === this.table && t.family === this.family);
  }

  private async feed(tx: Transaction, flags: string[]): Promise<void> {
    if (tx.family !== this.family || tx.table !== this.table) {
      throw new NftError('invalid', `transaction for ${tx.family} ${tx.table} run against ${this.family} ${this.table}`);
    }
    if (tx.error !== undefined) throw new NftError('invalid', `invalid transaction: ${tx.error}`);
    if (tx.size === 0) return;
    // One string, not pieces streamed as they are rendered: nft reads all of its input before it parses, and
    // feeding a 10 MB full sync through the pipe piece by piece made the transaction about 0.5 s slower.
    const res = await this.exec([this.binary, ...flags, '-f', '-'], tx.toString());
    if (res.code === 0) return;
    if (execFailed(res.stderr)) throw new NftError('exec', `cannot run nft: ${res.stderr.trim()}`, res.stderr);
    const { code, message, lineNumber } = classifyNftStderr(res.stderr);
    const { lines } = tx.render();
    const line = lineNumber !== undefined ? lines[lineNumber - 1] : undefined;
    const where = line !== undefined ? ` (script line ${lineNumber}: ${line.length > 160 ? line.slice(0, 160) + '…' : line})` : '';
    throw new NftError(code, `nft: ${message}${where}`, res.stderr, line);
  }
}

/** nft never ran: the binary or the namespace is missing (exit 127 from spawn, or nsenter's own complaint). */
function execFailed(stderr: string): boolean {
  return /^nsenter: |ENOENT|: spawn /m.test(stderr) || /^nft: .*not found/m.test(stderr);
}
