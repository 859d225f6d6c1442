// StagedKubernetesNetworkPolicy (§2.4): a networking.k8s.io/v1 NetworkPolicySpec plus stagedAction. The k8s part is
// checked as the Kubernetes API checks it (api/kubernetes/validate.ts); this file adds stagedAction and the
// Delete rule.

import { validateK8sNetworkPolicySpec } from '../kubernetes/validate.js';
import type { StagedKubernetesNetworkPolicy } from '../types.js';
import type { CalicoKindValidation } from './kind.js';
import { msg } from './messages.js';
import { STAGED_ACTIONS, nonZeroFields } from './policy.js';
import { opaque } from './schema.js';

export const stagedKubernetesNetworkPolicyKind: CalicoKindValidation<StagedKubernetesNetworkPolicy> = {
  nameRule: 'subdomain',
  spec: opaque(),
  check(ctx, policy) {
    const { stagedAction, ...k8sSpec } = policy.spec as Record<string, unknown>;
    if (stagedAction !== undefined && !(STAGED_ACTIONS as readonly unknown[]).includes(stagedAction)) {
      ctx.structural('schema.enum', ['spec', 'stagedAction'],
        typeof stagedAction === 'string' ? msg.notInEnum(stagedAction, STAGED_ACTIONS) : msg.typeMismatch(
          `one of ${STAGED_ACTIONS.join(', ')}`, stagedAction), stagedAction);
      return;
    }
    if (stagedAction === 'Delete') {
      const set = nonZeroFields(k8sSpec, []);
      if (set.length > 0) ctx.report('staged.delete', ['spec'], msg.stagedK8sDeleteNotEmpty(set));
      return;
    }
    ctx.adopt(validateK8sNetworkPolicySpec(k8sSpec, ['spec']));
  },
};
