// What each projectcalico.org/v3 kind declares about itself for validation (aesthetics practice 5): its name rule,
// reserved labels, the schema of its spec and its own semantic checks. The dispatcher (index.ts) asks these traits
// and never switches on a kind name.

import type { CalicoResource } from '../types.js';
import type { ValidationContext } from './context.js';
import type { NameRule } from './metadata.js';
import type { ObjectSchema, Schema } from './schema.js';

export interface CalicoKindValidation<R extends CalicoResource = CalicoResource> {
  nameRule: NameRule;
  /** Labels Calico reserves on this kind (§5.2). */
  reservedLabels?: readonly string[];
  /** The spec's structure. An ObjectSchema for the v3 kinds; StagedKubernetesNetworkPolicy brings its own. */
  spec: ObjectSchema | Schema;
  /** Whether the kind has a server-populated `status` that exported manifests may carry. */
  hasStatus?: boolean;
  /** Semantic checks on the decoded, admission-defaulted resource. */
  check(ctx: ValidationContext, resource: R): void;
}
