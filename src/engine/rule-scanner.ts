// RuleScanner: turns a policy's or profile's v3 rules into CompiledRules (felix/calc/rule_scanner.go). Selectors
// become IP set IDs (the selector's unique ID), named ports become IP+port set IDs, and every IP set a rule
// needs is declared so the IP set index can fill it.
//
// Felix's quirks are kept because they change what matches (§3.1):
//   * a positive and a negated selector on one side fold into one IP set (selector-rewrite.ts);
//   * named ports are filtered by the positive selector of their side, even under notPorts;
//   * when a side has named ports and no numeric ports, its selector IP set is left out (the named-port set
//     already holds only that selector's addresses);
//   * a named port's protocol is the rule's protocol when that is UDP or SCTP, and TCP otherwise — also when
//     the rule has no protocol at all (labelindex ProtocolTCP default).
//
// What it does not do: it does not know which endpoints match a selector (ipset-index.ts does), and it does
// not decide which policies are in force (policy-resolver.ts does).

import { createHash } from 'node:crypto';

import { formatCidr, parseCidrOrIp } from '../api/index.js';
import type { EntityRule, Port, Rule } from '../api/index.js';
import { parseSelector, type Selector } from '../selector/index.js';
import type { SelectorCache } from './selector-cache.js';
import { namedPortProtocolOf, protocolNumber, SCTP, UDP, type NamedPortProtocol } from './protocol.js';
import { entityRuleSelectors } from './selector-rewrite.js';
import type { CompiledRule, CompiledRules, EntityMatch, IcmpMatch, IpSetInfo, PortRange } from './types.js';

/** An IP set a compiled rule refers to, with the parsed selector that fills it. */
export interface IpSetDefinition {
  info: IpSetInfo;
  /** Undefined for a service set, which has no selector and stays empty. */
  selector?: Selector;
}

export interface ScannedRules {
  rules: CompiledRules;
  ipSets: IpSetDefinition[];
}

/** An invalid rule: the caller reports it and ignores the whole policy, as Calico's validation would. */
export class RuleError extends Error {}

/** libcalico-go hash.MakeUniqueID: `<prefix>:` + base64url(SHA-224(`<prefix>:<content>`)). */
function makeUniqueId(prefix: string, content: string): string {
  return `${prefix}:` + createHash('sha224').update(`${prefix}:${content}`, 'utf8').digest('base64url');
}

const ALL_SELECTOR = parseSelector('all()');

class Scanner {
  readonly ipSets = new Map<string, IpSetDefinition>();

  constructor(private readonly selectors: SelectorCache) {}

  parse(text: string): Selector {
    return this.selectors.get(text);
  }

  selectorSet(selector: Selector): string {
    const id = selector.uniqueId();
    if (!this.ipSets.has(id)) {
      this.ipSets.set(id, { info: { id, kind: 'net', selector: selector.toString() }, selector });
    }
    return id;
  }

  namedPortSet(selector: Selector, name: string, protocol: NamedPortProtocol): string {
    const id = makeUniqueId('n', `${selector.uniqueId()},${protocol},${name}`);
    if (!this.ipSets.has(id)) {
      this.ipSets.set(id, {
        info: { id, kind: 'ip-port', selector: selector.toString(), namedPort: { name, protocol } },
        selector,
      });
    }
    return id;
  }

  serviceSet(namespace: string | undefined, name: string | undefined, withPorts: boolean): string {
    const service = `${namespace ?? ''}/${name ?? ''}`;
    const id = makeUniqueId(withPorts ? 'svc' : 'svcnoport', service);
    if (!this.ipSets.has(id)) {
      this.ipSets.set(id, { info: { id, kind: withPorts ? 'ip-port' : 'net', selector: '', service } });
    }
    return id;
  }
}

function parsePort(port: Port): PortRange | string {
  if (typeof port === 'number') return { first: port, last: port };
  const range = /^([0-9]+):([0-9]+)$/.exec(port);
  if (range) return { first: Number(range[1]), last: Number(range[2]) };
  if (/^[0-9]+$/.test(port)) return { first: Number(port), last: Number(port) };
  return port;
}

function splitPorts(ports: Port[] | undefined): { numeric: PortRange[]; named: string[] } {
  const numeric: PortRange[] = [];
  const named: string[] = [];
  for (const p of ports ?? []) {
    const parsed = parsePort(p);
    if (typeof parsed === 'string') named.push(parsed);
    else numeric.push(parsed);
  }
  return { numeric, named };
}

function parseNets(nets: string[] | undefined, where: string): string[] {
  return (nets ?? []).map((n) => {
    const net = parseCidrOrIp(n);
    if (!net) throw new RuleError(`${where}: invalid CIDR ${JSON.stringify(n)}`);
    return formatCidr(net);
  });
}

function scanEntity(
  scanner: Scanner,
  er: EntityRule | undefined,
  namespace: string | undefined,
  namedPortProtocol: NamedPortProtocol,
  where: string,
): EntityMatch {
  const { positive, negated } = entityRuleSelectors(er, namespace);
  const ports = splitPorts(er?.ports);
  const notPorts = splitPorts(er?.notPorts);
  const positiveSel = positive ? scanner.parse(positive) : undefined;
  // Named ports are filtered by the positive selector of the same side, or taken from every endpoint.
  const portSel = positiveSel ?? ALL_SELECTOR;
  const match: EntityMatch = {
    nets: parseNets(er?.nets, `${where}.nets`),
    notNets: parseNets(er?.notNets, `${where}.notNets`),
    ipSets: [],
    notIpSets: [],
    ports: ports.numeric,
    notPorts: notPorts.numeric,
    namedPortIpSets: ports.named.map((n) => scanner.namedPortSet(portSel, n, namedPortProtocol)),
    notNamedPortIpSets: notPorts.named.map((n) => scanner.namedPortSet(portSel, n, namedPortProtocol)),
  };
  if (positiveSel && (ports.numeric.length > 0 || ports.named.length === 0)) {
    match.ipSets.push(scanner.selectorSet(positiveSel));
  }
  if (negated) match.notIpSets.push(scanner.selectorSet(scanner.parse(negated)));
  return match;
}

function icmpMatch(fields: { type?: number; code?: number } | undefined, where: string): IcmpMatch | undefined {
  if (!fields || (fields.type === undefined && fields.code === undefined)) return undefined;
  if (fields.type === undefined) throw new RuleError(`${where}: an ICMP code needs a type`);
  return fields.code === undefined ? { type: fields.type } : { type: fields.type, code: fields.code };
}

function compileRule(scanner: Scanner, rule: Rule, index: number, namespace: string | undefined, where: string): CompiledRule {
  if (!['Allow', 'Deny', 'Pass', 'Log'].includes(rule.action)) {
    throw new RuleError(`${where}.action: unknown action ${JSON.stringify(rule.action)}`);
  }
  let protocol: number | undefined;
  if (rule.protocol !== undefined) {
    protocol = protocolNumber(rule.protocol);
    if (protocol === undefined) throw new RuleError(`${where}.protocol: unknown protocol ${JSON.stringify(rule.protocol)}`);
  }
  const namedPortProtocol: NamedPortProtocol =
    protocol === UDP || protocol === SCTP ? namedPortProtocolOf(protocol)! : 'tcp';
  const compiled: CompiledRule = {
    index,
    action: rule.action,
    src: scanEntity(scanner, rule.source, namespace, namedPortProtocol, `${where}.source`),
    dst: scanEntity(scanner, rule.destination, namespace, namedPortProtocol, `${where}.destination`),
  };
  if (protocol !== undefined) compiled.protocol = protocol;
  if (rule.notProtocol !== undefined) {
    const p = protocolNumber(rule.notProtocol);
    if (p === undefined) throw new RuleError(`${where}.notProtocol: unknown protocol ${JSON.stringify(rule.notProtocol)}`);
    compiled.notProtocol = p;
  }
  if (rule.ipVersion !== undefined) compiled.ipVersion = rule.ipVersion;
  else if (typeof rule.protocol === 'string') {
    // rule_convert.go: the protocol *names* icmp / icmpv6 pin the family; the numbers 1 / 58 do not (§3.1).
    const name = rule.protocol.toLowerCase();
    if (name === 'icmp') compiled.ipVersion = 4;
    else if (name === 'icmpv6') compiled.ipVersion = 6;
  }
  const icmp = icmpMatch(rule.icmp, `${where}.icmp`);
  if (icmp) compiled.icmp = icmp;
  const notIcmp = icmpMatch(rule.notICMP, `${where}.notICMP`);
  if (notIcmp) compiled.notIcmp = notIcmp;
  // Services are Kubernetes Services, which Tabby does not model: their IP sets are empty, so the rule can
  // never match (it is still declared, so a renderer sees the set it would need).
  if (rule.source?.services) {
    compiled.src.ipSets.push(scanner.serviceSet(rule.source.services.namespace, rule.source.services.name, false));
    compiled.neverMatches = 'services';
  }
  if (rule.destination?.services) {
    compiled.dst.ipSets.push(scanner.serviceSet(rule.destination.services.namespace, rule.destination.services.name, true));
    compiled.neverMatches = 'services';
  }
  return compiled;
}

/**
 * Compiles the ingress and egress rules of one policy or profile. `namespace` is the policy's namespace for
 * NetworkPolicy-like kinds (their rule selectors are scoped to it), undefined otherwise. Throws RuleError or
 * SelectorError for an invalid rule.
 */
export function scanRules(
  ingress: Rule[] | undefined,
  egress: Rule[] | undefined,
  namespace: string | undefined,
  selectors: SelectorCache,
): ScannedRules {
  const scanner = new Scanner(selectors);
  const rules: CompiledRules = {
    ingress: (ingress ?? []).map((r, i) => compileRule(scanner, r, i, namespace, `spec.ingress[${i}]`)),
    egress: (egress ?? []).map((r, i) => compileRule(scanner, r, i, namespace, `spec.egress[${i}]`)),
  };
  return { rules, ipSets: [...scanner.ipSets.values()] };
}

/** ActiveRulesCalculator DummyDropRules: a profile an endpoint names but nobody defined denies everything. */
export function missingProfileRules(): CompiledRules {
  const deny = (): CompiledRule => ({ index: 0, action: 'Deny', src: emptyEntity(), dst: emptyEntity() });
  return { ingress: [deny()], egress: [deny()] };
}

function emptyEntity(): EntityMatch {
  return { nets: [], notNets: [], ipSets: [], notIpSets: [], ports: [], notPorts: [], namedPortIpSets: [], notNamedPortIpSets: [] };
}
