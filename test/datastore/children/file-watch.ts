// Watches a file store and prints every event as one JSON line (the parent may SIGSTOP/SIGCONT it).
import { FileStore } from '../../../src/datastore/file/store.js';

const [dir, optionsText] = process.argv.slice(2);
const store = await FileStore.open({ dir: dir!, pollIntervalMs: 50 });
try {
  for await (const e of store.watch(JSON.parse(optionsText ?? '{}'))) process.stdout.write(`${JSON.stringify(e)}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
  process.exitCode = 1;
}
