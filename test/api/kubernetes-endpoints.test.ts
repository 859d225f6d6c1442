// Pods → WorkloadEndpoints, Namespaces and ServiceAccounts → Profiles, as Calico's k8s conversion makes them
// (expected values from Calico's conversion_test.go where it pins them).
import { describe, expect, it } from 'vitest';

import {
  namespaceProfile,
  podToWorkloadEndpoint,
  serviceAccountProfile,
  vethNameForWorkload,
  workloadEndpointName,
} from '../../src/api/kubernetes/index.js';
import type { Pod, PodSpec, PodStatus } from '../../src/api/types.js';

function pod(spec: PodSpec, status: PodStatus | undefined, extra: Partial<Pod['metadata']> = {}): Pod {
  const p: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'podA', namespace: 'default', ...extra }, spec };
  if (status) p.status = status;
  return p;
}

describe('podToWorkloadEndpoint', () => {
  it('converts a pod with an IP (Calico "should parse a Pod with an IP to a WorkloadEndpoint")', () => {
    const wep = podToWorkloadEndpoint(pod({
      nodeName: 'nodeA',
      containers: [
        { name: 'a', ports: [{ containerPort: 5678 }, { name: 'no-proto', containerPort: 1234 }] },
        { name: 'b', ports: [
          { name: 'tcp-proto', protocol: 'TCP', containerPort: 1024 },
          { name: 'tcp-proto-with-host-port', protocol: 'TCP', containerPort: 8080, hostPort: 5678 },
          { name: 'tcp-proto-with-host-port-and-ip', protocol: 'TCP', containerPort: 8081, hostPort: 6789, hostIP: '1.2.3.4' },
          { protocol: 'TCP', containerPort: 500, hostPort: 5000 },
          { name: 'udp-proto', protocol: 'UDP', containerPort: 432 },
          { name: 'sctp-proto', protocol: 'SCTP', containerPort: 891 },
          { name: 'unkn-proto', protocol: 'unknown' as 'TCP', containerPort: 567 },
        ] },
      ],
    }, { podIP: '192.168.0.1' }, { labels: { labelA: 'valueA', labelB: 'valueB' }, annotations: { arbitrary: 'annotation' } }));
    expect(wep).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: {
        name: 'nodeA-k8s-podA-eth0',
        namespace: 'default',
        labels: {
          labelA: 'valueA', labelB: 'valueB',
          'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s',
        },
      },
      spec: {
        orchestrator: 'k8s',
        node: 'nodeA',
        pod: 'podA',
        endpoint: 'eth0',
        // "If this fails, fix the code not this expect!" — the veth name must stay stable across releases.
        interfaceName: 'cali7f94ce7c295',
        profiles: ['kns.default'],
        ipNetworks: ['192.168.0.1/32'],
        ports: [
          { name: 'no-proto', port: 1234, protocol: 'TCP' },
          { name: 'tcp-proto', port: 1024, protocol: 'TCP' },
          { name: 'tcp-proto-with-host-port', port: 8080, protocol: 'TCP', hostPort: 5678 },
          { name: 'tcp-proto-with-host-port-and-ip', port: 8081, protocol: 'TCP', hostPort: 6789, hostIP: '1.2.3.4' },
          { port: 500, protocol: 'TCP', hostPort: 5000 },
          { name: 'udp-proto', port: 432, protocol: 'UDP' },
          { name: 'sctp-proto', port: 891, protocol: 'SCTP' },
        ],
      },
    });
  });

  it('names interfaces and endpoints as Calico does', () => {
    expect(vethNameForWorkload('default', 'podB')).toBe('cali92cf1f5e9f6');
    expect(vethNameForWorkload('namespace', 'podname')).toBe('cali82111e10a96');
    expect(workloadEndpointName('node', 'pod-name')).toBe('node-k8s-pod--name-eth0');
    expect(workloadEndpointName('node-1', 'a')).toBe('node--1-k8s-a-eth0');
    expect(workloadEndpointName(undefined, 'a')).toBe('k8s-a-eth0');
  });

  it('converts dual-stack pod IPs, preferring status.podIPs', () => {
    const wep = podToWorkloadEndpoint(pod({ nodeName: 'nodeA' }, {
      podIP: '192.168.0.1', podIPs: [{ ip: '192.168.0.1' }, { ip: 'fd5f:8067::1' }],
    }));
    expect(wep?.spec.ipNetworks).toEqual(['192.168.0.1/32', 'fd5f:8067::1/128']);
  });

  it('falls back to the Calico and AWS CNI annotations, status first', () => {
    const annotated = (annotations: Record<string, string>, status?: PodStatus): string[] | undefined =>
      podToWorkloadEndpoint(pod({ nodeName: 'nodeA' }, status, { annotations }))?.spec.ipNetworks;
    expect(annotated({ 'cni.projectcalico.org/podIP': '192.168.0.1' })).toEqual(['192.168.0.1/32']);
    expect(annotated({ 'cni.projectcalico.org/podIPs': '192.168.0.1/32,fd5f:8067::1/128' }))
      .toEqual(['192.168.0.1/32', 'fd5f:8067::1/128']);
    expect(annotated({ 'vpc.amazonaws.com/pod-ips': '192.168.0.1' })).toEqual(['192.168.0.1/32']);
    expect(annotated({ 'cni.projectcalico.org/podIP': '192.168.0.1' }, { podIP: '192.168.0.2' })).toEqual(['192.168.0.2/32']);
    expect(annotated({ 'cni.projectcalico.org/podIP': 'foobar' })).toBeUndefined();
  });

  it('is undefined for host-networked pods, pods without IPs and finished pods', () => {
    expect(podToWorkloadEndpoint(pod({ nodeName: 'nodeA', hostNetwork: true }, { podIP: '10.0.0.1' }))).toBeUndefined();
    expect(podToWorkloadEndpoint(pod({ nodeName: 'nodeA' }, {}))).toBeUndefined();
    expect(podToWorkloadEndpoint(pod({ nodeName: 'nodeA' }, undefined))).toBeUndefined();
    for (const phase of ['Succeeded', 'Failed', 'Completed']) {
      expect(podToWorkloadEndpoint(pod({ nodeName: 'nodeA' }, { podIP: '10.0.0.1', phase }))).toBeUndefined();
    }
    for (const phase of ['Pending', 'Running', 'Unknown']) {
      expect(podToWorkloadEndpoint(pod({ nodeName: 'nodeA' }, { podIP: '10.0.0.1', phase }))).toBeDefined();
    }
    const deleting = pod({ nodeName: 'nodeA' }, { podIP: '10.0.0.1', phase: 'Running' },
      { annotations: { 'cni.projectcalico.org/podIP': '' } });
    expect(podToWorkloadEndpoint(deleting)).toBeDefined();
    (deleting.metadata as { deletionTimestamp?: string }).deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(podToWorkloadEndpoint(deleting)).toBeUndefined();
  });

  it('adds the service-account profile and label (label only below 63 characters)', () => {
    const wep = podToWorkloadEndpoint(pod({ nodeName: 'nodeA', serviceAccountName: 'sa-test' }, { podIP: '192.168.0.1' }));
    expect(wep?.spec.profiles).toEqual(['kns.default', 'ksa.default.sa-test']);
    expect(wep?.spec.serviceAccountName).toBe('sa-test');
    expect(wep?.metadata.labels?.['projectcalico.org/serviceaccount']).toBe('sa-test');
    const longName = 'serviceaccount-name-that-is-too-long-to-be-used-as-a-kubernetes-label-because-it-exceeds-the-character-limit';
    const long = podToWorkloadEndpoint(pod({ nodeName: 'nodeA', serviceAccountName: longName }, { podIP: '192.168.0.1' }));
    expect(long?.spec.profiles).toEqual(['kns.default', `ksa.default.${longName}`]);
    expect(long?.metadata.labels).toEqual({ 'projectcalico.org/namespace': 'default', 'projectcalico.org/orchestrator': 'k8s' });
    const deprecated = podToWorkloadEndpoint(pod({ nodeName: 'nodeA', serviceAccount: 'old' }, { podIP: '192.168.0.1' }));
    expect(deprecated?.spec.profiles).toEqual(['kns.default', 'ksa.default.old']);
  });

  it('lets Calico\'s labels win over pod labels of the same name, and takes init-container ports', () => {
    const wep = podToWorkloadEndpoint(pod({
      nodeName: 'nodeA',
      initContainers: [{ name: 'sidecar', ports: [{ name: 'metrics', containerPort: 9090 }] }],
    }, { podIP: '10.0.0.1' }, { namespace: 'x', labels: { 'projectcalico.org/namespace': 'spoofed' } }));
    expect(wep?.metadata.labels?.['projectcalico.org/namespace']).toBe('x');
    expect(wep?.spec.ports).toEqual([{ name: 'metrics', port: 9090, protocol: 'TCP' }]);
  });

  it('reads floating IPs, allowed source prefixes and the container ID from annotations', () => {
    const wep = podToWorkloadEndpoint(pod({ nodeName: 'nodeA' }, undefined, { annotations: {
      'cni.projectcalico.org/podIPs': '192.168.0.1,fd5f:8067::1',
      'cni.projectcalico.org/floatingIPs': '["1.1.1.1","fd80:100:100::10"]',
      'cni.projectcalico.org/allowedSourcePrefixes': '["8.8.8.8/32","1.1.1.1/24"]',
      'cni.projectcalico.org/containerID': 'abc123',
    } }));
    expect(wep?.spec.ipNATs).toEqual([
      { internalIP: '192.168.0.1', externalIP: '1.1.1.1' },
      { internalIP: 'fd5f:8067::1', externalIP: 'fd80:100:100::10' },
    ]);
    expect(wep?.spec.allowSpoofedSourcePrefixes).toEqual(['8.8.8.8/32', '1.1.1.0/24']);
    expect(wep?.spec.containerID).toBe('abc123');
  });
});

describe('namespaceProfile and serviceAccountProfile', () => {
  it('makes kns.<ns>: allow-all both ways, pcns.* labels plus the name label', () => {
    expect(namespaceProfile({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { foo: 'bar', roger: 'rabbit' } } }))
      .toEqual({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Profile',
        metadata: { name: 'kns.default' },
        spec: {
          ingress: [{ action: 'Allow' }],
          egress: [{ action: 'Allow' }],
          // The API server's kubernetes.io/metadata.name label (SetDefaults_Namespace) comes through as well.
          labelsToApply: {
            'pcns.foo': 'bar', 'pcns.roger': 'rabbit', 'pcns.kubernetes.io/metadata.name': 'default',
            'pcns.projectcalico.org/name': 'default',
          },
        },
      });
    expect(namespaceProfile({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }).spec.labelsToApply)
      .toEqual({ 'pcns.kubernetes.io/metadata.name': 'x', 'pcns.projectcalico.org/name': 'x' });
  });

  it('makes ksa.<ns>.<sa>: no rules, pcsa.* labels; no namespace means default', () => {
    expect(serviceAccountProfile({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa-test', labels: { foo: 'bar' } } }))
      .toEqual({
        apiVersion: 'projectcalico.org/v3',
        kind: 'Profile',
        metadata: { name: 'ksa.default.sa-test' },
        spec: { labelsToApply: { 'pcsa.foo': 'bar', 'pcsa.projectcalico.org/name': 'sa-test' } },
      });
    expect(serviceAccountProfile({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa-test', namespace: 'test' } })
      .metadata.name).toBe('ksa.test.sa-test');
  });
});
