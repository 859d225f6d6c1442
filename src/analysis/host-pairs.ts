// Pairs whose path meets a host endpoint: a host endpoint at either end, or a workload on a node whose host
// endpoint polices forwarded traffic (untracked, pre-DNAT or applyOnForward policy, §3.8). The engine decides
// these (host-path.ts there: failsafe ports, host-to-own-pod, DefaultEndpointToHostAction, forward stages),
// once per pair of groups: two ends with the same group key reach and are reached identically.
//
// What it does not do: decide anything itself; the engine is the judge.

import type { PolicyEngine, Stage } from '../engine/index.js';
import type { AddressClassifier } from './address-classes.js';
import type { HookSignatures, Subject } from './class-evaluation.js';
import type { Mode } from './hook-vector.js';

/** The stages a host endpoint adds to forwarded workload traffic (§3.8); the normal stage is its own traffic. */
const FORWARD_PATH_STAGES: ReadonlyArray<[Stage, 'ingress' | 'egress']> = [
  ['untracked', 'ingress'], ['untracked', 'egress'], ['preDNAT', 'ingress'], ['forward', 'ingress'], ['forward', 'egress'],
];

/**
 * Nodes whose host endpoints are on the path of workload traffic and police it. A host endpoint with no
 * untracked, pre-DNAT or applyOnForward policy lets forwarded workload traffic through untouched (the engine
 * treats such stages as fall-through or "forward-unpoliced"), so nodes with only such host endpoints — Calico's
 * auto host endpoints, for instance — keep the fast path.
 */
export function policedNodes(engine: PolicyEngine): { withHosts: Set<string>; policed: Set<string> } {
  const withHosts = new Set<string>();
  const policed = new Set<string>();
  for (const ep of engine.endpoints()) {
    if (ep.kind !== 'HostEndpoint' || ep.node === undefined) continue;
    withHosts.add(ep.node);
    const stages = engine.stagesFor(ep.ref) ?? {};
    if (FORWARD_PATH_STAGES.some(([stage, dir]) => (stages[stage]?.[dir].length ?? 0) > 0)) policed.add(ep.node);
  }
  return { withHosts, policed };
}

export interface HostPairInput {
  engine: PolicyEngine;
  subjects: readonly Subject[];
  protocol: number;
  namedPortProtocol: string | undefined;
  mode: Mode;
  classifier: AddressClassifier;
  signatures: HookSignatures;
  /** Nodes that have host endpoints: on them, whether two ends share the node matters. */
  nodesWithHosts: ReadonlySet<string>;
}

/** Decides pairs with the engine, memoised per (source group, destination group). */
export class HostPairs {
  private readonly srcGroup: Int32Array;
  private readonly dstGroup: Int32Array;
  private readonly srcReps: Subject[] = [];
  private readonly dstReps: Subject[] = [];
  private readonly decided = new Map<number, boolean>();
  evaluations = 0;

  constructor(private readonly input: HostPairInput) {
    const { subjects } = input;
    this.srcGroup = new Int32Array(subjects.length);
    this.dstGroup = new Int32Array(subjects.length);
    const srcIds = new Map<string, number>();
    const dstIds = new Map<string, number>();
    for (const s of subjects) {
      this.srcGroup[s.index] = intern(srcIds, this.srcReps, this.keyOf(s, 'egress'), s);
      this.dstGroup[s.index] = intern(dstIds, this.dstReps, this.keyOf(s, 'ingress'), s);
    }
  }

  /** Ends with equal keys are decided alike, as a source and as a destination. */
  groupKey(s: Subject): string {
    return `${this.srcGroup[s.index]},${this.dstGroup[s.index]}`;
  }

  allowed(from: Subject, to: Subject): boolean {
    if (!to.reachable) return false;
    const g = this.srcGroup[from.index]!;
    const h = this.dstGroup[to.index]!;
    const key = g * this.dstReps.length + h;
    const hit = this.decided.get(key);
    if (hit !== undefined) return hit;
    const src = this.srcReps[g]!;
    const dst = this.dstReps[h]!;
    this.evaluations++;
    const result = this.input.engine.evaluate({
      from: src.info.ref, to: dst.info.ref, protocol: this.input.protocol, ...(dst.port !== undefined && { port: dst.port }),
    });
    // No address family in common: no connection.
    const verdict = result.ok ? (this.input.mode === 'pending' ? result.value.pending.verdict : result.value.verdict) : 'Deny';
    this.decided.set(key, verdict === 'Allow');
    return verdict === 'Allow';
  }

  /**
   * Everything the engine's path evaluation reads about one end: a host endpoint is its own group; a workload
   * is its tiers and profiles for the direction, its address classes, its port, and its node when the node has
   * host endpoints (same node or not decides which host stages apply).
   */
  private keyOf(s: Subject, direction: 'egress' | 'ingress'): string {
    if (s.info.kind === 'HostEndpoint') return `hep|${s.info.ref}`;
    const { classifier, namedPortProtocol, signatures, mode } = this.input;
    const classes = ([4, 6] as const).map((f) => {
      const a = s.addresses[f];
      if (!a) return '-';
      return direction === 'egress' ? classifier.addressKey(a) : classifier.destinationKey(a, namedPortProtocol, s.port);
    });
    const node = s.info.node !== undefined && this.input.nodesWithHosts.has(s.info.node) ? s.info.node : '';
    return `wep|${signatures.of(s.info, direction, mode)}|${classes.join('/')}|${s.reachable}|${node}`;
  }
}

function intern(ids: Map<string, number>, reps: Subject[], key: string, s: Subject): number {
  let id = ids.get(key);
  if (id === undefined) {
    id = reps.length;
    ids.set(key, id);
    reps.push(s);
  }
  return id;
}
