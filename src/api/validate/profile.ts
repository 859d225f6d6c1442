// Profile (§2.9): rules without the policy-only direction checks, and labelsToApply validated like labels.

import type { Profile } from '../types.js';
import type { CalicoKindValidation } from './kind.js';
import { checkLabels } from './metadata.js';
import { checkRules, ruleSchema } from './rule.js';
import { arr, obj, stringMap } from './schema.js';

export const profileKind: CalicoKindValidation<Profile> = {
  nameRule: 'subdomain',
  spec: obj('ProfileSpec', {
    ingress: arr(ruleSchema, { maxItems: 1024 }),
    egress: arr(ruleSchema, { maxItems: 1024 }),
    labelsToApply: stringMap(),
  }),
  check(ctx, profile) {
    // Profiles are attached by name, not selected, and validator.go runs only the per-rule checks on them.
    const place = { directional: false, clusterScoped: true };
    checkRules(ctx, profile.spec.ingress, ['spec', 'ingress'], { ...place, direction: 'ingress' });
    checkRules(ctx, profile.spec.egress, ['spec', 'egress'], { ...place, direction: 'egress' });
    checkLabels(ctx, profile.spec.labelsToApply, ['spec', 'labelsToApply']);
  },
};
