// Increments the `counter` policy's order N times with read-modify-write, retrying on Conflict; several of
// these run at once against one file store.
import type { Resource } from '../../../src/api/types.js';
import { isConflict } from '../../../src/datastore/errors.js';
import { FileStore } from '../../../src/datastore/file/store.js';

const [dir, timesText] = process.argv.slice(2);
const store = await FileStore.open({ dir: dir!, lockTimeoutMs: 60_000 });
let conflicts = 0;
for (let i = 0; i < Number(timesText); i++) {
  for (;;) {
    const cur = await store.get({ kind: 'GlobalNetworkPolicy', name: 'counter' });
    const spec = (cur as { spec: { order: number } }).spec;
    const order = spec.order + 1;
    try {
      await store.update({ ...cur, spec: { ...spec, order } } as Resource);
      break;
    } catch (err) {
      if (!isConflict(err)) throw err;
      conflicts++;
    }
  }
}
process.stdout.write(`done ${conflicts}\n`);
await store.close();
