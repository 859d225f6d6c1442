// The datastores every store-backed CLI suite runs against: the file store in the suite's temp folder and a real
// one-member etcd (skipped with the reason when etcd cannot run here). Each location() is a fresh file store.
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { EtcdCluster, etcdSkipReason } from '../datastore/etcd-process.js';

export interface StoreUnderTest {
  name: 'file store' | 'etcd';
  skip?: string;
  location: () => string;
}

export function storesUnderTest(root: string, suite: string): StoreUnderTest[] {
  const etcdSkip = etcdSkipReason();
  if (etcdSkip) console.warn(`[${suite} on etcd] skipped: ${etcdSkip}`);
  let etcd: EtcdCluster | undefined;
  beforeAll(async () => {
    if (!etcdSkip) etcd = await EtcdCluster.start(1);
  }, 60_000);
  afterAll(async () => {
    await etcd?.destroy();
  });
  let fileStores = 0;
  return [
    { name: 'file store', location: () => `file:${join(root, `store-${++fileStores}`)}` },
    { name: 'etcd', ...(etcdSkip && { skip: etcdSkip }), location: () => `etcd://${etcd!.endpoints.join(',')}` },
  ];
}
