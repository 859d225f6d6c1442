// Names that become file names and network namespace names: a node's name (its namespace, its agent's status
// files), a workload's namespace and name (its namespace, its veth). They come from the command line and from
// stored objects, so they are checked here — one rule per kind of name, in one place — before anything builds a
// path or a namespace name from them (`--node 'x/../../tmp/escaped'` must never reach a path).
//
// The rules are the ones the names already obey in Calico and Kubernetes:
// - node: Calico's Node resource name, a DNS-1123 subdomain of at most 253 characters (libcalico-go's validator
//   checks a Node's name with the resource-name rule; kubelet's node names are the same subdomains). `rlt..a`
//   fails: every dot-separated label must be non-empty.
// - workload namespace: a Kubernetes Namespace name, a DNS-1123 label (at most 63, no dots).
// - workload name: a pod name, a DNS-1123 subdomain.
// Messages quote the name JSON-style, so a name holding a newline or an escape sequence cannot forge output.

import type { Issue, PathSegment } from './issues.js';
import { isDns1123Label, isDns1123Subdomain } from './kubernetes/names.js';

function problem(code: string, path: PathSegment[], what: string, value: string, problems: string[]): Issue {
  return { code, path, message: `invalid ${what} ${JSON.stringify(value)}: ${problems.join('; ')}`, value };
}

/** Problems of a node name under Calico's node-name rule (DNS-1123 subdomain, ≤ 253); empty when valid. */
export function nodeNameProblems(name: string): string[] {
  if (name === '') return ['must be non-empty'];
  return isDns1123Subdomain(name);
}

/** An issue (code `name.node`) when `name` is not a valid node name. */
export function checkNodeName(name: string, path: PathSegment[] = ['node']): Issue | undefined {
  const problems = nodeNameProblems(name);
  return problems.length > 0 ? problem('name.node', path, 'node name', name, problems) : undefined;
}

/** Issues (codes `name.namespace`, `name.workload`) of a workload's Kubernetes namespace and pod name. */
export function checkWorkloadName(namespace: string, name: string): Issue[] {
  const issues: Issue[] = [];
  const nsProblems = namespace === '' ? ['must be non-empty'] : isDns1123Label(namespace);
  if (nsProblems.length > 0) issues.push(problem('name.namespace', ['namespace'], 'namespace', namespace, nsProblems));
  const nameProblems = name === '' ? ['must be non-empty'] : isDns1123Subdomain(name);
  if (nameProblems.length > 0) issues.push(problem('name.workload', ['name'], 'workload name', name, nameProblems));
  return issues;
}
