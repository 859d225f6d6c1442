// Rule (policy_common.go, §2.1, §5.3, §5.5): one rule's own checks — protocol, ICMP, ports against protocol, IP
// families across nets, HTTP — plus the checks that depend on where the rule sits, which the caller describes
// with RulePlace (direction, policy scope) instead of naming its kind.

import { parsePort } from './ports.js';
import type { EntityRule, ICMPFields, Rule } from '../types.js';
import { parseCidr, type IpFamily } from '../net.js';
import type { Path, ValidationContext } from './context.js';
import { checkEntityRule, entityRuleSchema } from './entityRule.js';
import { checkAnnotations } from './metadata.js';
import { msg } from './messages.js';
import { checkProtocol, icmpFamilyOf, protocolSchema, protocolSupportsPorts } from './protocol.js';
import { arr, int, obj, req, str, stringMap, type ObjectSchema } from './schema.js';

export const RULE_ACTIONS = ['Allow', 'Deny', 'Log', 'Pass'] as const;

const icmpSchema = (name: string): ObjectSchema => obj(name, { type: int('int'), code: int('int') });

export const ruleSchema: ObjectSchema = obj('Rule', {
  action: req(str({ enum: RULE_ACTIONS })),
  ipVersion: int('int'),
  protocol: protocolSchema,
  notProtocol: protocolSchema,
  icmp: icmpSchema('ICMPFields'),
  notICMP: icmpSchema('ICMPFields'),
  source: entityRuleSchema,
  destination: entityRuleSchema,
  http: obj('HTTPMatch', {
    methods: arr(str(), { maxItems: 20 }),
    paths: arr(obj('HTTPPath', { exact: str({ maxLength: 1024 }), prefix: str({ maxLength: 1024 }) }), { maxItems: 20 }),
  }),
  metadata: obj('RuleMetadata', { annotations: stringMap() }),
});

/** Where a rule sits. Policies check direction-specific rules (services, HTTP); profiles do not. */
export interface RulePlace {
  direction: 'ingress' | 'egress';
  /** Whether the policy-level Services/HTTP direction checks apply (validateNetworkPolicySpec). */
  directional: boolean;
  /** GlobalNetworkPolicy-like: no policy namespace, so a Service match must name its namespace. */
  clusterScoped: boolean;
}

function checkIcmpFields(ctx: ValidationContext, icmp: ICMPFields, path: Path): void {
  if (icmp.type !== undefined && (icmp.type < 0 || icmp.type > 254)) {
    ctx.report('icmp.type', [...path, 'type'], msg.icmpType(icmp.type), icmp.type);
  }
  if (icmp.code !== undefined && (icmp.code < 0 || icmp.code > 255)) {
    ctx.report('icmp.code', [...path, 'code'], msg.icmpCode(icmp.code), icmp.code);
  }
  if (icmp.code !== undefined && icmp.type === undefined && ctx.intact(path)) {
    ctx.report('icmp.codeWithoutType', [...path, 'code'], msg.icmpCodeWithoutType(), icmp.code);
  }
}

const SIDES = ['source', 'destination'] as const;
const PORT_LISTS = ['ports', 'notPorts'] as const;

function checkPortsAgainstProtocol(ctx: ValidationContext, rule: Rule, path: Path): void {
  if (!ctx.intact([...path, 'protocol'])) return;
  for (const side of SIDES) {
    const er: EntityRule | undefined = rule[side];
    for (const list of PORT_LISTS) {
      const ports = er?.[list];
      if (!ports || ports.length === 0) continue;
      const listPath = [...path, side, list];
      if (rule.protocol === undefined) {
        // Named ports may omit the protocol: they resolve per endpoint port, which carries its own protocol.
        if (ports.some((p) => parsePort(p)?.kind === 'range')) {
          ctx.report('port.protocol', listPath, msg.numericPortsNeedProtocol());
        }
      } else if (!protocolSupportsPorts(rule.protocol)) {
        ctx.report('port.protocol', listPath, msg.portsNeedProtocol(), rule.protocol);
      }
    }
  }
}

function checkIcmpProtocol(ctx: ValidationContext, rule: Rule, path: Path): void {
  if (rule.icmp !== undefined && ctx.intact([...path, 'protocol']) && icmpFamilyOf(rule.protocol) === undefined) {
    ctx.report('icmp.protocol', [...path, 'icmp'], msg.icmpNeedsProtocol());
  }
  if (rule.ipVersion === undefined) return;
  for (const field of ['protocol', 'notProtocol'] as const) {
    const family = icmpFamilyOf(rule[field]);
    if (family === 4 && rule.ipVersion !== 4) ctx.report('icmp.ipVersion', [...path, 'ipVersion'], msg.icmpNeedsV4(), rule.ipVersion);
    if (family === 6 && rule.ipVersion !== 6) ctx.report('icmp.ipVersion', [...path, 'ipVersion'], msg.icmpv6NeedsV6(), rule.ipVersion);
  }
}

/** validateRule scanNets: one family across all four lists, and the same as ipVersion when that is set. */
function checkNetFamilies(ctx: ValidationContext, rule: Rule, path: Path): void {
  let seen4 = false;
  let seen6 = false;
  const ipVersion = rule.ipVersion === 4 || rule.ipVersion === 6 ? rule.ipVersion : undefined;
  for (const side of SIDES) {
    for (const list of ['nets', 'notNets'] as const) {
      const nets = rule[side]?.[list];
      if (!nets) continue;
      const families = new Set<IpFamily>();
      for (const n of nets) {
        const net = parseCidr(n);
        if (net) families.add(net.family);
      }
      const v4 = families.has(4);
      const v6 = families.has(6);
      const listPath = [...path, side, list];
      if (ipVersion !== undefined && ((v4 && ipVersion !== 4) || (v6 && ipVersion !== 6))) {
        ctx.report('net.ipVersion', listPath, msg.ruleFamilyMismatch(ipVersion));
      }
      if ((v4 && seen6) || (v6 && seen4) || (v4 && v6)) ctx.report('net.mixedFamilies', listPath, msg.ruleMixedFamilies());
      seen4 ||= v4;
      seen6 ||= v6;
    }
  }
}

function checkHttp(ctx: ValidationContext, rule: Rule, path: Path, place: RulePlace): void {
  const http = rule.http;
  if (http === undefined) return;
  const httpPath = [...path, 'http'];
  if (ctx.intact([...path, 'action']) && rule.action !== 'Allow') {
    ctx.report('http.action', httpPath, msg.httpOnlyAllow(rule.action));
  }
  if (rule.protocol !== undefined && rule.protocol !== 'TCP' && rule.protocol !== 6) {
    ctx.report('http.protocol', [...path, 'protocol'], msg.httpProtocol(), rule.protocol);
  }
  if (place.directional && place.direction === 'egress') ctx.report('http.egress', httpPath, msg.httpInEgress());
  if (http.methods && new Set(http.methods).size !== http.methods.length) {
    ctx.report('http.methods', [...httpPath, 'methods'], msg.httpDuplicateMethods(http.methods), http.methods);
  }
  http.paths?.forEach((p, i) => {
    const pPath = [...httpPath, 'paths', i];
    const exact = p.exact ?? '';
    const prefix = p.prefix ?? '';
    if (exact !== '' && prefix !== '') {
      ctx.report('http.path', pPath, msg.httpPathBoth());
      return;
    }
    const v = exact !== '' ? exact : prefix;
    if (v === '') {
      if (ctx.intact(pPath)) ctx.report('http.path', pPath, msg.httpPathNeither());
      return;
    }
    if (!v.startsWith('/') || /[? #]/.test(v)) ctx.report('http.path', pPath, msg.httpPathChars(v), v);
  });
}

/** Services may only name where traffic comes from on ingress and goes to on egress (validateNetworkPolicySpec). */
function checkServicesPlacement(ctx: ValidationContext, rule: Rule, path: Path, place: RulePlace): void {
  if (place.directional) {
    if (place.direction === 'egress' && rule.source?.services !== undefined) {
      ctx.report('services.placement', [...path, 'source', 'services'], msg.servicesInEgressSource());
    }
    if (place.direction === 'ingress' && rule.destination?.services !== undefined) {
      ctx.report('services.placement', [...path, 'destination', 'services'], msg.servicesInIngressDestination());
    }
    if (place.clusterScoped) {
      const side = place.direction === 'egress' ? 'destination' : 'source';
      const svc = rule[side]?.services;
      if (svc !== undefined && (svc.namespace ?? '') === '' && ctx.intact([...path, side, 'services'])) {
        ctx.report('services.namespace', [...path, side, 'services', 'namespace'], msg.servicesNeedNamespace());
      }
    }
  }
  const dst = rule.destination;
  if (dst?.services !== undefined && ((dst.ports?.length ?? 0) > 0 || (dst.notPorts?.length ?? 0) > 0)) {
    ctx.report('services.ports', [...path, 'destination'], msg.servicesWithPorts());
  }
}

export function checkRule(ctx: ValidationContext, rule: Rule, path: Path, place: RulePlace): void {
  if (rule.ipVersion !== undefined && rule.ipVersion !== 4 && rule.ipVersion !== 6) {
    ctx.report('rule.ipVersion', [...path, 'ipVersion'], msg.ipVersion(rule.ipVersion), rule.ipVersion);
  }
  if (rule.protocol !== undefined) checkProtocol(ctx, rule.protocol, [...path, 'protocol']);
  if (rule.notProtocol !== undefined) checkProtocol(ctx, rule.notProtocol, [...path, 'notProtocol']);
  if (rule.icmp) checkIcmpFields(ctx, rule.icmp, [...path, 'icmp']);
  if (rule.notICMP) checkIcmpFields(ctx, rule.notICMP, [...path, 'notICMP']);
  for (const side of SIDES) {
    const er = rule[side];
    if (er) checkEntityRule(ctx, er, [...path, side]);
  }
  checkPortsAgainstProtocol(ctx, rule, path);
  checkIcmpProtocol(ctx, rule, path);
  checkNetFamilies(ctx, rule, path);
  checkHttp(ctx, rule, path, place);
  checkServicesPlacement(ctx, rule, path, place);
  if (rule.metadata?.annotations) checkAnnotations(ctx, rule.metadata.annotations, [...path, 'metadata', 'annotations']);
}

export function checkRules(ctx: ValidationContext, rules: readonly Rule[] | undefined, path: Path, place: RulePlace): void {
  rules?.forEach((r, i) => checkRule(ctx, r, [...path, i], place));
}
