// A deny-by-default policy that reaches the system namespaces (kube-system, calico-system, …) before what keeps
// the cluster running is allowed: DNS pods must accept lookups (UDP 53 from every workload) and system pods must
// reach the API server. Proven with the engine: those flows are evaluated for each selected system endpoint and
// reported when denied in the policy's tier. (Kubelet probes are host → local workload traffic, which Felix does
// not police (§3.7); the engine's host-to-local-workload rule decides them, so they need no check here.)

import type { Direction, EndpointInfo } from '../../../engine/index.js';
import { appliedTo, deniedInTier, dnsEndpoints, enforced, isSystemEndpoint, probe, selectorPath, servicesRuleMayAllow, someEndpoints } from '../facts.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'default-deny-system-namespace',
  severity: 'error',
  title: 'A deny-by-default policy selects system endpoints and blocks DNS or the API server',
  explanation:
    'A policy that selects the endpoints of kube-system (or calico-system, calico-apiserver, tigera-operator) makes ' +
    "its tier's end-of-tier drop apply to them (Calico §3.3). Unless DNS lookups to the cluster DNS pods and the " +
    'system pods\' own egress to the API server are allowed before that drop, DNS and the control plane break for ' +
    'the whole cluster. Tabby evaluates UDP 53 from another workload into each selected DNS pod and TCP 443 from ' +
    'each selected system endpoint to settings.apiServerAddress, and reports the policy when either is denied in ' +
    'its tier. Calico\'s own default-deny example excludes the system namespaces for this reason.',
  bad: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  selector: all()
  types: [Ingress, Egress]`,
  good: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  selector: projectcalico.org/namespace not in {'kube-system', 'calico-system', 'calico-apiserver'}
  types: [Ingress, Egress]`,
  fix: "Exclude the system namespaces from the selector (projectcalico.org/namespace not in {'kube-system', " +
    "'calico-system', 'calico-apiserver'}), or allow DNS and API-server traffic for them in an earlier policy.",
  check(ctx) {
    const out: FindingDraft[] = [];
    const dns = new Set(dnsEndpoints(ctx).map((e) => e.ref));
    const client = ctx.endpoints.find((e) => e.kind === 'WorkloadEndpoint' && !dns.has(e.ref));
    for (const lp of ctx.policies) {
      if (!enforced(lp)) continue;
      const problems: string[] = [];
      const hit: EndpointInfo[] = [];
      const check = (direction: Direction, what: string, test: (e: EndpointInfo) => boolean): void => {
        const applied = appliedTo(ctx, lp, direction).filter((a) => a.tier.defaultAction === 'Deny' && isSystemEndpoint(a.endpoint));
        // Not proven where an Allow rule naming a Service comes first (Services are not modelled).
        const blocked = applied.filter((a) => test(a.endpoint) && !servicesRuleMayAllow(ctx, a.tiers, lp.compiled.tier, direction))
          .map((a) => a.endpoint);
        if (blocked.length === 0) return;
        problems.push(`${what} for ${someEndpoints(blocked)}`);
        hit.push(...blocked);
      };
      check('ingress', 'DNS lookups (UDP 53 in from a workload) are denied', (e) =>
        dns.has(e.ref) && client !== undefined && deniedInTier(probe(ctx, client.ref, e.ref, 'UDP', 53, 'ingress'), lp.compiled.tier));
      check('egress', `API-server egress (TCP 443 to ${ctx.settings.apiServerAddress}) is denied`, (e) =>
        deniedInTier(probe(ctx, e.ref, { ip: ctx.settings.apiServerAddress }, 'TCP', 443, 'egress'), lp.compiled.tier));
      if (problems.length === 0) continue;
      const first = ctx.endpointResource(hit[0]!);
      out.push({
        at: lp.at,
        path: selectorPath(lp),
        message: `selects system endpoints and its tier '${lp.compiled.tier}' drops what they need: ${problems.join('; ')}`,
        ...(first ? { related: [{ at: first, message: 'a system endpoint it selects' }] } : {}),
      });
    }
    return out;
  },
};
