// IPPool: outside the policy model, but Tabby loads pools and the corpus checks their metadata. The spec checks
// follow libcalico-go validateIPPoolSpec: a masked CIDR, a block size that fits, encapsulation per family, allowed
// uses.

import { formatCidr, hasHostBits, parseCidrOrIp, parseCidr, cidrCovers } from '../net.js';
import type { IPPool } from '../types.js';
import type { CalicoKindValidation } from './kind.js';
import { msg } from './messages.js';
import { arr, bool, int, obj, str } from './schema.js';
import { checkSelector } from './selectors.js';

const MODES = ['Never', 'Always', 'CrossSubnet'] as const;
const USES = ['Workload', 'Tunnel', 'LoadBalancer'] as const;

const LINK_LOCAL = { 4: parseCidr('169.254.0.0/16'), 6: parseCidr('fe80::/10') } as const;

export const ipPoolKind: CalicoKindValidation<IPPool> = {
  nameRule: 'subdomain',
  spec: obj('IPPoolSpec', {
    cidr: str(),
    blockSize: int('int'),
    ipipMode: str({ enum: MODES }),
    vxlanMode: str({ enum: MODES }),
    natOutgoing: bool(),
    disabled: bool(),
    disableBGPExport: bool(),
    nodeSelector: str(),
    allowedUses: arr(str({ enum: USES })),
    assignmentMode: str({ enum: ['Automatic', 'Manual'] }),
  }),
  check(ctx, pool) {
    const spec = pool.spec;
    const path = ['spec'];
    if ((spec.cidr ?? '') === '') {
      if (ctx.intact([...path, 'cidr'])) ctx.report('ipPool.cidr', [...path, 'cidr'], msg.poolCidrRequired());
      return;
    }
    const net = parseCidrOrIp(spec.cidr);
    if (!net) {
      ctx.report('ipPool.cidr', [...path, 'cidr'], msg.poolCidrInvalid(), spec.cidr);
      return;
    }
    if (hasHostBits(net)) ctx.report('ipPool.cidr', [...path, 'cidr'], msg.poolCidrNotMasked(formatCidr(net)), spec.cidr);
    const encapOn = (m: string | undefined): boolean => m === 'Always' || m === 'CrossSubnet';
    if (net.family === 6 && encapOn(spec.ipipMode)) ctx.report('ipPool.ipip', [...path, 'ipipMode'], msg.poolIpipV6());
    if (encapOn(spec.ipipMode) && encapOn(spec.vxlanMode)) ctx.report('ipPool.encap', [...path, 'ipipMode'], msg.poolIpipAndVxlan());
    const blockSize = spec.blockSize ?? (net.family === 4 ? 26 : 122);
    const [lo, hi] = net.family === 4 ? [20, 32] : [116, 128];
    if (blockSize < lo || blockSize > hi) {
      ctx.report('ipPool.blockSize', [...path, 'blockSize'], msg.poolBlockSize(net.family), spec.blockSize);
    } else if (spec.disabled !== true && net.prefixLength > blockSize) {
      ctx.report('ipPool.size', [...path, 'cidr'], msg.poolTooSmall(), spec.cidr);
    }
    const linkLocal = LINK_LOCAL[net.family];
    if (linkLocal && (cidrCovers(linkLocal, net) || cidrCovers(net, linkLocal))) {
      ctx.report('ipPool.linkLocal', [...path, 'cidr'], msg.poolLinkLocal(net.family), spec.cidr);
    }
    const uses = spec.allowedUses ?? [];
    if (uses.includes('LoadBalancer')) {
      for (const u of uses) {
        if (u !== 'LoadBalancer') ctx.report('ipPool.allowedUses', [...path, 'allowedUses'], msg.poolLoadBalancerMix(u), u);
      }
      if (encapOn(spec.ipipMode) || encapOn(spec.vxlanMode)) {
        ctx.report('ipPool.allowedUses', [...path, 'allowedUses'], msg.poolLoadBalancerEncap());
      }
    }
    if (spec.nodeSelector !== undefined) checkSelector(ctx, spec.nodeSelector, [...path, 'nodeSelector'], 'plain');
  },
};
