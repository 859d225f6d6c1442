// Mistyped commands, resource types and flags get cobra's "did you mean" (issue 12 §3), and `tabby help CMD`
// is `tabby CMD --help`. Each case runs through the CLI; before this change every one of them printed the bare
// "unknown …" line (or, for help CMD, the command list).
import { describe, expect, it } from 'vitest';

import { COMMANDS } from '../../src/cli/registry.js';
import { editDistance, suggestionsFor } from '../../src/cli/suggest.js';
import { captureCli } from './captureCli.js';

describe('did you mean', () => {
  it('suggests the command within two edits: tabby aply → apply (exit 2)', async () => {
    const run = await captureCli(['aply']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe("error: unknown command 'aply'; did you mean 'apply'? (run 'tabby --help' for the list)\n");
  });

  it('counts a swap of neighbours as one edit and offers prefixes, as cobra does', async () => {
    expect((await captureCli(['aplpy'])).stderr).toContain("did you mean 'apply'?");
    expect((await captureCli(['vesrion'])).stderr).toContain("did you mean 'version'?");
    expect((await captureCli(['descr'])).stderr).toContain("did you mean 'describe'?");
    expect((await captureCli(['desc'])).stderr).toContain("did you mean 'describe', 'demo' or 'test'?");
    // Several near names are all offered.
    expect((await captureCli(['gett'])).stderr).toContain("did you mean 'get', 'agent' or 'test'?"); // nearest first
    expect((await captureCli(['polices-for'])).stderr).toContain("did you mean 'policies-for'?");
  });

  it('says nothing when no command is near, and never echoes a control character', async () => {
    const far = await captureCli(['frobnicate']);
    expect(far.code).toBe(2);
    expect(far.stderr).toBe("error: unknown command 'frobnicate' (run 'tabby --help' for the list)\n");
    const hostile = await captureCli(['ap\u001b[2J']);
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).not.toContain('\u001b');
    expect(hostile.stderr).toContain('\\u001b');
  });

  it('suggests the resource type: tabby get globalnetworkpolcy → globalnetworkpolicy (exit 2)', async () => {
    for (const verb of ['get', 'delete', 'describe']) {
      const run = await captureCli([verb, 'globalnetworkpolcy', 'x', '--datastore', 'file:/nonexistent/never-created']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^error: unknown resource type 'globalnetworkpolcy'; did you mean 'globalnetworkpolicy'\\? \\(known: `));
    }
    // A kind is offered once, by its nearest name (not globalnetworkpolicy and globalnetworkpolicies both).
    expect((await captureCli(['get', 'hostendpont'])).stderr).toContain("did you mean 'hostendpoint'? (known:");
    expect((await captureCli(['get', 'netpl'])).stderr).toContain("did you mean 'netpol'?");
  });

  it("suggests the command's own flags: --dry-rn → --dry-run (exit 2)", async () => {
    const run = await captureCli(['delete', '--dry-rn', 'gnp', 'x']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: unknown flag '--dry-rn'; did you mean '--dry-run'? (see 'tabby delete --help')\n");
    expect((await captureCli(['get', '--namspace=prod', 'np'])).stderr)
      .toBe("error: unknown flag '--namspace'; did you mean '--namespace'? (see 'tabby get --help')\n");
    // get has no --dry-run: no flag of get is near it.
    expect((await captureCli(['get', '--dry-run', 'np'])).stderr).toBe("error: unknown flag '--dry-run' (see 'tabby get --help')\n");
    expect((await captureCli(['validate', '-x'])).stderr).toBe("error: unknown flag '-x' (see 'tabby validate --help')\n");
  });

  it('suggests subcommands: agent stauts → status, node delet → delete, datastore chek → check (exit 2)', async () => {
    const agent = await captureCli(['agent', 'stauts', '--node', 'n1']);
    expect(agent.code).toBe(2);
    expect(agent.stderr).toBe("error: unknown subcommand 'stauts'; did you mean 'status'?: run (the default), status or rules\n");
    for (const [argv, near] of [[['node', 'delet', 'n1'], 'delete'], [['workload', 'exce', 'a/b'], 'exec'], [['datastore', 'chek'], 'check'],
      [['external', 'exe'], 'exec']] as const) {
      const run = await captureCli([...argv]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`did you mean '${near}'?`);
    }
    expect((await captureCli(['datastore', 'frobnicate'])).stderr).toBe("error: unknown subcommand 'frobnicate': check or repair\n");
  });

  it('measures edits as Damerau-Levenshtein (optimal string alignment)', () => {
    expect(editDistance('aply', 'apply')).toBe(1);
    expect(editDistance('aplpy', 'apply')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(suggestionsFor('x', Object.keys(COMMANDS))).toEqual([]);
    expect(suggestionsFor('GET', ['get'])).toEqual([]); // the same word is not a suggestion
    expect(suggestionsFor('gte', ['get', 'test'])).toEqual(['get']);
    expect(suggestionsFor('gte', ['set', 'get'])).toEqual(['get', 'set']); // nearest first
  });
});

describe('tabby help', () => {
  it('tabby help CMD prints exactly tabby CMD --help, for every command', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const viaHelp = await captureCli(['help', name]);
      const viaFlag = await captureCli([name, '--help']);
      expect(viaHelp.code, name).toBe(0);
      expect(viaHelp.stdout, name).toBe(viaFlag.stdout);
      expect(viaHelp.stdout, name).toMatch(/\nExamples:\n {2}\S/);
    }
  });

  it('tabby help is tabby --help, and lists help, describe and completion', async () => {
    const help = await captureCli(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe((await captureCli(['--help'])).stdout);
    for (const name of ['describe', 'completion', 'help']) expect(help.stdout).toMatch(new RegExp(`\\n {2}${name} +\\S`));
  });

  it('tabby help nope is a usage error with a suggestion', async () => {
    const run = await captureCli(['help', 'descibe']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe("error: unknown command 'descibe'; did you mean 'describe'? (run 'tabby --help' for the list)\n");
  });
});
