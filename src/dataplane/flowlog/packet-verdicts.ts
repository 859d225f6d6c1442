// The NFLOG records of one packet at one end, put back together. A packet that meets a Pass rule, a Pass tier's
// end or a Log rule before its verdict is logged several times in a row (P…, L…, then A or D), each record
// carrying the same packet bytes; the kernel logs them one after another on the same CPU, so consecutive records
// with the same payload belong together. The terminal record (A or D) completes the packet's verdict.

import type { NflogRecord } from './nflog-record.js';
import { parsePacketHeaders, type PacketHeaders } from './packet-headers.js';
import { CODE_ACTION, parsePrefix, type MeaningLookup } from './prefix.js';
import type { RuleMeaning } from '../render/rule-ids.js';

export interface KernelHit {
  action: 'Allow' | 'Deny' | 'Pass' | 'Log';
  /** Undefined when the agent no longer knows the rule ID (a rule removed since): counted, not attributed. */
  meaning: RuleMeaning | undefined;
  ruleId: string;
}

export interface PacketVerdict {
  timeMs: number;
  direction: 'ingress' | 'egress';
  action: 'Allow' | 'Deny';
  /** Every hit in the order the kernel logged them; the last is the verdict. */
  hits: KernelHit[];
  packet: PacketHeaders;
}

export class PacketVerdicts {
  /** Records that were not Tabby's, or whose packet could not be read. */
  unreadable = 0;
  private pending: { payload: Buffer; hits: KernelHit[] } | undefined;

  constructor(private readonly meanings: MeaningLookup) {}

  /** One record in; the packet's verdict out when this record is its terminal one. */
  push(rec: NflogRecord, timeMs: number): PacketVerdict | undefined {
    const prefix = parsePrefix(rec.prefix);
    if (!prefix) {
      this.unreadable++;
      return undefined;
    }
    const hit: KernelHit = { action: CODE_ACTION[prefix.code], meaning: this.meanings(prefix.ruleId), ruleId: prefix.ruleId };
    const same = this.pending !== undefined && this.pending.payload.equals(rec.payload);
    const hits = same ? [...this.pending!.hits, hit] : [hit];
    if (hit.action === 'Pass' || hit.action === 'Log') {
      this.pending = { payload: rec.payload, hits };
      return undefined;
    }
    this.pending = undefined;
    const packet = parsePacketHeaders(rec.payload);
    if (!packet) {
      this.unreadable++;
      return undefined;
    }
    const direction = hit.meaning?.direction ?? (rec.group === 1 ? 'ingress' : 'egress');
    return { timeMs, direction, action: hit.action, hits, packet };
  }
}
