// A host's critical flow (SSH, kubelet, API server, etcd, BGP, DNS, the `lockoutPorts` setting's) that the
// policies in force already cut on some node: what `tabby apply` refuses to introduce (issue 17 §4), reported
// for the state as it is. Proven with the engine through the lockout check (lockout.ts): failsafe ports, the
// untracked, pre-DNAT and normal stages, applyOnForward and DefaultEndpointToHostAction all count.

import type { PathSegment } from '../../../api/index.js';
import type { PolicyDecision } from '../../../engine/index.js';
import { decisionText } from '../../decision-text.js';
import { cutCriticalFlows, type CriticalFlowStatus } from '../../lockout.js';
import { criticalFlows, flowLabel } from '../../lockout-flows.js';
import type { FindingDraft, LintContext, LintResource, LintRule, RelatedDraft } from '../types.js';

function policyAt(ctx: LintContext, d: PolicyDecision): LintResource | undefined {
  const slash = d.policy.indexOf('/');
  const id = slash < 0 ? { kind: d.kind, name: d.policy } : { kind: d.kind, namespace: d.policy.slice(0, slash), name: d.policy.slice(slash + 1) };
  return ctx.policyResource(id)?.at;
}

/** The rule's field in a Calico policy; a Kubernetes policy compiles to other rule numbers, so its spec. */
function rulePath(d: PolicyDecision, s: CriticalFlowStatus): PathSegment[] {
  if (d.kind === 'KubernetesNetworkPolicy' || d.kind === 'StagedKubernetesNetworkPolicy') return ['spec'];
  if (d.rule < 0) return ['spec', 'selector'];
  // The host's end decided: its ingress for inbound flows, its egress for outbound ones; a pod's end otherwise.
  const hostEnd = d.endpoint === undefined || d.endpoint === s.hostEndpoint;
  const inbound = s.flow.direction === 'inbound';
  return ['spec', hostEnd === inbound ? 'ingress' : 'egress', d.rule];
}

/** The node interface both examples protect. */
const HOST_ENDPOINT = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: node-1-eth0
  labels: {role: node}
spec:
  node: node-1
  interfaceName: eth0
  expectedIPs: [192.0.2.10]
---
`;

export const rule: LintRule = {
  id: 'host-critical-flow-cut',
  severity: 'warning',
  title: "A host endpoint's policy cuts one of the host's critical flows (SSH, kubelet, API server, etcd, BGP, DNS)",
  explanation:
    'Host endpoint policy applies to the node itself (Calico §3.7–3.8): a deny-all on a node\'s interface, or a ' +
    'host endpoint with no policy and no profile, drops everything but the failsafe ports. Felix\'s default ' +
    'failsafes keep SSH (22), BGP (179), etcd (2379–2380) and the API server (6443) open, and DNS out over UDP, but ' +
    'not the kubelet (10250) nor DNS over TCP, and a FelixConfiguration may list fewer. Tabby decides each ' +
    'critical flow of each node with the engine — from outside (every outside address class the policies tell ' +
    'apart), from and to each other node, from the node\'s pods (DefaultEndpointToHostAction), to the cluster DNS ' +
    'pods — with failsafes, doNotTrack, preDNAT and applyOnForward policies, and reports the flows nobody gets ' +
    'through, naming the rule that denies them. `tabby apply` refuses a change that causes this (exit 11) unless ' +
    '--allow-lockout is given; extra ports come from the lockoutPorts setting (--lockout-ports).',
  bad: `${HOST_ENDPOINT}apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-all-hosts
spec:
  selector: role == 'node'
  types: [Ingress, Egress]`,
  good: `${HOST_ENDPOINT}apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-node-critical
spec:
  order: 10
  selector: role == 'node'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      destination: {ports: [22, 179, 2379, 2380, 6443, 10250]}
  egress:
    - action: Allow
      protocol: UDP
      destination: {ports: [53]}
    - action: Allow
      protocol: TCP
      destination: {ports: [53, 179, 2379, 2380, 6443]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-all-hosts
spec:
  order: 1000
  selector: role == 'node'
  types: [Ingress, Egress]`,
  fix: 'Allow the flow in an earlier policy of the same tier (or an earlier tier) selecting the host endpoint, or add ' +
    'its port to the FelixConfiguration failsafe ports.',
  check(ctx) {
    const flows = ctx.settings.lockoutFlows ? [...ctx.settings.lockoutFlows] : criticalFlows();
    const cut = cutCriticalFlows(ctx.resources.map((r) => r.resource), { flows, engine: ctx.engine.settings, felixConfiguration: true }, ctx.engine, ctx.endpoints);
    // One finding per (node, interface, flow, deciding rule): the peers it is cut from are listed in it.
    const groups = new Map<string, CriticalFlowStatus[]>();
    for (const s of cut) {
      const key = JSON.stringify([s.node, s.interface, s.flow.direction, s.flow.protocol, s.flow.port, decisionText(s.decision)]);
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    const out: FindingDraft[] = [];
    for (const group of groups.values()) {
      const s = group[0]!;
      const d = s.decision;
      const hepInfo = s.hostEndpoint ? ctx.engine.endpoint(s.hostEndpoint) : undefined;
      const hep = hepInfo ? ctx.endpointResource(hepInfo) : undefined;
      const policy = 'tier' in d ? policyAt(ctx, d) : undefined;
      const at = policy ?? hep;
      if (!at) continue;
      const peers = group.map((g) => g.peer).join('; ');
      const related: RelatedDraft[] = policy && hep ? [{ at: hep, message: `the host endpoint of node ${s.node} (${s.interface})` }] : [];
      out.push({
        at,
        ...(policy && 'tier' in d ? { path: rulePath(d, s) } : {}),
        message: `${flowLabel(s.flow)} of node ${s.node} (${s.interface}${s.hostEndpoint ? `, ${s.hostEndpoint}` : ''}) is cut ` +
          `${s.flow.direction === 'inbound' ? 'from' : 'to'} ${peers}: denied by ${decisionText(d)}`,
        ...(related.length > 0 ? { related } : {}),
      });
    }
    return out;
  },
};
