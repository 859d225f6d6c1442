// YAML AST → plain JSON-like values, bounded. yaml's own `maxAliasCount` stops exponential alias expansion;
// the walk here then copies the value into a fresh tree so that
//   - nesting deeper than the limit (possible through aliases even when the text is shallow) is reported,
//   - a recursive alias (`a: &x [*x]`, which yaml turns into a cyclic object) is reported instead of hanging
//     whoever walks the value later,
//   - values shared through aliases are no longer shared, so defaulting one resource never changes another,
//   - numbers that JSON cannot hold (`.inf`, `-.inf`, `.nan`, `1e999`) are refused, as kubectl refuses them
//     (sigs.k8s.io/yaml converts YAML to JSON, and JSON has no Infinity or NaN).
// Before any of that, the document is checked for what yaml would otherwise report badly: an alias to an anchor
// that is not defined before it (yaml throws at toJS, without a position) and a mapping key that is itself a
// mapping or a sequence (yaml stringifies it with a process warning; JSON objects have string keys only).

import { type Document, isAlias, isCollection, isMap, isPair, isScalar, isSeq, visit } from 'yaml';

import type { Issue, PathSegment, SourcePosition } from '../issues.js';
import { resourceLabel } from './label.js';
import { LOAD_LIMITS } from './limits.js';
import type { SourceLocator } from './locate.js';

export type Materialized = { ok: true; value: unknown } | { ok: false; issue: Issue };

export function materializeDocument(
  doc: Document.Parsed,
  locator: SourceLocator,
  at: (offset: number) => SourcePosition,
): Materialized {
  const structural = structureIssue(doc, at);
  if (structural) {
    // The document cannot be converted, but its kind and name usually can, for the issue line.
    const label = resourceLabel({
      kind: scalarAt(doc, ['kind']),
      metadata: { name: scalarAt(doc, ['metadata', 'name']), namespace: scalarAt(doc, ['metadata', 'namespace']) },
    });
    return { ok: false, issue: label === undefined ? structural : { ...structural, resource: label } };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: LOAD_LIMITS.maxAliasCount });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ReferenceError && /alias count/i.test(message)) {
      return {
        ok: false,
        issue: {
          code: 'load.alias-limit', path: [], position: locator.position,
          message: `too many alias expansions (max ${LOAD_LIMITS.maxAliasCount}; this looks like a YAML alias ` +
            'bomb): write the values out instead of nesting aliases',
        },
      };
    }
    return { ok: false, issue: { code: 'yaml.syntax', path: [], position: locator.position, message: `invalid YAML: ${message}` } };
  }
  const copied = copyBounded(raw, locator);
  if (copied.ok) return copied;
  const label = resourceLabel(raw);
  return label === undefined ? copied : { ok: false, issue: { ...copied.issue, resource: label } };
}

/** Copies `raw` into a fresh tree, enforcing depth and size and rejecting cycles. */
export function copyBounded(raw: unknown, locator: SourceLocator): Materialized {
  const path: PathSegment[] = [];
  const ancestors = new Set<object>();
  let budget: number = LOAD_LIMITS.maxValuesPerDocument;
  let failure: Issue | undefined;

  const fail = (code: string, message: string): undefined => {
    failure = { code, path: [], position: locator.positionOf(path), message };
    return undefined;
  };

  // Recursion depth is bounded by maxDepth, so the native stack is safe.
  const copy = (value: unknown, depth: number): unknown => {
    if (failure) return undefined;
    if (--budget < 0) {
      return fail('load.too-large', `document too large once aliases are expanded (max ` +
        `${LOAD_LIMITS.maxValuesPerDocument} values per document)`);
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      const yaml = Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
      return fail('load.not-finite', `expected a finite number, got ${yaml}: Kubernetes and Calico objects are ` +
        'JSON, which has no infinities or NaN');
    }
    if (value === null || typeof value !== 'object') return value;
    if (ancestors.has(value)) return fail('load.alias-cycle', 'recursive alias: this value contains itself');
    if (depth > LOAD_LIMITS.maxDepth) {
      return fail('load.too-deep', `nesting too deep (max ${LOAD_LIMITS.maxDepth} levels of mappings and sequences)`);
    }
    ancestors.add(value);
    let out: unknown;
    if (Array.isArray(value)) {
      const arr: unknown[] = new Array(value.length);
      for (let i = 0; i < value.length && !failure; i++) {
        path.push(i);
        arr[i] = copy(value[i], depth + 1);
        path.pop();
      }
      out = arr;
    } else if (isPlainObject(value)) {
      const obj: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        if (failure) break;
        path.push(key);
        // Own data property even for `__proto__`, so a manifest key can never change an object's prototype.
        Object.defineProperty(obj, key, {
          value: copy((value as Record<string, unknown>)[key], depth + 1),
          enumerable: true, writable: true, configurable: true,
        });
        path.pop();
      }
      out = obj;
    } else {
      out = value; // yaml's core schema yields no other objects; keep anything exotic as a scalar
    }
    ancestors.delete(value);
    return out;
  };

  const value = copy(raw, 1);
  return failure ? { ok: false, issue: failure } : { ok: true, value };
}

/**
 * The first undefined alias or collection-valued key, in document order. An alias refers to the closest anchor
 * of that name *before* it (YAML 1.2 §3.2.2.2), so anchors are collected as the walk meets them.
 */
function structureIssue(doc: Document.Parsed, at: (offset: number) => SourcePosition): Issue | undefined {
  const anchors = new Map<string, unknown>();
  let issue: Issue | undefined;
  visit(doc, (_key, node) => {
    if (isAlias(node)) {
      if (!anchors.has(node.source)) {
        issue = {
          code: 'yaml.undefined-alias', path: [], position: at(node.range?.[0] ?? 0),
          message: `undefined alias *${node.source}: no anchor &${node.source} is defined before it in this document`,
        };
        return visit.BREAK;
      }
      return undefined;
    }
    if ((isScalar(node) || isCollection(node)) && node.anchor) anchors.set(node.anchor, node);
    if (isPair(node)) {
      const key = isAlias(node.key) && anchors.has(node.key.source) ? anchors.get(node.key.source) : node.key;
      if (isMap(key) || isSeq(key)) {
        const range = isAlias(node.key) ? node.key.range : key.range;
        issue = {
          code: 'yaml.collection-key', path: [], position: at(range?.[0] ?? 0),
          message: `a mapping key must be a scalar (a string), not a ${isMap(key) ? 'mapping' : 'sequence'}: ` +
            'Kubernetes and Calico objects are JSON, whose keys are strings',
        };
        return visit.BREAK;
      }
    }
    return undefined;
  });
  return issue;
}

function scalarAt(doc: Document.Parsed, path: readonly string[]): unknown {
  const node: unknown = isMap(doc.contents) ? doc.getIn(path, true) : undefined;
  return isScalar(node) ? node.value : undefined;
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
