// EntityRule (policy_common.go, §2.1, §5.3–§5.5): the source or destination half of a rule. Checks that depend only
// on the EntityRule itself (CRD CEL on EntityRule, validator.go validateEntityRule); checks that need the rule or
// the policy around it live in rule.ts and policy.ts.

import type { EntityRule } from '../types.js';
import type { Path, ValidationContext } from './context.js';
import { isResourceName } from './metadata.js';
import { msg } from './messages.js';
import { checkRuleNet } from './nets.js';
import { checkPort, portSchema } from './ports.js';
import { arr, obj, str, type ObjectSchema } from './schema.js';
import { checkSelector } from './selectors.js';

const SELECTOR_MAX = 1024;

export const entityRuleSchema: ObjectSchema = obj('EntityRule', {
  nets: arr(str(), { maxItems: 256 }),
  notNets: arr(str(), { maxItems: 256 }),
  selector: str({ maxLength: SELECTOR_MAX }),
  notSelector: str({ maxLength: SELECTOR_MAX }),
  namespaceSelector: str({ maxLength: SELECTOR_MAX }),
  ports: arr(portSchema, { maxItems: 50 }),
  notPorts: arr(portSchema, { maxItems: 50 }),
  serviceAccounts: obj('ServiceAccountMatch', {
    names: arr(str()),
    selector: str({ maxLength: SELECTOR_MAX }),
  }),
  services: obj('ServiceMatch', {
    name: str({ maxLength: 253 }),
    namespace: str({ maxLength: 253 }),
  }),
});

const nonEmpty = (s: string | undefined): boolean => s !== undefined && s !== '';
const someItems = (l: readonly unknown[] | undefined): boolean => l !== undefined && l.length > 0;

export function checkEntityRule(ctx: ValidationContext, er: EntityRule, path: Path): void {
  er.nets?.forEach((n, i) => checkRuleNet(ctx, n, [...path, 'nets', i]));
  er.notNets?.forEach((n, i) => {
    const net = checkRuleNet(ctx, n, [...path, 'notNets', i]);
    // v3.31 (#10563): a negated catch-all matches nothing, so it is certainly a mistake.
    if (net && net.prefixLength === 0) ctx.report('net.catchAllNegation', [...path, 'notNets', i], msg.catchAllNotNets(n), n);
  });

  if (er.selector !== undefined) checkSelector(ctx, er.selector, [...path, 'selector'], 'subject');
  if (er.notSelector !== undefined) checkSelector(ctx, er.notSelector, [...path, 'notSelector'], 'plain');
  if (er.namespaceSelector !== undefined) {
    checkSelector(ctx, er.namespaceSelector, [...path, 'namespaceSelector'], 'entityNamespace');
  }
  if (er.serviceAccounts?.selector !== undefined) {
    checkSelector(ctx, er.serviceAccounts.selector, [...path, 'serviceAccounts', 'selector'], 'plain');
  }

  er.ports?.forEach((p, i) => checkPort(ctx, p, [...path, 'ports', i]));
  er.notPorts?.forEach((p, i) => checkPort(ctx, p, [...path, 'notPorts', i]));

  const svc = er.services;
  if (svc !== undefined && ctx.intact([...path, 'services'])) {
    const svcPath = [...path, 'services'];
    if (!nonEmpty(svc.name)) ctx.report('services.name', svcPath, msg.servicesNeedName());
    for (const field of ['name', 'namespace'] as const) {
      const v = svc[field];
      if (nonEmpty(v) && !isResourceName(v as string)) ctx.report('name.invalid', [...svcPath, field], msg.resourceName(v as string), v);
    }
    if (ctx.intact(path)) {
      if (nonEmpty(er.namespaceSelector)) ctx.report('services.conflict', svcPath, msg.servicesWithNamespaceSelector());
      if (er.serviceAccounts !== undefined) ctx.report('services.conflict', svcPath, msg.servicesWithServiceAccounts());
      if (nonEmpty(er.selector) || nonEmpty(er.notSelector)) ctx.report('services.conflict', svcPath, msg.servicesWithSelector());
      if (someItems(er.nets) || someItems(er.notNets)) ctx.report('services.conflict', svcPath, msg.servicesWithNets());
    }
  }
}
