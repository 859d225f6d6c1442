// k8s NetworkPolicy → Calico conversion, pinned to the outputs Calico's own conversion_test.go expects
// (libcalico-go/lib/backend/k8s/conversion), with the v3.32 naming as the default (§4.1).
import { describe, expect, it } from 'vitest';

import {
  CONVERTED_FROM_ANNOTATION,
  convertKubernetesPolicy,
  convertedFromOf,
  labelSelectorToCalico,
  portFromString,
  simplifyPorts,
} from '../../src/api/kubernetes/index.js';
import type {
  K8sNetworkPolicy,
  K8sNetworkPolicySpec,
  StagedKubernetesNetworkPolicy,
} from '../../src/api/types.js';

const ORCH = "projectcalico.org/orchestrator == 'k8s'";

function np(spec: K8sNetworkPolicySpec, name = 'test.policy', namespace = 'default'): K8sNetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

const kv = { podSelector: { matchLabels: { k: 'v', k2: 'v2' } } };
const labelSelector = { matchLabels: { label: 'value', label2: 'value2' } };

describe('labelSelectorToCalico (Calico "selector conversion table")', () => {
  it.each([
    ['empty pod selector', {}, 'pod', ORCH],
    ['empty namespace selector', {}, 'namespace', 'all()'],
    ['DoesNotExist namespace selector', { matchExpressions: [{ key: 'toast', operator: 'DoesNotExist' }] }, 'namespace',
      '! has(toast)'],
    ['Exists namespace selector', { matchExpressions: [{ key: 'toast', operator: 'Exists' }] }, 'namespace',
      'has(toast)'],
    ['In namespace selector', { matchExpressions: [{ key: 'toast', operator: 'In', values: ['butter', 'jam'] }] },
      'namespace', "toast in { 'butter', 'jam' }"],
    ['NotIn namespace selector',
      { matchExpressions: [{ key: 'toast', operator: 'NotIn', values: ['marmite', 'milk'] }] }, 'namespace',
      "toast not in { 'marmite', 'milk' }"],
    ['DoesNotExist pod selector', { matchExpressions: [{ key: 'toast', operator: 'DoesNotExist' }] }, 'pod',
      `${ORCH} && ! has(toast)`],
    ['nil pod selector', undefined, 'pod', ORCH],
    ['nil namespace selector', undefined, 'namespace', ''],
  ] as const)('%s', (_name, selector, kind, expected) => {
    expect(labelSelectorToCalico(selector as never, kind)).toBe(expected);
  });

  it('sorts matchLabels by key and keeps matchExpressions in order after them', () => {
    expect(labelSelectorToCalico({
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'z', operator: 'Exists' },
        { key: 'c', operator: 'In', values: ['x'] },
      ],
    }, 'pod')).toBe(`${ORCH} && a == '1' && b == '2' && has(z) && c in { 'x' }`);
  });
});

describe('port simplification (Calico "Test port simplification")', () => {
  const simplify = (input: string): string => {
    const ports = input.split(',').filter((p) => p !== '').map((p) => {
      const parsed = portFromString(p);
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.port;
    });
    return simplifyPorts(ports).map((p) => (p.kind === 'named' ? p.name : p.min === p.max ? `${p.min}` : `${p.min}:${p.max}`))
      .join(',');
  };
  it.each([
    ['', ''],
    ['0', '0'],
    ['1', '1'],
    ['65535', '65535'],
    ['0:65535', '0:65535'],
    ['1,2', '1:2'],
    ['2,1', '1:2'],
    ['1,2,4', '1:2,4'],
    ['1,2,3,4,80:81,81:90,9090', '1:4,80:90,9090'],
    ['81:90,4,2,80:81,3,1,9090', '1:4,80:90,9090'],
    ['81:90,4,2,foo,80:81,3,1,9090,http', 'foo,http,1:4,80:90,9090'],
    ['foo', 'foo'],
    // One numeric port: nothing to merge, so the input order stands.
    ['80,foo', '80,foo'],
    ['foo,80', 'foo,80'],
  ])('%s -> %s', (input, expected) => {
    expect(simplify(input)).toBe(expected);
  });

  it('parses port strings as numorstring.PortFromString does', () => {
    expect(portFromString('-50:-1')).toEqual({ ok: false, error: 'invalid name for named port (-50:-1)' });
    expect(portFromString('70000')).toEqual({ ok: false, error: 'invalid port format (70000)' });
    expect(portFromString('90:80')).toEqual({
      ok: false, error: 'minimum port number (90) is greater than maximum port number (80) in port range',
    });
    expect(portFromString('foo:90')).toEqual({ ok: false, error: 'invalid name for named port (foo:90)' });
    expect(portFromString('http')).toEqual({ ok: true, port: { kind: 'named', name: 'http' } });
  });
});

describe('convertKubernetesPolicy (Calico "Test NetworkPolicy conversion")', () => {
  it('parses a basic policy: name kept, tier default, order 1000, sorted selector, TCP default', () => {
    const { policy, warnings } = convertKubernetesPolicy(np({
      podSelector: labelSelector,
      ingress: [{ ports: [{ port: 80 }, { port: 'foo' }], from: [kv] }],
      policyTypes: ['Ingress'],
    }));
    expect(warnings).toEqual([]);
    expect(policy).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'test.policy',
        namespace: 'default',
        annotations: { [CONVERTED_FROM_ANNOTATION]: 'networking.k8s.io/v1 NetworkPolicy default/test.policy' },
      },
      spec: {
        tier: 'default',
        order: 1000,
        selector: `${ORCH} && label == 'value' && label2 == 'value2'`,
        types: ['Ingress'],
        ingress: [{
          action: 'Allow',
          protocol: 'TCP',
          source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` },
          destination: { ports: [80, 'foo'] },
        }],
      },
    });
  });

  it('names the policy knp.default.<name> in v3.31 naming', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: {} }, 'testPolicy'), { naming: 'knp.default' });
    expect(policy.metadata.name).toBe('knp.default.testPolicy');
    expect(policy.metadata.namespace).toBe('default');
  });

  it('leaves the protocol unset when a rule has no ports', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: labelSelector, ingress: [{ from: [kv] }] }));
    expect(policy.spec.ingress).toEqual([
      { action: 'Allow', source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` }, destination: {} },
    ]);
  });

  it('turns a blank port into "TCP, all ports", which absorbs specific TCP ports', () => {
    const { policy } = convertKubernetesPolicy(np({
      podSelector: labelSelector,
      ingress: [{ ports: [{ port: 80 }, {}], from: [kv] }],
    }));
    expect(policy.spec.ingress).toEqual([
      { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` }, destination: {} },
    ]);
  });

  it('egress with blank ports: TCP all ports first, then the UDP rule', () => {
    const { policy } = convertKubernetesPolicy(np({
      podSelector: labelSelector,
      egress: [
        { ports: [{}, { port: 80 }], to: [kv] },
        { ports: [{ port: 53, protocol: 'UDP' }] },
      ],
      policyTypes: ['Egress'],
    }));
    expect(policy.spec.types).toEqual(['Egress']);
    expect(policy.spec.egress).toEqual([
      { action: 'Allow', protocol: 'TCP', source: {}, destination: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` } },
      { action: 'Allow', protocol: 'UDP', source: {}, destination: { ports: [53] } },
    ]);
  });

  it('drops rules with invalid ports (fail-closed) and says why', () => {
    const { policy, warnings } = convertKubernetesPolicy(np({
      podSelector: labelSelector,
      egress: [
        { ports: [{ port: 80 }, { port: 'foo' }], to: [kv] },
        { ports: [{ port: 80 }, { port: '-50:-1' }], to: [kv] },
        { ports: [{ port: 80 }, { port: '-22:-3' }], to: [kv] },
      ],
      policyTypes: ['Ingress'],
    }));
    expect(policy.spec.egress).toEqual([{
      action: 'Allow',
      protocol: 'TCP',
      source: {},
      destination: { selector: `${ORCH} && k == 'v' && k2 == 'v2'`, ports: [80, 'foo'] },
    }]);
    expect(warnings).toEqual([
      "spec.egress[1]: k8s rule couldn't be converted: failed to parse k8s port: invalid port -50:-1: invalid name " +
        'for named port (-50:-1); rule dropped',
      "spec.egress[2]: k8s rule couldn't be converted: failed to parse k8s port: invalid port -22:-3: invalid name " +
        'for named port (-22:-3); rule dropped',
      "spec.policyTypes: K8s PolicyTypes don't include 'egress', but NetworkPolicy has egress rules.",
    ]);
    // Types come from policyTypes only: the egress rules exist but do not make it an egress policy.
    expect(policy.spec.types).toEqual(['Ingress']);
  });

  it('parses a policy with no rules', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: { matchLabels: { label: 'value' } }, policyTypes: ['Ingress'] }));
    expect(policy.spec).toEqual({ tier: 'default', order: 1000, selector: `${ORCH} && label == 'value'`, types: ['Ingress'] });
  });

  it('parses a default-deny egress policy', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: {}, policyTypes: ['Egress'] }, 'testPolicy'));
    expect(policy.spec).toEqual({ tier: 'default', order: 1000, selector: ORCH, types: ['Egress'] });
  });

  it('expands multiple peers into one rule each', () => {
    const { policy } = convertKubernetesPolicy(np({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [{ ports: [{}], from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }] }],
    }));
    expect(policy.spec.ingress?.map((r) => r.source?.selector)).toEqual([`${ORCH} && k == 'v'`, `${ORCH} && k2 == 'v2'`]);
  });

  it('groups the 4-rule example per (protocol, peer), protocols sorted: TCP-P1, TCP-P2, UDP-P1, UDP-P2', () => {
    const { policy } = convertKubernetesPolicy(np({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [{
        ports: [{ port: 90, protocol: 'UDP' }, { port: 80, protocol: 'TCP' }],
        from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }],
      }],
      policyTypes: ['Ingress'],
    }));
    expect(policy.spec.ingress).toEqual([
      { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k == 'v'` }, destination: { ports: [80] } },
      { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k2 == 'v2'` }, destination: { ports: [80] } },
      { action: 'Allow', protocol: 'UDP', source: { selector: `${ORCH} && k == 'v'` }, destination: { ports: [90] } },
      { action: 'Allow', protocol: 'UDP', source: { selector: `${ORCH} && k2 == 'v2'` }, destination: { ports: [90] } },
    ]);
  });

  it('merges a protocol\'s ports into ranges (SimplifyPorts), named ports first', () => {
    const { policy } = convertKubernetesPolicy(np({
      podSelector: {},
      ingress: [{ ports: [{ port: 82 }, { port: 'http' }, { port: 80 }, { port: 81 }, { port: 9000, endPort: 9010 },
        { port: 9005, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] }],
    }));
    expect(policy.spec.ingress).toEqual([
      { action: 'Allow', protocol: 'TCP', source: {}, destination: { ports: ['http', '80:82', '9000:9010'] } },
      { action: 'Allow', protocol: 'UDP', source: {}, destination: { ports: [53] } },
    ]);
  });

  it('handles pod and namespace selectors: namespaceSelector alone still selects only pods', () => {
    const ns = { matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } };
    const convert = (peer: object): unknown => convertKubernetesPolicy(np({
      podSelector: { matchLabels: { label: 'value' } }, ingress: [{ from: [peer] }],
    })).policy.spec.ingress?.[0]?.source;
    expect(convert({ namespaceSelector: ns })).toEqual({ selector: ORCH, namespaceSelector: "namespaceFoo == 'bar' && namespaceRole == 'dev'" });
    expect(convert({ podSelector: {} })).toEqual({ selector: ORCH });
    expect(convert({ namespaceSelector: { matchLabels: {} } })).toEqual({ selector: ORCH, namespaceSelector: 'all()' });
    expect(convert({ namespaceSelector: ns, podSelector: { matchLabels: { podA: 'B', podC: 'D' } } })).toEqual({
      selector: `${ORCH} && podA == 'B' && podC == 'D'`,
      namespaceSelector: "namespaceFoo == 'bar' && namespaceRole == 'dev'",
    });
  });

  it('converts matchExpressions in the policy selector', () => {
    const { policy } = convertKubernetesPolicy(np({
      podSelector: { matchExpressions: [{ key: 'k', operator: 'In', values: ['v1', 'v2'] }] },
    }));
    expect(policy.spec.selector).toBe(`${ORCH} && k in { 'v1', 'v2' }`);
  });

  it('converts port ranges (endPort) in both directions', () => {
    const ingress = convertKubernetesPolicy(np({
      podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 32000, endPort: 32768 }] }], policyTypes: ['Ingress'],
    })).policy.spec.ingress;
    expect(ingress).toEqual([{ action: 'Allow', protocol: 'TCP', source: {}, destination: { ports: ['32000:32768'] } }]);
    const egress = convertKubernetesPolicy(np({
      podSelector: {}, egress: [{ ports: [{ protocol: 'TCP', port: 32000, endPort: 32768 }] }], policyTypes: ['Egress'],
    })).policy.spec.egress;
    expect(egress).toEqual([{ action: 'Allow', protocol: 'TCP', source: {}, destination: { ports: ['32000:32768'] } }]);
  });

  it('matches the protocol only, on all ports, for a port entry without a number', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] }));
    expect(policy.spec.ingress).toEqual([{ action: 'Allow', protocol: 'UDP', source: {}, destination: {} }]);
  });

  it('converts ipBlock peers to nets/notNets, re-masked to network form', () => {
    const { policy } = convertKubernetesPolicy(np({
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24'] } }] }],
      egress: [{
        ports: [{ port: 90, protocol: 'UDP' }, { port: 80, protocol: 'TCP' }],
        to: [{ ipBlock: { cidr: '10.1.0.1/4', except: ['10.1.0.2/32', '2001:db8::1/120'] } }],
      }],
      policyTypes: ['Egress', 'Ingress'],
    }));
    expect(policy.spec.types).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([{
      action: 'Allow', source: { nets: ['192.168.0.0/16'], notNets: ['192.168.3.0/24', '192.168.4.0/24'] }, destination: {},
    }]);
    const dest = { nets: ['0.0.0.0/4'], notNets: ['10.1.0.2/32', '2001:db8::/120'] };
    expect(policy.spec.egress).toEqual([
      { action: 'Allow', protocol: 'TCP', source: {}, destination: { ...dest, ports: [80] } },
      { action: 'Allow', protocol: 'UDP', source: {}, destination: { ...dest, ports: [90] } },
    ]);
  });

  it('omits notNets for an ipBlock without except', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16' } }] }] }));
    expect(policy.spec.ingress?.[0]?.source).toEqual({ nets: ['192.168.0.0/16'] });
  });

  it('drops a rule whose ipBlock cannot be parsed instead of leaving the peer open', () => {
    const { policy, warnings } = convertKubernetesPolicy(np({
      podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/55' } }] }, {}],
    }));
    expect(policy.spec.ingress).toEqual([{ action: 'Allow', source: {}, destination: {} }]);
    expect(warnings).toEqual([
      'spec.ingress[0]: k8s rule couldn\'t be converted: invalid ipBlock cidr "192.168.0.0/55"; rule dropped',
    ]);
  });

  it('defaults types to [Ingress] without policyTypes (k8s <= 1.7)', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: labelSelector, ingress: [{ ports: [{ port: 80 }], from: [kv] }] }));
    expect(policy.spec.types).toEqual(['Ingress']);
    expect(policy.spec.ingress).toEqual([{
      action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` }, destination: { ports: [80] },
    }]);
  });

  it('converts a StagedKubernetesNetworkPolicy to a StagedNetworkPolicy with its stagedAction', () => {
    const staged: StagedKubernetesNetworkPolicy = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'StagedKubernetesNetworkPolicy',
      metadata: { name: 'trial', namespace: 'x' },
      spec: { podSelector: {}, policyTypes: ['Ingress'], stagedAction: 'Learn' },
    };
    const { policy } = convertKubernetesPolicy(staged);
    expect(policy).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'StagedNetworkPolicy',
      metadata: {
        name: 'trial', namespace: 'x',
        annotations: { [CONVERTED_FROM_ANNOTATION]: 'projectcalico.org/v3 StagedKubernetesNetworkPolicy x/trial' },
      },
      spec: { stagedAction: 'Learn', tier: 'default', order: 1000, selector: ORCH, types: ['Ingress'] },
    });
    expect(convertedFromOf(policy)).toEqual({
      kindKey: 'StagedKubernetesNetworkPolicy', apiVersion: 'projectcalico.org/v3',
      kind: 'StagedKubernetesNetworkPolicy', namespace: 'x', name: 'trial',
    });
    const { spec: _spec, ...rest } = staged;
    const defaulted = convertKubernetesPolicy({ ...rest, spec: { podSelector: {} } }, { naming: 'knp.default' }).policy;
    expect(defaulted.spec.stagedAction).toBe('Set');
    expect(defaulted.metadata.name).toBe('knp.default.trial');
  });

  it('records the origin so traces can name the k8s kind', () => {
    const { policy } = convertKubernetesPolicy(np({ podSelector: {} }, 'web', 'x'), { naming: 'knp.default' });
    expect(convertedFromOf(policy)).toEqual({
      kindKey: 'KubernetesNetworkPolicy', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'x', name: 'web',
    });
    expect(convertedFromOf({ metadata: { name: 'plain' } })).toBeUndefined();
  });
});
