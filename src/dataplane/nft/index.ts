// The nft layer: an object model, transactions rendered as one `nft -f -` script, the `nft` binary behind an
// exec seam, and an honest in-memory fake. It knows nothing about policy (dataplane.md §5.8).

export {
  canonicalAddress,
  canonicalElementKey,
  canonicalIPv6,
  emptyTableState,
  isBaseChain,
  validateName,
  type Chain,
  type ChainHook,
  type ChainType,
  type Element,
  type Elements,
  type Family,
  type NftMap,
  type NftObject,
  type NftSet,
  type Rule,
  type SetFlag,
  type Table,
  type TableState,
  type Verb,
} from './objects.js';
export { Transaction, type Operation } from './transaction.js';
export { NftError, isAlreadyExists, isNftError, isNotFound, classifyNftStderr, type NftErrorCode } from './errors.js';
export { hostExec, netnsExec, netnsPath, type Exec, type ExecResult } from './exec.js';
export { NftTables, type Nft, type NftTablesOptions } from './nftables.js';
export { FakeNft, dumpTable, stateObjects } from './fake.js';
export { intervalOf, overlaps, type AddressInterval } from './intervals.js';
export {
  parseListing,
  parseScript,
  splitRuleComment,
  type ListedRule,
  type ListedTable,
  type ParsedStatement,
  type ParseIssue,
  type ParseResult,
} from './parse.js';
