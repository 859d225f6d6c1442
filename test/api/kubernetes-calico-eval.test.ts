// The Kubernetes objects in the calico-eval corpus (conformance/calico-eval): Namespaces, Pods and
// ServiceAccounts validate and become the endpoints and profiles of §3.5/§3.9; StagedKubernetesNetworkPolicies
// validate (their k8s spec) and convert without dropping rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import {
  convertKubernetesPolicy,
  namespaceProfile,
  podToWorkloadEndpoint,
  serviceAccountProfile,
  validateK8sNetworkPolicySpec,
  validateKubernetesResource,
} from '../../src/api/kubernetes/index.js';
import type { Namespace, Pod, ServiceAccount, StagedKubernetesNetworkPolicy } from '../../src/api/types.js';
import { trySelector } from '../../src/selector/index.js';
import { corpusDir as corpusPathOf, corpusFiles } from '../conformance-corpus.js';

const corpusDir = corpusPathOf('calico-eval');
const files = corpusFiles('calico-eval', /\.yaml$/);

interface Scenario { resources?: Array<Record<string, unknown>> }

function scenarios(file: string): Scenario[] {
  return parseAllDocuments(readFileSync(join(corpusDir, file), 'utf8')).map((d) => d.toJS() as Scenario);
}

describe('calico-eval corpus: Kubernetes objects', () => {
  const counts = { namespaces: 0, serviceAccounts: 0, pods: 0, endpoints: 0, staged: 0 };

  it.each(files)('%s', (file) => {
    for (const scenario of scenarios(file)) {
      for (const resource of scenario.resources ?? []) {
        const ref = `${String(resource.kind)} ${JSON.stringify((resource.metadata as { name?: string } | undefined)?.name)}`;
        if (resource.apiVersion === 'v1') {
          const result = validateKubernetesResource(resource);
          expect(result.ok ? [] : result.issues, ref).toEqual([]);
          if (!result.ok) continue;
          const value = result.value;
          if (value.kind === 'Namespace') {
            counts.namespaces++;
            const profile = namespaceProfile(value as Namespace);
            expect(profile.spec.labelsToApply?.['pcns.projectcalico.org/name']).toBe(value.metadata.name);
          } else if (value.kind === 'ServiceAccount') {
            counts.serviceAccounts++;
            expect(serviceAccountProfile(value as ServiceAccount).metadata.name).toMatch(/^ksa\./);
          } else if (value.kind === 'Pod') {
            counts.pods++;
            const pod = value as Pod;
            const wep = podToWorkloadEndpoint(pod);
            if (pod.spec?.hostNetwork === true) {
              expect(wep, ref).toBeUndefined();
            } else {
              expect(wep, ref).toBeDefined();
              counts.endpoints++;
              expect(wep?.metadata.labels?.['projectcalico.org/namespace']).toBe(pod.metadata.namespace ?? 'default');
            }
          }
        } else if (resource.kind === 'StagedKubernetesNetworkPolicy') {
          counts.staged++;
          expect(validateK8sNetworkPolicySpec(resource.spec, ['spec']), ref).toEqual([]);
          const { policy, warnings } = convertKubernetesPolicy(resource as unknown as StagedKubernetesNetworkPolicy);
          expect(warnings, ref).toEqual([]);
          expect(policy.kind).toBe('StagedNetworkPolicy');
          expect(trySelector(policy.spec.selector ?? '').ok).toBe(true);
        }
      }
    }
  });

  it('found Kubernetes objects to check', () => {
    console.log(`calico-eval: ${counts.namespaces} namespaces, ${counts.serviceAccounts} service accounts, ` +
      `${counts.pods} pods (${counts.endpoints} endpoints), ${counts.staged} staged k8s policies checked`);
    expect(counts.pods).toBeGreaterThan(0);
  });
});
