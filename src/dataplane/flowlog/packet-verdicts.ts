// The NFLOG records of one packet at one end, put back together. A packet that meets a Pass rule, a Pass tier's
// end or a Log rule before its verdict is logged several times (P…, L…, then A or D), each record carrying the
// same packet bytes. They do not always arrive next to each other: each NFLOG group batches on its own (up to 100
// records or 1 s), so a group-1 batch may end between a P and its A, and the Log group (sent at once,
// queue-threshold 1) arrives before the verdict's batch. So non-terminal hits wait, keyed by direction and packet
// bytes, until the terminal record (A or D) of the same packet and direction takes them.

import type { NflogRecord } from './nflog-record.js';
import { parsePacketHeaders, type PacketHeaders } from './packet-headers.js';
import { CODE_ACTION, parsePrefix, type MeaningLookup } from './prefix.js';
import type { RuleMeaning } from '../render/rule-ids.js';
import { FLOW_LOG_SNAPLEN } from '../render/verdicts.js';

const MAX_PENDING = 4096;

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
  /** Non-terminal hits waiting for their verdict, oldest first; bounded (a Log rule's packet may be allowed by
   * conntrack's established accept in another end, never reaching a logged verdict). */
  private readonly pending = new Map<string, KernelHit[]>();

  constructor(private readonly meanings: MeaningLookup) {}

  /** One record in; the packet's verdict out when this record is its terminal one. */
  push(rec: NflogRecord, timeMs: number): PacketVerdict | undefined {
    const prefix = parsePrefix(rec.prefix);
    if (!prefix) {
      this.unreadable++;
      return undefined;
    }
    const hit: KernelHit = { action: CODE_ACTION[prefix.code], meaning: this.meanings(prefix.ruleId), ruleId: prefix.ruleId };
    const direction = hit.meaning?.direction ?? (rec.group === 1 ? 'ingress' : 'egress');
    // Rules copy at most FLOW_LOG_SNAPLEN bytes; the key is the packet as every copy has it.
    const key = `${direction}|${rec.payload.subarray(0, FLOW_LOG_SNAPLEN).toString('latin1')}`;
    const hits = [...(this.pending.get(key) ?? []), hit];
    this.pending.delete(key);
    if (hit.action === 'Pass' || hit.action === 'Log') {
      this.pending.set(key, hits);
      if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      return undefined;
    }
    const packet = parsePacketHeaders(rec.payload);
    if (!packet) {
      this.unreadable++;
      return undefined;
    }
    return { timeMs, direction, action: hit.action, hits, packet };
  }
}

