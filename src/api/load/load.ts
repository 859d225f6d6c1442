// Paths → validated, defaulted resources with their source locations, plus every problem found, each with the
// `file:line:col` of the node it is about. Loading never throws for bad input: unreadable paths, binary files,
// YAML errors, invalid resources and duplicates all become issues, and the resources that are fine are still
// returned so callers can decide (validate reports all; apply refuses to write anything if there is an issue).

import type { Issue } from '../issues.js';
import { kindFromManifest } from '../kinds.js';
import { applyKubernetesDefaults } from '../kubernetes/defaults.js';
import type { Resource } from '../types.js';
import { validateResource } from '../validate/index.js';
import { decodeCheckedText, type DecodedObject, type DecodeResult, type ObjectBudget } from './decode.js';
import { decodeText } from './encoding.js';
import { resourceLabel } from './label.js';
import { LOAD_LIMITS } from './limits.js';
import type { SourceLocator } from './locate.js';

export { resourceLabel };
import { admitFile, expandPaths, readEntry, type ExpandOptions, type SourceEntry } from './sources.js';

export interface LoadedResource {
  resource: Resource;
  source: SourceLocator;
}

export interface LoadResult {
  resources: LoadedResource[];
  issues: Issue[];
}

export interface LoadOptions {
  /** Read for the path `-`; without it, `-` is an issue. */
  stdin?: NodeJS.ReadableStream;
  /** Validate and default every object (default true). Without it only the identity fields are checked. */
  validate?: boolean;
  /** Relative paths are resolved against this (default: process.cwd()); they are shown as given. */
  cwd?: string;
  /** A lower bound than LOAD_LIMITS.maxObjects on the objects of the whole load. */
  maxObjects?: number;
  /** Everything read must resolve inside `root.dir` (see sources.ts); `tabby test` includes use it. */
  root?: ExpandOptions['root'];
}

export async function loadResources(paths: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const validate = options.validate ?? true;
  const { entries, issues } = await expandPaths(paths, options.cwd ?? process.cwd(), { root: options.root });
  const resources: LoadedResource[] = [];
  const seen = new Map<string, SourceLocator>();
  const maxObjects = Math.min(options.maxObjects ?? LOAD_LIMITS.maxObjects, LOAD_LIMITS.maxObjects);
  let remaining = maxObjects;

  for (const entry of entries) {
    if (remaining <= 0) {
      issues.push({
        code: 'load.too-many-objects', path: [],
        message: `too many objects (max ${maxObjects} per load); ${entry.display} and later files were not read`,
      });
      break;
    }
    const decoded = await decodeEntry(entry, options.stdin, { remaining, max: maxObjects });
    issues.push(...decoded.issues);
    remaining -= decoded.documents.length;
    for (const obj of decoded.documents) {
      const loaded = admit(obj, validate, issues);
      if (loaded) addUnique(loaded, seen, resources, issues);
    }
  }
  return { resources, issues };
}

/**
 * Reads one file (or stdin) within the loader's limits and decodes it, without validating: for callers whose
 * files hold more than resources (`tabby test`). Never throws for bad input.
 */
export async function decodeEntry(
  entry: SourceEntry,
  stdin: NodeJS.ReadableStream | undefined,
  budget: ObjectBudget = { remaining: LOAD_LIMITS.maxObjects, max: LOAD_LIMITS.maxObjects },
): Promise<DecodeResult> {
  const read = await readEntry(entry, stdin);
  if (!read.ok) return { documents: [], issues: [read.issue] };
  const text = decodeText(read.bytes, entry.display);
  if (!text.ok) return { documents: [], issues: [text.issue] };
  return decodeCheckedText(text.text, entry.display, budget);
}

/**
 * One file's text, read and checked within the loader's limits — admitted like a manifest (symbolic links
 * followed, no pseudo-filesystem), a regular file checked again once open, at most `maxBytes` (default: the
 * manifest limit), UTF-8: for small files of other formats (the CLI's config.yaml, an agent's
 * status file) that must not be a way around them. A missing file is the issue with code 'load.not-found'.
 */
export async function readTextFile(
  absolute: string,
  display: string,
  options: { maxBytes?: number } = {},
): Promise<{ ok: true; text: string } | { ok: false; issue: Issue }> {
  const admitted = await admitFile(absolute, display);
  if (!admitted.ok) return admitted;
  const read = await readEntry(admitted.entry, undefined, options.maxBytes ?? LOAD_LIMITS.maxFileBytes);
  if (!read.ok) return read;
  return decodeText(read.bytes, display, options.maxBytes ?? LOAD_LIMITS.maxFileBytes);
}

/** Validates (and defaults) one decoded object, locating each issue; undefined when it is not admitted. */
export function admit(obj: DecodedObject, validate: boolean, issues: Issue[]): LoadedResource | undefined {
  const label = resourceLabel(obj.value);
  const locate = (issue: Issue): Issue => {
    const out: Issue = { ...issue, position: issue.position ?? obj.source.positionOf(issue.path) };
    if (out.resource === undefined && label !== undefined) out.resource = label;
    return out;
  };
  if (validate) {
    const result = validateResource(obj.value);
    if (!result.ok) {
      issues.push(...result.issues.map(locate));
      return undefined;
    }
    return { resource: result.value, source: obj.source };
  }
  const identity = identityIssues(obj.value);
  if (identity.length > 0) {
    issues.push(...identity.map(locate));
    return undefined;
  }
  // Unvalidated, but still as the API server would hand it on: Kubernetes objects always get its defaults.
  return { resource: applyKubernetesDefaults(obj.value as Resource), source: obj.source };
}

function addUnique(
  loaded: LoadedResource,
  seen: Map<string, SourceLocator>,
  resources: LoadedResource[],
  issues: Issue[],
): void {
  const key = identityKey(loaded.resource);
  const first = key === undefined ? undefined : seen.get(key);
  if (first) {
    const at = `${first.position.file}:${first.position.line}:${first.position.col}`;
    issues.push({
      code: 'load.duplicate', path: ['metadata', 'name'],
      position: loaded.source.positionOf(['metadata', 'name']),
      resource: resourceLabel(loaded.resource),
      message: `defined twice: the same resource is already defined at ${at}; keep one of them`,
    });
    return;
  }
  if (key !== undefined) seen.set(key, loaded.source);
  resources.push(loaded);
}

/** kind key + namespace + name; a namespaced object without a namespace lands in `default`, as with kubectl. */
function identityKey(resource: Resource): string | undefined {
  const info = kindFromManifest(resource.apiVersion, resource.kind);
  if (!info) return undefined;
  const ns = info.namespaced ? resource.metadata.namespace || 'default' : '';
  return `${info.key}\u0000${ns}\u0000${resource.metadata.name}`;
}

/** Without validation, an object still needs a known apiVersion/kind and a name to be stored or indexed. */
function identityIssues(value: unknown): Issue[] {
  if (!isRecord(value)) return [{ code: 'load.not-object', path: [], message: 'expected a resource (a mapping)' }];
  const { apiVersion, kind } = value;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return [{
      code: 'resource.kind', path: typeof apiVersion !== 'string' ? ['apiVersion'] : ['kind'],
      message: 'every resource needs apiVersion and kind (e.g. apiVersion: projectcalico.org/v3, kind: NetworkPolicy)',
    }];
  }
  if (!kindFromManifest(apiVersion, kind)) {
    return [{ code: 'resource.kind', path: ['kind'], message: `unknown resource type "${apiVersion} ${kind}"` }];
  }
  const meta = value.metadata;
  if (!isRecord(meta) || typeof meta.name !== 'string' || meta.name === '') {
    return [{ code: 'metadata.name', path: ['metadata', 'name'], message: 'metadata.name is required' }];
  }
  return [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
