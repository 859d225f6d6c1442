// Issue 12 §3: `tabby get … -w` / `--watch-only` as `kubectl get -w`: the listing, then one line per event (a
// deleted object's row printed again), resumed from the listed revision so nothing is lost or printed twice
// while writers run; `-o json` one object per event; skipped objects warned on stderr; Ctrl-C ends it with exit 0
// and nothing on stderr. Through the built CLI in a child process, on the file store and on real etcd.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CALICO_ETCD_PREFIX, EtcdStore, FileStore } from '../../src/datastore/index.js';
import { encodeFrame } from '../../src/datastore/file/framing.js';
import { gnp } from '../datastore/fixtures.js';
import { until } from '../poll.js';
import { assertBuilt, startCli, type CliProcess } from './built-cli.js';
import { captureCli } from './captureCli.js';
import { storesUnderTest } from './stores.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-get-watch-'));
const running = new Set<CliProcess>();
beforeAll(() => assertBuilt());
afterAll(() => {
  for (const p of running) p.proc.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function watch(args: string[], location: string): CliProcess {
  const p = startCli(['get', ...args], { TABBY_DATASTORE: location });
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

const lines = (p: CliProcess): string[] => p.stdout().split('\n').filter((l) => l !== '').map((l) => l.trimEnd());

async function tabby(location: string, ...args: string[]): Promise<void> {
  const run = await captureCli(args, { env: { TABBY_DATASTORE: location } });
  expect(run.stderr, args.join(' ')).not.toMatch(/error|internal/i);
  expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
}

const apply = (location: string, ...objects: object[]) =>
  captureCli(['apply', '-f', '-'], { env: { TABBY_DATASTORE: location }, stdin: objects.map((o) => JSON.stringify(o)).join('\n---\n') });

/** The issue 10 §4 object written behind Tabby's back (as etcdctl put would): a watch reports it as skipped. */
async function putGarbage(location: string, name: string): Promise<void> {
  const path = `projectcalico.org/globalnetworkpolicies/${name}`;
  const value = '{"kind":"GlobalNetworkPolicy","metadata":null}';
  if (location.startsWith('etcd://')) {
    const store = new EtcdStore({ endpoints: location.slice('etcd://'.length).split(',') });
    try {
      await store.client.put(CALICO_ETCD_PREFIX + path).value(value);
    } finally {
      await store.close();
    }
  } else {
    const dir = location.slice('file:'.length);
    const s = await FileStore.open({ dir });
    const rev = (await s.revision()) + 1;
    await s.close();
    appendFileSync(join(dir, 'journal.log'), encodeFrame({ rev, op: 'put', key: path, value: JSON.parse(value) }));
  }
}

/** A store with no policies: each location() of the file store is new, the etcd one is shared by the tests. */
async function emptyStore(location: string): Promise<string> {
  const names = await captureCli(['get', 'gnp', '-o', 'name'], { env: { TABBY_DATASTORE: location } });
  for (const ref of names.stdout.split('\n').filter((l) => l !== '')) await tabby(location, 'delete', 'gnp', ref.split('/')[1]!);
  return location;
}

async function interrupt(p: CliProcess): Promise<void> {
  p.proc.kill('SIGINT');
  const { code, signal } = await p.exited;
  expect({ code, signal, stderr: p.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
}

describe('tabby get NAME -w on a missing name', () => {
  it('fails as get does, before watching (kubectl: NotFound)', async () => {
    const loc = `file:${join(root, 'missing')}`;
    expect((await apply(loc, gnp('a'))).code).toBe(0);
    const one = await captureCli(['get', 'gnp', 'nope', '-w'], { env: { TABBY_DATASTORE: loc } });
    expect(one.code).toBe(3);
    const some = await captureCli(['get', 'gnp', 'a', 'nope', '-w'], { env: { TABBY_DATASTORE: loc } });
    expect(some).toMatchObject({ code: 1, stdout: 'NAME\na\n' });
    expect(some.stderr).toMatch(/^error: resource does not exist: GlobalNetworkPolicy\(nope\)/);
  });
});

describe('tabby get -w on what Calico derives', () => {
  it('a pod\'s endpoint and a namespace\'s kns. profile change with their sources; a stored profile of the name wins', async () => {
    const loc = `file:${join(root, 'derived')}`;
    const pod = (ip: string | undefined) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c' }] }, ...(ip ? { status: { podIP: ip } } : {}),
    });
    const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    expect((await apply(loc, ns('shop'))).code).toBe(0);
    const weps = watch(['wep', '-n', 'shop', '-w', '-o', 'name'], loc);
    const profiles = watch(['profiles', '-w', '-o', 'name'], loc);
    await until('the profile listing', () => lines(profiles).length >= 1, 20_000);
    // The endpoint listing is empty (prints nothing), so a first pod shows the endpoint watch is running.
    expect((await apply(loc, pod('10.1.0.5'))).code).toBe(0);
    await until('the endpoint', () => lines(weps).length >= 1, 20_000);
    expect((await apply(loc, pod(undefined))).code).toBe(0); // the pod lost its address: no endpoint any more
    expect((await apply(loc, ns('blog'))).code).toBe(0);
    // A stored Profile named kns.audit hides the one a later Namespace audit derives.
    expect((await apply(loc, { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'kns.audit' }, spec: {} })).code).toBe(0);
    expect((await apply(loc, ns('audit'))).code).toBe(0);
    await tabby(loc, 'delete', 'namespace', 'blog');
    await until('the events', () => lines(weps).length >= 2 && lines(profiles).length >= 4, 20_000);
    const endpoint = 'workloadendpoint.projectcalico.org/n1-k8s-web-eth0';
    expect(lines(weps)).toEqual([endpoint, endpoint]);
    expect(lines(profiles)).toEqual(['profile.projectcalico.org/kns.shop', 'profile.projectcalico.org/kns.blog',
      'profile.projectcalico.org/kns.audit', 'profile.projectcalico.org/kns.blog']);
    await interrupt(weps);
    await interrupt(profiles);
  }, 60_000);
});

for (const s of storesUnderTest(root, 'get-watch')) {
  describe.skipIf(s.skip !== undefined)(`tabby get -w: ${s.name}`, () => {
    it('lists, then prints one row per event without the header again; a deleted row is printed again; Ctrl-C exits 0', async () => {
      const loc = await emptyStore(s.location());
      expect((await apply(loc, gnp('a', { order: 10 }), gnp('b'))).code).toBe(0);
      const w = watch(['gnp', '-w'], loc);
      await until('the listing', () => lines(w).length >= 3, 20_000);
      expect((await apply(loc, gnp('c'))).code).toBe(0);
      await tabby(loc, 'label', 'gnp', 'b', 'team=x');
      await tabby(loc, 'delete', 'gnp', 'a');
      await until('three events', () => lines(w).length >= 6, 20_000);
      expect(lines(w)).toEqual(['NAME', 'a', 'b', 'c', 'b', 'a']);
      await interrupt(w);
    }, 60_000);

    it('loses and repeats no event between the listing and the watch while a writer runs', async () => {
      const loc = await emptyStore(s.location());
      const w = watch(['gnp', '-w', '-o', 'name'], loc);
      // Objects are created one after another until well after the watcher listed (it prints nothing for an
      // empty listing, so "listed" is known from the first name it prints), so the listing's revision falls
      // somewhere inside the run of writes.
      const created: string[] = [];
      let listedAfter: number | undefined;
      while (listedAfter === undefined || created.length < listedAfter + 15) {
        const name = `p-${String(created.length).padStart(3, '0')}`; // listed in name order = creation order
        expect((await apply(loc, gnp(name))).code).toBe(0);
        created.push(`globalnetworkpolicy.projectcalico.org/${name}`);
        if (listedAfter === undefined && lines(w).length > 0) listedAfter = created.length;
        if (created.length > 400) throw new Error(`the watcher printed nothing after 400 writes: ${w.stderr()}`);
      }
      await until('every object', () => lines(w).length >= created.length, 20_000);
      expect(lines(w)).toEqual(created);
      await interrupt(w);
    }, 120_000);

    it('--watch-only -o json prints one object per event, nothing of the listing; -l follows the labels; skipped objects warn', async () => {
      const loc = await emptyStore(s.location());
      expect((await apply(loc, gnp('old'), gnp('kept', { labels: { team: 'x' } }))).code).toBe(0);
      const w = watch(['gnp', '--watch-only', '-o', 'json'], loc);
      const l = watch(['gnp', '-w', '-l', 'team=x', '-o', 'name'], loc);
      await until('the -l listing', () => lines(l).length >= 1, 20_000);
      // --watch-only prints nothing until an event: a first one shows it is watching.
      for (let i = 0; !w.stdout().includes('"probe-'); i++) {
        if (i > 200) throw new Error(`--watch-only printed no event: ${w.stderr()}`);
        expect((await apply(loc, gnp(`probe-${i}`))).code).toBe(0);
      }
      await tabby(loc, 'label', 'gnp', 'old', 'team=x');
      await putGarbage(loc, 'garbage');
      await tabby(loc, 'label', 'gnp', 'kept', 'team-');
      await tabby(loc, 'delete', 'gnp', 'old');
      await until('the json events', () => (w.stdout().match(/^}$/gm) ?? []).length >= 4, 20_000);
      await until('the delete of old', () => /"old"[^]*"kept"[^]*"old"/.test(w.stdout()), 20_000);
      await until('the -l events', () => lines(l).length >= 4, 20_000);
      const objects = w.stdout().split(/(?<=^})\n/m).filter((t) => t.trim() !== '')
        .map((t) => JSON.parse(t) as { metadata: { name: string; labels?: Record<string, string> } })
        .filter((o) => !o.metadata.name.startsWith('probe-'));
      expect(objects.map((o) => [o.metadata.name, o.metadata.labels?.team])).toEqual([['old', 'x'], ['kept', undefined], ['old', 'x']]);
      // -l: kept listed; old starts matching; kept stops matching (printed once more, as a delete); old deleted.
      expect(lines(l).map((x) => x.split('/')[1])).toEqual(['kept', 'old', 'kept', 'old']);
      await until('the warning', () => w.stderr().includes('garbage'), 20_000);
      expect(w.stderr()).toMatch(/^warning: skipped the stored object "[^"]*globalnetworkpolicies\/garbage": invalid stored object: .+$/m);
      for (const p of [w, l]) {
        p.proc.kill('SIGINT');
        expect(await p.exited).toEqual({ code: 0, signal: null });
      }
      expect(l.stderr().trim().split('\n')).toHaveLength(1);
    }, 60_000);
  });
}
