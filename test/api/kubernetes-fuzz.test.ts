// Property tests: validation and conversion of k8s policies never throw, whatever the input; and a policy the
// API server would accept converts without dropping a rule, into selectors that parse.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  convertKubernetesPolicy,
  podToWorkloadEndpoint,
  validateKubernetesResource,
} from '../../src/api/kubernetes/index.js';
import type { K8sNetworkPolicy, Pod } from '../../src/api/types.js';
import { trySelector } from '../../src/selector/index.js';

const labelKey = fc.constantFrom('app', 'tier', 'kubernetes.io/metadata.name', 'example.com/role', 'a.b_c-d', 'Bad Key',
  'x/y/z', '', '-lead');
const labelValue = fc.constantFrom('web', 'db', '', 'v1.2_3', 'x'.repeat(64), 'has space', "it's");
const matchLabels = fc.dictionary(labelKey, labelValue, { maxKeys: 3 });
const expression = fc.record({
  key: labelKey,
  operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist', 'in', 'Equals'),
  values: fc.option(fc.array(labelValue, { maxLength: 3 }), { nil: undefined }),
}, { requiredKeys: ['key', 'operator'] });
const labelSelector = fc.record({
  matchLabels,
  matchExpressions: fc.array(expression, { maxLength: 2 }),
}, { requiredKeys: [] });

const cidr = fc.constantFrom('10.0.0.0/8', '10.1.0.1/4', '192.168.1.7/32', '2001:db8::/32', 'fd00::1/64', '0.0.0.0/0',
  '10.0.0.0/33', 'not-a-cidr', '010.0.0.0/8', '::/0');
const peer = fc.oneof(
  fc.record({ podSelector: labelSelector, namespaceSelector: labelSelector }, { requiredKeys: [] }),
  fc.record({ ipBlock: fc.record({ cidr, except: fc.array(cidr, { maxLength: 2 }) }, { requiredKeys: ['cidr'] }) }),
);
const port = fc.record({
  protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ICMP', 'tcp'),
  port: fc.oneof(fc.integer({ min: -1, max: 70000 }), fc.constantFrom('http', 'serve-80-tcp', '80', '-50:-1', 'a--b', '')),
  endPort: fc.integer({ min: 0, max: 70000 }),
}, { requiredKeys: [] });
const ports = fc.array(port, { maxLength: 4 });
const spec = fc.record({
  podSelector: labelSelector,
  ingress: fc.array(fc.record({ from: fc.array(peer, { maxLength: 3 }), ports }, { requiredKeys: [] }), { maxLength: 3 }),
  egress: fc.array(fc.record({ to: fc.array(peer, { maxLength: 3 }), ports }, { requiredKeys: [] }), { maxLength: 3 }),
  policyTypes: fc.array(fc.constantFrom('Ingress', 'Egress', 'Sideways'), { maxLength: 3 }),
}, { requiredKeys: [] });
const policy = spec.map((s): K8sNetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'x' }, spec: s as never,
}));

function selectorsOf(p: { spec: { selector?: string; ingress?: unknown[]; egress?: unknown[] } }): string[] {
  const out = [p.spec.selector ?? ''];
  for (const rule of [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])] as Array<Record<string, Record<string, string>>>) {
    for (const entity of [rule.source, rule.destination]) {
      if (entity?.selector !== undefined) out.push(entity.selector);
      if (entity?.namespaceSelector !== undefined) out.push(entity.namespaceSelector);
    }
  }
  return out;
}

describe('k8s policies under random input', () => {
  it('never throw; when the API server would accept them, convert whole into parseable selectors', () => {
    let accepted = 0;
    fc.assert(fc.property(policy, (np) => {
      const result = validateKubernetesResource(np);
      const { policy: converted, warnings } = convertKubernetesPolicy(np);
      if (result.ok) {
        accepted++;
        expect(warnings.filter((w) => w.includes('rule dropped'))).toEqual([]);
        for (const s of selectorsOf(converted)) expect(trySelector(s).ok, s).toBe(true);
      }
    }), { numRuns: 2000 });
    // The generator must reach the accepting side often enough for the property to mean something.
    expect(accepted).toBeGreaterThan(50);
  });

  it('never throw on arbitrary JSON in any field', () => {
    fc.assert(fc.property(fc.anything(), fc.anything(), (spec, meta) => {
      const np = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta, spec };
      validateKubernetesResource(np);
      convertKubernetesPolicy(np as K8sNetworkPolicy);
      convertKubernetesPolicy({ ...np, kind: 'StagedKubernetesNetworkPolicy' } as unknown as K8sNetworkPolicy);
      validateKubernetesResource({ apiVersion: 'v1', kind: 'Pod', metadata: meta, spec, status: spec });
      validateKubernetesResource(spec);
    }), { numRuns: 2000 });
  });

  it('never throw on arbitrary JSON in a rule', () => {
    const rule = fc.dictionary(fc.constantFrom('from', 'to', 'ports'), fc.anything());
    fc.assert(fc.property(fc.array(rule, { maxLength: 3 }), (rules) => {
      const np = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' },
        spec: { podSelector: {}, ingress: rules, egress: rules } } as unknown as K8sNetworkPolicy;
      validateKubernetesResource(np);
      convertKubernetesPolicy(np);
    }), { numRuns: 1000 });
  });

  it('validated pods convert to endpoints without throwing', () => {
    const ip = fc.constantFrom('10.0.0.1', 'fd00::1', '10.0.0.256', '', '1.2.3.4/24');
    const pod = fc.record({
      spec: fc.record({
        nodeName: fc.constantFrom('node-1', ''),
        hostNetwork: fc.boolean(),
        serviceAccountName: fc.constantFrom('default', 'sa-1', ''),
        containers: fc.array(fc.record({ name: fc.constantFrom('a', 'b'), ports: fc.array(fc.record({
          name: fc.constantFrom('http', 'dns', ''), containerPort: fc.integer({ min: 0, max: 70000 }),
          protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'), hostPort: fc.integer({ min: 0, max: 9000 }),
        }, { requiredKeys: ['containerPort'] }), { maxLength: 3 }) }), { maxLength: 2 }),
      }, { requiredKeys: [] }),
      status: fc.record({ podIP: ip, podIPs: fc.array(fc.record({ ip }), { maxLength: 2 }), phase: fc.constantFrom('Running', 'Succeeded') },
        { requiredKeys: [] }),
    });
    fc.assert(fc.property(pod, (p) => {
      const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x' }, ...p };
      const result = validateKubernetesResource(obj);
      const wep = podToWorkloadEndpoint(obj as Pod);
      if (result.ok && wep) expect(wep.spec.ipNetworks?.length).toBeGreaterThan(0);
    }), { numRuns: 1000 });
  });
});
