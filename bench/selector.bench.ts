// Selector evaluation: compiled Tabby selectors against hand-written JS predicates of the same meaning, over
// the same label maps in the same run (target: compiled ≤ 1.5× hand-written). Also parse throughput.
// Run: npx vite-node bench/selector.bench.ts
import { parseSelector, tokenize, type Selector } from '../src/selector/index.js';
import { prng } from './support.js';

type Labels = Readonly<Record<string, string>>;

const NS = 'projectcalico.org/namespace';
const SA = 'projectcalico.org/serviceaccount';
const ORCH = 'projectcalico.org/orchestrator';

/** Realistic selectors (policy selectors, rule selectors after the §1.8 rewrites) and their JS equivalent. */
const CASES: Array<[string, (l: Labels) => boolean]> = [
  ['app == "web"', (l) => l.app === 'web'],
  ['app == "web" && tier == "frontend"', (l) => l.app === 'web' && l.tier === 'frontend'],
  ['role in {"db", "cache", "queue"}', (l) => l.role === 'db' || l.role === 'cache' || l.role === 'queue'],
  ['env != "prod"', (l) => l.env !== 'prod'],
  ['has(app) && !has(canary)', (l) => l.app !== undefined && l.canary === undefined],
  [`(app == "api") && ${NS} == "payments"`, (l) => l.app === 'api' && l[NS] === 'payments'],
  [
    `(tier in {"backend", "data"} && env == "prod") && ${NS} == "shop"`,
    (l) => (l.tier === 'backend' || l.tier === 'data') && l.env === 'prod' && l[NS] === 'shop',
  ],
  ['pcns.team == "blue" || pcns.team == "green"', (l) => l['pcns.team'] === 'blue' || l['pcns.team'] === 'green'],
  [`has(${NS}) && pcns.environment in {"staging", "dev"}`, (l) => l[NS] !== undefined && (l['pcns.environment'] === 'staging' || l['pcns.environment'] === 'dev')],
  [`!has(${NS})`, (l) => l[NS] === undefined],
  ['version starts with "v2."', (l) => l.version !== undefined && l.version.startsWith('v2.')],
  ['image ends with ":latest"', (l) => l.image !== undefined && l.image.endsWith(':latest')],
  ['owner contains "platform"', (l) => l.owner !== undefined && l.owner.includes('platform')],
  [
    'app in {"web", "api", "worker", "cron", "gateway", "auth"}',
    (() => {
      const s = new Set(['web', 'api', 'worker', 'cron', 'gateway', 'auth']);
      return (l: Labels) => s.has(l.app!);
    })(),
  ],
  [
    `${ORCH} == "k8s" && ${SA} in {"default", "builder"} && ${NS} != "kube-system"`,
    (l) => l[ORCH] === 'k8s' && (l[SA] === 'default' || l[SA] === 'builder') && l[NS] !== 'kube-system',
  ],
  ['!(env == "prod" || env == "staging")', (l) => !(l.env === 'prod' || l.env === 'staging')],
  ['(app == "web" || app == "api") && (tier == "frontend" || has(public))', (l) => (l.app === 'web' || l.app === 'api') && (l.tier === 'frontend' || l.public !== undefined)],
  ['team not in {"red", "yellow"} && has(team)', (l) => l.team !== 'red' && l.team !== 'yellow' && l.team !== undefined],
  ['all()', () => true],
  [
    `(${NS} == "shop" && (app == "web" || role in {"db", "cache"})) || (pcsa.team == "sre" && !has(canary))`,
    (l) => (l[NS] === 'shop' && (l.app === 'web' || l.role === 'db' || l.role === 'cache')) || (l['pcsa.team'] === 'sre' && l.canary === undefined),
  ],
];


function makeLabelMaps(n: number): Labels[] {
  const rnd = prng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const maybe = (p: number): boolean => rnd() < p;
  const maps: Labels[] = [];
  for (let i = 0; i < n; i++) {
    const l: Record<string, string> = {};
    // Host endpoints and global network sets carry a few labels; pods carry many, in varying order.
    if (maybe(0.15)) {
      l.role = pick(['gateway', 'db', 'bastion']);
      if (maybe(0.5)) l.env = pick(['prod', 'dev']);
      maps.push(l);
      continue;
    }
    if (maybe(0.9)) l.app = pick(['web', 'api', 'worker', 'cron', 'gateway', 'auth', 'search', 'billing']);
    if (maybe(0.7)) l.tier = pick(['frontend', 'backend', 'data']);
    if (maybe(0.6)) l.env = pick(['prod', 'staging', 'dev']);
    if (maybe(0.4)) l.role = pick(['db', 'cache', 'queue', 'none']);
    if (maybe(0.3)) l.version = pick(['v1.4.2', 'v2.0.1', 'v2.3.0', 'v3.0.0-rc1']);
    if (maybe(0.2)) l.image = pick(['nginx:latest', 'app:1.2', 'redis:7']);
    if (maybe(0.2)) l.owner = pick(['team-platform-infra', 'team-payments', 'platform']);
    if (maybe(0.3)) l.team = pick(['red', 'blue', 'green', 'yellow']);
    if (maybe(0.05)) l.canary = 'true';
    if (maybe(0.1)) l.public = '';
    l['pod-template-hash'] = Math.floor(rnd() * 1e9).toString(36);
    l[NS] = pick(['shop', 'payments', 'kube-system', 'default', 'monitoring']);
    l[ORCH] = 'k8s';
    l[SA] = pick(['default', 'builder', 'runner']);
    l['pcns.projectcalico.org/name'] = l[NS]!;
    if (maybe(0.6)) l['pcns.team'] = pick(['blue', 'green', 'red']);
    if (maybe(0.6)) l['pcns.environment'] = pick(['prod', 'staging', 'dev']);
    if (maybe(0.3)) l['pcsa.team'] = pick(['sre', 'dev']);
    maps.push(l);
  }
  return maps;
}

const MAPS = 10_000;
const ROUNDS = 25;
const maps = makeLabelMaps(MAPS);
const compiled: Selector[] = CASES.map(([text]) => parseSelector(text));
const handWritten = CASES.map(([, fn]) => fn);

// The two must agree, or the comparison means nothing.
for (let i = 0; i < CASES.length; i++) {
  for (const l of maps) {
    if (compiled[i]!.matches(l) !== handWritten[i]!(l)) throw new Error(`mismatch for ${CASES[i]![0]} on ${JSON.stringify(l)}`);
  }
}

function timeRound(fns: ReadonlyArray<(l: Labels) => boolean>): { ns: number; hits: number } {
  let hits = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < fns.length; i++) {
    const f = fns[i]!;
    for (let j = 0; j < maps.length; j++) if (f(maps[j]!)) hits++;
  }
  return { ns: Number(process.hrtime.bigint() - start), hits };
}

const compiledFns = compiled.map((s) => s.matches);
// Warm both up, then alternate rounds so neither gets a systematically warmer machine.
for (let i = 0; i < 5; i++) {
  timeRound(compiledFns);
  timeRound(handWritten);
}
const tCompiled: number[] = [];
const tHand: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  tCompiled.push(timeRound(compiledFns).ns);
  tHand.push(timeRound(handWritten).ns);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const evals = CASES.length * MAPS;
const nsCompiled = median(tCompiled) / evals;
const nsHand = median(tHand) / evals;

// Per-selector ratios, to see where the compiled form pays.
const perCase = CASES.map(([text], i) => {
  const c: number[] = [];
  const h: number[] = [];
  for (let r = 0; r < 9; r++) {
    c.push(timeRound([compiledFns[i]!]).ns);
    h.push(timeRound([handWritten[i]!]).ns);
  }
  return { text, ratio: median(c) / median(h), nsCompiled: median(c) / MAPS };
});

// Parse throughput: tokenize only; parse + compile; parse + canonical text + unique ID.
const texts = CASES.map(([text]) => text);
function throughput(fn: (text: string) => unknown): number {
  const deadline = performance.now() + 400;
  let n = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (const t of texts) fn(t);
    n += texts.length;
  }
  return n / ((performance.now() - start) / 1000);
}
throughput((t) => parseSelector(t)); // warm-up
const tokPerSec = throughput(tokenize);
const parsePerSec = throughput((t) => parseSelector(t));
const fullPerSec = throughput((t) => parseSelector(t).uniqueId());
const jsonText = texts.map((t) => JSON.stringify({ selector: t }));
let ji = 0;
const jsonPerSec = throughput(() => JSON.parse(jsonText[ji++ % jsonText.length]!));

const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const ratio = nsCompiled / nsHand;
console.log(`selector evaluation: ${CASES.length} selectors × ${fmt(MAPS)} label maps, median of ${ROUNDS} rounds`);
console.log(`  hand-written JS predicates   ${nsHand.toFixed(1).padStart(6)} ns/eval   (baseline)`);
console.log(`  compiled Tabby selectors     ${nsCompiled.toFixed(1).padStart(6)} ns/eval   ratio ${ratio.toFixed(2)}× (target ≤ 1.50×)`);
console.log('  per selector (compiled ns/eval, ratio to hand-written):');
for (const p of perCase) console.log(`    ${p.nsCompiled.toFixed(1).padStart(6)}  ${p.ratio.toFixed(2)}×  ${p.text.slice(0, 90)}`);
const geomean = Math.exp(perCase.reduce((sum, p) => sum + Math.log(p.ratio), 0) / perCase.length);
console.log(`  per-selector ratio: geometric mean ${geomean.toFixed(2)}×, max ${Math.max(...perCase.map((p) => p.ratio)).toFixed(2)}×`);
console.log('selector parsing (the same 20 selectors, avg', Math.round(texts.join('').length / texts.length), 'chars):');
console.log(`  JSON.parse of {"selector": …}  ${fmt(jsonPerSec).padStart(10)} /s   (reference)`);
console.log(`  tokenize                       ${fmt(tokPerSec).padStart(10)} /s   ${(jsonPerSec / tokPerSec).toFixed(2)}× JSON.parse time`);
console.log(`  parseSelector (AST + compile)  ${fmt(parsePerSec).padStart(10)} /s   ${(jsonPerSec / parsePerSec).toFixed(2)}× JSON.parse time`);
console.log(`  parse + canonical + uniqueId   ${fmt(fullPerSec).padStart(10)} /s   ${(jsonPerSec / fullPerSec).toFixed(2)}× JSON.parse time`);
