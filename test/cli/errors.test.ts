// errors.ts is the one table from typed failures to exit codes: every kind of nft, ip and datastore failure gets
// one line and its code, and only what is none of them is left for main.ts to call a bug.
import { describe, expect, it } from 'vitest';

import { CliError, EXIT } from '../../src/cli/command.js';
import { toCliError } from '../../src/cli/errors.js';
import { NetnsError, NftError } from '../../src/dataplane/index.js';
import { NotFoundError } from '../../src/datastore/index.js';

function mapped(err: unknown): { line: string; code: number } {
  const cli = toCliError(err);
  expect(cli).toBeDefined();
  expect(cli!.message).not.toContain('\n');
  return { line: cli!.message, code: cli!.exitCode };
}

describe('toCliError', () => {
  it('maps nft that cannot be started, or is refused the privilege, to exit 7 with what to install', () => {
    const missing = mapped(new NftError('exec', 'cannot run nft: nft: spawn nft ENOENT', 'nft: spawn nft ENOENT'));
    expect(missing).toEqual({ code: EXIT.environment, line: expect.stringContaining('cannot run nft: nft: spawn nft ENOENT') });
    expect(missing.line).toContain('apt-get install nftables iproute2');
    const perm = mapped(new NftError('unknown', 'nft: Operation not permitted', 'Error: Operation not permitted\n'));
    expect(perm.code).toBe(EXIT.environment);
  });

  it('maps what nft or the kernel refused to the dataplane failure code 8', () => {
    for (const code of ['invalid', 'syntax', 'notFound', 'exists', 'busy', 'unsupported', 'unknown'] as const) {
      expect(mapped(new NftError(code, `nft: refused (${code})`)).code).toBe(EXIT.dataplane);
    }
    // A node namespace gone from under nsenter is not a missing tool.
    const gone = new NftError('exec', 'cannot run nft: nsenter: cannot open /run/netns/x: No such file or directory',
      'nsenter: cannot open /run/netns/x: No such file or directory\n');
    expect(mapped(gone).code).toBe(EXIT.dataplane);
  });

  it('maps ip failures: missing tool or privilege 7, anything else 8, always one line', () => {
    expect(mapped(new NetnsError('ip netns add x: ip: spawn ip ENOENT')).code).toBe(EXIT.environment);
    expect(mapped(new NetnsError('ip netns add x: mount --make-shared /run/netns failed: Operation not permitted')).code)
      .toBe(EXIT.environment);
    const refused = mapped(new NetnsError('ip link add a type veth peer name b: RTNETLINK answers: File exists\nmore'));
    expect(refused).toEqual({ code: EXIT.dataplane, line: 'ip link add a type veth peer name b: RTNETLINK answers: File exists; more' });
  });

  it('keeps the datastore table and CliErrors as they are, and leaves bugs unmapped', () => {
    expect(mapped(new NotFoundError({ kind: 'Tier', name: 'x' })).code).toBe(EXIT.notFound);
    const cli = new CliError('x', EXIT.conflict);
    expect(toCliError(cli)).toBe(cli);
    expect(toCliError(new TypeError('cannot read properties of undefined'))).toBeUndefined();
    expect(toCliError('a string')).toBeUndefined();
  });
});
