// Manifests → a loaded PolicyEngine, for the commands that analyse a cluster's policy (matrix, policies-for,
// select). Input is read exactly as `tabby validate` reads it; any problem is printed the way validate prints
// it (one `file:line:col: …` line each, on stderr so stdout stays parseable) and the command fails with exit 1:
// an analysis of the objects that happen to be valid would silently describe another cluster.

import { loadResources } from '../api/index.js';
import { PolicyEngine } from '../engine/index.js';
import { CliError, write, type CommandIO } from './command.js';
import { issueLines, sortIssues } from './output/issues.js';
import { noResourcesMessage } from './commands/validate.js';

export async function loadEngine(paths: readonly string[], io: CommandIO, verb: string): Promise<PolicyEngine> {
  const loaded = await loadResources(paths, { stdin: io.stdin, cwd: io.cwd });
  if (loaded.issues.length > 0) {
    const issues = sortIssues(loaded.issues);
    write(io.stderr, issueLines(issues));
    const n = issues.length;
    throw new CliError(`${n} problem${n === 1 ? '' : 's'} in the manifests; fix ${n === 1 ? 'it' : 'them'} and run ` +
      `tabby ${verb} again (tabby validate -f ${paths.join(' -f ')} lists the same)`);
  }
  if (loaded.resources.length === 0) throw new CliError(noResourcesMessage(paths));
  const engine = new PolicyEngine();
  engine.load(loaded.resources.map((r) => r.resource));
  // What the engine reports now is about combinations (a pod's ServiceAccount missing from the manifests, a
  // conversion caveat): the analysis stands, so these are notes and warnings, not failures.
  for (const i of engine.issues()) {
    const prefix = i.resource && !i.message.startsWith(i.resource) ? `${i.resource}: ` : '';
    write(io.stderr, `${i.code === 'engine.implied-resource' ? 'note' : 'warning'}: ${prefix}${i.message}`);
  }
  return engine;
}
