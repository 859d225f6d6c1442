// A writer that runs until it is killed: applies, deletes and compacts at random in one file store, printing
// `ok <revision> <op> <name> <seq>` after each acknowledged change. The parent kills it with -9 at a random
// moment and checks that every acknowledged change survived and nothing is torn.
import { isNotFound } from '../../../src/datastore/errors.js';
import { FileStore } from '../../../src/datastore/file/store.js';

const [dir, seedText] = process.argv.slice(2);
let seed = Number(seedText ?? 1) >>> 0 || 1;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) % n;
};

const store = await FileStore.open({ dir: dir!, autoCompact: { afterRecords: 40, retain: 10 } });
for (let seq = 0; ; seq++) {
  const name = `p${rand(12)}`;
  const dice = rand(100);
  if (dice < 70) {
    const r = await store.apply({
      apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy',
      // Sizes vary so that appends cross page boundaries and torn writes land in different places.
      metadata: { name, labels: { seq: String(seq) }, annotations: { pad: 'x'.repeat(rand(6000)) } },
      spec: { selector: 'all()', order: seq },
    });
    process.stdout.write(`ok ${r.resource.metadata.resourceVersion} put ${name} ${seq}\n`);
  } else if (dice < 92) {
    try {
      await store.delete({ kind: 'GlobalNetworkPolicy', name });
      process.stdout.write(`ok ${await store.revision()} del ${name} -\n`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  } else {
    await store.compact();
    process.stdout.write(`ok ${await store.revision()} compact - -\n`);
  }
}
