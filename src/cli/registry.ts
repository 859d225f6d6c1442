// Every command, declared in one place and imported lazily so `tabby version` does not load the engine.
// Add a command by adding a line here and a module under commands/ that exports `command: CommandSpec`.

import type { CommandSpec } from './command.js';

type Loader = () => Promise<{ command: CommandSpec }>;

export const COMMANDS: Record<string, { summary: string; load: Loader }> = {
  version: { summary: 'Print the Tabby version', load: () => import('./commands/version.js') },
  demo: { summary: 'Run the example scenario with real enforcement, every probe explained', load: () => import('./commands/demo.js') },
  validate: { summary: 'Check manifests and report every problem with file:line:col', load: () => import('./commands/validate.js') },
  convert: { summary: 'Convert Kubernetes NetworkPolicies to Calico v3 policies', load: () => import('./commands/convert.js') },
  explain: { summary: 'Explain how a flow is decided, tier by tier, with the verdict', load: () => import('./commands/explain.js') },
  test: { summary: 'Run policy tests: flows with the verdicts they must get', load: () => import('./commands/test.js') },
  matrix: { summary: 'Reachability matrix: which endpoints can connect to which', load: () => import('./commands/matrix.js') },
  'policies-for': { summary: 'The tiers and policies that apply to an endpoint, in order', load: () => import('./commands/policies-for.js') },
  select: { summary: 'The endpoints and network sets a selector matches', load: () => import('./commands/select.js') },
  apply: { summary: 'Create or update resources from manifests in the datastore', load: () => import('./commands/apply.js') },
  create: { summary: 'Create resources from manifests (fails if they exist)', load: () => import('./commands/create.js') },
  replace: { summary: 'Replace existing resources with manifests', load: () => import('./commands/replace.js') },
  delete: { summary: 'Delete resources by manifest or by kind and name', load: () => import('./commands/delete.js') },
  get: { summary: 'List or show resources in the datastore', load: () => import('./commands/get.js') },
  patch: { summary: 'Change fields of a stored resource with a JSON merge patch', load: () => import('./commands/patch.js') },
  label: { summary: 'Set or remove labels of a stored resource', load: () => import('./commands/label.js') },
  node: { summary: 'Create, delete or list nodes (network namespaces acting as hosts)', load: () => import('./commands/node.js') },
  workload: { summary: 'Create, delete, list workloads on nodes, or run a command inside one', load: () => import('./commands/workload.js') },
  datastore: { summary: 'Check the integrity of the datastore, or repair a damaged file store', load: () => import('./commands/datastore.js') },
  agent: { summary: "Enforce policy on a node with nftables; show an agent's status or live rules", load: () => import('./commands/agent.js') },
};
