// Tabby's library entry: the selector language, the resource model (loading, validation, defaults,
// Kubernetes conversion) and, as they land, the engine and analysis APIs.

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
