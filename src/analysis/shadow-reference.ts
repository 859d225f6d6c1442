// The brute-force reference for the shadow analysis (shadow.ts): ask the engine's evaluate() about every probe
// flow — every workload endpoint against every peer address (each endpoint address and each outside class's
// representative) and every service probe, both directions — and collect the rules its traces show deciding
// (Allow, Deny or Pass at the endpoint's own hook). A rule is shadowed or unreachable iff no probe shows it. The
// property test and `npm run bench -- lint` compare the analysis with this; it costs endpoints × addresses ×
// services evaluations, which is why the analysis exists.
//
// Only workload endpoints: a host endpoint's hooks sit behind failsafe ports and fixed host rules (host-path.ts),
// which the analysis does not model (see shadow.ts); compare with shadowAnalysis(engine, { workloadsOnly: true }).

import type { Direction, Flow, PolicyEngine } from '../engine/index.js';
import { externalPeers } from './external-peers.js';
import type { RuleShadow, ShadowReport } from './shadow.js';
import { serviceClasses } from './shadow-services.js';
import type { ProbeService } from './rule-sweep.js';

/** `kind|ref|direction|index`: a rule as traces name it. */
export type RuleKey = string;

export const ruleKey = (kind: string, ref: string, direction: Direction, rule: number): RuleKey => `${kind}|${ref}|${direction}|${rule}`;

export function shadowKey(r: Pick<RuleShadow, 'policy' | 'direction' | 'rule'>): RuleKey {
  return ruleKey(r.policy.kind, r.policy.ref, r.direction, r.rule);
}

export interface Probes {
  addresses: string[];
  services: ProbeService[];
}

/** The analysis's own classes as probes: every endpoint address, every outside class, every service class. */
export function classProbes(engine: PolicyEngine): Probes {
  const addresses = new Set<string>();
  for (const ep of engine.endpoints()) for (const ip of ep.ips) addresses.add(ip);
  for (const x of externalPeers([engine])) addresses.add(x.address);
  return { addresses: [...addresses], services: serviceClasses(engine) };
}

/** The rules some probe flow shows deciding at a workload's own hook, by engine.evaluate(). */
export function decidedByEvaluate(engine: PolicyEngine, probes: Probes): Set<RuleKey> {
  const decided = new Set<RuleKey>();
  for (const ep of engine.endpoints()) {
    if (ep.kind !== 'WorkloadEndpoint' || ep.ips.length === 0) continue;
    for (const address of probes.addresses) {
      for (const s of probes.services) {
        const base: Omit<Flow, 'from' | 'to'> = { protocol: s.protocol };
        if (s.dstPort !== undefined) base.port = s.dstPort;
        if (s.srcPort !== undefined) base.srcPort = s.srcPort;
        if (s.icmpType !== undefined) base.icmp = { type: s.icmpType, ...(s.icmpCode !== undefined && { code: s.icmpCode }) };
        for (const direction of ['ingress', 'egress'] as const) {
          const flow: Flow = direction === 'ingress' ? { ...base, from: { ip: address }, to: ep.ref } : { ...base, from: ep.ref, to: { ip: address } };
          const v = engine.evaluate(flow);
          if (!v.ok) continue;
          const end = direction === 'ingress' ? v.value.ingress : v.value.egress;
          for (const step of end?.trace ?? []) {
            if (step.endpoint !== ep.ref || step.stage !== 'normal' || step.rule < 0 || step.kind === undefined || step.policy === undefined) continue;
            if (step.action === 'Allow' || step.action === 'Deny' || step.action === 'Pass') decided.add(ruleKey(step.kind, step.policy, direction, step.rule));
          }
        }
      }
    }
  }
  return decided;
}

/** The rules the reference calls never-deciding: every non-Log rule of a policy enforced somewhere that no probe shows. */
export function neverDecided(engine: PolicyEngine, report: ShadowReport, decided: ReadonlySet<RuleKey>): Set<RuleKey> {
  const out = new Set<RuleKey>();
  for (const c of report.policies) {
    if (c.endpoints === 0) continue;
    for (const rule of engine.policy(c.policy)?.rules[c.direction] ?? []) {
      if (rule.action === 'Log') continue;
      const key = ruleKey(c.policy.kind, c.policy.ref, c.direction, rule.index);
      if (!decided.has(key)) out.add(key);
    }
  }
  return out;
}
