// Laying out table rows as text, for tables whose rows are printed as they come (a watch prints one row per
// event, padded to the widths of the table listed first) and for custom columns. Same layout as the resource
// tables (resources.ts): columns three spaces apart, the last one unpadded, every cell printable.

import { isPrintable, quote } from '../../api/index.js';

/** Cells hold names and labels read from a store or a file: one cell can never break its row or line. */
export function printableRow(row: readonly string[]): string[] {
  return row.map((c) => (isPrintable(c) ? c : quote(c)));
}

/** The width of each column over `rows` (already printable), at least `min`'s. */
export function columnWidths(rows: readonly (readonly string[])[], min: readonly number[] = []): number[] {
  const n = Math.max(min.length, ...rows.map((r) => r.length));
  return Array.from({ length: n }, (_, i) => Math.max(min[i] ?? 0, ...rows.map((r) => r[i]?.length ?? 0)));
}

/** One printable row as a line, each cell but the last padded to its column's width plus three spaces. */
export function tableLine(row: readonly string[], widths: readonly number[]): string {
  return row.map((c, i) => (i === row.length - 1 ? c : c.padEnd((widths[i] ?? c.length) + 3))).join('');
}
