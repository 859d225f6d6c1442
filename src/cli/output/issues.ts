// Issue listings for commands that check manifests: one `file:line:col: Kind ns/name: path: message` line per
// problem (grep- and editor-friendly), or a JSON object for machines. Lines are ordered by position within each
// file, files in the order they were read.

import { formatIssue, formatPath, type Issue } from '../../api/index.js';

export interface IssueRecord {
  file: string | null;
  line: number | null;
  col: number | null;
  resource: string | null;
  path: string;
  code: string;
  message: string;
}

export function sortIssues(issues: readonly Issue[]): Issue[] {
  const fileOrder = new Map<string, number>();
  for (const i of issues) {
    const f = i.position?.file;
    if (f !== undefined && !fileOrder.has(f)) fileOrder.set(f, fileOrder.size);
  }
  // Issues without a position (an unreadable path) keep their place relative to the start of the list.
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => {
      const pa = a.issue.position;
      const pb = b.issue.position;
      if (!pa || !pb) return pa === pb ? a.index - b.index : pa ? 1 : -1;
      return (fileOrder.get(pa.file)! - fileOrder.get(pb.file)!) || pa.line - pb.line || pa.col - pb.col ||
        a.index - b.index;
    })
    .map((x) => x.issue);
}

export function issueLines(issues: readonly Issue[]): string {
  return issues.map((i) => formatIssue(i)).join('\n');
}

export function issueRecord(issue: Issue): IssueRecord {
  return {
    file: issue.position?.file ?? null,
    line: issue.position?.line ?? null,
    col: issue.position?.col ?? null,
    resource: issue.resource ?? null,
    path: formatPath(issue.path),
    code: issue.code,
    message: issue.message,
  };
}
