// HostEndpoint (§2.7) and WorkloadEndpoint (§2.8), checked as §5.6 describes: interface names, expected IPs,
// profile names, named ports, and for workloads their single-address networks and NAT mappings.

import { isPortName } from '../kubernetes/names.js';
import { cidrContains, isSingleAddress, parseIp, type IpNet } from '../net.js';
import type { EndpointPort, HostEndpoint, WorkloadEndpoint, WorkloadEndpointPort } from '../types.js';
import type { Path, ValidationContext } from './context.js';
import type { CalicoKindValidation } from './kind.js';
import { isResourceName } from './metadata.js';
import { msg } from './messages.js';
import { checkIp, checkLaxNet, checkMaskedNet } from './nets.js';
import { protocolSchema, checkProtocol, protocolSupportsPorts } from './protocol.js';
import { arr, int, obj, opaque, str, type ObjectSchema } from './schema.js';

// validator.go interfaceRegex.
const INTERFACE_RE = /^[a-zA-Z0-9_.-]{1,15}$/;

/** An interface name as a stored interfaceName may be: also the only names Tabby puts into nft text. */
export function isInterfaceName(name: string): boolean {
  return INTERFACE_RE.test(name);
}
const CONTAINER_ID_RE = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
// Go net.ParseMAC: 6, 8 or 20 octets, separated by ':' or '-', or dotted groups of four hex digits.
const MAC_RE = /^([0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\2){4}[0-9a-fA-F]{2}|([0-9a-fA-F]{2}([:-])){7}[0-9a-fA-F]{2}|([0-9a-fA-F]{2}([:-])){19}[0-9a-fA-F]{2}|[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}|([0-9a-fA-F]{4}\.){3}[0-9a-fA-F]{4}|([0-9a-fA-F]{4}\.){9}[0-9a-fA-F]{4})$/;

function checkNames(ctx: ValidationContext, names: readonly string[] | undefined, path: Path): void {
  names?.forEach((n, i) => {
    if (!isResourceName(n)) ctx.report('name.invalid', [...path, i], msg.resourceName(n), n);
  });
}

function checkNameField(ctx: ValidationContext, value: string | undefined, path: Path): void {
  if (value !== undefined && value !== '' && !isResourceName(value)) ctx.report('name.invalid', path, msg.resourceName(value), value);
}

/** EndpointPort / WorkloadEndpointPort: protocol that has ports, port 1–65535, valid name. */
function checkEndpointPort(
  ctx: ValidationContext,
  port: EndpointPort | WorkloadEndpointPort,
  path: Path,
  goType: 'EndpointPort' | 'WorkloadEndpointPort',
  nameRequired: boolean,
): void {
  const name = port.name ?? '';
  if (name !== '' || nameRequired) {
    const problems = name === '' ? ['must be non-empty'] : isPortName(name);
    if (problems.length > 0) ctx.report('port.name', [...path, 'name'], msg.portName(name, problems), name);
  }
  if (port.protocol === undefined) {
    if (ctx.intact([...path, 'protocol'])) ctx.report('port.protocol', [...path, 'protocol'], msg.endpointPortProtocol(goType));
  } else {
    checkProtocol(ctx, port.protocol, [...path, 'protocol']);
    if (!protocolSupportsPorts(port.protocol)) {
      ctx.report('port.protocol', [...path, 'protocol'], msg.endpointPortProtocol(goType), port.protocol);
    }
  }
  if ((port.port ?? 0) < 1 && ctx.intact([...path, 'port'])) {
    ctx.report('port.number', [...path, 'port'], msg.endpointPortNumber(), port.port);
  }
}

const endpointPortSchema: ObjectSchema = obj('EndpointPort', {
  name: str(),
  protocol: protocolSchema,
  port: int('uint16'),
});

export const hostEndpointKind: CalicoKindValidation<HostEndpoint> = {
  nameRule: 'subdomain',
  spec: obj('HostEndpointSpec', {
    node: str(),
    interfaceName: str(),
    expectedIPs: arr(str()),
    profiles: arr(str()),
    ports: arr(endpointPortSchema),
  }),
  check(ctx, hep) {
    const spec = hep.spec;
    const path = ['spec'];
    if ((spec.node ?? '') === '') {
      if (ctx.intact([...path, 'node'])) ctx.report('hostEndpoint.node', [...path, 'node'], msg.hepNode());
    } else {
      checkNameField(ctx, spec.node, [...path, 'node']);
    }
    if ((spec.interfaceName ?? '') === '' && (spec.expectedIPs?.length ?? 0) === 0 &&
      ctx.intact([...path, 'interfaceName']) && ctx.intact([...path, 'expectedIPs'])) {
      ctx.report('hostEndpoint.interface', path, msg.hepInterfaceOrIps());
    }
    const iface = spec.interfaceName;
    if (iface !== undefined && iface !== '' && iface !== '*' && !INTERFACE_RE.test(iface)) {
      ctx.report('interface.invalid', [...path, 'interfaceName'], msg.hepInterfaceName(iface), iface);
    }
    spec.expectedIPs?.forEach((ip, i) => checkIp(ctx, ip, [...path, 'expectedIPs', i]));
    checkNames(ctx, spec.profiles, [...path, 'profiles']);
    spec.ports?.forEach((p, i) => checkEndpointPort(ctx, p, [...path, 'ports', i], 'EndpointPort', true));
  },
};

const workloadPortSchema: ObjectSchema = obj('WorkloadEndpointPort', {
  name: str(),
  protocol: protocolSchema,
  port: int('uint16'),
  hostPort: int('uint16'),
  hostIP: str(),
});

export const workloadEndpointKind: CalicoKindValidation<WorkloadEndpoint> = {
  nameRule: 'subdomain',
  spec: obj('WorkloadEndpointSpec', {
    orchestrator: str(),
    workload: str(),
    node: str(),
    containerID: str(),
    pod: str(),
    endpoint: str(),
    serviceAccountName: str(),
    ipNetworks: arr(str()),
    ipNATs: arr(obj('IPNAT', { internalIP: str(), externalIP: str() })),
    ipv4Gateway: str(),
    ipv6Gateway: str(),
    profiles: arr(str()),
    interfaceName: str(),
    mac: str(),
    ports: arr(workloadPortSchema),
    allowSpoofedSourcePrefixes: arr(str()),
    qosControls: opaque(),
  }),
  check(ctx, wep) {
    const spec = wep.spec;
    const path = ['spec'];
    for (const field of ['orchestrator', 'workload', 'node', 'pod', 'endpoint', 'serviceAccountName'] as const) {
      checkNameField(ctx, spec[field], [...path, field]);
    }
    if (spec.containerID !== undefined && spec.containerID !== '' && !CONTAINER_ID_RE.test(spec.containerID)) {
      ctx.report('workloadEndpoint.containerID', [...path, 'containerID'], msg.containerId(spec.containerID), spec.containerID);
    }
    const iface = spec.interfaceName ?? '';
    if (iface === '') {
      if (ctx.intact([...path, 'interfaceName'])) ctx.report('interface.required', [...path, 'interfaceName'], msg.wepInterfaceRequired());
    } else if (!INTERFACE_RE.test(iface)) {
      ctx.report('interface.invalid', [...path, 'interfaceName'], msg.interfaceName(iface), iface);
    }

    const networks: IpNet[] = [];
    spec.ipNetworks?.forEach((n, i) => {
      const net = checkMaskedNet(ctx, n, [...path, 'ipNetworks', i]);
      if (!net) return;
      networks.push(net);
      if (!isSingleAddress(net)) ctx.report('workloadEndpoint.ipNetwork', [...path, 'ipNetworks', i], msg.ipNetworkMultiple(n), n);
    });
    spec.ipNATs?.forEach((nat, i) => {
      const natPath = [...path, 'ipNATs', i];
      const internal = parseIp(nat.internalIP ?? '');
      const external = parseIp(nat.externalIP ?? '');
      if (!internal) ctx.report('ip.invalid', [...natPath, 'internalIP'], msg.ipInvalid(nat.internalIP ?? ''), nat.internalIP);
      if (!external) ctx.report('ip.invalid', [...natPath, 'externalIP'], msg.ipInvalid(nat.externalIP ?? ''), nat.externalIP);
      if (internal && external && internal.family !== external.family) {
        ctx.report('workloadEndpoint.nat', natPath, msg.natMixedFamilies());
      }
      if (internal && ctx.intact([...path, 'ipNetworks']) && !networks.some((n) => cidrContains(n, internal))) {
        ctx.report('workloadEndpoint.nat', [...natPath, 'internalIP'], msg.natNotInNetworks(nat.internalIP), nat.internalIP);
      }
    });
    if (spec.ipv4Gateway) checkIp(ctx, spec.ipv4Gateway, [...path, 'ipv4Gateway'], 4);
    if (spec.ipv6Gateway) checkIp(ctx, spec.ipv6Gateway, [...path, 'ipv6Gateway'], 6);
    checkNames(ctx, spec.profiles, [...path, 'profiles']);
    if (spec.mac !== undefined && spec.mac !== '' && !MAC_RE.test(spec.mac)) {
      ctx.report('workloadEndpoint.mac', [...path, 'mac'], msg.macInvalid(spec.mac), spec.mac);
    }
    spec.ports?.forEach((p, i) => {
      const portPath = [...path, 'ports', i];
      checkEndpointPort(ctx, p, portPath, 'WorkloadEndpointPort', false);
      if ((p.name ?? '') === '' && (p.hostPort ?? 0) === 0 && ctx.intact(portPath)) {
        ctx.report('port.name', [...portPath, 'name'], msg.wepPortName());
      }
      if (p.hostIP) checkMaskedNet(ctx, p.hostIP, [...portPath, 'hostIP']);
    });
    spec.allowSpoofedSourcePrefixes?.forEach((n, i) => checkLaxNet(ctx, n, [...path, 'allowSpoofedSourcePrefixes', i]));
  },
};
