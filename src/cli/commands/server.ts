// `tabby server`: the Kubernetes-style HTTPS API over the datastore the settings name (src/server/README.md), in
// the foreground until SIGINT/SIGTERM. On first start without --tls-cert it makes a CA, a server certificate and
// an admin token in <state-dir>/server and writes a kubeconfig there; its path goes to stdout, so
// `kubectl --kubeconfig "$(tabby server … | head -1)"` style scripting and a person both find it.

import { join } from 'node:path';

import { ServerSetupError, startServer } from '../../server/index.js';
import { listAgentStatuses, readAgentStatus } from '../agent-status.js';
import { CliError, EXIT, stringOption, UsageError, write, type CommandSpec } from '../command.js';
import { DATASTORE_OPTION, openStore, toCliError } from '../datastore-access.js';
import { resolveSetting, SETTINGS } from '../settings.js';
import { TABBY_VERSION } from '../version.js';

const DEFAULT_LISTEN = '127.0.0.1:8443';

/** `HOST:PORT`, `[V6]:PORT` or `:PORT` (all addresses). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen ${JSON.stringify(text)}: give HOST:PORT (127.0.0.1:8443, [::1]:8443, :8443; port 0 picks a free one)`);
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!), port };
}

export const command: CommandSpec = {
  name: 'server',
  summary: 'Serve the datastore as a Kubernetes-style HTTPS API that kubectl drives (tokens, Status errors, watch)',
  usage: 'tabby server [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--token-auth-file FILE] [--state-dir DIR] [--datastore LOCATION]',
  examples: [
    'tabby server                       # https://127.0.0.1:8443, prints the admin kubeconfig\'s path',
    'kubectl --kubeconfig "$XDG_RUNTIME_DIR/tabby/server/admin.kubeconfig" get globalnetworkpolicies',
    'tabby server --listen :8443 --token-auth-file /etc/tabby/tokens.csv   # token,user,uid,"group1,group2"',
    'tabby server --tls-cert server.crt --tls-key server.key --datastore etcd://127.0.0.1:2379',
  ],
  options: {
    listen: { type: 'string', valueName: 'HOST:PORT', description: `Address to listen on (default ${DEFAULT_LISTEN}; port 0: any free port)` },
    'tls-cert': { type: 'string', valueName: 'FILE', description: 'Serving certificate (PEM); without it a CA and certificate are made in the state directory' },
    'tls-key': { type: 'string', valueName: 'FILE', description: 'Private key of --tls-cert (PEM)' },
    'token-auth-file': {
      type: 'string', valueName: 'FILE',
      description: 'Bearer tokens, kube-apiserver\'s format: token,user,uid,"group1,group2" per line (the admin token always works too)',
    },
    'state-dir': {
      type: 'string', valueName: 'DIR',
      description: `Tabby's state directory (the agents' too); the server keeps its CA, certificate, admin token and kubeconfig in DIR/server (default: $${SETTINGS.stateDir.env}, then $XDG_RUNTIME_DIR/tabby or /run/tabby)`,
    },
    datastore: DATASTORE_OPTION,
  },
  async run(args, io) {
    const { host, port } = parseListen(stringOption(args, 'listen') ?? DEFAULT_LISTEN);
    const agentsDir = (await resolveSetting('stateDir', args, io)).value;
    const stateDir = join(agentsDir, 'server');
    const opened = await openStore(args, io);
    let running;
    try {
      running = await startServer({
        store: opened.store, host, port, stateDir, tabbyVersion: TABBY_VERSION,
        agents: { list: () => listAgentStatuses(agentsDir), get: (node) => readAgentStatus(agentsDir, node) },
        ...(stringOption(args, 'tls-cert') !== undefined && { tlsCertFile: stringOption(args, 'tls-cert')! }),
        ...(stringOption(args, 'tls-key') !== undefined && { tlsKeyFile: stringOption(args, 'tls-key')! }),
        ...(stringOption(args, 'token-auth-file') !== undefined && { tokenAuthFile: stringOption(args, 'token-auth-file')! }),
      });
    } catch (err) {
      await opened.store.close().catch(() => undefined);
      // README's exit codes: an unreadable certificate or token file is invalid input (1), flags that do not go together usage (2).
      if (err instanceof ServerSetupError) throw new CliError(err.message, err.usage ? EXIT.usage : EXIT.failure);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`cannot listen on ${host}:${port}: the address is in use (choose another with --listen)`, EXIT.unavailable);
      throw toCliError(err) ?? err;
    }
    write(io.stdout, running.kubeconfigPath);
    write(io.stderr, `tabby server: serving ${opened.store.endpoint} at ${running.url}; admin kubeconfig: ${running.kubeconfigPath}`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await running.close();
    await opened.store.close().catch(() => undefined);
    return EXIT.ok;
  },
};
