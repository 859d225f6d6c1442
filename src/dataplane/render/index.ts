// Engine output → nft objects, pure (no execution). See renderer.ts for the chain layout.
export { Renderer, netElements, netElementsByFamily, ipPortElements, type RenderOptions, type RuleMeaning } from './renderer.js';
export { Ruleset, TableModel, type Plan, type ChainContent, type SetContent, type MapContent } from './ruleset.js';
export { renderRuleMatches, nftProtocol, nftAddress, type RenderedMatch, type SetRef } from './rules.js';
export * as names from './names.js';
