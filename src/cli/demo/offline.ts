// The scenario through the engine alone, for machines where Tabby cannot enforce (no root, no nftables): the
// examples are validated and their Kubernetes policies converted as `tabby validate` and `tabby convert` do,
// then every probe of every step is decided by the engine, with the rule that decided it.

import { loadResources, type Resource } from '../../api/index.js';
import { PolicyEngine } from '../../engine/index.js';
import { convertKubernetesPolicy, kindKeyOf, type K8sNetworkPolicy } from '../../api/index.js';
import { decidingRules, type DemoOutput } from './live.js';
import { examplePath, EXAMPLES_DIR, PROBES, STEPS } from './scenario.js';

export async function runOfflineDemo(out: DemoOutput): Promise<number> {
  const all = await loadResources([EXAMPLES_DIR]);
  if (all.issues.length > 0) {
    for (const i of all.issues) out.line(`  ${i.position ? `${i.position.file}:${i.position.line}:${i.position.col}: ` : ''}${i.message}`);
    return all.issues.length;
  }
  out.line(`Validated examples/: ${all.resources.length} resources, all valid (tabby validate -f examples)`);
  const k8s = all.resources.map((r) => r.resource).filter((r): r is K8sNetworkPolicy => kindKeyOf(r) === 'KubernetesNetworkPolicy');
  for (const np of k8s) {
    const { policy } = convertKubernetesPolicy(np);
    out.line(`  converted ${np.metadata.namespace}/${np.metadata.name} → Calico NetworkPolicy, selector ${policy.spec.selector}`);
  }

  const cluster = await loadResources([examplePath('cluster.yaml')]);
  let resources: Resource[] = cluster.resources.map((r) => r.resource);
  for (const [index, step] of STEPS.entries()) {
    if (step.files.length > 0) {
      const loaded = await loadResources(step.files.map(examplePath));
      resources = [...resources, ...loaded.resources.map((r) => r.resource)];
    }
    const engine = new PolicyEngine();
    engine.load(resources);
    out.line('');
    out.line(`Step ${index + 1}: ${step.title}`);
    for (const probe of PROBES) {
      const verdict = engine.evaluate({ from: probe.from, to: probe.to, protocol: probe.protocol, port: probe.port });
      const flow = `${probe.from} → ${probe.to} ${probe.protocol}/${probe.port}`;
      if (!verdict.ok) {
        out.line(`  ${flow}: ${verdict.issues[0]?.message}`);
        continue;
      }
      out.line(`  ${flow.padEnd(46)} ${verdict.value.verdict.padEnd(6)} ${probe.purpose}`);
      for (const rule of decidingRules(verdict.value)) out.line(`      ${rule}`);
    }
  }
  return 0;
}
