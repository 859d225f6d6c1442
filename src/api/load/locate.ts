// Source positions for values inside a parsed manifest. A SourceLocator is rooted at one object's node (a
// document, or an item of a List) and maps a field path from that object's root — the path validation issues
// carry — to the `file:line:col` of the node the path names, or of the closest existing ancestor when the
// path names a missing field (so "spec.types is required" points at `spec`).

import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

import type { PathSegment, SourcePosition } from '../issues.js';

export interface SourceLocator {
  file: string;
  /** 0-based index of the YAML document within the file. */
  document: number;
  /** Where the object starts. */
  position: SourcePosition;
  /** Where the field at `path` (from the object root) is written; its closest existing parent if missing. */
  positionOf(path: readonly PathSegment[]): SourcePosition;
}

/** Positions for a whole document (the root node, or the document start when it is empty). */
export function locatorFor(
  doc: Document.Parsed,
  node: Node | null | undefined,
  file: string,
  documentIndex: number,
  lineCounter: LineCounter,
): SourceLocator {
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const rootOffset = node?.range?.[0] ?? doc.range[0];
  const position = at(rootOffset);
  return {
    file,
    document: documentIndex,
    position,
    positionOf(path) {
      const offset = offsetOf(doc, node ?? null, path);
      return offset === undefined ? position : at(offset);
    },
  };
}

/** A locator for text that was not parsed as YAML (a fixed position for every path). */
export function fixedLocator(position: SourcePosition, documentIndex = 0): SourceLocator {
  return { file: position.file, document: documentIndex, position, positionOf: () => position };
}

/**
 * Walks `path` down from `root`. A mapping entry is located at its key (that is where a reader looks for
 * `protocol: tcp` or an unknown field); a sequence item at the item itself.
 */
function offsetOf(doc: Document.Parsed, root: Node | null, path: readonly PathSegment[]): number | undefined {
  let node: unknown = root;
  let offset = root?.range?.[0];
  for (const seg of path) {
    node = resolveAlias(doc, node);
    if (isMap(node)) {
      const pair = findPair(doc, node, seg);
      if (!pair) break;
      const keyOffset = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? pair.key.range?.[0] : undefined;
      const value = pair.value as Node | null;
      offset = keyOffset ?? value?.range?.[0] ?? offset;
      node = value;
    } else if (isSeq(node)) {
      if (typeof seg !== 'number') break;
      const item = node.items[seg] as Node | undefined;
      if (item === undefined || item === null) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function resolveAlias(doc: Document.Parsed, node: unknown): unknown {
  // An alias chain ends at its anchor; the loop bound guards against malformed documents.
  for (let i = 0; i < 8 && isAlias(node); i++) node = node.resolve(doc);
  return node;
}

type PairOf = { key: unknown; value: unknown };

/** Merge chains deeper than this are not followed (they are legal but never seen in manifests). */
const MAX_MERGE_DEPTH = 8;

function findPair(doc: Document.Parsed, map: { items: unknown[] }, seg: PathSegment, depth = 0): PairOf | undefined {
  const want = String(seg);
  let merged: PairOf | undefined;
  for (const item of map.items) {
    if (!isPair(item)) continue;
    const key = item.key;
    if (!isScalar(key)) continue;
    // `<<: *base` (merge keys; yaml marks the key with a symbol): a field missing here may come from the
    // merged mapping(s).
    const isMerge = typeof key.value === 'symbol' ? key.source === '<<' : false;
    if (!isMerge && String(key.value) === want) return item;
    if (isMerge && merged === undefined && depth < MAX_MERGE_DEPTH) {
      const sources = resolveAlias(doc, item.value);
      const candidates = isSeq(sources) ? sources.items : [sources];
      for (const c of candidates) {
        const m = resolveAlias(doc, c);
        if (isMap(m)) {
          const found = findPair(doc, m, seg, depth + 1);
          if (found) { merged = found; break; }
        }
      }
    }
  }
  return merged;
}
