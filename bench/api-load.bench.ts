// Loading throughput: decodeManifests (bounded parsing, alias-safe copies, source locators) and the full
// decode + validate + default path, against a baseline measured in the same run — yaml's own
// parseAllDocuments + toJS on the same text, the least any YAML loader must do.
// Run: npx vite-node bench/api-load.bench.ts
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseAllDocuments } from 'yaml';

import { admit, decodeManifests } from '../src/api/load/index.js';
import type { Issue } from '../src/api/issues.js';

const examples = path.join(path.dirname(fileURLToPath(import.meta.url)), '../examples');
const one = readdirSync(examples).sort().map((f) => readFileSync(path.join(examples, f), 'utf8')).join('\n---\n');
const text = Array.from({ length: 60 }, () => one).join('\n---\n');
const objects = decodeManifests(text, 'bench.yaml').documents.length;

function time(rounds: number, fn: () => void): number {
  fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / rounds;
}

const rounds = 5;
const baseline = time(rounds, () => {
  for (const doc of parseAllDocuments(text)) doc.toJS();
});
const decode = time(rounds, () => {
  decodeManifests(text, 'bench.yaml');
});
const full = time(rounds, () => {
  const issues: Issue[] = [];
  for (const doc of decodeManifests(text, 'bench.yaml').documents) admit(doc, true, issues);
  if (issues.length > 0) throw new Error(`benchmark input is invalid: ${issues[0]!.message}`);
});

const kib = Buffer.byteLength(text) / 1024;
console.log(`input: ${kib.toFixed(0)} KiB, ${objects} objects (the examples, 60 times over); ${rounds} rounds each`);
console.log('step                                      ms/round   KiB/s    ratio to yaml baseline');
const row = (label: string, ms: number): void => {
  console.log(`${label.padEnd(42)}${ms.toFixed(1).padStart(8)}${(kib / (ms / 1000)).toFixed(0).padStart(8)}` +
    `${(ms / baseline).toFixed(2).padStart(10)}x`);
};
row('yaml parseAllDocuments + toJS (baseline)', baseline);
row('decodeManifests', decode);
row('decodeManifests + validate + default', full);
