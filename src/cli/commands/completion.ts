// `tabby completion bash|zsh|fish`: a shell completion script. As kubectl's (cobra's) scripts do, the script is
// a thin shim that asks tabby itself for the candidates — `tabby completion __complete -- WORD... CURRENT` —
// so commands, flags per command, kinds, -o formats and the names of stored objects come from the same command
// specs and datastore the commands use, and cannot drift from them. The answer is one candidate per line, then
// a directive line: `:files` (complete file names: -f takes paths) or `:none`.

import { Writable } from 'node:stream';

import { KINDS, kindFromCliName } from '../../api/index.js';
import { UsageError, write, type CommandIO, type CommandSpec, type OptionSpec, type ParsedCommandArgs } from '../command.js';
import { COMMANDS, loadCommand } from '../registry.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** The commands whose first argument is a resource kind and whose second is an object of it. */
const KIND_COMMANDS = new Set(['get', 'describe', 'delete', 'label', 'patch']);

/**
 * Subcommands written in these commands' usage lines (they parse them as their first positional). A test checks
 * that each is in its command's usage, so a renamed subcommand fails there rather than here silently.
 */
export const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  agent: ['run', 'status', 'rules'],
  node: ['create', 'delete', 'adopt', 'list'],
  workload: ['create', 'get', 'delete', 'exec', 'adopt'],
  datastore: ['check', 'repair'],
  completion: SHELLS,
};

/** At most this many stored names are offered; a completion list longer than that helps nobody. */
const MAX_NAMES = 500;

export const command: CommandSpec = {
  name: 'completion',
  summary: 'Print a shell completion script (bash, zsh or fish): commands, flags, kinds, formats and stored names',
  usage: 'tabby completion bash|zsh|fish',
  examples: [
    'source <(tabby completion bash)                        # bash, this shell',
    'tabby completion bash > /etc/bash_completion.d/tabby   # bash, every shell',
    'tabby completion zsh > "${fpath[1]}/_tabby"             # zsh (compinit loads it)',
    'tabby completion fish > ~/.config/fish/completions/tabby.fish',
  ],
  options: {},
  positionals: true,
  async run(args, io) {
    const [what, ...words] = args.positionals;
    if (what === '__complete') return complete(words, io);
    if (what === undefined) throw new UsageError('which shell? tabby completion bash, zsh or fish');
    if (!(SHELLS as readonly string[]).includes(what)) throw new UsageError(`unsupported shell '${what}': bash, zsh or fish`);
    if (words.length > 0) throw new UsageError(`unexpected argument '${words[0]}' (see 'tabby completion --help')`);
    write(io.stdout, SCRIPTS[what as Shell]);
    return 0;
  },
};

// -------------------------------------------------------------------------------------------------------------
// Candidates

interface Answer {
  candidates: string[];
  files: boolean;
}

async function complete(words: string[], io: CommandIO): Promise<number> {
  const answer = await candidatesFor(words.length === 0 ? [''] : words, io);
  const lines = [...answer.candidates, answer.files ? ':files' : ':none'];
  write(io.stdout, lines.join('\n'));
  return 0;
}

function byPrefix(current: string, names: Iterable<string>): string[] {
  return [...new Set([...names].filter((n) => n.startsWith(current)))].sort();
}

function optionByFlag(spec: CommandSpec, flag: string): [string, OptionSpec] | undefined {
  if (flag.startsWith('--')) {
    const name = flag.slice(2);
    return Object.hasOwn(spec.options, name) ? [name, spec.options[name]!] : undefined;
  }
  const short = flag.slice(1);
  return Object.entries(spec.options).find(([, o]) => o.short === short);
}

/** `-o`'s formats: declared by the option, else read from the command's usage (`-o text|json`). */
function valuesOf(spec: CommandSpec, name: string, option: OptionSpec): string[] {
  if (option.values) return [...option.values];
  if (name === 'output') {
    const m = /-o ([a-z|]+)/.exec(spec.usage);
    if (m) return m[1]!.split('|');
  }
  return [];
}

/** What the user wrote before the current word: positionals, and the string flags' values (for -n, --datastore). */
function wordsBefore(spec: CommandSpec, words: readonly string[]): { positionals: string[]; values: Record<string, string> } {
  const positionals: string[] = [];
  const values: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      positionals.push(...words.slice(i + 1));
      break;
    }
    if (w.startsWith('-') && w !== '-') {
      const eq = w.indexOf('=');
      const found = optionByFlag(spec, eq === -1 ? w : w.slice(0, eq));
      if (found && found[1].type === 'string') {
        if (eq !== -1) values[found[0]] = w.slice(eq + 1);
        else if (i + 1 < words.length) values[found[0]] = words[++i]!;
      }
      continue;
    }
    positionals.push(w);
  }
  return { positionals, values };
}

/** Names of stored objects: the datastore the words name (--datastore) or the settings' one; none on any failure. */
async function storedNames(kindText: string, values: Record<string, string>, io: CommandIO, prefix: string): Promise<string[]> {
  const info = kindFromCliName(kindText);
  if (!info) return [];
  const args: ParsedCommandArgs = { values: values.datastore !== undefined ? { datastore: values.datastore } : {}, positionals: [] };
  // A completion prints nothing but candidates: the store's notes and warnings are dropped.
  const quiet: CommandIO = { ...io, stderr: new Writable({ write: (_c, _e, done) => done() }) };
  try {
    // Loaded only here: completing a command or a flag does not load the datastore.
    const { withStore } = await import('../datastore-access.js');
    return await withStore(args, quiet, async ({ store }) => {
      const namespace = info.namespaced ? values.namespace ?? 'default' : undefined;
      const { items } = await store.list({ kind: info.key, ...(namespace !== undefined && { namespace }) });
      return byPrefix(prefix, items.slice(0, MAX_NAMES).map((r) => r.metadata.name));
    });
  } catch {
    return [];
  }
}

export async function candidatesFor(words: readonly string[], io: CommandIO): Promise<Answer> {
  const current = words[words.length - 1]!;
  const before = words.slice(0, -1);
  const none = (candidates: string[]): Answer => ({ candidates, files: false });
  const commandNames = Object.keys(COMMANDS);
  if (before.length === 0) return none(byPrefix(current, commandNames));
  const spec = await loadCommand(before[0]!);
  if (!spec) return none([]);
  const rest = before.slice(1);

  // A flag's value: after `--flag` (a string flag), or after `--flag=` in the current word.
  const eq = current.startsWith('--') ? current.indexOf('=') : -1;
  const valueOf = eq !== -1 ? optionByFlag(spec, current.slice(0, eq)) : (() => {
    const prev = rest[rest.length - 1];
    if (prev === undefined || !prev.startsWith('-') || prev.includes('=')) return undefined;
    const found = optionByFlag(spec, prev);
    return found && found[1].type === 'string' ? found : undefined;
  })();
  if (valueOf) {
    const [name, option] = valueOf;
    const typed = eq !== -1 ? current.slice(eq + 1) : current;
    const lead = eq !== -1 ? current.slice(0, eq + 1) : '';
    if (name === 'filename' || name === 'include-root' || name === 'state-dir') return { candidates: [], files: true };
    let values = valuesOf(spec, name, option);
    if (name === 'namespace') values = await storedNames('namespace', wordsBefore(spec, rest).values, io, typed);
    return none(byPrefix(typed, values).map((v) => lead + v));
  }

  if (current.startsWith('-')) {
    const flags = [...Object.keys(spec.options).map((n) => `--${n}`), '--help'];
    return none(byPrefix(current, flags));
  }

  const { positionals, values } = wordsBefore(spec, rest);
  if (spec.name === 'help') return none(positionals.length === 0 ? byPrefix(current, commandNames) : []);
  if (KIND_COMMANDS.has(spec.name)) {
    if (positionals.length === 0) {
      // Every name a kind answers to is completed, but with nothing typed only each kind's first name is offered.
      const names = current === '' ? KINDS.map((k) => k.cliNames[0]!) : KINDS.flatMap((k) => k.cliNames);
      return none(byPrefix(current, names));
    }
    if (positionals[0]!.includes(',')) return none([]);
    return none(await storedNames(positionals[0]!, values, io, current));
  }
  const subcommands = SUBCOMMANDS[spec.name];
  if (subcommands && positionals.length === 0) return none(byPrefix(current, subcommands));
  // validate, convert, test, apply…: their arguments are files.
  return { candidates: [], files: spec.options.filename !== undefined || spec.name === 'test' };
}

// -------------------------------------------------------------------------------------------------------------
// Scripts: each asks `tabby completion __complete -- WORDS...` with the words up to the cursor.

const BASH = `# bash completion for tabby; load with: source <(tabby completion bash)
_tabby_complete() {
    local i w words=() out directive
    # Words up to the cursor, with "--flag" "=" "value" (bash splits at '=') glued back into one word.
    for (( i = 1; i <= COMP_CWORD; i++ )); do
        w="\${COMP_WORDS[i]}"
        if (( \${#words[@]} > 0 )) && [[ "$w" == "=" || "\${words[\${#words[@]}-1]}" == *= ]]; then
            words[\${#words[@]}-1]+="$w"
        else
            words+=("$w")
        fi
    done
    (( \${#words[@]} == 0 )) && words=("")
    out=$("\${COMP_WORDS[0]}" completion __complete -- "\${words[@]}" 2>/dev/null) || return 0
    directive="\${out##*$'\\n'}"
    [[ "$out" == *$'\\n'* ]] && out="\${out%$'\\n'*}" || out=""
    local cur="\${words[\${#words[@]}-1]}"
    COMPREPLY=()
    if [[ "$directive" == ":files" ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
    fi
    local strip=""
    # bash completes the part after the last '=' (COMP_WORDBREAKS): offer that part of "--output=json".
    [[ "$cur" == *=* && "$COMP_WORDBREAKS" == *=* ]] && strip="\${cur%=*}="
    while IFS= read -r w; do
        [[ -n "$w" ]] && COMPREPLY+=("\${w#"$strip"}")
    done <<< "$out"
}
complete -o default -F _tabby_complete tabby
`;

const ZSH = `#compdef tabby
# zsh completion for tabby; load with: source <(tabby completion zsh), or save as _tabby in $fpath
_tabby() {
    local -a lines candidates
    lines=("\${(@f)$("\${words[1]}" completion __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
    (( \${#lines} == 0 )) && return 1
    if [[ "\${lines[-1]}" == ":files" ]]; then
        _files
        return
    fi
    candidates=("\${(@)lines[1,-2]}")
    compadd -Q -- "\${(@)candidates}"
}
if (( $+functions[compdef] )); then
    compdef _tabby tabby
else
    autoload -U compinit && compinit && compdef _tabby tabby
fi
`;

const FISH = `# fish completion for tabby; load with: tabby completion fish | source
function __tabby_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l out (tabby completion __complete -- $words (commandline -ct) 2>/dev/null)
    test (count $out) -eq 0; and return
    if test "$out[-1]" = ":files"
        __fish_complete_path (commandline -ct)
        return
    end
    set -e out[-1]
    test (count $out) -gt 0; and printf '%s\\n' $out
end
complete -c tabby -f -a '(__tabby_complete)'
`;

const SCRIPTS: Record<Shell, string> = { bash: BASH, zsh: ZSH, fish: FISH };

