// Printers for `tabby matrix`, keyed by `-o` value in the printer registry (printers.ts). Each writes row by row, so a 5,000-endpoint matrix never
// sits in memory as one string.
//
//   table  the Kubernetes e2e / cyclonus truth table: rows = from, columns = to, `.` allowed, `X` denied
//   json   {protocol, port, endpoints, allowed} (+ targetPorts for a named port): a stable contract
//   csv    a header row of destinations, then one row per source with true/false

import type { ReachabilityMatrix } from '../../analysis/index.js';
import { isPrintable, quote } from '../../api/index.js';
import { printerSet, type Printer as RegistryPrinter } from './printers.js';

type Printer = (m: ReachabilityMatrix, out: NodeJS.WritableStream) => void;

function refs(m: ReachabilityMatrix): string[] {
  return m.endpoints.map((e) => e.ref);
}

const table: Printer = (m, out) => {
  const names = refs(m).map((n) => (isPrintable(n) ? n : quote(n)));
  const width = Math.max(1, ...names.map((n) => n.length));
  const pad = (s: string): string => s.padEnd(width);
  out.write([pad('-'), ...names.map(pad)].join(' ').trimEnd() + '\n');
  const allow = pad('.');
  const deny = pad('X');
  names.forEach((from, i) => {
    let line = pad(from);
    for (let j = 0; j < names.length; j++) line += m.allowed(i, j) ? ` ${allow}` : ` ${deny}`;
    out.write(line.trimEnd() + '\n');
  });
};

const json: Printer = (m, out) => {
  const head: Record<string, unknown> = { protocol: m.protocol, port: m.port ?? null, endpoints: refs(m) };
  if (typeof m.port === 'string') head.targetPorts = m.targetPorts.map((p) => p ?? null);
  // Pretty at the top, one line per row: readable, and still one JSON document.
  const lines = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  out.write(`{\n${lines.join('\n')}\n  "allowed": [`);
  const n = m.endpoints.length;
  for (let i = 0; i < n; i++) out.write(`${i === 0 ? '' : ','}\n    ${JSON.stringify(m.row(i))}`);
  out.write(n === 0 ? ']\n}\n' : '\n  ]\n}\n');
};

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const csv: Printer = (m, out) => {
  const names = refs(m);
  out.write(['from\\to', ...names].map(csvField).join(',') + '\n');
  names.forEach((from, i) => {
    let line = csvField(from);
    for (let j = 0; j < names.length; j++) line += m.allowed(i, j) ? ',true' : ',false';
    out.write(line + '\n');
  });
};

const toStdout = (p: Printer): RegistryPrinter<ReachabilityMatrix> => (m, io) => p(m, io.stdout);

export const MATRIX_PRINTERS = printerSet<ReachabilityMatrix, 'table' | 'json' | 'csv'>('table', {
  table: toStdout(table), json: toStdout(json), csv: toStdout(csv),
});
