// The buffer between a store's change feed and one watch consumer: producers push in revision order, the
// consumer pulls with `for await`. Unbounded on purpose — a store never blocks on a slow consumer (etcd would
// cancel a slow watcher; here the consumer simply catches up). Ending the iteration early closes the watch.

import type { Watch, WatchEvent } from './datastore.js';

export class WatchQueue implements Watch {
  private items: WatchEvent[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: unknown;
  private closing: Promise<void> | undefined;

  constructor(private readonly onClose: () => Promise<void>) {}

  get closed(): boolean {
    return this.ended;
  }

  push(event: WatchEvent): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: event, done: false });
    } else {
      this.items.push(event);
    }
  }

  /** Ends the stream with an error, after the events already queued. */
  fail(err: unknown): void {
    if (this.ended) return;
    this.failure = err;
    this.ended = true;
    if (this.waiter && this.head >= this.items.length) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(err);
    }
    void this.close();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended = true;
      if (this.waiter && this.head >= this.items.length) {
        const w = this.waiter;
        this.waiter = undefined;
        if (this.failure !== undefined) w.reject(this.failure);
        else w.resolve({ value: undefined, done: true });
      }
      await this.onClose();
    })();
    return this.closing;
  }

  private next(): Promise<IteratorResult<WatchEvent>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
