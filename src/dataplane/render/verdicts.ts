// The verdict statements that end Tabby's rules, and the NFLOG prefixes they carry. Every prefix Tabby writes is
// made here: the Log action (`L <id>`, group logGroup) and, with flowLogs, every policy verdict (`A`/`D`/`P <id>`,
// group 1 ingress, 2 egress). This is the home of the NFLOG prefix format the flow-log reader will parse.

import type { CompiledRule } from '../../engine/index.js';
import { ruleIdHash, type Dir } from './names.js';
import type { Settings } from './options.js';

const RULE_ID = /^[0-9a-f]{10}$/;

export class Verdicts {
  constructor(private readonly opts: Pick<Settings, 'flowLogs' | 'logGroup'>) {}

  /** The statement for a Calico action: Allow = accept, Deny = drop, Pass = return, Log = NFLOG and continue. */
  action(action: CompiledRule['action'], id: string, dir: Dir): string {
    switch (action) {
      case 'Allow': return `counter${this.flowLog('A', dir, id)} accept`;
      case 'Deny': return `counter${this.flowLog('D', dir, id)} drop`;
      // Only reached inlined in a tier chain (skip the rest of the tier) or in a profile chain (next profile).
      case 'Pass': return `counter${this.flowLog('P', dir, id)} return`;
      case 'Log': return `counter log prefix "L ${id}" group ${this.opts.logGroup}`;
    }
  }

  /** The drop of a rule Tabby adds itself (end of tier, no profile matched), keyed as its rule ID is. */
  drop(dir: Dir, key: string): string {
    return `counter${this.flowLog('D', dir, key)} drop`;
  }

  /** ` log prefix "<code> <id>" group <1|2>` with flowLogs on, else nothing. */
  private flowLog(code: string, dir: Dir, idOrKey: string): string {
    if (!this.opts.flowLogs) return '';
    const id = RULE_ID.test(idOrKey) ? idOrKey : ruleIdHash(idOrKey);
    return ` log prefix "${code} ${id}" group ${dir === 'ingress' ? 1 : 2}`;
  }
}
