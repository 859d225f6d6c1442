// `tabby convert`: Kubernetes NetworkPolicies (and StagedKubernetesNetworkPolicies) → the Calico v3 policies
// Calico derives from them (calico-semantics.md §4.1); every other resource passes through, validated and
// defaulted. Output goes to stdout only when the whole input is valid, so `tabby convert ... > out.yaml` never
// leaves a partial file; conversion warnings (dropped rules) go to stderr.

import {
  convertKubernetesPolicy,
  formatIssue,
  kindKeyOf,
  loadResources,
  resourceLabel,
  validateResource,
  type Issue,
  type K8sNetworkPolicy,
  type KubernetesPolicyNaming,
  type LoadedResource,
  type Resource,
} from '../../api/index.js';
import { stringOption, UsageError, write, type CommandSpec } from '../command.js';
import { issueLines, sortIssues } from '../output/issues.js';
import { renderManifests } from '../output/manifests.js';
import { chooseFormat, outputOption, print, printerSet } from '../output/printers.js';

const PRINTERS = printerSet<Resource[], 'yaml' | 'json'>('yaml', {
  yaml: (out, io) => write(io.stdout, renderManifests(out, 'yaml')),
  json: (out, io) => write(io.stdout, renderManifests(out, 'json')),
});
import { FILENAME_OPTION, manifestPaths, noResourcesMessage } from './validate.js';

const NAMINGS: readonly KubernetesPolicyNaming[] = ['v3.32', 'knp.default'];

export const command: CommandSpec = {
  name: 'convert',
  summary: 'Convert Kubernetes NetworkPolicies to the Calico v3 policies Calico enforces for them',
  usage: 'tabby convert -f PATH... [-o yaml|json] [--naming v3.32|knp.default]',
  examples: [
    'tabby convert -f netpol.yaml',
    'kubectl get networkpolicies -A -o yaml | tabby convert -f - -o json',
    'tabby convert -f manifests/ --naming knp.default   # names as Calico v3.31 and earlier wrote them',
  ],
  options: {
    filename: FILENAME_OPTION,
    output: outputOption(PRINTERS),
    naming: {
      type: 'string', valueName: 'SCHEME',
      description: 'Converted policy names: v3.32 (keep the k8s name, default) or knp.default (knp.default.<name>)',
    },
  },
  positionals: true,
  async run(args, io) {
    const paths = manifestPaths(args, 'convert');
    const format = chooseFormat(args, PRINTERS);
    const naming = stringOption(args, 'naming') ?? 'v3.32';
    if (!(NAMINGS as readonly string[]).includes(naming)) {
      throw new UsageError(`unsupported naming '${naming}': allowed are ${NAMINGS.join(', ')}`);
    }
    const result = await loadResources(paths, { stdin: io.stdin, cwd: io.cwd });
    if (result.issues.length > 0) {
      write(io.stderr, issueLines(sortIssues(result.issues)));
      write(io.stderr, `nothing converted: fix the ${result.issues.length} problem(s) above (tabby validate -f ... lists them)`);
      return 1;
    }
    if (result.resources.length === 0) {
      write(io.stderr, noResourcesMessage(paths));
      return 1;
    }
    const out: Resource[] = [];
    const problems: Issue[] = [];
    const warnings: string[] = [];
    let converted = 0;
    for (const loaded of result.resources) {
      const conversion = convertLoaded(loaded, naming as KubernetesPolicyNaming);
      if (conversion.resource) out.push(conversion.resource);
      problems.push(...conversion.problems);
      warnings.push(...conversion.warnings);
      if (conversion.converted) converted++;
    }
    for (const warning of warnings) write(io.stderr, warning);
    if (problems.length > 0) {
      write(io.stderr, issueLines(problems));
      write(io.stderr, `nothing converted: ${problems.length} converted polic${problems.length === 1 ? 'y is' : 'ies are'} not valid`);
      return 1;
    }
    print(PRINTERS, format, out, io);
    const passed = out.length - converted;
    write(io.stderr, `converted ${converted} Kubernetes polic${converted === 1 ? 'y' : 'ies'}` +
      (passed > 0 ? `; ${passed} other resource${passed === 1 ? '' : 's'} passed through` : ''));
    return 0;
  },
};

interface Conversion {
  resource?: Resource;
  converted: boolean;
  /** Formatted like issues: `file:line:col: Kind ns/name: warning: ...`. */
  warnings: string[];
  /** The converted policy failed validation (e.g. a knp.default. name over 253 characters). */
  problems: Issue[];
}

function convertLoaded(loaded: LoadedResource, naming: KubernetesPolicyNaming): Conversion {
  const r = loaded.resource;
  const key = kindKeyOf(r);
  if (key !== 'KubernetesNetworkPolicy' && key !== 'StagedKubernetesNetworkPolicy') {
    return { resource: r, converted: false, warnings: [], problems: [] };
  }
  const { policy, warnings } = r.kind === 'StagedKubernetesNetworkPolicy'
    ? convertKubernetesPolicy(r, { naming })
    : convertKubernetesPolicy(r as K8sNetworkPolicy, { naming });
  const label = resourceLabel(r);
  const at = (message: string, code: string): Issue => ({
    code, path: [], position: loaded.source.position, message, ...(label === undefined ? {} : { resource: label }),
  });
  // The output must be what `tabby apply` accepts and stores: validated and defaulted like pass-through resources.
  const checked = validateResource(policy);
  return {
    ...(checked.ok ? { resource: checked.value } : {}),
    converted: true,
    warnings: warnings.map((message) => formatIssue(at(`warning: ${message}`, 'convert.warning'))),
    problems: checked.ok ? [] : checked.issues.map((i) => at(
      `the converted ${policy.kind} ${policy.metadata.name} is not valid: ${formatIssue({ ...i, resource: undefined })}`,
      i.code,
    )),
  };
}
