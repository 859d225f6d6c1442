// The admin identity made on first start: a random bearer token (system:masters, so it may do anything) and a
// kubeconfig naming the server, its CA and that token, so `kubectl --kubeconfig F get globalnetworkpolicies`
// works at once. The token file is kept (mode 0600) and reused on every start; the kubeconfig is rewritten on
// every start because the URL (the --listen port) may have changed.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { stringify } from 'yaml';

import { ADMIN_GROUP } from './authorization.js';
import { readPrivateFile, writePrivateFile } from './tls-bootstrap.js';
import type { UserInfo } from './token-file.js';

export const ADMIN_USER: UserInfo = { name: 'tabby-admin', uid: 'tabby-admin', groups: [ADMIN_GROUP] };

/** The admin token stored in `dir`, made (32 random bytes, base64url) when there is none. */
export async function ensureAdminToken(dir: string): Promise<string> {
  const path = join(dir, 'admin.token');
  // Only a token this user keeps private is adopted (readPrivateFile refuses one others could have written).
  const text = (await readPrivateFile(path))?.trim();
  if (text !== undefined && /^[A-Za-z0-9_-]{32,}$/.test(text)) return text;
  const token = randomBytes(32).toString('base64url');
  await writePrivateFile(path, token + '\n');
  return token;
}

export interface KubeconfigInput {
  server: string;
  token: string;
  /** PEM; absent when the operator's own certificate is served (the system's trust store applies). */
  ca?: string;
}

/** kubectl's config file: one cluster, one user and one context, all named `tabby`. */
export function kubeconfigText(input: KubeconfigInput): string {
  const cluster: Record<string, string> = { server: input.server };
  if (input.ca !== undefined) cluster['certificate-authority-data'] = Buffer.from(input.ca).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tabby', cluster }],
    users: [{ name: 'tabby-admin', user: { token: input.token } }],
    contexts: [{ name: 'tabby', context: { cluster: 'tabby', user: 'tabby-admin' } }],
    'current-context': 'tabby',
  });
}

/** Writes the admin kubeconfig into `dir` (mode 0600: it holds the token) and returns its path. */
export async function writeAdminKubeconfig(dir: string, input: KubeconfigInput): Promise<string> {
  const path = join(dir, 'admin.kubeconfig');
  await writePrivateFile(path, kubeconfigText(input));
  return path;
}
