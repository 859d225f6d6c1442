// Watches through the server in-process (startServer over a FileStore): resumption from a resourceVersion after
// the server restarted, changes made while it was down included; a compacted resourceVersion answered with an
// ERROR event carrying a 410 Expired Status.
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { FileStore } from '../../src/datastore/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { https, tempDir, type ServerUnderTest } from './support.js';

const GNP = '/apis/projectcalico.org/v3/globalnetworkpolicies';
const gnp = (name: string, order: number) => JSON.stringify({
  apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name }, spec: { order, selector: 'all()' },
});

describe('watch through tabby server', () => {
  const tmp = tempDir('tabby-server-watch-');
  afterAll(() => tmp.remove());
  const stateDir = join(tmp.dir, 'state');

  async function start(): Promise<{ store: FileStore; running: RunningServer; s: ServerUnderTest }> {
    const store = await FileStore.open({ dir: join(tmp.dir, 'store'), pollIntervalMs: 20 });
    const running = await startServer({ store, host: '127.0.0.1', port: 0, stateDir, tabbyVersion: 'test' });
    const s = { url: running.url, ca: running.ca!, adminToken: running.adminToken } as ServerUnderTest;
    return { store, running, s };
  }
  const events = (body: string) => body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; object: any });

  it('resumes from a resourceVersion after a restart, with the changes made while the server was down', async () => {
    let { store, running, s } = await start();
    expect((await https(s, 'POST', GNP, { body: gnp('a', 1) })).status).toBe(201);
    const rv = (await https(s, 'GET', GNP)).json().metadata.resourceVersion;
    await running.close();
    // The CLI (or another server) writes while this one is down.
    await store.create(JSON.parse(gnp('b', 2)));
    await store.close();

    ({ store, running, s } = await start());
    try {
      await https(s, 'PATCH', `${GNP}/a`, { body: '{"spec":{"order":5}}', contentType: 'application/merge-patch+json' });
      const w = await https(s, 'GET', `${GNP}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
      expect(events(w.body).map((e) => `${e.type} ${e.object.metadata.name} ${e.object.spec.order}`)).toEqual(['ADDED b 2', 'MODIFIED a 5']);
      // Without a resourceVersion: the current objects as ADDED.
      const all = await https(s, 'GET', `${GNP}?watch=true&timeoutSeconds=1`);
      expect(events(all.body).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b']);
    } finally {
      await running.close();
      await store.close();
    }
  });

  it('a compacted resourceVersion: an ERROR event with 410 Expired', async () => {
    const { store, running, s } = await start();
    try {
      await https(s, 'PUT', `${GNP}/a`, { body: gnp('a', 6) });
      await https(s, 'PUT', `${GNP}/a`, { body: gnp('a', 7) });
      await store.compact();
      const w = await https(s, 'GET', `${GNP}?watch=true&resourceVersion=1&timeoutSeconds=1`);
      const [e] = events(w.body);
      expect(e).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    } finally {
      await running.close();
      await store.close();
    }
  });

  it('a label selector: an object leaving it is DELETED, one entering it ADDED', async () => {
    const { store, running, s } = await start();
    try {
      const rv = (await https(s, 'GET', GNP)).json().metadata.resourceVersion;
      const create = (name: string, labels: Record<string, string>) => https(s, 'POST', GNP, { body: JSON.stringify({ ...JSON.parse(gnp(name, 9)), metadata: { name, labels } }) });
      const label = (name: string, team: string) => https(s, 'PATCH', `${GNP}/${name}`, { body: JSON.stringify({ metadata: { labels: { team } } }), contentType: 'application/merge-patch+json' });
      await create('c', {});
      await create('d', { team: 'ops' });
      await label('c', 'ops');
      await label('d', 'dev');
      const w = await https(s, 'GET', `${GNP}?watch=true&resourceVersion=${rv}&labelSelector=team%3Dops&timeoutSeconds=1`);
      expect(events(w.body).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED d', 'ADDED c', 'DELETED d']);
      // d enters this selector with its second change.
      const later = await https(s, 'GET', `${GNP}?watch=true&resourceVersion=${rv}&labelSelector=team%3Ddev&timeoutSeconds=1`);
      expect(events(later.body).map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED d']);
    } finally {
      await running.close();
      await store.close();
    }
  });
});
