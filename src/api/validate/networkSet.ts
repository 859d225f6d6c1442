// NetworkSet and GlobalNetworkSet (§2.6, §5.6): nets are any IPs or CIDRs (host bits allowed), and the
// projectcalico.org/namespace label is Calico's own.

import type { GlobalNetworkSet, NetworkSet } from '../types.js';
import type { CalicoKindValidation } from './kind.js';
import { checkLaxNet } from './nets.js';
import { arr, obj, str } from './schema.js';

const RESERVED = ['projectcalico.org/namespace'] as const;

function setKind(specName: string): CalicoKindValidation<NetworkSet | GlobalNetworkSet> {
  return {
    nameRule: 'subdomain',
    reservedLabels: RESERVED,
    spec: obj(specName, { nets: arr(str()) }),
    check(ctx, set) {
      set.spec.nets?.forEach((n, i) => checkLaxNet(ctx, n, ['spec', 'nets', i]));
    },
  };
}

export const networkSetKind = setKind('NetworkSetSpec');
export const globalNetworkSetKind = setKind('GlobalNetworkSetSpec');
