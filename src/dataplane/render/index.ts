// Engine output → nft objects, pure (no execution). See renderer.ts for the chain layout and the module map.
export { Renderer, type RenderOptions, type RuleMeaning } from './renderer.js';
export { netElements, netElementsByFamily, ipPortElements, nftAddress } from './set-elements.js';
export { Ruleset, TableModel, type Plan, type ChainContent, type SetContent, type MapContent } from './ruleset.js';
export { renderRuleMatches, nftProtocol, type IpSetRef, type RenderedMatch, type SetRef } from './rules.js';
export * as names from './names.js';
