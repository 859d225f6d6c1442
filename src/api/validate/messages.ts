// Every message the validator writes, in one place. Each says what is wrong and what is allowed. Where Calico has
// wording for the same problem (libcalico-go validator.go reasons, CRD CEL messages; calico-semantics.md §5.7) the
// message contains it verbatim, so people who know calicoctl's errors recognise them and `errorContains` checks
// in the conformance corpus hold. Keep in sync with nothing else: no other file builds user-facing text.

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value)}`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const list = (items: readonly string[]): string => items.join(', ');

export const msg = {
  // --- structure -----------------------------------------------------------------------------------------------
  typeMismatch: (expected: string, got: unknown) => `expected ${expected}, got ${show(got)}`,
  // The API server's enum wording, then ours.
  notInEnum: (got: string, allowed: readonly string[]) =>
    `Unsupported value: ${JSON.stringify(got)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')} ` +
    `(must be one of ${list(allowed)}, case-sensitive)`,
  unknownField: (key: string, type: string, allowed: readonly string[]) =>
    `unknown field ${JSON.stringify(key)} in ${type}; allowed fields: ${list(allowed)}`,
  requiredField: (key: string, type: string, expected: string) =>
    `Required value: missing field ${JSON.stringify(key)} in ${type}; it must be ${expected}`,
  outOfGoRange: (value: number, goType: string, min: number, max: number) =>
    `value ${value} does not fit the field (${goType}); it must be between ${min} and ${max}`,
  tooLong: (length: number, max: number) =>
    `Too long: may not be more than ${max} bytes (this value has ${length} characters)`,
  tooManyItems: (count: number, max: number) => `Too many: ${count}: must have at most ${max} items`,
  notAnObject: (got: unknown) => `a resource must be an object with apiVersion, kind, metadata and spec; got ${show(got)}`,
  missingTypeField: (field: 'apiVersion' | 'kind') =>
    `missing ${field}; every resource needs apiVersion and kind (e.g. apiVersion: projectcalico.org/v3, kind: NetworkPolicy)`,
  unknownKind: (apiVersion: string, kind: string, known: readonly string[]) =>
    `unknown resource type ${JSON.stringify(`${apiVersion} ${kind}`)}; known types: ${list(known)}`,
  wrongApiVersion: (kind: string, got: string, allowed: readonly string[]) =>
    `kind ${kind} is not served by apiVersion ${JSON.stringify(got)}; use apiVersion ${allowed.join(' or ')}`,

  // --- metadata (§5.1, §5.2) -----------------------------------------------------------------------------------
  nameRequired: () => 'metadata.name is required: a lower-case DNS name such as my-policy',
  nameTooLong: (length: number, max: number) => `name is too long by ${length - max} bytes (at most ${max} characters)`,
  nameSubdomain: () =>
    "name must consist of lower case alphanumeric characters, '-' or '.' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)",
  nameLabel: () =>
    "name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?)",
  namePolicy: () =>
    "name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?), " +
    'with at most one dot (e.g. my-policy or tier1.my-policy), or be knp.default.<name> / ossg.default.<name>',
  nameGlobalPolicy: () =>
    "name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?), " +
    'with at most one dot (e.g. my-policy or tier1.my-policy)',
  tierName: () =>
    "tier name must consist of lower case alphanumeric characters or '-' (regex: [a-z0-9]([-a-z0-9]*[a-z0-9])?), " +
    'at most 63 characters and no dots',
  namespaceNotAllowed: (kind: string) =>
    `metadata.namespace must not be set: ${kind} is cluster-scoped (remove the namespace)`,
  namespaceInvalid: (reasons: readonly string[]) => `invalid namespace: ${list(reasons)}`,
  labelKey: (reasons: readonly string[]) => `invalid label key: ${reasons.join('; ')}`,
  labelValue: (reasons: readonly string[]) => `invalid label value: ${reasons.join('; ')}`,
  annotationKey: (reasons: readonly string[]) => `invalid annotation key: ${reasons.join('; ')}`,
  annotationsTooLarge: (size: number, max: number) =>
    `total size of annotations is too large by ${size - max} bytes (keys plus values may be at most ${max} bytes)`,
  reservedNamespaceLabel: () =>
    'projectcalico.org/namespace is not a valid label name: Calico sets it itself on namespaced network sets',

  // --- selectors (§5.3, §5.4) ----------------------------------------------------------------------------------
  selectorInvalid: (text: string, reason: string, offset: number, hint: string | undefined) =>
    `invalid selector ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}: ${reason} ` +
    `(at character ${offset + 1})${hint ? `; ${hint}` : ''}; selectors look like app == "web" && has(tier)`,
  globalOnlyInEntityNamespaceSelector: () => 'global() can only be used in an EntityRule namespaceSelector',
  globalCombined: () =>
    'global() cannot be combined with other selectors; write namespaceSelector: global() on its own',

  // --- rules (§5.5) --------------------------------------------------------------------------------------------
  ipVersion: (got: number) => `Unsupported value: ${got}: supported values: "4", "6" (ipVersion must be 4 or 6)`,
  protocolNumber: (got: number) =>
    `protocol number invalid: ${got}; a protocol is TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255`,
  protocolName: (got: string) =>
    `protocol name invalid: ${JSON.stringify(got)}; a protocol is TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite ` +
    '(exact case) or a number 1-255',
  protocolDecode: () => 'expected a protocol: TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255',
  portRangeBounds: () => 'port range invalid, port number must be between 1 and 65535',
  portRangeOrder: (min: number, max: number) =>
    `port range invalid: ${min}:${max} has its minimum above its maximum; write "min:max" with min <= max`,
  portDecode: () =>
    'invalid port: expected a port number 1-65535, a "min:max" range, or a port name such as http',
  portName: (name: string, reasons: readonly string[]) =>
    `invalid port name ${JSON.stringify(name)}: ${reasons.join('; ')}`,
  portsNeedProtocol: () =>
    'rules that specify ports must set protocol to TCP or UDP or SCTP',
  numericPortsNeedProtocol: () =>
    'rules with numeric port or port range must set protocol to TCP or UDP or SCTP (named ports may omit it)',
  icmpType: (got: number) =>
    `ICMP type ${got} is out of range: ${got < 0 ? 'should be greater than or equal to 0' : 'should be less than or equal to 254'} (types are 0-254)`,
  icmpCode: (got: number) =>
    `ICMP code ${got} is out of range: ${got < 0 ? 'should be greater than or equal to 0' : 'should be less than or equal to 255'} (codes are 0-255)`,
  icmpCodeWithoutType: () => 'ICMP code specified without an ICMP type',
  icmpNeedsProtocol: () =>
    'ICMP fields require protocol to be ICMP or ICMPv6 (or 1 or 58)',
  icmpNeedsV4: () => 'protocol ICMP requires ipVersion 4',
  icmpv6NeedsV6: () => 'protocol ICMPv6 requires ipVersion 6',
  ruleNetInvalid: (net: string) =>
    `invalid CIDR ${JSON.stringify(net)}: rules take CIDRs such as 10.0.0.0/8 or fd00::/64 (a bare IP needs /32 or /128)`,
  netHostBits: (net: string, masked: string) =>
    `invalid network ${JSON.stringify(net)}: host bits are set; write the network address ${masked}`,
  netInvalid: (net: string) => `invalid IP or CIDR ${JSON.stringify(net)}: expected e.g. 10.0.0.1, 10.0.0.0/8 or fd00::/64`,
  ruleMixedFamilies: () => 'rule contains both IPv4 and IPv6 CIDRs; split it into one rule per IP version',
  ruleFamilyMismatch: (ipVersion: number) =>
    `rule IP version doesn't match CIDR version: ipVersion is ${ipVersion} but a CIDR is IPv${ipVersion === 4 ? 6 : 4}`,
  catchAllNotNets: (net: string) =>
    `catch-all CIDR in negation creates logical contradiction (matches no traffic): ${JSON.stringify(net)} in notNets`,

  // --- services, service accounts, HTTP (§5.3) -----------------------------------------------------------------
  servicesNeedName: () => 'services must specify a service name',
  servicesWithNamespaceSelector: () => 'cannot specify NamespaceSelector and Services on the same rule',
  servicesWithSelector: () => 'cannot specify Selector/NotSelector and Services on the same rule',
  servicesWithServiceAccounts: () => 'cannot specify ServiceAccounts and Services on the same rule',
  servicesWithNets: () => 'cannot specify Nets/NotNets and Services on the same rule',
  servicesWithPorts: () =>
    'ports and notPorts cannot be specified with services in a destination (the service\'s own ports are used)',
  servicesInEgressSource: () =>
    'services not allowed in egress rule source; use them in an egress destination or an ingress source',
  servicesInIngressDestination: () =>
    'services not allowed in ingress rule destination; use them in an ingress source or an egress destination',
  servicesNeedNamespace: () =>
    'services must specify a namespace in a GlobalNetworkPolicy (there is no policy namespace to default to)',
  httpOnlyAllow: (action: string) => `HTTP match is only valid on Allow rules (this rule's action is ${action})`,
  httpProtocol: () => 'rules with HTTP match must have protocol TCP or unset',
  httpInEgress: () => 'HTTP match not allowed in egress rules; use it in ingress rules only',
  httpDuplicateMethods: (methods: readonly string[]) =>
    `Invalid methods (duplicates): ${JSON.stringify(methods)}; list each HTTP method once`,
  httpPathBoth: () => "Invalid path match. Both 'exact' and 'prefix' are set; set exactly one of them",
  httpPathNeither: () => "Invalid path match. Either 'exact' or 'prefix' must be set",
  httpPathChars: (path: string) =>
    `Invalid path ${path}. (must start with \`/\` and not contain \`?\` or \`#\` or a space)`,

  // --- policies (§5.3) -----------------------------------------------------------------------------------------
  duplicateType: (t: string) => `'${t}' type specified more than once; types may list Ingress and Egress once each`,
  typesEmpty: () => 'types must list at least one of Ingress, Egress when present (omit it to have it inferred)',
  duplicateHint: (h: string) => `performance hint ${JSON.stringify(h)} is listed more than once`,
  preDnatAndDoNotTrack: () => 'preDNAT and doNotTrack cannot both be true',
  preDnatEgressRules: () => 'preDNAT policy cannot have any egress rules',
  preDnatEgressType: () => "preDNAT policy cannot have 'Egress' type",
  applyOnForward: () => 'applyOnForward must be true if either preDNAT or doNotTrack is true',
  stagedDeleteNotEmpty: (fields: readonly string[]) =>
    `Spec fields, except Tier, should all be zero-value if stagedAction is Delete (set here: ${list(fields)})`,
  stagedK8sDeleteNotEmpty: (fields: readonly string[]) =>
    `Spec fields should all be zero-value if stagedAction is Delete (set here: ${list(fields)})`,

  // --- tiers (§5.6) --------------------------------------------------------------------------------------------
  builtinTierAction: (name: string, action: string) => `The '${name}' tier must have default action '${action}'`,
  builtinTierOrder: (name: string, order: number) => `${name} tier order must be ${order}`,

  // --- endpoints, sets, pools (§5.6) ---------------------------------------------------------------------------
  hepNode: () => 'node must be specified: the name of the node that owns this host endpoint',
  hepInterfaceOrIps: () => 'at least one of interfaceName or expectedIPs must be specified',
  interfaceName: (name: string) =>
    `invalid interface name ${JSON.stringify(name)}: 1-15 characters of [a-zA-Z0-9_.-]`,
  hepInterfaceName: (name: string) =>
    `invalid interface name ${JSON.stringify(name)}: "*" (all host interfaces) or 1-15 characters of [a-zA-Z0-9_.-]`,
  wepInterfaceRequired: () => 'interfaceName is required: the host-side interface name, 1-15 characters of [a-zA-Z0-9_.-]',
  ipInvalid: (ip: string) => `invalid IP address ${JSON.stringify(ip)}: expected e.g. 10.0.0.1 or fd00::1`,
  ipFamily: (ip: string, family: 4 | 6) => `invalid IPv${family} address ${JSON.stringify(ip)}`,
  resourceName: (name: string) =>
    `invalid name ${JSON.stringify(name)}: must be a lower-case DNS name ` +
    "(lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character)",
  endpointPortProtocol: (kind: string) =>
    `${kind} protocol does not support ports. Use TCP, UDP or SCTP`,
  endpointPortNumber: () => 'port must be between 1 and 65535: should be greater than or equal to 1',
  wepPortName: () => 'WorkloadEndpointPort name must not be empty if no HostPort is specified',
  containerId: (id: string) =>
    `invalid containerID ${JSON.stringify(id)}: alphanumeric characters and '-', starting and ending with an alphanumeric`,
  ipNetworkMultiple: (net: string) =>
    `IP network contains multiple addresses: ${JSON.stringify(net)}; endpoint networks must be /32 (IPv4) or /128 (IPv6)`,
  natNotInNetworks: (ip: string) =>
    `NAT is not in the endpoint networks: internal IP ${JSON.stringify(ip)} must be one of ipNetworks`,
  natMixedFamilies: () => 'mismatched IP versions: internalIP and externalIP must both be IPv4 or both IPv6',
  macInvalid: (mac: string) => `invalid MAC address ${JSON.stringify(mac)}: expected e.g. aa:bb:cc:dd:ee:ff`,
  cidrInvalid: (cidr: string) => `invalid CIDR ${JSON.stringify(cidr)}: expected an IP or CIDR such as 10.0.0.0/8`,
  poolCidrRequired: () => 'IPPool CIDR must be specified',
  poolCidrInvalid: () => 'IPPool CIDR must be a valid subnet, e.g. 192.168.0.0/16',
  poolCidrNotMasked: (masked: string) => `IP pool CIDR is not strictly masked; use ${masked}`,
  poolIpipV6: () => "IPIPMode other than 'Never' is not supported on an IPv6 IP pool",
  poolIpipAndVxlan: () => 'IPIPMode and VXLANMode cannot both be enabled on the same IP pool',
  poolBlockSize: (family: 4 | 6) =>
    family === 4 ? 'blockSize must be between 20 and 32 for an IPv4 pool' : 'blockSize must be between 116 and 128 for an IPv6 pool',
  poolTooSmall: () =>
    'IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size.',
  poolLinkLocal: (family: 4 | 6) =>
    family === 4
      ? 'IP pool range overlaps with IPv4 Link Local range 169.254.0.0/16'
      : 'IP pool range overlaps with IPv6 Link Local range fe80::/10',
  poolLoadBalancerMix: (use: string) => `LoadBalancer cannot be used at the same time as: ${use}`,
  durationType: (got: unknown) => `expected a duration string such as "30s", got ${show(got)}`,
  durationInvalid: (text: string) =>
    `time: invalid duration ${JSON.stringify(text)}: expected numbers with units ns, us, ms, s, m or h, such as "1m30s"`,
  protoPortProtocol: (got: string | undefined) =>
    `protocol must be 'TCP' or 'UDP' or 'SCTP'.${got === undefined ? ' (protocol is required)' : ` Got ${JSON.stringify(got)}` +
      (['tcp', 'udp', 'sctp'].includes(got.toLowerCase()) ? `; write ${JSON.stringify(got.toUpperCase())}` : '')}`,
  protoPortPort: () => 'port must be a port number from 1 to 65535',
  felixRange: (field: string, min: number, max: number) =>
    max === Number.MAX_SAFE_INTEGER ? `${field} must be at least ${min}` : `${field} must be between ${min} and ${max}`,
  poolLoadBalancerEncap: () => 'Neither IPIPMode nor VXLANMode can be enabled on AllowedUses LoadBalancer IP pool',
} as const;
