// Issue 10 §2 on etcd: when etcd's space quota is exhausted ("mvcc: database space exceeded") a write is
// reported as what it is — not written, ENOSPC, exit 6, nothing stored — and not as "is it running?".

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EtcdStore } from '../../src/datastore/index.js';
import { EtcdCluster, etcdSkipReason } from '../datastore/etcd-process.js';
import { gnp } from '../datastore/fixtures.js';
import { captureCli } from './captureCli.js';

const skip = etcdSkipReason();
let cluster: EtcdCluster | undefined;
beforeAll(async () => {
  if (!skip) cluster = await EtcdCluster.start(1, ['--quota-backend-bytes', String(1024 * 1024)]);
}, 60_000);
afterAll(async () => { await cluster?.destroy(); });

describe.skipIf(skip !== undefined)('tabby writes to an etcd out of space', () => {
  it('exit 6 with ENOSPC, and the object is not stored', async () => {
    const raw = new EtcdStore({ endpoints: cluster!.endpoints });
    try {
      const big = Buffer.alloc(100 * 1024, 0x61);
      for (let i = 0; i < 40; i++) {
        try {
          await raw.client.put(`/filler/${i}`).value(big);
        } catch (err) {
          if (/database space exceeded/.test(String(err))) break;
          throw err;
        }
      }
    } finally {
      await raw.close();
    }
    const loc = `etcd://${cluster!.endpoints.join(',')}`;
    const r = await captureCli(['apply', '-f', '-', '--datastore', loc], { stdin: JSON.stringify(gnp('a')) });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/ENOSPC \(no space left on device\); nothing was written/);
    expect(r.stderr).toContain('etcdctl defrag');
    expect(r.stderr).not.toMatch(/is it running/);
    expect((await captureCli(['get', 'gnp', 'a', '--datastore', loc])).code).toBe(3);
  }, 60_000);
});
