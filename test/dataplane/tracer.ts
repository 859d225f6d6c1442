// A packet tracer over FakeNft's tables (kube-proxy's helpers_test.go has the same idea): it walks a packet
// through the forward-hook base chains in priority order and follows jumps, gotos, returns and verdict maps.
// It understands only the rule shapes Tabby's renderer emits; anything else is a test error, so a renderer
// change that the tracer does not know shows up instead of being silently mis-evaluated.
// Fast feedback only: the real-traffic suites stay the judge.

import { intervalOf, type Chain, type TableState } from '../../src/dataplane/nft/index.js';

export interface Packet {
  family: 4 | 6;
  iif: string;
  oif: string;
  saddr: string;
  daddr: string;
  /** IP protocol number. */
  proto: number;
  sport: number;
  dport: number;
  /** Conntrack state: the first packet of a connection is `new`. */
  ct: 'new' | 'established';
  /**
   * The packet mark (default 0). Only host-endpoint stages before forward (preDNAT, untracked) set a bit, which the
   * forward dispatch reads (render/skeleton.ts); a workload's forwarded packet arrives with none.
   */
  mark?: number;
  /** ICMP / ICMPv6 packets. */
  icmpType?: number;
  icmpCode?: number;
}

export interface TraceResult {
  verdict: 'accept' | 'drop';
  /** Comments of the rules whose verdict applied, in order (rule IDs first). */
  path: string[];
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136, ipencap: 4 };

function protoOf(text: string): number {
  const n = PROTOCOLS[text] ?? Number(text);
  if (!Number.isInteger(n)) throw new Error(`tracer: unknown protocol '${text}'`);
  return n;
}

/** Splits a rule into words, keeping `"…"` and `{ … }` whole. */
function words(rule: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < rule.length) {
    if (rule[i] === ' ') { i++; continue; }
    if (rule[i] === '"') {
      const end = rule.indexOf('"', i + 1);
      out.push(rule.slice(i, end + 1));
      i = end + 1;
    } else if (rule[i] === '{') {
      const end = rule.indexOf('}', i);
      out.push(rule.slice(i, end + 1));
      i = end + 1;
    } else {
      let end = rule.indexOf(' ', i);
      if (end < 0) end = rule.length;
      out.push(rule.slice(i, end));
      i = end;
    }
  }
  return out;
}

function inAddress(elements: Iterable<string>, addr: string): boolean {
  const a = intervalOf(addr);
  if (!a) return false;
  for (const e of elements) {
    const r = intervalOf(e);
    if (r && r.v6 === a.v6 && r.lo <= a.lo && a.hi <= r.hi) return true;
  }
  return false;
}

function inPorts(elements: Iterable<string>, port: number): boolean {
  for (const e of elements) {
    const [lo, hi] = e.split('-').map(Number);
    if (port >= lo! && port <= (hi ?? lo!)) return true;
  }
  return false;
}

type Verdict = { kind: 'accept' } | { kind: 'drop' } | { kind: 'return' } | { kind: 'continue' };

export class Tracer {
  constructor(private readonly table: TableState) {}

  /** The forward hook: every base chain on it, by priority; an accept ends only its own base chain. */
  forward(p: Packet): TraceResult {
    const path: string[] = [];
    const bases = [...this.table.chains.values()]
      .filter((c) => c.chain.hook === 'forward')
      .sort((a, b) => priority(a.chain) - priority(b.chain));
    for (const base of bases) {
      const v = this.run(base.chain.name, p, path, 0);
      if (v.kind === 'drop') return { verdict: 'drop', path };
      // accept, return or falling off the end: the base chain's policy (accept) applies; the next base chain runs.
      if (base.chain.policy === 'drop' && v.kind !== 'accept') return { verdict: 'drop', path };
    }
    return { verdict: 'accept', path };
  }

  private run(chainName: string, p: Packet, path: string[], depth: number): Verdict {
    if (depth > 32) throw new Error('tracer: jump loop');
    const chain = this.table.chains.get(chainName);
    if (!chain) throw new Error(`tracer: no chain ${chainName}`);
    for (const rule of chain.rules) {
      const v = this.rule(rule.rule, rule.comment, p, path, depth);
      if (v.kind !== 'continue') return v;
    }
    return { kind: 'return' };
  }

  private set(name: string): Set<string> {
    const s = this.table.sets.get(name);
    if (!s) throw new Error(`tracer: no set ${name}`);
    return new Set(s.elements.keys());
  }

  /** Evaluates one rule: its matches, then its statements. */
  private rule(text: string, comment: string | undefined, p: Packet, path: string[], depth: number): Verdict {
    const w = words(text);
    let i = 0;
    const next = (): string => {
      const t = w[i++];
      if (t === undefined) throw new Error(`tracer: rule ends early: ${text}`);
      return t;
    };
    const neg = (): boolean => {
      if (w[i] === '!=') { i++; return true; }
      return false;
    };
    let matched = true;
    const need = (ok: boolean): void => { if (!ok) matched = false; };
    while (i < w.length && matched) {
      const t = next();
      switch (t) {
        case 'iifname':
        case 'oifname': {
          const dev = t === 'iifname' ? p.iif : p.oif;
          if (w[i] === 'vmap') {
            i++;
            const map = this.table.maps.get(next().slice(1));
            if (!map) throw new Error(`tracer: no map in ${text}`);
            const el = map.elements.get(`"${dev}"`);
            if (!el) return { kind: 'continue' };
            path.push(comment ?? text);
            const [verb, target] = el.value!.split(' ');
            // A bare verdict element (a host endpoint's stage with no policy: `accept`).
            if (verb === 'accept' || verb === 'drop') return { kind: verb };
            if (verb !== 'goto' && verb !== 'jump') throw new Error(`tracer: map element ${el.value} in ${text}`);
            const v = this.run(target!, p, path, depth + 1);
            if (verb === 'goto' && v.kind === 'return') return { kind: 'return' };
            return v.kind === 'return' ? { kind: 'continue' } : v;
          }
          const pattern = next().slice(1, -1);
          need(pattern.endsWith('*') ? dev.startsWith(pattern.slice(0, -1)) : dev === pattern);
          break;
        }
        case 'ct': {
          if (next() !== 'state') throw new Error(`tracer: ct ${text}`);
          need(next().split(',').includes(p.ct));
          break;
        }
        case 'meta': {
          const what = next();
          if (what === 'l4proto') {
            const n = neg();
            need((p.proto === protoOf(next())) !== n);
          } else if (what === 'nfproto') {
            need(next() === (p.family === 4 ? 'ipv4' : 'ipv6'));
          } else if (what === 'mark') {
            // `meta mark and MASK == VALUE`, the one mark match the renderer emits.
            if (next() !== 'and') throw new Error(`tracer: meta mark in ${text}`);
            const mask = Number(next());
            const n = neg();
            if (!n && next() !== '==') throw new Error(`tracer: meta mark in ${text}`);
            const value = Number(next());
            need((((p.mark ?? 0) & mask) === value) !== n);
          } else {
            throw new Error(`tracer: meta ${what} in ${text}`);
          }
          break;
        }
        case 'ip':
        case 'ip6': {
          need(p.family === (t === 'ip' ? 4 : 6));
          const field = next();
          const addr = field === 'saddr' ? p.saddr : p.daddr;
          if (w[i] === '.') {
            // `ip daddr . meta l4proto . th dport [!=] @set`
            if (next() !== '.' || next() !== 'meta' || next() !== 'l4proto' || next() !== '.' || next() !== 'th') throw new Error(`tracer: ${text}`);
            const port = next() === 'sport' ? p.sport : p.dport;
            const n = neg();
            const set = this.set(next().slice(1));
            let hit = false;
            for (const e of set) {
              const [a, proto, prt] = e.split(' . ');
              if (inAddress([a!], addr) && protoOf(proto!) === p.proto && Number(prt) === port) hit = true;
            }
            need(hit !== n);
            break;
          }
          const n = neg();
          const v = next();
          const elements = v.startsWith('@') ? this.set(v.slice(1)) : v.startsWith('{') ? v.slice(1, -1).split(',').map((x) => x.trim()) : [v];
          need(inAddress(elements, addr) !== n);
          break;
        }
        case 'th':
        case 'tcp':
        case 'udp': {
          if (t !== 'th') need(p.proto === protoOf(t));
          const port = next() === 'sport' ? p.sport : p.dport;
          const n = neg();
          const v = next();
          const elements = v.startsWith('@') ? this.set(v.slice(1)) : v.startsWith('{') ? v.slice(1, -1).split(',').map((x) => x.trim()) : [v];
          need(inPorts(elements, port) !== n);
          break;
        }
        case 'icmp':
        case 'icmpv6': {
          need(p.proto === (t === 'icmp' ? 1 : 58));
          const field = next();
          if (w[i] === '.') {
            // `icmp type . icmp code != { T . C }`
            if (next() !== '.' || next() !== t || next() !== 'code') throw new Error(`tracer: ${text}`);
            const n = neg();
            const [ty, co] = next().slice(1, -1).split('.').map((x) => Number(x.trim()));
            need((p.icmpType === ty && p.icmpCode === co) !== n);
            break;
          }
          const n = neg();
          const value = Number(next());
          need(((field === 'type' ? p.icmpType : p.icmpCode) === value) !== n);
          break;
        }
        case 'counter':
          break;
        case 'log':
          // `log prefix "…" group N [snaplen N] [queue-threshold N]`: non-terminal.
          while (i < w.length && (w[i] === 'prefix' || w[i] === 'group' || w[i] === 'snaplen' || w[i] === 'queue-threshold' || w[i]!.startsWith('"') || /^\d+$/.test(w[i]!))) i++;
          break;
        case 'accept':
          path.push(comment ?? text);
          return { kind: 'accept' };
        case 'drop':
          path.push(comment ?? text);
          return { kind: 'drop' };
        case 'return':
          path.push(comment ?? text);
          return { kind: 'return' };
        case 'jump':
        case 'goto': {
          const v = this.run(next(), p, path, depth + 1);
          if (t === 'goto' && v.kind === 'return') return { kind: 'return' };
          return v.kind === 'return' ? { kind: 'continue' } : v;
        }
        default:
          throw new Error(`tracer: '${t}' is not a shape the renderer emits (rule: ${text})`);
      }
    }
    return { kind: 'continue' };
  }
}

function priority(chain: Chain): number {
  const p = chain.priority;
  if (typeof p === 'number') return p;
  const named: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
  const m = /^(\w+)\s*([+-])?\s*(\d+)?$/.exec(String(p));
  if (!m) throw new Error(`tracer: priority ${p}`);
  return (named[m[1]!] ?? Number(m[1])) + (m[2] ? (m[2] === '-' ? -1 : 1) * Number(m[3]) : 0);
}
