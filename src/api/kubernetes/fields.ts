// The building blocks of the Kubernetes API server's validation that every Kubernetes kind shares: issues worded
// like k8s.io/apimachinery/pkg/util/validation/field errors, typed field readers that report a wrong JSON type
// instead of throwing, and apimachinery's ObjectMeta, label and label-selector checks. The kinds' own checks are in
// validate.ts (networking and core) and rbac-validate.ts (rbac.authorization.k8s.io).

import type { Issue, PathSegment } from '../issues.js';
import { isDns1123Label, isLabelValue, isQualifiedName } from './names.js';

export type JsonObject = Record<string, unknown>;

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Issue builders, worded like k8s.io/apimachinery/pkg/util/validation/field errors.

export function goValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? String(value);
}

export function invalid(code: string, path: PathSegment[], value: unknown, detail: string): Issue {
  return { code, path, value, message: `Invalid value: ${goValue(value)}: ${detail}` };
}

export function required(code: string, path: PathSegment[], detail = ''): Issue {
  return { code, path, message: detail === '' ? 'Required value' : `Required value: ${detail}` };
}

export function notSupported(code: string, path: PathSegment[], value: unknown, allowed: readonly string[]): Issue {
  return {
    code,
    path,
    value,
    message: `Unsupported value: ${goValue(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
  };
}

export function forbidden(code: string, path: PathSegment[], detail: string): Issue {
  return { code, path, message: `Forbidden: ${detail}` };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function wrongType(path: PathSegment[], value: unknown, expected: string): Issue {
  return {
    code: 'type.invalid',
    path,
    value,
    message: `Invalid type: expected ${expected}, got ${typeName(value)}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Typed field access: each reader returns undefined (and records an issue) when the type is wrong. A JSON null
// reads as absent, as Go's decoder treats it for optional fields.

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readObject(value: unknown, path: PathSegment[], issues: Issue[]): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    issues.push(wrongType(path, value, 'object'));
    return undefined;
  }
  return value;
}

export function readArray(value: unknown, path: PathSegment[], issues: Issue[]): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    issues.push(wrongType(path, value, 'array'));
    return undefined;
  }
  return value;
}

export function readString(value: unknown, path: PathSegment[], issues: Issue[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    issues.push(wrongType(path, value, 'string'));
    return undefined;
  }
  return value;
}

export function readInteger(value: unknown, path: PathSegment[], issues: Issue[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    issues.push(wrongType(path, value, 'integer'));
    return undefined;
  }
  return value;
}

export function readBoolean(value: unknown, path: PathSegment[], issues: Issue[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    issues.push(wrongType(path, value, 'boolean'));
    return undefined;
  }
  return value;
}

export function readStringMap(value: unknown, path: PathSegment[], issues: Issue[]): Record<string, string> | undefined {
  const obj = readObject(value, path, issues);
  if (!obj) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    const s = readString(v, [...path, k], issues);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

export function checkKnownFields(obj: JsonObject, known: readonly string[], path: PathSegment[], issues: Issue[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      issues.push({ code: 'field.unknown', path: [...path, key], message: `unknown field "${key}"` });
    }
  }
}

/** A deep copy without null-valued object fields, so the validated value has `undefined` where YAML had `~`. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Metadata and labels (apimachinery ValidateObjectMeta, ValidateLabels, ValidateAnnotations).

export function validateLabels(value: unknown, path: PathSegment[]): Issue[] {
  const issues: Issue[] = [];
  const labels = readStringMap(value, path, issues);
  for (const [key, v] of Object.entries(labels ?? {})) {
    for (const msg of isQualifiedName(key)) issues.push(invalid('label.key', [...path, key], key, msg));
    for (const msg of isLabelValue(v)) issues.push(invalid('label.value', [...path, key], v, msg));
  }
  return issues;
}

function validateAnnotations(value: unknown, path: PathSegment[]): Issue[] {
  const issues: Issue[] = [];
  const annotations = readStringMap(value, path, issues);
  let size = 0;
  for (const [key, v] of Object.entries(annotations ?? {})) {
    // Annotation keys are checked lower-cased, so upper case is allowed.
    for (const msg of isQualifiedName(key.toLowerCase())) {
      issues.push(invalid('annotation.key', [...path, key], key, msg));
    }
    size += Buffer.byteLength(key) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
    issues.push({
      code: 'annotation.size',
      path,
      message: `Too long: may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`,
    });
  }
  return issues;
}

export interface MetaRules {
  namespaced: boolean;
  nameCheck: (name: string) => string[];
}

export function validateObjectMeta(value: unknown, path: PathSegment[], rules: MetaRules, issues: Issue[]): void {
  if (value === undefined || value === null) {
    issues.push(required('field.required', path));
    return;
  }
  const meta = readObject(value, path, issues);
  if (!meta) return;
  const name = readString(meta.name, [...path, 'name'], issues);
  if (name === undefined || name === '') {
    if (meta.name === undefined || meta.name === null || meta.name === '') {
      issues.push(required('name.required', [...path, 'name'], 'name or generateName is required'));
    }
  } else {
    for (const msg of rules.nameCheck(name)) issues.push(invalid('name.invalid', [...path, 'name'], name, msg));
  }
  const namespace = readString(meta.namespace, [...path, 'namespace'], issues);
  if (namespace !== undefined && namespace !== '') {
    if (!rules.namespaced) {
      issues.push(forbidden('namespace.forbidden', [...path, 'namespace'], 'not allowed on this type'));
    } else {
      for (const msg of isDns1123Label(namespace)) {
        issues.push(invalid('namespace.invalid', [...path, 'namespace'], namespace, msg));
      }
    }
  }
  issues.push(...validateLabels(meta.labels, [...path, 'labels']));
  issues.push(...validateAnnotations(meta.annotations, [...path, 'annotations']));
}

// ---------------------------------------------------------------------------------------------------------------
// Label selectors (apimachinery ValidateLabelSelector).

export function validateLabelSelector(value: unknown, path: PathSegment[]): Issue[] {
  const issues: Issue[] = [];
  const selector = readObject(value, path, issues);
  if (!selector) return issues;
  checkKnownFields(selector, ['matchLabels', 'matchExpressions'], path, issues);
  issues.push(...validateLabels(selector.matchLabels, [...path, 'matchLabels']));
  const expressions = readArray(selector.matchExpressions, [...path, 'matchExpressions'], issues) ?? [];
  expressions.forEach((raw, i) => {
    const reqPath = [...path, 'matchExpressions', i];
    const req = readObject(raw, reqPath, issues);
    if (!req) {
      if (raw === null || raw === undefined) issues.push(required('field.required', reqPath));
      return;
    }
    checkKnownFields(req, ['key', 'operator', 'values'], reqPath, issues);
    const key = readString(req.key, [...reqPath, 'key'], issues);
    const operator = readString(req.operator, [...reqPath, 'operator'], issues);
    const values = readArray(req.values, [...reqPath, 'values'], issues);
    const valueCount = values?.length ?? 0;
    if (operator === 'In' || operator === 'NotIn') {
      if (valueCount === 0) {
        issues.push(required('selector.values', [...reqPath, 'values'],
          "must be specified when `operator` is 'In' or 'NotIn'"));
      }
    } else if (operator === 'Exists' || operator === 'DoesNotExist') {
      if (valueCount > 0) {
        issues.push(forbidden('selector.values', [...reqPath, 'values'],
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      }
    } else if (operator !== undefined || req.operator === undefined || req.operator === null) {
      issues.push(notSupported('selector.operator', [...reqPath, 'operator'], operator ?? '', SELECTOR_OPERATORS));
    }
    if (key !== undefined || req.key === undefined || req.key === null) {
      for (const msg of isQualifiedName(key ?? '')) issues.push(invalid('label.key', [...reqPath, 'key'], key ?? '', msg));
    }
    (values ?? []).forEach((v, j) => {
      const s = readString(v, [...reqPath, 'values', j], issues);
      if (s === undefined) return;
      for (const msg of isLabelValue(s)) issues.push(invalid('label.value', [...reqPath, 'values', j], s, msg));
    });
  });
  return issues;
}
