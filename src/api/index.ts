// The api part: resource types and kinds, manifest loading with source positions, calicoctl-strict validation,
// Calico's defaults, Kubernetes → Calico conversion, and the IP/CIDR helpers every layer above shares.

export * from './types.js';
export * from './kinds.js';
export * from './issues.js';
export * from './quote.js';
export * from './updates.js';
export * from './net.js';
export { copyResource } from './copy.js';
export { checkNodeName, checkWorkloadName, nodeNameProblems } from './names.js';
export { applyDefaults, BUILTIN_TIERS, builtinTier, DEFAULT_TIER_NAME, type BuiltinTier } from './defaults.js';
export { objectMetaSchema, specSchemaOf, validateResource, type ObjectSchema, type Schema } from './validate/index.js';
export { isInterfaceName } from './validate/endpoints.js';
export * from './felix-configuration.js';
export * from './load/index.js';
export * from './kubernetes/index.js';
export * from './metadata-strip.js';
export { applyJsonPatch, mergePatch, parsePointer, type JsonPatchResult } from './json-patch.js';
