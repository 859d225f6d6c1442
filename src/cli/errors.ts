// The one place typed errors become what the user sees: a one-line message and an exit code (EXIT in
// command.ts, the table in README.md). main.ts asks here for every error a command throws; whatever is left
// unmapped is a bug and main.ts says so. The datastore's kinds keep their table beside the hints that go with
// them (datastore-access.ts); the dataplane's are here.
//
// main.ts imports this module only once a command has failed, so `tabby version` loads neither the datastore
// nor the dataplane.

import { isNftError, NetnsError, type NftError } from '../dataplane/index.js';
import { CliError, EXIT } from './command.js';
import { toCliError as datastoreCliError } from './datastore-access.js';

/** Where the dataplane commands' prerequisites are named, as requireDataplane says them. */
const ENVIRONMENT_HINT = 'the dataplane commands need root, nftables and iproute2 ' +
  '(on Debian: sudo apt-get install nftables iproute2, then run as root)';

/** A tool that is missing (spawn's ENOENT, a shell's "not found") or a privilege the process does not hold. */
const MISSING_TOOL = /spawn \S+ ENOENT|: not found|command not found|failed to execute/;
const NO_PRIVILEGE = /Operation not permitted|Permission denied|EPERM|EACCES/;

/** nft's and ip's messages are one line already; a stray newline from their stderr must not make it two. */
function oneLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').join('; ');
}

/**
 * nft failures (dataplane/nft/errors.ts): the tool or the privilege to run it missing is the environment
 * (exit 7); anything nft or the kernel refused — syntax, a missing or existing object, EBUSY, EOPNOTSUPP, a
 * node namespace that vanished under nsenter — is a dataplane failure (exit 10).
 */
function nftExit(err: NftError): number {
  const text = `${err.message}\n${err.stderr}`;
  if (NO_PRIVILEGE.test(text)) return EXIT.environment;
  // `exec`: nft (or nsenter) could not be started. nsenter itself reports a missing namespace; that is not
  // the machine's fault but a node that is gone.
  if (err.code === 'exec' && !/^nsenter: cannot open/m.test(text)) return EXIT.environment;
  return EXIT.dataplane;
}

/** `ip` failures (dataplane/netns): a missing tool or privilege is the environment, the rest a dataplane failure. */
function netnsExit(err: NetnsError): number {
  const text = `${err.message}\n${err.stderr}`;
  return MISSING_TOOL.test(text) || NO_PRIVILEGE.test(text) ? EXIT.environment : EXIT.dataplane;
}

function dataplaneCliError(message: string, exitCode: number): CliError {
  const line = oneLine(message);
  return new CliError(exitCode === EXIT.environment ? `${line} (${ENVIRONMENT_HINT})` : line, exitCode);
}

/** The CLI error for a typed failure, or undefined when `err` is none of them (a bug). */
export function toCliError(err: unknown): CliError | undefined {
  if (err instanceof CliError) return err;
  if (isNftError(err)) return dataplaneCliError(err.message, nftExit(err));
  if (err instanceof NetnsError) return dataplaneCliError(err.message, netnsExit(err));
  return datastoreCliError(err);
}
