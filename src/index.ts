// Tabby's library entry: the selector language, the resource model (loading, validation, defaults, Kubernetes
// conversion), the engine (verdicts with traces, kept incrementally, and the change feed a dataplane renders
// from) and the analysis over it (reachability matrix, dry-run impact, policies-for, select). The CLI is built
// on exactly these; the datastore and the nftables dataplane are not part of the library API yet.

export {
  parseSelector,
  trySelector,
  canonicalise,
  prefixLabels,
  selectorFromAst,
  SelectorError,
  type Selector,
  type SelectorNode,
  type SelectorResult,
} from './selector/index.js';
export * from './api/index.js';
export * from './engine/index.js';
export * from './analysis/index.js';
