// A default deny that cuts its endpoints off from DNS: the first mistake of the seed's "Calico Network Policy
// Best Practices" list. Proven with the engine: the DNS flow (UDP 53 to a cluster DNS pod, or to the kube-dns
// address when the input has no DNS pod) is evaluated from each endpoint the policy selects, and reported when
// it is denied in the policy's own tier — by its end-of-tier drop (§3.3) or by a rule of that tier.

import { appliedTo, deniedInTier, dnsEndpoints, enforced, probe, selectorPath, servicesRuleMayAllow, someEndpoints } from '../facts.js';
import type { FindingDraft, LintRule } from '../types.js';

export const rule: LintRule = {
  id: 'default-deny-without-dns',
  severity: 'error',
  title: 'A default deny selects many endpoints and blocks their DNS',
  explanation:
    'A policy with Egress in its types makes every endpoint it selects subject to its tier: egress that no policy ' +
    'of the tier allows is dropped at the end of the tier (Calico §3.3). When no earlier rule allows UDP/TCP 53 to ' +
    'the cluster DNS, every name lookup of those workloads fails and almost everything else fails with it. Tabby ' +
    'evaluates the DNS flow from each selected endpoint to a cluster DNS pod (k8s-app=kube-dns) — or to ' +
    'settings.clusterDnsAddress when no DNS pod is in the input — and reports the policy when the flow is denied ' +
    'in its tier. An endpoint for which an Allow rule naming a Service (`destination.services`) comes first is left ' +
    'out: Tabby models no Service objects, so it cannot prove that rule does not allow the lookup.',
  bad: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  selector: projectcalico.org/namespace not in {'kube-system'}
  types: [Ingress, Egress]`,
  good: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  order: 100
  selector: projectcalico.org/namespace not in {'kube-system'}
  types: [Egress]
  egress:
    - action: Allow
      protocol: UDP
      destination:
        namespaceSelector: projectcalico.org/name == 'kube-system'
        selector: k8s-app == 'kube-dns'
        ports: [53]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  order: 1000
  selector: projectcalico.org/namespace not in {'kube-system'}
  types: [Ingress, Egress]`,
  fix: 'Add an Egress policy with a lower order in the same tier (or an earlier tier) that allows UDP and TCP 53 to ' +
    "the cluster DNS pods (namespaceSelector: projectcalico.org/name == 'kube-system', selector: k8s-app == 'kube-dns').",
  check(ctx) {
    const out: FindingDraft[] = [];
    const dns = dnsEndpoints(ctx);
    const dnsRefs = new Set(dns.map((d) => d.ref));
    for (const lp of ctx.policies) {
      if (!enforced(lp)) continue;
      const applied = appliedTo(ctx, lp, 'egress').filter((a) => a.tier.defaultAction === 'Deny' && !dnsRefs.has(a.endpoint.ref));
      if (applied.length < ctx.settings.manyEndpoints) continue;
      const target = dns[0];
      // An endpoint whose DNS an Allow rule naming a Service may allow is not proven blocked (Services are not
      // modelled): left out rather than reported.
      const blocked = applied.filter(({ endpoint, tiers }) =>
        deniedInTier(probe(ctx, endpoint.ref, target ? target.ref : { ip: ctx.settings.clusterDnsAddress }, 'UDP', 53, 'egress'), lp.compiled.tier) &&
        !servicesRuleMayAllow(ctx, tiers, lp.compiled.tier, 'egress'));
      if (blocked.length === 0) continue;
      const where = target ? `${target.ref} (${target.ips[0] ?? 'no address'})` : ctx.settings.clusterDnsAddress;
      const related = target ? ctx.endpointResource(target) : undefined;
      out.push({
        at: lp.at,
        path: selectorPath(lp),
        message: `DNS (UDP 53 to ${where}) is denied in tier '${lp.compiled.tier}' for ${someEndpoints(blocked.map((b) => b.endpoint))} ` +
          `of the ${applied.length} it selects for egress`,
        ...(related ? { related: [{ at: related, message: 'the cluster DNS pod the probe used' }] } : {}),
      });
    }
    return out;
  },
};
