// How an issue names the resource it is about: `Kind ns/name`, as written in the manifest.

import { displayText } from '../quote.js';

/** `Kind ns/name` (or `Kind name`) as written in the manifest, for issue lines; undefined if there is no kind. */
export function resourceLabel(value: unknown): string | undefined {
  if (!isRecord(value) || typeof value.kind !== 'string' || value.kind === '') return undefined;
  const meta = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  // Quoted when they hold control or bidi characters, so the label cannot pass for other output.
  const kind = displayText(value.kind);
  if (name === undefined) return kind;
  return ns === undefined ? `${kind} ${displayText(name)}` : `${kind} ${displayText(ns)}/${displayText(name)}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
