// Issue 10 §4 through the CLI: `tabby get` on a store holding an object written behind Tabby's back (the
// issue's etcdctl put) prints the valid objects, warns on stderr naming the skipped key, and keeps its exit code;
// `tabby get` of that object by name fails with one line; `tabby delete` removes it; `tabby datastore check`
// lists it. On real etcd and on the file store.

import { appendFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { EtcdStore, FileStore, CALICO_ETCD_PREFIX } from '../../src/datastore/index.js';
import { encodeFrame } from '../../src/datastore/file/framing.js';
import { gnp } from '../datastore/fixtures.js';
import { captureCli } from './captureCli.js';
import { storesUnderTest } from './stores.js';

const root = mkdtempSync(join(tmpdir(), 'tabby-cli-malformed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GARBAGE = '{"kind":"GlobalNetworkPolicy","metadata":null}';
const PATH = 'projectcalico.org/globalnetworkpolicies/garbage';

async function putGarbage(location: string): Promise<void> {
  if (location.startsWith('etcd://')) {
    const store = new EtcdStore({ endpoints: location.slice('etcd://'.length).split(',') });
    try {
      await store.client.put(CALICO_ETCD_PREFIX + PATH).value(GARBAGE);
    } finally {
      await store.close();
    }
  } else {
    const dir = location.slice('file:'.length);
    const s = await FileStore.open({ dir });
    const rev = (await s.revision()) + 1;
    await s.close();
    appendFileSync(join(dir, 'journal.log'), encodeFrame({ rev, op: 'put', key: PATH, value: JSON.parse(GARBAGE) }));
  }
}

for (const s of storesUnderTest(root, 'datastore-malformed')) {
  describe.skipIf(s.skip !== undefined)(`tabby get with an unreadable stored object: ${s.name}`, () => {
    it('warns naming the key, serves the rest, exit code unchanged; delete cleans it up', async () => {
      const loc = s.location();
      const ds = ['--datastore', loc];
      expect((await captureCli(['apply', '-f', '-', ...ds], { stdin: JSON.stringify(gnp('good')) })).code).toBe(0);
      await putGarbage(loc);

      const get = await captureCli(['get', 'gnp', '-o', 'name', ...ds]);
      expect(get.code).toBe(0);
      expect(get.stdout).toContain('globalnetworkpolicy.projectcalico.org/good');
      expect(get.stdout).not.toContain('garbage');
      expect(get.stderr).toMatch(new RegExp(`^warning: skipped the stored object "[^"]*${PATH}": invalid stored object: .+$`, 'm'));
      expect(get.stderr.trim().split('\n')).toHaveLength(1);

      const one = await captureCli(['get', 'gnp', 'garbage', ...ds]);
      expect(one.code).toBe(1);
      expect(one.stderr).toContain('cannot be served');
      expect(one.stderr.trim().split('\n')).toHaveLength(1);

      const check = await captureCli(['datastore', 'check', ...ds]);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(PATH);

      // Engine commands read the store too: they warn and go on.
      const sel = await captureCli(['select', 'all()', ...ds]);
      expect(sel.stderr).toContain(PATH);
      expect(sel.code).not.toBe(70);

      expect((await captureCli(['delete', 'gnp', 'garbage', ...ds])).code).toBe(0);
      const again = await captureCli(['get', 'gnp', ...ds]);
      expect(again.stderr).toBe('');
      expect((await captureCli(['datastore', 'check', ...ds])).code).toBe(0);
    }, 60_000);
  });
}
