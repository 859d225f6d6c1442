// Manifest text → objects with source locators. One text may hold several YAML documents (`---`), a JSON
// object, a top-level sequence of objects (calicoctl accepts that), or Lists: `kind: List` from
// `kubectl get -o yaml`, and typed lists (`NetworkPolicyList` from `calicoctl get -o yaml`, or the API's
// `<Kind>List`), whose items may leave out apiVersion and kind because the list names them.

import { type Document, isMap, isSeq, type LineCounter, type Node } from 'yaml';

import type { Issue } from '../issues.js';
import { checkText } from './encoding.js';
import { LOAD_LIMITS } from './limits.js';
import { locatorFor, type SourceLocator } from './locate.js';
import { materializeDocument } from './materialize.js';
import { parseYamlStream } from './parse.js';

export interface DecodedObject {
  value: unknown;
  source: SourceLocator;
}

export interface DecodeResult {
  documents: DecodedObject[];
  issues: Issue[];
}

/**
 * Decodes manifest text (YAML or JSON) into one entry per object — documents, items of top-level
 * sequences, and List items — each with a locator for its fields. Never throws on any input.
 */
export function decodeManifests(text: string, file: string, options: DecodeOptions = {}): DecodeResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a BOM read by someone else's decoder
  const bad = checkText(body, file);
  if (bad) return { documents: [], issues: [bad] };
  const max = Math.min(options.maxObjects ?? LOAD_LIMITS.maxObjects, LOAD_LIMITS.maxObjects);
  return decodeCheckedText(body, file, { remaining: max, max });
}

export interface DecodeOptions {
  /** A lower bound than LOAD_LIMITS.maxObjects, e.g. for request bodies. */
  maxObjects?: number;
}

/** A sequence or List of a million numbers is one mistake, not a million issues. */
const MAX_NOT_OBJECT_ISSUES = 20;

/** How many objects this text may still add (`remaining`) out of the load's bound (`max`, for messages). */
export interface ObjectBudget {
  remaining: number;
  max: number;
}

/** decodeManifests for text already checked by decodeText. */
export function decodeCheckedText(text: string, file: string, budget: ObjectBudget): DecodeResult {
  const stream = parseYamlStream(text, file, budget);
  const issues = [...stream.issues];
  const documents: DecodedObject[] = [];
  let limitReported = false;
  const add = (obj: DecodedObject): boolean => {
    if (documents.length < budget.remaining) {
      documents.push(obj);
      return true;
    }
    if (!limitReported) {
      limitReported = true;
      issues.push({
        code: 'load.too-many-objects', path: [], position: obj.source.position,
        message: `too many objects (max ${budget.max} per load); the rest was not read`,
      });
    }
    return false;
  };

  stream.documents.forEach((doc, index) => {
    if (doc.errors.length > 0 || limitReported) return; // syntax errors are already issues
    const root = doc.contents as Node | null;
    const locator = locatorFor(doc, root, file, index, stream.lineCounter);
    const materialized = materializeDocument(doc, locator, (offset) => {
      const { line, col } = stream.lineCounter.linePos(offset);
      return { file, line, col };
    });
    if (!materialized.ok) {
      issues.push(materialized.issue);
      return;
    }
    const value = materialized.value;
    if (value === null || value === undefined) return; // an empty document (only comments or `---`)
    if (Array.isArray(value) && isSeq(root)) {
      // calicoctl accepts a document that is a sequence of resources.
      let notObjects = 0;
      for (let i = 0; i < value.length && !limitReported; i++) {
        const item: unknown = value[i];
        const itemLocator = locatorFor(doc, root.items[i] as Node | null, file, index, stream.lineCounter);
        if (isObject(item)) add({ value: item, source: itemLocator });
        else if (++notObjects <= MAX_NOT_OBJECT_ISSUES) issues.push(notAnObject(item, itemLocator, `item ${i} of the sequence`));
      }
      if (notObjects > MAX_NOT_OBJECT_ISSUES) {
        issues.push({
          code: 'load.not-object', path: [], position: locator.position,
          message: `${notObjects - MAX_NOT_OBJECT_ISSUES} more items of this sequence are not resources`,
        });
      }
      return;
    }
    if (!isObject(value)) {
      issues.push(notAnObject(value, locator, 'document'));
      return;
    }
    if (isList(value)) {
      expandList(value, doc, root, locator, stream.lineCounter, issues, add);
      return;
    }
    add({ value, source: locator });
  });
  return { documents, issues };
}

type ListValue = Record<string, unknown> & { kind: string; items?: unknown[] | null };

/** No resource kind ends in `List`; an empty list may be written `items: []`, `items:` or without items. */
function isList(v: Record<string, unknown>): v is ListValue {
  return typeof v.kind === 'string' && v.kind.endsWith('List') &&
    (Array.isArray(v.items) || v.items === null || v.items === undefined);
}

function expandList(
  list: ListValue,
  doc: Document.Parsed,
  root: Node | null,
  locator: SourceLocator,
  lineCounter: LineCounter,
  issues: Issue[],
  add: (o: DecodedObject) => boolean,
): void {
  // A typed list (`NetworkPolicyList`) names its items' kind; a plain `List` does not.
  const itemKind = list.kind === 'List' ? undefined : list.kind.slice(0, -'List'.length);
  const apiVersion = typeof list.apiVersion === 'string' ? list.apiVersion : undefined;
  const itemsNode = isMap(root) ? (root.get('items', true) as Node | undefined) : undefined;
  const itemNodes = isSeq(itemsNode) ? itemsNode.items : [];
  const items = list.items ?? [];
  let bad = 0;
  const report = (issue: Issue): void => {
    if (++bad <= MAX_NOT_OBJECT_ISSUES) issues.push(issue);
  };
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const itemLocator = locatorFor(doc, (itemNodes[i] as Node | undefined) ?? null, locator.file,
      locator.document, lineCounter);
    if (!isObject(item)) {
      report({ ...notAnObject(item, locator, `item ${i} of the ${list.kind}`), path: ['items', i],
        position: itemLocator.position });
      continue;
    }
    if (itemKind !== undefined && apiVersion !== undefined) {
      if (item.kind === undefined) item.kind = itemKind;
      if (item.apiVersion === undefined) item.apiVersion = apiVersion;
    } else if (item.kind === undefined || item.apiVersion === undefined) {
      report({
        code: 'load.list-item', path: ['items', i], position: itemLocator.position,
        message: `item ${i} of the List has no ${item.kind === undefined ? 'kind' : 'apiVersion'}: a List does ` +
          'not say what its items are, so every item needs apiVersion and kind (as `kubectl get -o yaml` writes them)',
      });
      continue;
    }
    if (!add({ value: item, source: itemLocator })) break;
  }
  if (bad > MAX_NOT_OBJECT_ISSUES) {
    issues.push({
      code: 'load.list-item', path: ['items'], position: locator.positionOf(['items']),
      message: `${bad - MAX_NOT_OBJECT_ISSUES} more items of this ${list.kind} are not resources`,
    });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function notAnObject(value: unknown, locator: SourceLocator, what: string): Issue {
  const got = value === null ? 'null' : Array.isArray(value) ? 'a sequence' : `a ${typeof value}`;
  return {
    code: 'load.not-object', path: [], position: locator.position, value,
    message: `${what} is ${got}; expected a resource (a mapping with apiVersion, kind and metadata)`,
  };
}
