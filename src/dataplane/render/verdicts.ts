// The verdict statements that end Tabby's rules, and the NFLOG prefixes they carry. Every prefix Tabby writes is
// made here: the Log action (`L <id>`, group logGroup) and, with flowLogs, every policy verdict (`A`/`D`/`P <id>`,
// group 1 ingress, 2 egress; `P <id>` also for a tier whose defaultAction is Pass, as Felix's `PP<dir>|<tier>`).
// This is the home of the NFLOG prefix format the flow-log reader parses (flowlog/prefix.ts).
//
// `snaplen 80` as Felix: the reader needs the IP and transport headers only (IPv6 40 + TCP 20 with options fits),
// and a short copy keeps the netlink socket from filling. No `queue-threshold`: the kernel then sends each record
// as it is logged, and a reader that falls behind loses records (counted as ENOBUFS) — packets never wait on it.

import type { CompiledRule } from '../../engine/index.js';
import { ruleIdHash, type Dir } from './names.js';
import type { Settings } from './options.js';

const RULE_ID = /^[0-9a-f]{10}$/;

/** Bytes of each logged packet copied to the reader (IP + transport headers). */
export const FLOW_LOG_SNAPLEN = 80;
/** NFLOG groups of flow logs, as Felix's (rule_defs.go): 1 the ingress verdicts, 2 the egress verdicts. */
export const FLOW_LOG_GROUPS = { ingress: 1, egress: 2 } as const;

export class Verdicts {
  constructor(private readonly opts: Pick<Settings, 'flowLogs' | 'logGroup'>) {}

  /** The statement for a Calico action: Allow = accept, Deny = drop, Pass = return, Log = NFLOG and continue. */
  action(action: CompiledRule['action'], id: string, dir: Dir): string {
    switch (action) {
      case 'Allow': return `counter${this.flowLog('A', dir, id)} accept`;
      case 'Deny': return `counter${this.flowLog('D', dir, id)} drop`;
      // Only reached inlined in a tier chain (skip the rest of the tier) or in a profile chain (next profile).
      case 'Pass': return `counter${this.flowLog('P', dir, id)} return`;
      // queue-threshold 1: the Log record is sent at once, so it reaches the reader before the verdict's record
      // (batched on group 1 or 2 until 100 records or 1 s), and the reader can put it in that packet's trace.
      case 'Log': return `counter log prefix "L ${id}" group ${this.opts.logGroup} snaplen ${FLOW_LOG_SNAPLEN} queue-threshold 1`;
    }
  }

  /** The drop of a rule Tabby adds itself (end of tier, no profile matched), keyed as its rule ID is. */
  drop(dir: Dir, key: string): string {
    return `counter${this.flowLog('D', dir, key)} drop`;
  }

  /** The log-only rule at the end of a tier whose defaultAction is Pass (the packet falls through), or undefined. */
  endOfTierPass(dir: Dir, key: string): string | undefined {
    return this.opts.flowLogs ? `counter${this.flowLog('P', dir, key)}` : undefined;
  }

  /** ` log prefix "<code> <id>" group <1|2>` with flowLogs on, else nothing. */
  private flowLog(code: string, dir: Dir, idOrKey: string): string {
    if (!this.opts.flowLogs) return '';
    const id = RULE_ID.test(idOrKey) ? idOrKey : ruleIdHash(idOrKey);
    return ` log prefix "${code} ${id}" group ${FLOW_LOG_GROUPS[dir]} snaplen ${FLOW_LOG_SNAPLEN}`;
  }
}
