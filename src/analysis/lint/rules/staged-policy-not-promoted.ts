// Staged policies (§3.6: evaluated, never enforced) older than settings.stagedMaxAgeDays whose enforced
// counterpart (the same name and namespace, the kind without Staged) does not exist: a trial that was never
// promoted or removed. Needs metadata.creationTimestamp, which a datastore sets; manifests usually lack it.

import type { KindKey } from '../../../api/index.js';
import type { FindingDraft, LintRule } from '../types.js';

const ENFORCED_OF: Partial<Record<KindKey, KindKey>> = {
  StagedNetworkPolicy: 'NetworkPolicy',
  StagedGlobalNetworkPolicy: 'GlobalNetworkPolicy',
  StagedKubernetesNetworkPolicy: 'KubernetesNetworkPolicy',
};

const DAY_MS = 86_400_000;

export const rule: LintRule = {
  id: 'staged-policy-not-promoted',
  severity: 'warning',
  title: 'A staged policy older than N days was never promoted',
  explanation:
    'A staged policy is evaluated (flow logs and tabby explain show what it would do) but never enforced. It is ' +
    'meant as a short trial before promotion to the enforced kind. Left for weeks, it describes a policy nobody ' +
    'enforces and confuses every later reading of the verdicts. Tabby reports staged policies whose ' +
    'creationTimestamp is older than settings.stagedMaxAgeDays (default 30) and that have no enforced ' +
    'counterpart of the same name; objects without a creationTimestamp (most manifests) are not checked.',
  bad: `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata:
  name: restrict-web
  namespace: shop
  creationTimestamp: "2024-01-01T00:00:00Z"
spec:
  selector: app == 'web'
  types: [Ingress]`,
  good: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: restrict-web
  namespace: shop
spec:
  selector: app == 'web'
  types: [Ingress]`,
  fix: 'Promote it (apply it as the enforced kind and delete the staged one) or delete it.',
  check(ctx) {
    const out: FindingDraft[] = [];
    const now = Date.parse(ctx.settings.now);
    for (const at of ctx.resources) {
      const enforcedKind = ENFORCED_OF[at.ref.kind];
      if (!enforcedKind) continue;
      const created = at.resource.metadata.creationTimestamp;
      const t = created === undefined ? NaN : Date.parse(created);
      if (Number.isNaN(t) || Number.isNaN(now)) continue;
      const days = Math.floor((now - t) / DAY_MS);
      if (days <= ctx.settings.stagedMaxAgeDays) continue;
      if (ctx.find(enforcedKind, at.ref.namespace, at.ref.name)) continue;
      out.push({
        at,
        path: ['metadata', 'creationTimestamp'],
        message: `staged for ${days} days (since ${created}) and never promoted: no ${enforcedKind} of the same name exists`,
      });
    }
    return out;
  },
};
