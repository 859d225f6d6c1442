// An egress Allow to 0.0.0.0/0 or ::/0 on every port, in a policy that selects many endpoints: it admits
// anything to anywhere, so every later deny and the default deny are moot for those endpoints' egress.

import { appliedTo, enforced, rulePath, someEndpoints } from '../facts.js';
import type { FindingDraft, LintRule } from '../types.js';

const ANYWHERE = new Set(['0.0.0.0/0', '::/0']);

export const rule: LintRule = {
  id: 'egress-allow-anywhere',
  severity: 'warning',
  title: 'Egress allowed to 0.0.0.0/0 or ::/0 on all ports for many endpoints',
  explanation:
    'An egress Allow rule whose destination is 0.0.0.0/0 (or ::/0) with no port restriction lets the selected ' +
    'endpoints connect to any address on any port: the internet, the cloud metadata service, every other pod. ' +
    'Rules after it in the same policy and the policies after it in the tier cannot deny any of that traffic. ' +
    'Reported when the policy selects at least settings.manyEndpoints endpoints for egress.',
  bad: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-internet
spec:
  selector: all()
  types: [Egress]
  egress:
    - action: Allow
      destination:
        nets: [0.0.0.0/0]`,
  good: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-https-out
spec:
  selector: all()
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        nets: [0.0.0.0/0]
        notNets: [10.0.0.0/8, 169.254.169.254/32]
        ports: [443]`,
  fix: 'Limit the rule to the ports (and, where possible, the networks or network sets) the workloads need, and ' +
    'exclude internal ranges and the metadata service with notNets.',
  check(ctx) {
    const out: FindingDraft[] = [];
    for (const lp of ctx.policies) {
      if (!enforced(lp)) continue;
      const broad = lp.compiled.rules.egress.filter((r) =>
        r.action === 'Allow' && r.neverMatches === undefined && r.dst.nets.some((n) => ANYWHERE.has(n)) &&
        r.dst.notNets.length === 0 && r.dst.ports.length === 0 && r.dst.namedPortIpSets.length === 0 &&
        r.dst.ipSets.length === 0 && r.src.nets.length === 0 && r.src.ipSets.length === 0);
      if (broad.length === 0) continue;
      const applied = appliedTo(ctx, lp, 'egress');
      if (applied.length < ctx.settings.manyEndpoints) continue;
      for (const r of broad) {
        const nets = r.dst.nets.filter((n) => ANYWHERE.has(n)).join(', ');
        out.push({
          at: lp.at,
          path: rulePath(lp, 'egress', r, 'destination', 'nets'),
          message: `egress[${r.index}] allows ${nets} on every port${r.protocol === undefined ? ' and protocol' : ''} for ${someEndpoints(applied.map((a) => a.endpoint))}`,
        });
      }
    }
    return out;
  },
};
