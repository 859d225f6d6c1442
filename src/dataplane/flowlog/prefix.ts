// The NFLOG prefixes render/verdicts.ts writes, read back: `<code> <ruleId>` with code A (Allow), D (Deny),
// P (Pass) on groups 1 and 2, L (Log) on the Log group. The rule ID maps to its meaning (render/rule-ids.ts).

import type { RuleMeaning } from '../render/rule-ids.js';

export type PrefixCode = 'A' | 'D' | 'P' | 'L';

export interface FlowLogPrefix {
  code: PrefixCode;
  ruleId: string;
}

const PREFIX = /^([ADPL]) ([0-9a-f]{10})$/;

/** The code and rule ID of a Tabby prefix, or undefined for a prefix Tabby did not write. */
export function parsePrefix(prefix: string): FlowLogPrefix | undefined {
  const m = PREFIX.exec(prefix);
  return m ? { code: m[1] as PrefixCode, ruleId: m[2]! } : undefined;
}

export const CODE_ACTION: Record<PrefixCode, 'Allow' | 'Deny' | 'Pass' | 'Log'> = { A: 'Allow', D: 'Deny', P: 'Pass', L: 'Log' };

/** Looks meanings up by rule ID (the agent's renderer.meanings, or the rules file `tabby agent rules` reads). */
export type MeaningLookup = (ruleId: string) => RuleMeaning | undefined;
