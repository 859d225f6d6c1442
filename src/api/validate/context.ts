// The state one validation run carries: the issues found so far and which subtrees failed to decode. Semantic
// checks that combine several fields ask `intact(path)` first, so a field with the wrong type is reported once (by
// the decoder) and not again as a confusing cross-field error.

import type { Issue, PathSegment } from '../issues.js';

export type Path = readonly PathSegment[];

function startsWith(path: Path, prefix: Path): boolean {
  if (prefix.length > path.length) return false;
  return prefix.every((seg, i) => path[i] === seg);
}

export class ValidationContext {
  readonly issues: Issue[] = [];
  private readonly broken: Path[] = [];

  /** Records a problem with the shape of the input (wrong type, unknown or missing field). */
  structural(code: string, path: Path, message: string, value?: unknown): void {
    this.broken.push(path);
    this.push(code, path, message, value);
  }

  /** Records a semantic problem: the shape is right but Calico rejects the value. */
  report(code: string, path: Path, message: string, value?: unknown): void {
    this.push(code, path, message, value);
  }

  /** Takes issues found by another part's validator (the Kubernetes checks), as problems at their paths. */
  adopt(issues: readonly Issue[]): void {
    for (const issue of issues) {
      this.broken.push(issue.path);
      this.issues.push(issue);
    }
  }

  /** True when nothing at, below or above `path` failed to decode. */
  intact(path: Path): boolean {
    return !this.broken.some((b) => startsWith(b, path) || startsWith(path, b));
  }

  private push(code: string, path: Path, message: string, value: unknown): void {
    const issue: Issue = { code, path: [...path], message };
    if (value !== undefined) issue.value = value;
    this.issues.push(issue);
  }
}
