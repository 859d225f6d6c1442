// Shell completion (issue 12 §3): `tabby completion bash|zsh|fish` prints a script that real shells load, and
// the candidates it offers come from tabby itself (`completion __complete`): commands, each command's flags,
// kinds for get/describe/delete, -o formats, subcommands and the names of stored objects. bash is driven through
// its completion function with COMP_WORDS/COMP_CWORD; zsh and fish run when installed, and are reported as
// skipped with the reason otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SUBCOMMANDS } from '../../src/cli/commands/completion.js';
import { loadCommand } from '../../src/cli/registry.js';
import { captureCli } from './captureCli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tabby-completion-'));
const store = `file:${join(dir, 'store')}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/** Real shells run the built CLI: build it when src/ is newer than dist/ (npm test's pretest does the same). */
beforeAll(() => {
  if (!existsSync(MAIN) || newest(join(ROOT, 'src')) > statSync(MAIN).mtimeMs) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  writeFileSync(join(dir, 'objects.yaml'), `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec: {selector: all(), egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-web}
spec: {selector: app == 'web', ingress: [{action: Allow}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: shop}
spec: {nets: [172.20.0.0/24]}
`);
  execFileSync('node', [MAIN, 'apply', '-f', join(dir, 'objects.yaml'), '--datastore', store], { stdio: 'pipe' });
}, 180_000);

const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0;
const HAS_ZSH = has('zsh');
const HAS_FISH = has('fish');

/** The shell function `tabby` runs the built CLI with the test's datastore. */
const TABBY_FN = `tabby() { TABBY_DATASTORE='${store}' node '${MAIN}' "$@"; }`;

/**
 * COMPREPLY after the bash completion function ran on each of `cases` (the last word of each is the word being
 * completed), in one bash process: the script is loaded once, as a user's shell loads it.
 */
function bashComplete(cases: string[][]): string[][] {
  const quote = (w: string): string => `'${w.replace(/'/g, "'\\''")}'`;
  const drives = cases.map((words) => `COMP_WORDS=(${words.map(quote).join(' ')}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
_tabby_complete; printf '%s\\n' "\${COMPREPLY[@]}"; echo '---'`);
  const script = `${TABBY_FN}\nsource <(tabby completion bash)\n${drives.join('\n')}`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', cwd: dir });
  return out.split('---\n').slice(0, cases.length).map((block) => block.split('\n').filter((l) => l !== ''));
}

/** Each case: the words, and the candidates expected. */
function expectCompletions(cases: Array<[string[], string[]]>): void {
  const got = bashComplete(cases.map(([words]) => words));
  expect(cases.map(([words], i) => [words.join(' '), got[i]])).toEqual(cases.map(([words, want]) => [words.join(' '), want]));
}

describe('tabby completion bash', () => {
  it('loads in bash and registers the completion function for tabby', () => {
    const out = execFileSync('bash', ['-c', `source <(node '${MAIN}' completion bash); complete -p tabby`], { encoding: 'utf8' });
    expect(out).toBe('complete -o default -F _tabby_complete tabby\n');
  });

  it('completes commands, flags per command, kinds, -o formats and subcommands', () => {
    expectCompletions([
      [['tabby', 'ap'], ['apply']],
      [['tabby', 'de'], ['delete', 'demo', 'describe']],
      [['tabby', 'delete', '--dry'], ['--dry-run']],
      [['tabby', 'get', '--'], ['--all-namespaces', '--config', '--datastore', '--help', '--namespace', '--output', '--selector', '--show-labels', '--watch', '--watch-only']],
      [['tabby', 'describe', 'globalnetworkp'], ['globalnetworkpolicies', 'globalnetworkpolicy']],
      [['tabby', 'get', '-o', ''], ['json', 'name', 'table', 'wide', 'yaml']],
      [['tabby', 'policies-for', '-o', ''], ['json', 'text']],
      // bash splits `--output=js` at '=': the part after it is completed.
      [['tabby', 'get', '--output', '=', 'js'], ['json']],
      [['tabby', 'agent', 'st'], ['status']],
      [['tabby', 'completion', ''], ['bash', 'fish', 'zsh']],
      [['tabby', 'help', 'pol'], ['policies-for']],
    ]);
  });

  it('completes the names of stored objects, in -n NS for namespaced kinds, and file names after -f', () => {
    expectCompletions([
      [['tabby', 'get', 'gnp', 'allow-'], ['allow-dns', 'allow-web']],
      [['tabby', 'describe', 'globalnetworkpolicy', 'allow-w'], ['allow-web']],
      [['tabby', 'delete', 'networkset', '-n', 'shop', ''], ['partners']],
      [['tabby', 'delete', 'networkset', ''], []], // none in namespace default
      [['tabby', 'get', 'networkset', '-n', 'sh'], ['shop']], // -n: the stored namespaces
      [['tabby', 'validate', '-f', 'obj'], ['objects.yaml']],
    ]);
  });

  it('rejects an unknown shell (exit 2)', async () => {
    const run = await captureCli(['completion', 'tcsh']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: unsupported shell 'tcsh': bash, zsh or fish\n");
  });

  it('-h after -- is a word to complete, not a request for help', async () => {
    const run = await captureCli(['completion', '__complete', '--', 'get', '-h']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(':none\n');
  });

  it('every subcommand it offers is in its command\'s usage line', async () => {
    for (const [name, subs] of Object.entries(SUBCOMMANDS)) {
      const spec = await loadCommand(name);
      for (const sub of subs) expect(spec?.usage, `${name} ${sub}`).toMatch(new RegExp(`\\b${sub}\\b`));
    }
  });
});

describe('tabby completion zsh', () => {
  it.skipIf(!HAS_ZSH)(`loads in zsh and its function offers the candidates${HAS_ZSH ? '' : ' (skipped: zsh not installed)'}`, () => {
    // compadd only works inside a completion widget: a function standing in for it prints what it is given.
    const script = `${TABBY_FN}
source <(tabby completion zsh)
print -r -- "registered: $_comps[tabby]"
compadd() { shift 2; print -rl -- "$@"; }
words=(tabby get globalnetworkp); CURRENT=3; _tabby
words=(tabby get gnp allow-); CURRENT=4; _tabby`;
    const out = execFileSync('zsh', ['-f', '-c', script], { encoding: 'utf8', cwd: dir });
    expect(out).toBe('registered: _tabby\nglobalnetworkpolicies\nglobalnetworkpolicy\nallow-dns\nallow-web\n');
  });
});

describe('tabby completion fish', () => {
  it.skipIf(!HAS_FISH)(`loads in fish and complete -C offers the candidates${HAS_FISH ? '' : ' (skipped: fish not installed)'}`, () => {
    const script = `function tabby; env TABBY_DATASTORE='${store}' node '${MAIN}' $argv; end
tabby completion fish | source
complete -C 'tabby ap'
complete -C 'tabby get --output=y'
complete -C 'tabby describe gnp allow-d'`;
    const out = execFileSync('fish', ['-N', '-c', script], { encoding: 'utf8', cwd: dir });
    expect(out).toBe('apply\n--output=yaml\nallow-dns\n');
  });
});
