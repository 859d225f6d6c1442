// Issue 16 §2: explain through the API never shows a policy the caller cannot read — a decision taken in a tier
// the caller cannot read reads "denied in tier security (not readable by you)", without the policy's name, kind or
// rule, and the hidden policies of a tier are not even counted. Real engine verdicts, the identities' RBAC.
import { describe, expect, it } from 'vitest';

import { PolicyEngine, type FlowVerdict } from '../../src/engine/index.js';
import { Authorizer, RbacIndex, redactFlowVerdict } from '../../src/server/rbac/index.js';
import { IDENTITIES, identityResources, parseResources, type IdentityName } from './identities.js';

const CLUSTER = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: shop, labels: {app: frontend}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: shop, labels: {app: backend}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.0.2}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.log-all}
spec: {tier: security, order: 1, selector: all(), types: [Ingress], ingress: [{action: Log}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block-5432}
spec:
  tier: security
  order: 10
  selector: app == 'backend'
  types: [Ingress]
  ingress:
  - {action: Deny, protocol: TCP, destination: {ports: [5432]}}
  - {action: Pass}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-from-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}]}]
`;

const engine = new PolicyEngine();
engine.load(parseResources(CLUSTER));
const authz = new Authorizer(RbacIndex.of(identityResources()));

function explain(port: number): FlowVerdict {
  const r = engine.evaluate({ from: 'shop/frontend', to: 'shop/backend', protocol: 'TCP', port });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

function asSeenBy(who: IdentityName, v: FlowVerdict) {
  const id = IDENTITIES[who];
  return redactFlowVerdict(v, (p) => authz.canReadPolicy(id.user, id.groups, p));
}

describe('explain redaction', () => {
  it('the developer sees a denial in the security tier as such, with no policy name, kind or rule', () => {
    const verdict = explain(5432);
    expect(verdict.ingress!.decision).toMatchObject({ action: 'Deny', tier: 'security', policy: 'security.block-5432', rule: 0 });
    expect(verdict.ingress!.trace.filter((s) => s.tier === 'security').map((s) => s.action)).toEqual(['Log', 'NoMatch', 'Deny']);
    const seen = asSeenBy('developer', verdict);
    expect(seen.verdict).toBe('Deny');
    expect(seen.ingress!.decision).toEqual({ action: 'Deny', tier: 'security', redacted: true, note: 'denied in tier security (not readable by you)' });
    const text = JSON.stringify(seen);
    expect(text).not.toContain('block-5432');
    expect(text).not.toContain('log-all');
    expect(text).not.toContain('GlobalNetworkPolicy');
    // The Log, the NoMatch and the Deny of the security tier are one hidden step: the trace does not count hidden policies.
    expect(seen.ingress!.trace.filter((s) => 'redacted' in s)).toEqual([
      { endpoint: 'shop/backend', stage: 'normal', action: 'Deny', tier: 'security', redacted: true, note: 'denied in tier security (not readable by you)' },
    ]);
  });

  it('the developer still sees their own Kubernetes policy decide, after the hidden Pass of the security tier', () => {
    const seen = asSeenBy('developer', explain(8080));
    expect(seen.verdict).toBe('Allow');
    expect(seen.ingress!.decision).toMatchObject({ action: 'Allow', tier: 'default', kind: 'KubernetesNetworkPolicy', policy: 'shop/backend-from-frontend' });
    expect(seen.ingress!.trace.map((s) => ('redacted' in s ? s.note : `${s.action} ${s.policy}`))).toEqual([
      'passed in tier security (not readable by you)',
      'Allow shop/backend-from-frontend',
    ]);
  });

  it('the security engineer sees the security tier but not the developers\' policy; the admin sees everything', () => {
    const v = explain(8080);
    const sec = asSeenBy('security', v);
    expect(JSON.stringify(sec)).toContain('security.block-5432');
    expect(sec.ingress!.decision).toEqual({ action: 'Allow', tier: 'default', redacted: true, note: 'allowed in tier default (not readable by you)' });
    expect(asSeenBy('admin', v)).toEqual(v);
  });
});
