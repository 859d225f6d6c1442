// Printers for `tabby matrix`, keyed by `-o` value in the printer registry (printers.ts). Each writes row by
// row, so a 5,000-endpoint matrix never sits in memory as one string.
//
//   table  the Kubernetes e2e / cyclonus truth table: rows = from, columns = to, `.` allowed, `X` denied; the
//          outside address classes follow the endpoints as columns (egress to them) and rows (ingress from
//          them), named by CIDR, `-` between two of them (nothing polices that); a legend names each class
//   json   {protocol, port, endpoints, allowed} (+ targetPorts for a named port; + external, toExternal
//          [per endpoint, per class] and fromExternal [per class, per endpoint] when there are outside classes):
//          a stable contract
//   csv    a header row of destinations, then one row per source with true/false (empty between two classes)

import { matrixJsonHead, type ReachabilityMatrix } from '../../analysis/index.js';
import { isPrintable, quote } from '../../api/index.js';
import { printerSet, type Printer as RegistryPrinter } from './printers.js';

type Printer = (m: ReachabilityMatrix, out: NodeJS.WritableStream) => void;

function refs(m: ReachabilityMatrix): string[] {
  return m.endpoints.map((e) => e.ref);
}

/** Every cell, outside classes included: endpoints first, then the classes; undefined between two classes. */
function cell(m: ReachabilityMatrix, i: number, j: number): boolean | undefined {
  const n = m.endpoints.length;
  if (i < n) return j < n ? m.allowed(i, j) : m.toExternal(i, j - n);
  return j < n ? m.fromExternal(i - n, j) : undefined;
}

const table: Printer = (m, out) => {
  const names = [...refs(m).map((n) => (isPrintable(n) ? n : quote(n))), ...m.external.map((x) => x.cidr)];
  const width = Math.max(1, ...names.map((n) => n.length));
  const pad = (s: string): string => s.padEnd(width);
  out.write([pad('-'), ...names.map(pad)].join(' ').trimEnd() + '\n');
  const marks = { true: pad('.'), false: pad('X'), none: pad('-') };
  names.forEach((from, i) => {
    let line = pad(from);
    for (let j = 0; j < names.length; j++) {
      const c = cell(m, i, j);
      line += ` ${c === undefined ? marks.none : c ? marks.true : marks.false}`;
    }
    out.write(line.trimEnd() + '\n');
  });
  if (m.external.length > 0) {
    out.write('\noutside address classes (each decided on one address of it, which stands for all):\n');
    for (const x of m.external) out.write(`  ${x.label}: ${x.address}\n`);
  }
};

const json: Printer = (m, out) => {
  const head = matrixJsonHead(m);
  const n = m.endpoints.length;
  // Pretty at the top, one line per row: readable, and still one JSON document.
  const lines = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  out.write(`{\n${lines.join('\n')}\n  "allowed": [`);
  for (let i = 0; i < n; i++) out.write(`${i === 0 ? '' : ','}\n    ${JSON.stringify(m.row(i))}`);
  out.write(n === 0 ? ']\n}\n' : '\n  ]\n}\n');
};

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const csv: Printer = (m, out) => {
  const names = [...refs(m), ...m.external.map((x) => x.cidr)];
  out.write(['from\\to', ...names].map(csvField).join(',') + '\n');
  names.forEach((from, i) => {
    let line = csvField(from);
    for (let j = 0; j < names.length; j++) {
      const c = cell(m, i, j);
      line += c === undefined ? ',' : c ? ',true' : ',false';
    }
    out.write(line + '\n');
  });
};

const toStdout = (p: Printer): RegistryPrinter<ReachabilityMatrix> => (m, io) => p(m, io.stdout);

export const MATRIX_PRINTERS = printerSet<ReachabilityMatrix, 'table' | 'json' | 'csv'>('table', {
  table: toStdout(table), json: toStdout(json), csv: toStdout(csv),
});
