// Starting the server: TLS material (the operator's or the bootstrapped CA's), the token table (the
// --token-auth-file identities plus the admin token), the app, node:https — and the admin kubeconfig once the
// port is known.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { createAdaptorServer } from '@hono/node-server';

import type { Datastore } from '../datastore/index.js';
import { ADMIN_USER, ensureAdminToken, writeAdminKubeconfig } from './admin-credentials.js';
import { createApp } from './app.js';
import type { Authorizer } from './authorization.js';
import type { AgentReports } from './request.js';
import { LiveRbac } from './rbac-live.js';
import { ensurePrivateDir, ensureTlsMaterial, UntrustedStateError, type TlsMaterial } from './tls-bootstrap.js';
import { parseTokenFile, TokenTable, type UserInfo } from './token-file.js';

export interface ServerOptions {
  store: Datastore;
  /** Host to listen on; port 0 picks a free one. */
  host: string;
  port: number;
  /** Where the CA, server certificate, admin token and kubeconfig are kept. */
  stateDir: string;
  /** The operator's certificate and key (PEM files); both or neither. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** kube-apiserver's --token-auth-file. */
  tokenAuthFile?: string;
  /** Instead of RBAC over the datastore (tests of the pipeline). */
  authorizer?: Authorizer;
  /** The node agents' reports for /tabby/v1/agents (without it the endpoint answers 404). */
  agents?: AgentReports;
  tabbyVersion: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  kubeconfigPath: string;
  /** The CA clients should trust (PEM), when the server made its own. */
  ca: string | undefined;
  adminToken: string;
  close(): Promise<void>;
}

/** The server cannot start as asked: a file that cannot be read or parsed (`usage`: flags that do not go together). */
export class ServerSetupError extends Error {
  constructor(message: string, readonly usage = false) {
    super(message);
    this.name = 'ServerSetupError';
  }
}

async function tlsOf(options: ServerOptions): Promise<TlsMaterial> {
  if ((options.tlsCertFile === undefined) !== (options.tlsKeyFile === undefined)) {
    throw new ServerSetupError('give both --tls-cert and --tls-key, or neither (then a CA and certificate are made in the state directory)', true);
  }
  if (options.tlsCertFile !== undefined && options.tlsKeyFile !== undefined) {
    const read = async (f: string, what: string): Promise<string> => {
      try {
        return await readFile(f, 'utf8');
      } catch (err) {
        throw new ServerSetupError(`cannot read the ${what} ${f}: ${(err as Error).message}`);
      }
    };
    return { cert: await read(options.tlsCertFile, 'certificate'), key: await read(options.tlsKeyFile, 'key'), createdCa: false };
  }
  return ensureTlsMaterial(options.stateDir, options.host);
}

async function tokensOf(options: ServerOptions, adminToken: string): Promise<TokenTable> {
  const tokens = new Map<string, UserInfo>();
  if (options.tokenAuthFile !== undefined) {
    let text: string;
    try {
      text = await readFile(options.tokenAuthFile, 'utf8');
    } catch (err) {
      throw new ServerSetupError(`cannot read the token file ${options.tokenAuthFile}: ${(err as Error).message}`);
    }
    const parsed = parseTokenFile(text, options.tokenAuthFile);
    if (!parsed.ok) throw new ServerSetupError(parsed.error);
    for (const [t, u] of parsed.tokens) tokens.set(t, u);
  }
  if (tokens.has(adminToken) && tokens.get(adminToken)!.name !== ADMIN_USER.name) {
    throw new ServerSetupError(`the token file gives the admin token to ${tokens.get(adminToken)!.name}; remove that line`);
  }
  tokens.set(adminToken, ADMIN_USER);
  return new TokenTable(tokens);
}

/** The URL clients use: a wildcard listen address is reached at loopback. */
function urlOf(host: string, port: number): string {
  const h = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `https://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // The state directory holds the admin token whichever certificate is served (the operator's or its own).
  try {
    await ensurePrivateDir(options.stateDir);
  } catch (err) {
    if (err instanceof UntrustedStateError) throw new ServerSetupError(err.message);
    throw err;
  }
  const tls = await tlsOf(options).catch((err: unknown) => {
    throw err instanceof UntrustedStateError ? new ServerSetupError(err.message) : err;
  });
  const adminToken = await ensureAdminToken(options.stateDir).catch((err: unknown) => {
    throw err instanceof UntrustedStateError ? new ServerSetupError(err.message) : err;
  });
  const tokens = await tokensOf(options, adminToken);
  let address = '';
  // RBAC is in force before the first request is taken: the index holds every stored RBAC object.
  const rbac = options.authorizer ? undefined : new LiveRbac(options.store, options.log);
  await rbac?.start();
  const app = createApp({
    store: options.store, tokens, authorizer: options.authorizer ?? rbac!.authorizer,
    ...(rbac && { onWrite: (change: Parameters<LiveRbac['observe']>[0]) => rbac.observe(change) }),
    ...(options.agents && { agents: options.agents }),
    tabbyVersion: options.tabbyVersion, address: () => address,
  });
  const server = createAdaptorServer({
    fetch: app.fetch, createServer, serverOptions: { cert: tls.cert, key: tls.key },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = urlOf(options.host, port);
  address = url.slice('https://'.length);
  const kubeconfigPath = await writeAdminKubeconfig(options.stateDir, { server: url, token: adminToken, ...(tls.ca !== undefined && { ca: tls.ca }) });
  return {
    url, port, kubeconfigPath, ca: tls.ca, adminToken,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Watches are long requests: end them instead of waiting for their timeout.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await rbac?.stop();
    },
  };
}

export const ADMIN_FILES = (stateDir: string): { kubeconfig: string; token: string } => ({
  kubeconfig: join(stateDir, 'admin.kubeconfig'), token: join(stateDir, 'admin.token'),
});
