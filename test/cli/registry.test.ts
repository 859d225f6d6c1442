// A command's summary is written once, in its own module: `tabby --help` and `tabby CMD --help` both show it,
// and the registry only names and loads commands.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { allCommands, COMMANDS, loadCommand } from '../../src/cli/registry.js';
import { captureCli } from './captureCli.js';

describe('the command registry', () => {
  it('registers each command under its own name', async () => {
    for (const name of Object.keys(COMMANDS)) expect((await loadCommand(name))?.name).toBe(name);
  });

  it('tabby --help lists every command with its own summary, within 100 columns', async () => {
    const run = await captureCli(['--help']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(100);
    // A wrapped summary continues on indented lines; join them back to compare with the command's own.
    const listed = new Map<string, string>();
    let last: string | undefined;
    for (const line of lines.slice(lines.indexOf('Commands:') + 1)) {
      const head = /^ {2}(\S+) +(.*)$/.exec(line);
      if (head) listed.set((last = head[1]!), head[2]!);
      else if (last !== undefined && /^ {4,}\S/.test(line)) listed.set(last, `${listed.get(last)!} ${line.trim()}`);
      else last = undefined;
    }
    const commands = await allCommands();
    expect([...listed.keys()]).toEqual(commands.map((c) => c.name));
    for (const c of commands) expect(listed.get(c.name)).toBe(c.summary);
  });

  it('tabby CMD --help opens with the same summary', async () => {
    for (const c of await allCommands()) {
      const run = await captureCli([c.name, '--help']);
      expect(run.stdout.split('\n')[0]).toBe(c.summary);
    }
  });

  it('keeps no second copy of the summaries', () => {
    const text = readFileSync(new URL('../../src/cli/registry.ts', import.meta.url), 'utf8');
    expect(text).not.toMatch(/summary\s*:/);
  });

  it('knows no command by a name every object has (constructor, toString, __proto__)', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const run = await captureCli([name]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`error: unknown command '${name}' (run 'tabby --help' for the list)\n`);
    }
  });
});
