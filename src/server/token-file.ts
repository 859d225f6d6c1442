// kube-apiserver's --token-auth-file: a CSV file, one identity per line, `token,user,uid[,"group1,group2"]`
// (k8s.io/apiserver/pkg/authentication/token/tokenfile). As there: lines starting with # and blank lines are
// skipped, a line with fewer than three fields is an error, the fourth field is a comma-separated group list
// (quoted when it holds several), and a token given twice is an error rather than "last one wins", so a typo
// cannot silently give one user another's groups.

import { createHash, timingSafeEqual } from 'node:crypto';

export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
}

export type TokenFileResult = { ok: true; tokens: Map<string, UserInfo> } | { ok: false; error: string };

/** Splits one CSV record (RFC 4180 quoting: "..." with "" for a quote); undefined when a quote is not closed. */
function csvFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += line[i++];
      }
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    fields.push(field.trim());
    if (i >= line.length) return fields;
    if (line[i] !== ',') return undefined;
    i++;
  }
}

/** Parses the file's text; `file` names it in errors (`tokens.csv:3: ...`). */
export function parseTokenFile(text: string, file: string): TokenFileResult {
  const tokens = new Map<string, UserInfo>();
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const at = `${file}:${n + 1}`;
    const fields = csvFields(line);
    if (!fields) return { ok: false, error: `${at}: unbalanced quotes (the format is token,user,uid,"group1,group2")` };
    if (fields.length < 3) {
      return { ok: false, error: `${at}: ${fields.length} field(s); each line is token,user,uid and optionally "group1,group2"` };
    }
    const [token, name, uid, groups] = fields as [string, string, string, string | undefined];
    if (token === '') return { ok: false, error: `${at}: the token (first field) is empty` };
    if (name === '') return { ok: false, error: `${at}: the user name (second field) is empty` };
    if (tokens.has(token)) return { ok: false, error: `${at}: this token is already given to ${tokens.get(token)!.name} on an earlier line` };
    tokens.set(token, { name, uid, groups: (groups ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '') });
  }
  return { ok: true, tokens };
}

/**
 * Looks bearer tokens up without a timing side channel on their contents: every known token is compared in
 * constant time against the SHA-256 of the presented one (equal-length digests, so timingSafeEqual applies).
 */
export class TokenTable {
  private readonly entries: Array<{ digest: Buffer; user: UserInfo }> = [];

  constructor(tokens: ReadonlyMap<string, UserInfo>) {
    for (const [token, user] of tokens) this.entries.push({ digest: sha256(token), user });
  }

  lookup(token: string): UserInfo | undefined {
    const digest = sha256(token);
    let found: UserInfo | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, digest)) found = e.user;
    return found;
  }

  get size(): number {
    return this.entries.length;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
