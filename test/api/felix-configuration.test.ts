// FelixConfiguration: calicoctl-strict validation of the fields Tabby applies, Calico's other spec fields accepted,
// and the per-field precedence (`node.<name>` over `default` over the built-in defaults) with each value's source.

import { describe, expect, it } from 'vitest';

import {
  effectiveFelixConfiguration, FELIX_DEFAULTS, felixSettingValues, formatProtoPort, parseProtoPortList, validateResource,
  type FelixConfiguration, type Resource,
} from '../../src/api/index.js';

function felix(name: string, spec: Record<string, unknown>): unknown {
  return { apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name }, spec };
}

function messages(value: unknown): string[] {
  const r = validateResource(value);
  return r.ok ? [] : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('FelixConfiguration validation', () => {
  it('accepts the fields Tabby applies, flow-log settings and the rest of Calico\'s spec', () => {
    const r = validateResource(felix('default', {
      failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }, { protocol: 'UDP', port: 68, net: '10.0.0.0/8' }],
      failsafeOutboundHostPorts: [],
      defaultEndpointToHostAction: 'Drop',
      vxlanPort: 4790,
      flowLogsFlushInterval: '1m30s',
      flowLogsPolicyEvaluationMode: 'None',
      // Not applied by Tabby, accepted as calicoctl accepts them.
      ipv6Support: false, chainInsertMode: 'Append', iptablesMarkMask: 0xffff0000, bpfLogFilters: { all: 'tcp' },
      routeTableRanges: [{ min: 1, max: 250 }], healthTimeoutOverrides: [{ name: 'x', timeout: '30s' }],
      kubeNodePortRanges: ['30000:32767'], logActionRateLimit: '10/second', logActionRateLimitBurst: 5,
    }));
    expect(r.ok).toBe(true);
    expect(validateResource(felix('node.n1', {})).ok).toBe(true);
    expect(validateResource(felix('anything-else', { ipv6Support: true })).ok).toBe(true);
  });

  it('refuses what calicoctl refuses, with the path and what is allowed', () => {
    expect(messages(felix('default', { failsafeInboundHostPorts: [{ protocol: 'tcp', port: 22 }] })))
      .toEqual(["spec.failsafeInboundHostPorts.0.protocol: protocol must be 'TCP' or 'UDP' or 'SCTP'. Got \"tcp\"; write \"TCP\""]);
    expect(messages(felix('default', { failsafeInboundHostPorts: [{ port: 22 }] }))[0]).toMatch(/protocol is required/);
    expect(messages(felix('default', { failsafeOutboundHostPorts: [{ protocol: 'UDP', port: 70000 }] }))[0])
      .toMatch(/^spec.failsafeOutboundHostPorts.0.port: /);
    expect(messages(felix('default', { failsafeOutboundHostPorts: [{ protocol: 'UDP', port: 53, net: '10.0.0/8' }] }))[0])
      .toMatch(/^spec.failsafeOutboundHostPorts.0.net: invalid CIDR "10.0.0\/8"/);
    expect(messages(felix('default', { defaultEndpointToHostAction: 'ACCEPT' }))[0])
      .toMatch(/^spec.defaultEndpointToHostAction: Unsupported value: "ACCEPT": supported values: "Drop", "Accept", "Return"/);
    expect(messages(felix('default', { flowLogsFlushInterval: '15' }))[0]).toMatch(/^spec.flowLogsFlushInterval: time: invalid duration "15"/);
    expect(messages(felix('default', { flowLogsFlushInterval: 15 }))[0]).toMatch(/expected a duration string/);
    expect(messages(felix('default', { wireguardListeningPort: 0 }))[0]).toMatch(/wireguardListeningPort must be between 1 and 65535/);
    expect(messages(felix('default', { noSuchField: 1 }))[0]).toMatch(/^spec.noSuchField: /);
    expect(messages(felix('default', { ipv6Support: 'yes' }))[0]).toMatch(/^spec.ipv6Support: expected true or false/);
    expect(messages(felix('Default', {}))[0]).toMatch(/^metadata.name: /);
  });
});

describe('effectiveFelixConfiguration', () => {
  const resources = [
    felix('default', { defaultEndpointToHostAction: 'Drop', failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }] }),
    felix('node.n1', { failsafeInboundHostPorts: [] }),
    felix('node.n2', { vxlanPort: 4790 }),
    felix('elsewhere', { vxlanPort: 1 }),
  ].map((v) => { const r = validateResource(v); if (!r.ok) throw new Error(JSON.stringify(r.issues)); return r.value; });

  it('takes each field from node.<name>, then default, then the built-in default', () => {
    const n1 = effectiveFelixConfiguration(resources, 'n1');
    expect(n1.failsafeInboundHostPorts).toEqual({ value: [], source: { kind: 'node', name: 'node.n1' } });
    expect(n1.defaultEndpointToHostAction).toEqual({ value: 'Drop', source: { kind: 'default', name: 'default' } });
    expect(n1.vxlanPort).toEqual({ value: 4789, source: { kind: 'builtin' } });
    const n2 = felixSettingValues(effectiveFelixConfiguration(resources, 'n2'));
    expect(n2.failsafeInboundHostPorts).toEqual([{ protocol: 'TCP', port: 22 }]);
    expect(n2.vxlanPort).toBe(4790);
    // Another node, and the cluster-wide view: default only; a name that is neither is ignored.
    expect(effectiveFelixConfiguration(resources, 'n3').vxlanPort.value).toBe(4789);
    expect(effectiveFelixConfiguration(resources, undefined).failsafeInboundHostPorts.source).toEqual({ kind: 'default', name: 'default' });
  });

  it('puts overrides over the datastore, and returns copies', () => {
    const eff = effectiveFelixConfiguration(resources, 'n1', {
      defaultEndpointToHostAction: { value: 'Return', what: '--default-endpoint-to-host-action' },
    });
    expect(eff.defaultEndpointToHostAction).toEqual({ value: 'Return', source: { kind: 'override', what: '--default-endpoint-to-host-action' } });
    const none = effectiveFelixConfiguration([] as Resource[], 'n1');
    none.failsafeOutboundHostPorts.value.push({ protocol: 'TCP', port: 1 });
    expect(FELIX_DEFAULTS.failsafeOutboundHostPorts).toHaveLength(9);
    expect((resources[1] as FelixConfiguration).spec.failsafeInboundHostPorts).toEqual([]);
  });

  it('reads and writes Felix\'s text form of failsafe lists', () => {
    expect(parseProtoPortList('tcp:22, UDP:10.0.0.0/8:68,2379,sctp:[fd00::/8]:9')).toEqual({
      ok: true,
      value: [
        { protocol: 'TCP', port: 22 }, { protocol: 'UDP', port: 68, net: '10.0.0.0/8' }, { protocol: 'TCP', port: 2379 },
        { protocol: 'SCTP', port: 9, net: 'fd00::/8' },
      ],
    });
    expect(parseProtoPortList('none')).toEqual({ ok: true, value: [] });
    expect(parseProtoPortList('tcp:0')).toMatchObject({ ok: false });
    expect(parseProtoPortList('icmp:22')).toMatchObject({ ok: false });
    expect(parseProtoPortList('tcp:10.0.0/8:22')).toMatchObject({ ok: false });
    expect(formatProtoPort({ protocol: 'SCTP', port: 9, net: 'fd00::/8' })).toBe('sctp:[fd00::/8]:9');
  });
});
