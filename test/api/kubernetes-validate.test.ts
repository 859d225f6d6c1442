// Validation of Kubernetes objects as the API server does it (apimachinery + networking validation).
import { describe, expect, it } from 'vitest';

import { formatIssue, type Issue } from '../../src/api/issues.js';
import { validateK8sNetworkPolicySpec, validateKubernetesResource } from '../../src/api/kubernetes/index.js';

function np(spec: unknown, metadata: unknown = { name: 'web', namespace: 'x' }): unknown {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec };
}

function issuesOf(value: unknown): Issue[] {
  const result = validateKubernetesResource(value);
  return result.ok ? [] : result.issues;
}

/** `path: message` lines, the form `tabby validate` prints. */
function lines(value: unknown): string[] {
  return issuesOf(value).map(formatIssue);
}

function codes(value: unknown): string[] {
  return issuesOf(value).map((i) => i.code);
}

describe('validateKubernetesResource: accepted objects', () => {
  it('accepts a full NetworkPolicy and returns it defaulted (SetDefaults_NetworkPolicy*) and without YAML nulls', () => {
    const policy = np({
      podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
      ingress: [{
        from: [
          { podSelector: {} },
          { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }] } },
          { ipBlock: { cidr: '10.1.0.1/4', except: ['10.1.0.2/32'] } },
          { podSelector: { matchLabels: { a: 'b' } }, namespaceSelector: {} },
        ],
        ports: [{ port: 80 }, { port: 'serve-80-tcp', protocol: 'TCP' }, { port: 1000, endPort: 2000, protocol: 'UDP' },
          { protocol: 'SCTP' }],
      }],
      egress: [{ to: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }] }, {}],
      policyTypes: ['Ingress', 'Egress'],
    }, { name: 'allow.web', namespace: 'x', labels: { 'app.kubernetes.io/name': 'web' }, annotations: { Note: 'x' } });
    const result = validateKubernetesResource(policy);
    const defaulted = structuredClone(policy) as { spec: { ingress: Array<{ ports: Array<Record<string, unknown>> }> } };
    defaulted.spec.ingress[0]!.ports[0]!.protocol = 'TCP';
    expect(result).toEqual({ ok: true, value: defaulted });
    const withNull = validateKubernetesResource(np({ podSelector: {}, ingress: null }));
    expect(withNull.ok && withNull.value.kind === 'NetworkPolicy' && withNull.value.spec)
      .toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
  });

  it('accepts Namespace, ServiceAccount and Pod', () => {
    expect(codes({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { ns: 'x' } } })).toEqual([]);
    expect(codes({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa.1', namespace: 'x' } })).toEqual([]);
    expect(codes({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x', labels: { pod: 'a' } },
      spec: {
        nodeName: 'node-1', serviceAccountName: 'default',
        containers: [{ name: 'c', image: 'agnhost', ports: [{ name: 'serve-80-tcp', containerPort: 80 },
          { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' }, { containerPort: 81, hostPort: 8081, hostIP: '1.2.3.4' }] }],
        initContainers: [{ name: 'init', ports: [{ name: 'serve-80-tcp', containerPort: 80 }] }],
      },
      status: { podIP: '10.1.0.1', podIPs: [{ ip: '10.1.0.1' }, { ip: 'fd00::1' }], phase: 'Running' },
    })).toEqual([]);
  });
});

describe('validateKubernetesResource: names and metadata', () => {
  it('checks names as DNS-1123 subdomains (labels for namespaces), with the API server wording', () => {
    expect(lines(np({}, { name: 'Web_1', namespace: 'x' }))).toEqual([
      "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " +
        "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used " +
        "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    expect(codes({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } })).toEqual(['name.invalid']);
    expect(codes(np({}, { name: 'a.b.c', namespace: 'x.y' }))).toEqual(['namespace.invalid']);
    expect(codes(np({}, { namespace: 'x' }))).toEqual(['name.required']);
    expect(codes(np({}, { name: 'x'.repeat(254) }))).toEqual(['name.invalid']);
    expect(codes({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'y' } }))
      .toEqual(['namespace.forbidden']);
  });

  it('checks label keys and values as qualified names and label values', () => {
    expect(codes(np({}, { name: 'a', labels: { 'ProjectCalico.org/label': 'v' } }))).toEqual(['label.key']);
    expect(codes(np({}, { name: 'a', labels: { 'projectcalico.org/Label': 'v' } }))).toEqual([]);
    expect(codes(np({}, { name: 'a', labels: { k: 'v'.repeat(64) } }))).toEqual(['label.value']);
    expect(codes(np({}, { name: 'a', labels: { k: '' } }))).toEqual([]);
    expect(lines(np({}, { name: 'a', labels: { k: '-v' } }))).toEqual([
      "metadata.labels.k: Invalid value: \"-v\": a valid label must be an empty string or consist of alphanumeric " +
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or " +
        "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]);
    // Annotation keys are checked lower-cased, so upper case passes; values only count towards the size limit.
    expect(codes(np({}, { name: 'a', annotations: { 'Example.COM/Note': 'anything at all' } }))).toEqual([]);
    expect(codes(np({}, { name: 'a', annotations: { 'a/b/c': '' } }))).toEqual(['annotation.key']);
  });

  it('reports wrong types as issues instead of throwing', () => {
    expect(codes(np({}, { name: 'a', labels: { k: 1 } }))).toEqual(['type.invalid']);
    expect(codes(np({}, 'web'))).toEqual(['type.invalid']);
    expect(codes(np([]))).toEqual(['type.invalid']);
    expect(codes(np({ ingress: {} }))).toEqual(['type.invalid']);
    expect(codes(np({ ingress: [{ from: [{ podSelector: { matchLabels: 'a=b' } }] }] }))).toEqual(['type.invalid']);
    expect(codes(np({ ingress: [{ ports: [{ port: true }, { port: 80.5 }] }] }))).toEqual(['type.invalid', 'type.invalid']);
    expect(codes(np({ ingress: [{ ports: [{ port: 80, endPort: '90' }] }] }))).toEqual(['type.invalid']);
    expect(codes(np({ policyTypes: 'Ingress' }))).toEqual(['type.invalid']);
    expect(codes(null)).toEqual(['field.required']);
    expect(codes(42)).toEqual(['type.invalid']);
  });

  it('rejects unknown kinds and API versions', () => {
    expect(codes({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'a' }, spec: {} }))
      .toEqual(['kind.unsupported']);
    expect(codes({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } })).toEqual(['kind.unsupported']);
  });
});

describe('validateKubernetesResource: NetworkPolicy spec', () => {
  it('checks label selector operators and values', () => {
    const sel = (e: unknown): unknown => np({ podSelector: { matchExpressions: [e] } });
    expect(lines(sel({ key: 'k', operator: 'In' }))).toEqual([
      "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ]);
    expect(lines(sel({ key: 'k', operator: 'NotIn', values: [] }))).toHaveLength(1);
    expect(lines(sel({ key: 'k', operator: 'Exists', values: ['a'] }))).toEqual([
      "spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or " +
        "'DoesNotExist'",
    ]);
    expect(lines(sel({ key: 'k', operator: 'in', values: ['a'] }))).toEqual([
      'spec.podSelector.matchExpressions[0].operator: Unsupported value: "in": supported values: "In", "NotIn", ' +
        '"Exists", "DoesNotExist"',
    ]);
    expect(codes(sel({ key: 'Bad/Key', operator: 'Exists' }))).toEqual(['label.key']);
    expect(codes(sel({ key: 'k', operator: 'In', values: ['ok', 'not ok'] }))).toEqual(['label.value']);
    expect(codes(sel({ key: 'k', operator: 'Exists', valuez: [] }))).toEqual(['field.unknown']);
  });

  it('checks ports: 1–65535, endPort only after a numeric port and not below it, names as IANA service names', () => {
    const port = (p: unknown): string[] => lines(np({ ingress: [{ ports: [p] }] }));
    expect(port({ port: 0 })).toEqual(['spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']);
    expect(port({ port: 65536 })).toHaveLength(1);
    expect(port({ port: 65535 })).toEqual([]);
    expect(port({ port: 90, endPort: 80 })).toEqual([
      'spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`',
    ]);
    expect(port({ port: 80, endPort: 80 })).toEqual([]);
    expect(port({ port: 80, endPort: 70000 })).toEqual([
      'spec.ingress[0].ports[0].endPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]);
    expect(port({ port: 'http', endPort: 90 })).toEqual([
      'spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric',
    ]);
    expect(port({ endPort: 90 })).toEqual([
      'spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified',
    ]);
    // A quoted number is a port *name* to the API server, and names need a letter.
    expect(port({ port: '80' })).toEqual([
      'spec.ingress[0].ports[0].port: Invalid value: "80": must contain at least one letter (a-z)',
    ]);
    expect(port({ port: 'Web--Port-1234567' })).toEqual([
      'spec.ingress[0].ports[0].port: Invalid value: "Web--Port-1234567": must be no more than 15 characters',
      'spec.ingress[0].ports[0].port: Invalid value: "Web--Port-1234567": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.ingress[0].ports[0].port: Invalid value: "Web--Port-1234567": must not contain consecutive hyphens',
    ]);
    expect(port({ protocol: 'ICMP' })).toEqual([
      'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
    ]);
    expect(port({ protocol: 'tcp' })).toHaveLength(1);
  });

  it('checks peers: at least one selector, ipBlock alone, CIDR parses (host bits allowed), except a strict subset', () => {
    const peer = (p: unknown): string[] => lines(np({ egress: [{ to: [p] }] }));
    expect(peer({})).toEqual(['spec.egress[0].to[0]: Required value: must specify a peer']);
    expect(peer({ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} })).toEqual([
      'spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer',
    ]);
    expect(peer({ ipBlock: { cidr: '10.0.0.1/8' } })).toEqual([]);
    expect(peer({ ipBlock: { cidr: '10.0.0.0' } })).toEqual([
      'spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ]);
    expect(codes(np({ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }))).toEqual(['cidr.invalid']);
    expect(codes(np({ egress: [{ to: [{ ipBlock: { cidr: '010.0.0.0/8' } }] }] }))).toEqual(['cidr.invalid']);
    expect(codes(np({ egress: [{ to: [{ ipBlock: {} }] }] }))).toEqual(['field.required']);
    expect(peer({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8', '11.0.0.0/16', '10.1.0.0/16', 'fd00::/64', 'x'] } }))
      .toEqual([
        'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
        'spec.egress[0].to[0].ipBlock.except[1]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
        'spec.egress[0].to[0].ipBlock.except[3]: Invalid value: "fd00::/64": must be a strict subset of `cidr`',
        'spec.egress[0].to[0].ipBlock.except[4]: Invalid value: "x": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      ]);
    // The except's network must be inside the cidr's network: 10.1.0.1/4 holds 10.1.0.2/32.
    expect(peer({ ipBlock: { cidr: '10.1.0.1/4', except: ['10.1.0.2/32'] } })).toEqual([]);
  });

  it('checks policyTypes', () => {
    expect(lines(np({ policyTypes: ['Ingress', 'egress'] }))).toEqual([
      'spec.policyTypes[1]: Unsupported value: "egress": supported values: "Ingress", "Egress"',
    ]);
    expect(codes(np({ policyTypes: ['Ingress', 'Egress', 'Ingress'] }))).toEqual(['policyTypes.count']);
    expect(codes(np({ policyTypes: ['Egress', 'Egress'] }))).toEqual([]);
  });

  it('reports unknown fields, as kubectl strict validation does', () => {
    expect(lines(np({ ingress: [{ form: [{ podSelector: {} }] }] }))).toEqual(['spec.ingress[0].form: unknown field "form"']);
    expect(codes(np({ podselector: {} }))).toEqual(['field.unknown']);
    expect(codes(np({ egress: [{ from: [] }] }))).toEqual(['field.unknown']);
  });

  it('reports every issue, not just the first', () => {
    expect(codes(np({
      podSelector: { matchLabels: { '-bad': 'x' } },
      ingress: [{ ports: [{ port: 0 }, { protocol: 'ICMP' }], from: [{}] }],
      policyTypes: ['Sideways'],
    }, { name: 'Bad' }))).toEqual([
      'name.invalid', 'label.key', 'port.range', 'protocol.unsupported', 'peer.required', 'policyTypes.unsupported',
    ]);
  });
});

describe('validateK8sNetworkPolicySpec (reused for StagedKubernetesNetworkPolicy)', () => {
  it('prefixes paths and leaves fields outside the k8s spec to the caller', () => {
    const issues = validateK8sNetworkPolicySpec({ stagedAction: 'Set', ingress: [{ ports: [{ port: 0 }] }] }, ['spec']);
    expect(issues.map(formatIssue)).toEqual(['spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']);
    expect(validateK8sNetworkPolicySpec(undefined, ['spec'])).toEqual([]);
    expect(validateK8sNetworkPolicySpec('x', ['spec']).map((i) => i.code)).toEqual(['type.invalid']);
  });
});

describe('validateKubernetesResource: Pods', () => {
  const pod = (spec: unknown, status?: unknown): unknown =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x' }, spec, status });

  it('checks container ports: numbers, names, duplicates within a container, protocols', () => {
    expect(lines(pod({ containers: [{ name: 'c', ports: [
      { containerPort: 0 }, { containerPort: 70000 }, { name: 'http', containerPort: 80 }, { name: 'http', containerPort: 81 },
      { name: 'HTTP', containerPort: 82 }, { containerPort: 83, hostPort: 70000 }, { containerPort: 84, protocol: 'ICMP' },
    ] }] }))).toEqual([
      'spec.containers[0].ports[0].containerPort: Required value',
      'spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[3].name: Duplicate value: "http"',
      'spec.containers[0].ports[4].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].ports[4].name: Invalid value: "HTTP": must contain at least one letter (a-z)',
      'spec.containers[0].ports[5].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[6].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ]);
    expect(codes(pod({ containers: [{ name: 'c' }], initContainers: [{ name: 'c' }] }))).toEqual(['name.duplicate']);
    expect(codes(pod({ containers: [{ ports: [] }] }))).toEqual(['field.required']);
  });

  it('checks pod IPs: each parses, at most one per family, podIPs[0] is podIP', () => {
    expect(codes(pod({}, { podIP: '10.1.0.256' }))).toEqual(['ip.invalid']);
    expect(codes(pod({}, { podIPs: [{ ip: '10.1.0.1' }, { ip: '10.1.0.2' }] }))).toEqual(['ip.dualStack']);
    expect(codes(pod({}, { podIP: '10.1.0.1', podIPs: [{ ip: '10.1.0.2' }] }))).toEqual(['ip.mismatch']);
    expect(codes(pod({}, { podIPs: [{ ip: 'fd00::1' }, { ip: '10.1.0.1' }] }))).toEqual([]);
    expect(codes(pod({ hostNetwork: 'yes' }))).toEqual(['type.invalid']);
  });
});
