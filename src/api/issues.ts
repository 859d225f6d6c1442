// Issues are how the api part reports invalid input: every problem, not just the first, each with a stable
// code, the field path (`spec.ingress[0].destination.ports[1]`), a message that says what is wrong and what is
// allowed, and — once the loader has located it — the file:line:col of the offending node.

import { displayText, escapeControls, quote } from './quote.js';

export type PathSegment = string | number;

export interface SourcePosition {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  col: number;
}

export interface Issue {
  /** Stable machine-readable code, e.g. `selector.invalid`, `port.range`, `yaml.syntax`. */
  code: string;
  /** Path from the resource root; empty for document-level problems. */
  path: PathSegment[];
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
  position?: SourcePosition;
  /** `Kind ns/name` of the resource the issue belongs to, when known. */
  resource?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(issues: Issue[]): Result<T> {
  return { ok: false, issues };
}

/** `spec.ingress[0].destination.ports[1]` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${quote(seg)}]`;
  }
  return out;
}

/**
 * `file:line:col: Kind ns/name: path: message` — the one-line form `tabby validate` prints. It stays one line
 * whatever the input: the file name is quoted if it holds a control or bidi character, and such characters in
 * the resource label and the message (which quote the values they name) are escaped.
 */
export function formatIssue(issue: Issue): string {
  const parts: string[] = [];
  if (issue.position) parts.push(`${displayText(issue.position.file)}:${issue.position.line}:${issue.position.col}`);
  if (issue.resource) parts.push(escapeControls(issue.resource));
  if (issue.path.length > 0) parts.push(formatPath(issue.path));
  parts.push(escapeControls(issue.message));
  return parts.join(': ');
}
