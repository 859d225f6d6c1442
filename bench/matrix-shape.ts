// The shape an attack session fed `tabby matrix` (issue 10 §5): 2,000 pods and 40 GlobalNetworkPolicies of
// 1,500 rules each, every object valid, ~14 MB of YAML. Every rule reads something different — a label value, a
// /32 or /24 of the pod range, a port — so the policies tell almost every pod apart: the worst case for a matrix
// that memoises verdicts per address class.
//
// Deterministic (seeded): the same resources on every run. `MATRIX_SHAPE_DIR=/tmp/shape npx vite-node
// bench/matrix-shape.ts` writes it as YAML files (`tabby matrix -f /tmp/shape` is the report's command).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Resource } from '../src/api/index.js';
import { prng } from './support.js';

export interface MatrixShape {
  pods: number;
  policies: number;
  rulesPerPolicy: number;
}

export const HOSTILE_MATRIX_SHAPE: MatrixShape = { pods: 2000, policies: 40, rulesPerPolicy: 1500 };

const V3 = 'projectcalico.org/v3';
const NAMESPACES = 20;
const APPS = 50;

const podIp = (i: number): string => `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`;

export function matrixShape(shape: MatrixShape = HOSTILE_MATRIX_SHAPE, seed = 11): Resource[] {
  const rand = prng(seed);
  const pick = (n: number): number => Math.floor(rand() * n);
  const out: Resource[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}`, labels: { team: `t${n % 4}` } } } as Resource);
  }
  for (let i = 0; i < shape.pods; i++) {
    out.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `pod-${i}`, namespace: `ns-${i % NAMESPACES}`, labels: { app: `app-${i % APPS}`, idx: `p${i}`, zone: `z${i % 3}` } },
      spec: { nodeName: `node-${i % 20}`, containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8000 + (i % 7) }] }] },
      status: { phase: 'Running', podIP: podIp(i) },
    } as Resource);
  }
  for (let p = 0; p < shape.policies; p++) {
    const ingress: Record<string, unknown>[] = [];
    const egress: Record<string, unknown>[] = [];
    for (let r = 0; r < shape.rulesPerPolicy; r++) {
      const action = r % 5 === 0 ? 'Deny' : 'Allow';
      // Three rules in ten name the port the bench probes (8080), one of them a Deny, so the matrix has allowed and
      // denied cells.
      const port = r % 10 === 3 || r % 10 === 5 || r % 10 === 6 ? 8080 : 1000 + pick(6000);
      const ports = r % 4 === 0 ? [`${port}:${port + pick(50)}`] : [port];
      let peer: Record<string, unknown>;
      switch (r % 4) {
        case 0: peer = { selector: `app == 'app-${pick(APPS)}' && zone != 'z${pick(3)}'` }; break;
        case 1: peer = { nets: [`${podIp(pick(shape.pods))}/32`, `${podIp(pick(shape.pods))}/32`] }; break;
        case 2: peer = { selector: `idx == 'p${pick(shape.pods)}'`, namespaceSelector: `team == 't${pick(4)}'` }; break;
        default: peer = { nets: [`10.2.${pick(8)}.0/24`], notNets: [`${podIp(pick(shape.pods))}/32`] };
      }
      const metadata = { annotations: { 'rule-id': `gnp-${p}-r${r}` } };
      if (r % 2 === 0) ingress.push({ metadata, action, protocol: 'TCP', source: peer, destination: { ports } });
      else egress.push({ metadata, action, protocol: 'TCP', destination: { ...peer, ports } });
    }
    out.push({
      apiVersion: V3, kind: 'GlobalNetworkPolicy', metadata: { name: `gnp-${p}` },
      spec: { order: p * 10, selector: p % 4 === 0 ? 'all()' : `zone == 'z${p % 3}'`, types: ['Ingress', 'Egress'], ingress, egress },
    } as unknown as Resource);
  }
  return out;
}

/** The shape as YAML files, as a user would hand them to `tabby matrix -f DIR`: one per policy, one for the rest. */
export function writeMatrixShape(dir: string, resources: readonly Resource[]): void {
  mkdirSync(dir, { recursive: true });
  const yaml = (rs: readonly Resource[]): string => rs.map((r) => stringify(r, { lineWidth: 0 })).join('---\n');
  const policies = resources.filter((r) => r.kind === 'GlobalNetworkPolicy');
  writeFileSync(join(dir, 'cluster.yaml'), yaml(resources.filter((r) => r.kind !== 'GlobalNetworkPolicy')));
  for (const p of policies) writeFileSync(join(dir, `${p.metadata.name}.yaml`), yaml([p]));
}

if (process.env.MATRIX_SHAPE_DIR) writeMatrixShape(process.env.MATRIX_SHAPE_DIR, matrixShape());
