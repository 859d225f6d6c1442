// The Kubernetes e2e NetworkPolicy corpus (conformance/k8s-e2e): every policy validates and
// converts, the converted selectors parse, and — as a check on the conversion's meaning, not just its shape —
// the converted Calico policies, evaluated over the endpoints and profiles made from the corpus model, give
// every asserted cell of every reachability table. The evaluator below covers only what converted k8s
// policies use (one tier, Allow rules, §1.8 namespace rewrites, named ports); the engine has the full one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import {
  convertKubernetesPolicy,
  namespaceProfile,
  podToWorkloadEndpoint,
  validateKubernetesResource,
} from '../../src/api/kubernetes/index.js';
import { cidrContains, parseCidr, parseIp } from '../../src/api/net.js';
import type {
  EntityRule,
  K8sNetworkPolicy,
  Labels,
  Namespace,
  NetworkPolicy,
  Pod,
  Rule,
  WorkloadEndpoint,
} from '../../src/api/types.js';
import { parseSelector, prefixLabels, trySelector } from '../../src/selector/index.js';
import { corpusDir as corpusPathOf, corpusFile, corpusFiles } from '../conformance-corpus.js';

const corpusDir = corpusPathOf('k8s-e2e');

interface ModelPort { name: string; containerPort: number; protocol: 'TCP' | 'UDP' | 'SCTP' }
interface Model {
  namespaces: Array<{ name: string; labels: Labels }>;
  ports: ModelPort[];
  pods: Array<{ namespace: string; name: string; ip: string; labels: Labels }>;
}
interface Probe { protocol: string; port: number; reachability: string }
interface Step {
  policies: unknown[];
  namespaceLabels?: Record<string, Labels>;
  podLabels?: Record<string, Labels>;
  probes: Probe[];
}
interface CorpusFile { source: string; steps: Step[] }

const model = parseYaml(readFileSync(corpusFile('k8s-e2e/MODEL.yaml'), 'utf8')) as Model;
const files = corpusFiles('k8s-e2e', /^\d{3}-.*\.yaml$/);

// ---------------------------------------------------------------------------------------------------------------
// A minimal evaluator of converted k8s policies.

interface Endpoint { ref: string; ip: string; wep: WorkloadEndpoint; labels: Labels }

function endpointsFor(nsLabels: Record<string, Labels>, podLabels: Record<string, Labels>): Endpoint[] {
  const profiles = new Map(model.namespaces.map((ns) => {
    const obj: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: nsLabels[ns.name] ?? ns.labels } };
    return [ns.name, namespaceProfile(obj)];
  }));
  return model.pods.map((p) => {
    const ref = `${p.namespace}/${p.name}`;
    const pod: Pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: podLabels[ref] ?? p.labels },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', ports: model.ports }] },
      status: { podIP: p.ip },
    };
    const wep = podToWorkloadEndpoint(pod);
    if (!wep) throw new Error(`no endpoint for ${ref}`);
    // §1.7: the endpoint's own labels win over its profiles' labelsToApply.
    const labels = { ...(profiles.get(p.namespace)?.spec.labelsToApply ?? {}), ...wep.metadata.labels };
    return { ref, ip: p.ip, wep, labels };
  });
}

function inNets(ip: string, nets: string[]): boolean {
  const addr = parseIp(ip);
  return nets.some((n) => {
    const cidr = parseCidr(n);
    return addr !== undefined && cidr !== undefined && cidrContains(cidr, addr);
  });
}

/** §1.8 GetEntityRuleSelector for a rule of a namespaced policy, evaluated on the peer's labels. */
function peerMatches(entity: EntityRule, policyNs: string, peer: Endpoint): boolean {
  if (entity.nets && !inNets(peer.ip, entity.nets)) return false;
  if (entity.notNets && inNets(peer.ip, entity.notNets)) return false;
  if (entity.selector === undefined && entity.namespaceSelector === undefined) return true;
  let nsClause: string;
  if (entity.namespaceSelector !== undefined) {
    nsClause = prefixLabels(parseSelector(entity.namespaceSelector), 'pcns.').toString()
      .replaceAll('all()', 'has(projectcalico.org/namespace)');
  } else {
    nsClause = `projectcalico.org/namespace == '${policyNs}'`;
  }
  return parseSelector(`(${entity.selector ?? 'all()'}) && ${nsClause}`).matches(peer.labels);
}

function portMatches(rule: Rule, protocol: string, port: number, dst: Endpoint): boolean {
  if (rule.protocol !== undefined && rule.protocol !== protocol) return false;
  const ports = rule.destination?.ports;
  if (!ports) return true;
  return ports.some((p) => {
    if (typeof p === 'number') return p === port;
    const range = /^(\d+):(\d+)$/.exec(p);
    if (range) return Number(range[1]) <= port && port <= Number(range[2]);
    // A named port resolves on the destination endpoint, with the rule's protocol.
    return (dst.wep.spec.ports ?? []).some((np) => np.name === p && np.protocol === protocol && np.port === port);
  });
}

function allowed(policies: NetworkPolicy[], src: Endpoint, dst: Endpoint, protocol: string, port: number): boolean {
  const direction = (subject: Endpoint, type: 'Ingress' | 'Egress'): boolean => {
    const applying = policies.filter((p) => p.spec.types?.includes(type)
      && parseSelector(`(${p.spec.selector ?? 'all()'}) && projectcalico.org/namespace == '${p.metadata.namespace}'`)
        .matches(subject.labels));
    // No policy: the kns.<ns> profile allows (k8s default-allow, §3.5).
    if (applying.length === 0) return true;
    return applying.some((p) => {
      const rules = (type === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? [];
      return rules.some((r) => portMatches(r, protocol, port, dst)
        && peerMatches((type === 'Ingress' ? r.source : r.destination) ?? {}, p.metadata.namespace ?? '', type === 'Ingress' ? src : dst));
    });
  };
  return direction(src, 'Egress') && direction(dst, 'Ingress');
}

// ---------------------------------------------------------------------------------------------------------------

describe('k8s-e2e corpus', () => {
  it('is present', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  const counts = { policies: 0, cells: 0 };

  describe.each(files)('%s', (file) => {
    const corpus = parseYaml(readFileSync(join(corpusDir, file), 'utf8')) as CorpusFile;

    it('validates and converts every policy; converted selectors parse', () => {
      for (const step of corpus.steps) {
        for (const raw of step.policies) {
          const result = validateKubernetesResource(raw);
          expect(result.ok ? [] : result.issues).toEqual([]);
          if (!result.ok || result.value.kind !== 'NetworkPolicy') continue;
          const { policy, warnings } = convertKubernetesPolicy(result.value as K8sNetworkPolicy);
          expect(warnings).toEqual([]);
          const selectors = [policy.spec.selector ?? ''];
          for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])]) {
            for (const entity of [rule.source, rule.destination]) {
              if (entity?.selector !== undefined) selectors.push(entity.selector);
              if (entity?.namespaceSelector !== undefined) selectors.push(entity.namespaceSelector);
            }
          }
          for (const s of selectors) expect(trySelector(s).ok, s).toBe(true);
          counts.policies++;
        }
      }
    });

    it('gives every asserted reachability cell', () => {
      let nsLabels: Record<string, Labels> = {};
      let podLabels: Record<string, Labels> = {};
      const mismatches: string[] = [];
      corpus.steps.forEach((step, stepIndex) => {
        nsLabels = { ...nsLabels, ...step.namespaceLabels };
        podLabels = { ...podLabels, ...step.podLabels };
        const endpoints = new Map(endpointsFor(nsLabels, podLabels).map((e) => [e.ref, e]));
        const policies = step.policies.map((p) => convertKubernetesPolicy(p as K8sNetworkPolicy).policy as NetworkPolicy);
        for (const probe of step.probes) {
          const [header = '', ...rows] = probe.reachability.trim().split('\n');
          const columns = header.trim().split(/\s+/).slice(1);
          for (const row of rows) {
            const [from = '', ...cells] = row.trim().split(/\s+/);
            cells.forEach((cell, i) => {
              if (cell === '-') return;
              const to = columns[i] ?? '';
              const src = endpoints.get(from);
              const dst = endpoints.get(to);
              if (!src || !dst) throw new Error(`unknown pod in ${file}: ${from} → ${to}`);
              const got = allowed(policies, src, dst, probe.protocol, probe.port) ? '.' : 'X';
              counts.cells++;
              if (got !== cell) mismatches.push(`step ${stepIndex} ${probe.protocol}/${probe.port} ${from}→${to}: expected ${cell}, got ${got}`);
            });
          }
        }
      });
      expect(mismatches).toEqual([]);
    });
  });

  it('reports counts', () => {
    // Runs last in file order: the counts cover every file above.
    console.log(`k8s-e2e: ${files.length} files, ${counts.policies} policies validated and converted, ${counts.cells} cells checked`);
    expect(counts.policies).toBeGreaterThan(0);
  });
});
