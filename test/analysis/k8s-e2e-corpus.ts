// Reading the Kubernetes e2e truth-table corpus (conformance/k8s-e2e, format in its README): the model
// as v1 Namespaces and Pods, the steps with their label changes carried over (REPLACE semantics), and the
// reachability tables of each probe.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

import { corpusDir, corpusFile, corpusFiles } from '../conformance-corpus.js';

// A missing corpus throws here (with its path), so the suite fails rather than checking nothing.
export const CORPUS_DIR = corpusDir('k8s-e2e');

type Labels = Record<string, string>;

interface ModelPort { name: string; containerPort: number; protocol: string }
interface ModelPod { namespace: string; name: string; ip: string; labels: Labels }
export interface Model {
  namespaces: Array<{ name: string; labels: Labels }>;
  ports: ModelPort[];
  pods: ModelPod[];
}

export interface Probe { protocol: string; port: number; reachability: string }
export interface Step {
  policies: unknown[];
  namespaceLabels?: Record<string, Labels>;
  podLabels?: Record<string, Labels>;
  addPods?: unknown[];
  deletePods?: unknown[];
  probes: Probe[];
}
export interface CorpusCase { file: string; source: string; steps: Step[] }

export interface Cell { from: string; to: string; expected: '.' | 'X' }

export function readModel(): Model {
  return parseYaml(readFileSync(corpusFile('k8s-e2e/MODEL.yaml'), 'utf8')) as Model;
}

/** Every case file present: `*.yaml` except the model, so files added later are picked up. */
export function caseFiles(): string[] {
  return corpusFiles('k8s-e2e', /\.ya?ml$/).filter((f) => f !== 'MODEL.yaml');
}

export function readCase(file: string): CorpusCase {
  const doc = parseYaml(readFileSync(join(CORPUS_DIR, file), 'utf8')) as { source: string; steps: Step[] };
  return { file, source: doc.source, steps: doc.steps };
}

/** The asserted cells of a table (`-` is not asserted). */
export function assertedCells(table: string): Cell[] {
  const [header = '', ...rows] = table.trim().split('\n');
  const columns = header.trim().split(/\s+/).slice(1);
  const cells: Cell[] = [];
  for (const row of rows) {
    const [from = '', ...marks] = row.trim().split(/\s+/);
    marks.forEach((mark, i) => {
      const to = columns[i];
      if (to === undefined) throw new Error(`row ${from} has more cells than the header`);
      if (mark === '.' || mark === 'X') cells.push({ from, to, expected: mark });
      else if (mark !== '-') throw new Error(`unknown cell ${JSON.stringify(mark)} at ${from} → ${to}`);
    });
  }
  return cells;
}

/** The cluster state of one file as its steps go: labels and pods change, and the change carries over. */
export class ModelState {
  private readonly nsLabels = new Map<string, Labels>();
  private readonly pods = new Map<string, ModelPod>();

  constructor(private readonly model: Model) {
    for (const ns of model.namespaces) this.nsLabels.set(ns.name, { ...ns.labels });
    for (const p of model.pods) this.pods.set(`${p.namespace}/${p.name}`, { ...p, labels: { ...p.labels } });
  }

  /** Applies a step's changes; unknown shapes throw, so a corpus extension cannot pass unnoticed. */
  apply(step: Step): void {
    for (const [ns, labels] of Object.entries(step.namespaceLabels ?? {})) {
      this.nsLabels.set(ns, { ...labels });
    }
    for (const [ref, labels] of Object.entries(step.podLabels ?? {})) {
      const pod = this.pods.get(ref);
      if (!pod) throw new Error(`podLabels: no pod ${ref}`);
      pod.labels = { ...labels };
    }
    for (const ref of step.deletePods ?? []) {
      const key = typeof ref === 'string' ? ref : `${(ref as ModelPod).namespace}/${(ref as ModelPod).name}`;
      if (!this.pods.delete(key)) throw new Error(`deletePods: no pod ${key}`);
    }
    for (const raw of step.addPods ?? []) {
      const p = raw as Partial<ModelPod>;
      if (typeof p.namespace !== 'string' || typeof p.name !== 'string' || typeof p.ip !== 'string') {
        throw new Error(`addPods: expected {namespace, name, ip, labels}, got ${JSON.stringify(raw)}`);
      }
      this.pods.set(`${p.namespace}/${p.name}`, { namespace: p.namespace, name: p.name, ip: p.ip, labels: { ...(p.labels ?? {}) } });
    }
  }

  /** v1 Namespaces and Pods (status.podIP, every container port of the model). */
  manifests(): unknown[] {
    const namespaces = [...this.nsLabels].map(([name, labels]) => ({
      apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels },
    }));
    const pods = [...this.pods.values()].map((p) => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
      spec: {
        nodeName: 'node-1',
        containers: [{ name: 'cont', image: 'agnhost', ports: this.model.ports.map((port) => ({ ...port })) }],
      },
      status: { podIP: p.ip, podIPs: [{ ip: p.ip }] },
    }));
    return [...namespaces, ...pods];
  }
}
