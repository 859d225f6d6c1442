// Shadowed and unreachable rules, exactly: rule r of policy p is *shadowed* when, at every hook where p is
// enforced (each endpoint p applies to, per direction and stage), every flow r matches has already been decided
// before the walk of §3.3 reaches r — by an earlier rule of p, of an earlier policy of the tier, by an earlier
// tier (its rules or its end-of-tier drop) — so r never decides any flow. r is *unreachable* when it matches no
// flow at any of those hooks at all (its own match is empty there). Log rules never decide (§3.4) and staged
// policies are not enforced (§3.6); neither is judged, and neither shadows anything.
//
// Why it is exact: a hook's verdict on a flow depends only on the flow's classes — the peer's address features
// (address-classes.ts: IP sets, named-port sets, rule CIDRs), the endpoint's own, and the service (protocol,
// ports, ICMP; shadow-services.ts). Every flow of a class is matched by exactly the rules that match its
// representative, so deciding every (peer class × service class) decides every flow. The universe of one hook
// group is those pairs; the rule sweep (rule-sweep.ts) asks the engine's own rule matcher once per cell of each
// rule's features and walks the tiers on bit sets (walkTiers, the same walk the matrix uses), and the observer
// here notes, per flow, which rule (or end of tier) took it. A rule whose hit is empty at a hook is shadowed
// there by the takers of the flows it matched — the minimal set of rules that decide what it would have.
//
// Hooks are grouped as the matrix groups ends (end-features.ts): the same signature (ordered policies) and the
// same own-address projection (with named ports) see the same thing, so a group is walked once for all its
// endpoints. Host endpoints are each their own group, one per stage. Failsafe ports and the other fixed host
// rules (host-path.ts) are outside the hooks: a rule that only failsafe traffic would reach counts as deciding.
// HTTP matches are not modelled by the engine (Tabby compiles no `http` clause), so neither are they here.
//
// Cost: per group, (peer projections × service classes) bits per rule, and one engine rule match per cell of
// the rule's features per service group (services a rule cannot match are skipped, and a rule without named
// ports is matched once for all services it matches).

import { parseIp, type IpAddr } from '../api/index.js';
import {
  ruleForFamily,
  type AppliedTier,
  type CompiledRule,
  type Direction,
  type EndpointInfo,
  type PolicyEngine,
  type PolicyId,
  type Stage,
} from '../engine/index.js';
import { FeatureIndex, type AddressClass } from './address-classes.js';
import { BitSet } from './bitset.js';
import { EndModels, failsafeCidrs, type EndModel } from './end-features.js';
import { externalPeers } from './external-peers.js';
import { RuleMatcher, walkTiers, type SweptEnd, type WalkObserver, type WalkStep } from './rule-sweep.js';
import { encapDropped, serviceClasses, serviceMatch, type ServiceClass } from './shadow-services.js';

/** What took a flow before the rule in question. */
export type Decider =
  | { type: 'rule'; tier: string; policy: PolicyId; direction: Direction; rule: number; action: 'Allow' | 'Deny' | 'Pass' }
  | { type: 'end-of-tier'; tier: string; action: 'Deny' };

export interface RuleShadow {
  policy: PolicyId;
  tier: string;
  direction: Direction;
  /** The rule's index in its direction, as traces name it. */
  rule: number;
  action: 'Allow' | 'Deny' | 'Pass';
  status: 'shadowed' | 'unreachable';
  /** Unreachable: why the rule's own match is empty. */
  reason?: string;
  /**
   * The rule names a Kubernetes Service (`services`), which Tabby does not model: on a real cluster it may match, so
   * "unreachable" here says only that Tabby cannot tell.
   */
  unmodelled?: boolean;
  /** Shadowed: the rules (and ends of tier) that decide the flows the rule matches, in the order first met. */
  shadowedBy: Decider[];
  /** Every one of them ends those flows as the rule would (it is redundant); false: the rule's action never happens. */
  sameAction: boolean;
  /** Endpoints (hooks) where the policy is enforced in this direction. */
  endpoints: number;
}

/** A Deny rule some of whose flows are allowed before it is reached: at those hooks the deny never takes effect. */
export interface OverriddenDeny {
  policy: PolicyId;
  tier: string;
  direction: Direction;
  rule: number;
  /** The Allow rules that take flows the Deny matches, first met first. */
  allowedBy: Array<Extract<Decider, { type: 'rule' }>>;
  /** Endpoints where that happens. */
  endpoints: number;
}

/** Per enforced policy and direction: where it applies and whether any of its rules decides a flow. */
export interface PolicyCoverage {
  policy: PolicyId;
  tier: string;
  direction: Direction;
  endpoints: number;
  /** Non-Log rules in this direction. */
  rules: number;
  decides: boolean;
}

export interface ShadowReport {
  /** Every shadowed or unreachable rule, by policy kind, namespace, name, direction, index. */
  rules: RuleShadow[];
  overridden: OverriddenDeny[];
  policies: PolicyCoverage[];
  stats: { hooks: number; groups: number; services: number; peerClasses: number; universeBits: number };
}

export interface ShadowOptions {
  onProgress?: (done: number, total: number) => void;
  /** Judge rules at workload hooks only (what the brute-force reference can probe, shadow-reference.ts). */
  workloadsOnly?: boolean;
}

/** A peer address class: family, representative, address features, and named-port memberships (pseudo features). */
interface PeerClass {
  family: 4 | 6;
  address: IpAddr;
  addr: number[];
  /** Pseudo feature ids of (named-port feature, protocol, port) this address is in. */
  named: number[];
}

interface RuleState {
  policy: PolicyId;
  tier: string;
  direction: Direction;
  rule: CompiledRule;
  decides: boolean;
  matchedSomewhere: boolean;
  endpoints: number;
  shadowers: Set<number>;
  /** Deny rules: Allow deciders of flows they match, and at how many endpoints. */
  allowedBy?: Set<number>;
  overriddenAt: number;
}

const policyKey = (id: PolicyId): string => `${id.kind}\u0000${id.namespace ?? ''}\u0000${id.name}`;

export function shadowAnalysis(engine: PolicyEngine, options: ShadowOptions = {}): ShadowReport {
  const rules = engine.policies().flatMap((p) => [...p.rules.ingress, ...p.rules.egress]);
  for (const name of new Set(engine.endpoints().flatMap((e) => e.profiles))) {
    const profile = engine.profile(name);
    rules.push(...profile.rules.ingress, ...profile.rules.egress);
  }
  const index = new FeatureIndex(engine, rules, failsafeCidrs(engine));
  const ends = new EndModels(engine, index, 'enforced');
  const services = serviceClasses(engine);
  const endpoints = engine.endpoints();
  const peers = new PeerClasses(index);
  const namedPortsOf = new Map<string, EndpointInfo['namedPorts']>();
  for (const ep of endpoints) for (const ip of ep.ips) namedPortsOf.set(ip, [...(namedPortsOf.get(ip) ?? []), ...ep.namedPorts]);
  for (const ep of endpoints) for (const text of ep.ips) peers.intern(text, namedPortsOf.get(text) ?? []);
  for (const x of externalPeers([engine])) peers.intern(x.address, []);

  // Hooks, grouped: key → the hook that opened the group and how many endpoints share it.
  interface Hook { info: EndpointInfo; stage: Stage; direction: Direction; tiers: readonly AppliedTier[]; family: 4 | 6; address: IpAddr | undefined; model: EndModel }
  const groups = new Map<string, { hook: Hook; endpoints: number }>();
  let hooks = 0;
  for (const info of endpoints) {
    if (options.workloadsOnly && info.kind !== 'WorkloadEndpoint') continue;
    const addresses = firstPerFamily(info.ips);
    for (const direction of ['ingress', 'egress'] as const) {
      const model = ends.of(info, direction);
      const stages: Array<[Stage, readonly AppliedTier[]]> = info.kind === 'HostEndpoint'
        ? Object.entries(engine.stagesFor(info.ref) ?? {}).map(([stage, d]) => [stage as Stage, d?.[direction] ?? []])
        : [['normal', engine.policiesFor(info.ref)?.[direction] ?? []]];
      for (const [stage, tiers] of stages) {
        if (!tiers.some((t) => t.policies.some((p) => !p.staged))) continue;
        hooks++;
        const fams: Array<[4 | 6, IpAddr | undefined]> = addresses.length > 0 ? addresses.map((a) => [a.family, a]) : [[4, undefined], [6, undefined]];
        for (const [k, [family, address]] of fams.entries()) {
          // A dual-stack endpoint is walked once per family, and counted once.
          const counted = k === 0 ? 1 : 0;
          const key = info.kind === 'HostEndpoint'
            ? `h|${info.ref}|${stage}|${direction}|${family}`
            : `w|${model.signature}|${family}|${address ? peers.projectionKey(address, namedPortsOf.get(formatIpText(info.ips, address)) ?? [], model.own) : ''}`;
          const g = groups.get(key);
          if (g) g.endpoints += counted;
          else groups.set(key, { hook: { info, stage, direction, tiers, family, address, model }, endpoints: counted });
        }
      }
    }
  }

  const states = new Map<string, RuleState>();
  const deciders: Decider[] = [];
  const deciderIds = new Map<string, number>();
  const deciderOf = (key: string, make: () => Decider): number => {
    let id = deciderIds.get(key);
    if (id === undefined) {
      deciderIds.set(key, (id = deciders.length));
      deciders.push(make());
    }
    return id;
  };
  const coverage = new Map<string, PolicyCoverage>();
  const serviceCache = new WeakMap<CompiledRule, { 4?: Uint8Array; 6?: Uint8Array }>();
  const svcOf = (rule: CompiledRule, family: 4 | 6): Uint8Array => {
    let entry = serviceCache.get(rule);
    if (!entry) serviceCache.set(rule, (entry = {}));
    let v = entry[family];
    if (!v) {
      v = new Uint8Array(services.length);
      services.forEach((s, k) => {
        const m = serviceMatch(rule, s, family);
        v![k] = m === false ? 0 : m === true ? 1 : 2;
      });
      entry[family] = v;
    }
    return v;
  };

  let done = 0;
  let universeBits = 0;
  for (const { hook, endpoints: count } of groups.values()) {
    const { direction, family } = hook;
    const reps = peers.project(family, hook.model.peer);
    const P = reps.length;
    const wordsPerService = Math.ceil(P / 32);
    const stride = wordsPerService * 32;
    const U = services.length * stride;
    universeBits += U;
    const eligible = new BitSet(U);
    const workloadEgress = hook.info.kind === 'WorkloadEndpoint' && direction === 'egress';
    services.forEach((s, k) => {
      if (workloadEgress && encapDropped(engine, s)) return;
      for (let q = 0; q < P; q++) eligible.add(k * stride + q);
    });
    const end: SweptEnd = { direction, tiers: hook.tiers, profiles: [], address: hook.address, port: undefined, peerFeatures: hook.model.peer };
    const asClasses = (named: (c: PeerClass) => number[]): AddressClass[] =>
      reps.map((c) => ({ family, kind: 'External', port: undefined, features: [...c.addr, ...named(c)], meta: 0, address: c.address }));
    const base = new RuleMatcher(engine, index, end, asClasses(() => []), services[0]!);
    const byPort = new Map<string, RuleMatcher>();
    /** For a named-port rule: peers with the named-port features they have for this service's port on their side. */
    const matcherFor = (s: ServiceClass): RuleMatcher => {
      const proto = s.protocol === 6 ? 'tcp' : s.protocol === 17 ? 'udp' : s.protocol === 132 ? 'sctp' : undefined;
      const port = direction === 'egress' ? s.dstPort : s.srcPort;
      if (proto === undefined || port === undefined) return base;
      const key = `${proto}:${port}`;
      let m = byPort.get(key);
      if (!m) byPort.set(key, (m = new RuleMatcher(engine, index, end, asClasses((c) => peers.namedFeatures(c, proto, port)), s)));
      return m;
    };
    // The own side's named ports depend on the service's port on the own side: the matcher asks the engine with
    // the real own address, so those are exact without classes.
    const bitsOf = (rule: CompiledRule): BitSet => {
      const out = new BitSet(U);
      const svc = svcOf(rule, family);
      const named = svc.includes(2);
      let shared: BitSet | undefined;
      for (let k = 0; k < services.length; k++) {
        if (svc[k] === 0) continue;
        let b: BitSet;
        if (!named) {
          shared ??= base.bits(rule, services[k]);
          if (shared.isEmpty()) break;
          b = shared;
        } else {
          b = matcherFor(services[k]!).bits(rule, services[k]);
        }
        out.words.set(b.words, k * wordsPerService);
      }
      out.and(eligible);
      return out;
    };

    const takenBy = new Int32Array(U).fill(-1);
    const observer: WalkObserver = {
      rule(step: WalkStep, matched: BitSet, hit: BitSet): void {
        const id = step.policy.id;
        const rule = step.rule;
        const action = rule.action as 'Allow' | 'Deny' | 'Pass';
        const key = `${policyKey(id)}\u0000${direction}\u0000${rule.index}`;
        let state = states.get(key);
        if (!state) {
          state = { policy: id, tier: step.tier.tier, direction, rule, decides: false, matchedSomewhere: false, endpoints: 0, shadowers: new Set(), overriddenAt: 0 };
          states.set(key, state);
        }
        state.endpoints += count;
        const cov = coverageOf(coverage, id, step.tier.tier, direction, engine);
        const me = deciderOf(key, () => ({ type: 'rule', tier: step.tier.tier, policy: id, direction, rule: rule.index, action }));
        const empty = matched.isEmpty();
        if (!empty) state.matchedSomewhere = true;
        const decides = !hit.isEmpty();
        if (decides) {
          state.decides = true;
          cov.decides = true;
        }
        // The takers of the flows it matched but did not get: its shadowers (when it got none), and for a Deny
        // the Allow rules that admit what it would drop.
        if (!empty && (!decides || action === 'Deny')) {
          const missed = decides ? matched.copy() : matched;
          if (decides) missed.andNot(hit);
          let allowed = false;
          missed.forEach((x) => {
            const d = takenBy[x]!;
            if (d < 0) return;
            if (!decides) state.shadowers.add(d);
            if (action === 'Deny' && deciders[d]!.action === 'Allow') {
              (state.allowedBy ??= new Set()).add(d);
              allowed = true;
            }
          });
          if (allowed) state.overriddenAt += count;
        }
        if (decides) {
          hit.forEach((x) => {
            takenBy[x] = me;
          });
        }
      },
      endOfTier(tier: AppliedTier, open: BitSet): void {
        if (tier.defaultAction !== 'Deny') return;
        const me = deciderOf(`eot\u0000${tier.tier}`, () => ({ type: 'end-of-tier', tier: tier.tier, action: 'Deny' }));
        open.forEach((x) => {
          takenBy[x] = me;
        });
      },
    };
    walkTiers(engine, hook.tiers, direction, 'enforced', eligible, bitsOf, observer);
    for (const t of hook.tiers) {
      for (const p of t.policies) if (!p.staged) coverageOf(coverage, p.id, t.tier, direction, engine).endpoints += count;
    }
    options.onProgress?.(++done, groups.size);
  }

  const out: RuleShadow[] = [];
  const overridden: OverriddenDeny[] = [];
  for (const s of states.values()) {
    const action = s.rule.action as RuleShadow['action'];
    if (s.allowedBy && s.allowedBy.size > 0) {
      overridden.push({
        policy: s.policy, tier: s.tier, direction: s.direction, rule: s.rule.index,
        allowedBy: [...s.allowedBy].sort((a, b) => a - b).map((d) => deciders[d] as Extract<Decider, { type: 'rule' }>),
        endpoints: s.overriddenAt,
      });
    }
    if (s.decides) continue;
    const base = { policy: s.policy, tier: s.tier, direction: s.direction, rule: s.rule.index, action, endpoints: s.endpoints };
    if (!s.matchedSomewhere) {
      out.push({
        ...base, status: 'unreachable', reason: unreachableReason(engine, s.rule, s.endpoints), shadowedBy: [], sameAction: false,
        ...(s.rule.neverMatches === 'services' && { unmodelled: true }),
      });
      continue;
    }
    const by = [...s.shadowers].sort((a, b) => a - b).map((d) => deciders[d]!);
    out.push({ ...base, status: 'shadowed', shadowedBy: by, sameAction: by.every((d) => d.action === action) });
  }
  const order = (x: { policy: PolicyId; direction: Direction; rule: number }): string =>
    `${policyKey(x.policy)}\u0000${x.direction}\u0000${String(x.rule).padStart(6, '0')}`;
  const byOrder = <T extends { policy: PolicyId; direction: Direction; rule: number }>(a: T, b: T): number => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0);
  return {
    rules: out.sort(byOrder),
    overridden: overridden.sort(byOrder),
    policies: [...coverage.values()],
    stats: { hooks, groups: groups.size, services: services.length, peerClasses: peers.size, universeBits },
  };
}

function coverageOf(map: Map<string, PolicyCoverage>, id: PolicyId, tier: string, direction: Direction, engine: PolicyEngine): PolicyCoverage {
  const key = `${policyKey(id)}\u0000${direction}`;
  let c = map.get(key);
  if (!c) {
    const rules = (engine.policy(id)?.rules[direction] ?? []).filter((r) => r.action !== 'Log').length;
    map.set(key, (c = { policy: id, tier, direction, endpoints: 0, rules, decides: false }));
  }
  return c;
}

/** Why a rule matches no flow at any endpoint its policy applies to, as specifically as the rule says. */
function unreachableReason(engine: PolicyEngine, rule: CompiledRule, endpoints: number): string {
  if (rule.neverMatches === 'services') return 'it names a Kubernetes Service, and Tabby has no Service resources: the rule matches nothing';
  if (ruleForFamily(rule, 4) === null && ruleForFamily(rule, 6) === null) {
    return 'Felix renders it for no address family: its ipVersion, ICMP protocol and nets leave none';
  }
  for (const [side, e] of [['source', rule.src], ['destination', rule.dst]] as const) {
    for (const id of [...e.ipSets, ...e.namedPortIpSets]) {
      if ((engine.ipSetMembers(id) ?? []).length > 0) continue;
      const info = engine.ipSets().find((s) => s.id === id);
      const what = info?.namedPort ? `named port ${info.namedPort.name}/${info.namedPort.protocol} of ` : '';
      return `its ${side} ${what}selector ${JSON.stringify(info?.selector ?? id)} matches no endpoint or network set`;
    }
  }
  return `it matches no flow of the ${endpoints} endpoint${endpoints === 1 ? '' : 's'} its policy applies to`;
}

function firstPerFamily(ips: readonly string[]): IpAddr[] {
  const out: IpAddr[] = [];
  for (const text of ips) {
    const ip = parseIp(text);
    if (ip && !out.some((a) => a.family === ip.family)) out.push(ip);
  }
  return out;
}

function formatIpText(ips: readonly string[], address: IpAddr): string {
  return ips.find((t) => {
    const ip = parseIp(t);
    return ip !== undefined && ip.family === address.family && ip.value === address.value;
  }) ?? '';
}

/** Every address a flow's peer can have, by class, with an inverted index for projecting onto an end's features. */
class PeerClasses {
  private readonly classes: PeerClass[] = [];
  private readonly ids = new Map<string, number>();
  /** Per family: feature (or pseudo feature) → classes having it. */
  private readonly having = { 4: new Map<number, number[]>(), 6: new Map<number, number[]>() };
  private readonly ofFamily = { 4: [] as number[], 6: [] as number[] };
  /** Pseudo features: (named-port feature, protocol, port). */
  private readonly pseudo: Array<{ feature: number; protocol: string; port: number }> = [];
  private readonly pseudoIds = new Map<string, number>();
  private readonly pseudoOf = new Map<number, number[]>();
  private readonly projections = new Map<string, PeerClass[]>();

  constructor(private readonly index: FeatureIndex) {}

  get size(): number {
    return this.classes.length;
  }

  /** The features an address has, with its named ports as pseudo features. */
  private featuresOf(ip: IpAddr, namedPorts: EndpointInfo['namedPorts']): { addr: number[]; named: number[] } {
    const addr = this.index.addressFeatures(ip);
    const own = new Set(addr);
    const named = new Set<number>();
    for (const np of namedPorts) {
      for (const f of this.index.destinationFeatures(ip, np.protocol, np.port)) {
        if (own.has(f)) continue;
        const key = `${f}|${np.protocol}|${np.port}`;
        let id = this.pseudoIds.get(key);
        if (id === undefined) {
          id = this.index.size + this.pseudo.length;
          this.pseudoIds.set(key, id);
          this.pseudo.push({ feature: f, protocol: np.protocol, port: np.port });
          this.pseudoOf.set(f, [...(this.pseudoOf.get(f) ?? []), id]);
        }
        named.add(id);
      }
    }
    return { addr, named: [...named].sort((a, b) => a - b) };
  }

  intern(text: string, namedPorts: EndpointInfo['namedPorts']): void {
    const ip = parseIp(text);
    if (!ip) return;
    const { addr, named } = this.featuresOf(ip, namedPorts);
    const key = `${ip.family}|${addr.join(',')}|${named.join(',')}`;
    if (this.ids.has(key)) return;
    const id = this.classes.length;
    this.ids.set(key, id);
    this.classes.push({ family: ip.family, address: ip, addr, named });
    this.ofFamily[ip.family].push(id);
    for (const f of [...addr, ...named]) {
      const list = this.having[ip.family].get(f);
      if (list) list.push(id);
      else this.having[ip.family].set(f, [id]);
    }
  }

  /** The features an end reads, with the pseudo features of the named-port sets among them. */
  private relevant(features: readonly number[]): number[] {
    const out = [...features];
    for (const f of features) out.push(...(this.pseudoOf.get(f) ?? []));
    return out;
  }

  /** The key of an own address's projection onto the end's own features. */
  projectionKey(ip: IpAddr, namedPorts: EndpointInfo['namedPorts'], features: readonly number[]): string {
    const { addr, named } = this.featuresOf(ip, namedPorts);
    const wanted = new Set(this.relevant(features));
    return [...addr, ...named].filter((f) => wanted.has(f)).join(',');
  }

  /**
   * One representative class per distinct projection onto `features` (and their named-port pseudo features), for
   * one family: classes are visited through the inverted index, so the cost is the number of (feature, class)
   * memberships among the end's features, not classes × features.
   */
  project(family: 4 | 6, features: readonly number[]): PeerClass[] {
    const cacheKey = `${family}|${features.join(',')}`;
    const hit = this.projections.get(cacheKey);
    if (hit) return hit;
    const relevant = this.relevant(features);
    const touched = new Map<number, number[]>();
    relevant.forEach((f, k) => {
      for (const c of this.having[family].get(f) ?? []) {
        const list = touched.get(c);
        if (list) list.push(k);
        else touched.set(c, [k]);
      }
    });
    const reps = new Map<string, PeerClass>();
    for (const [c, ks] of touched) {
      const key = ks.join(',');
      if (!reps.has(key)) reps.set(key, this.classes[c]!);
    }
    // The classes with none of the features: one of them stands for all.
    if (touched.size < this.ofFamily[family].length) {
      const c = this.ofFamily[family].find((x) => !touched.has(x))!;
      reps.set('', this.classes[c]!);
    }
    const out = [...reps.values()];
    this.projections.set(cacheKey, out);
    return out;
  }

  /** The named-port features a class has for (protocol, port). */
  namedFeatures(c: PeerClass, protocol: string, port: number): number[] {
    const out: number[] = [];
    for (const id of c.named) {
      const p = this.pseudo[id - this.index.size]!;
      if (p.protocol === protocol && p.port === port) out.push(p.feature);
    }
    return out;
  }
}
