// The static skeleton (dataplane.md §5.2): the base chains and their dispatch and fail-closed rules, installed
// before anything else and kept while the agent is away. It depends on the settings only, never on the feed.
//
// Host endpoints hook here too: four base chains of their own (in-hep, out-hep, fwd-hep-in, fwd-hep-out) dispatch
// every interface that is neither a workload's (cali*) nor lo through the maps hep-in/… (named interfaces) and
// then to the *-any chains (the all-interfaces endpoint, or empty), Felix's cali-from-host-endpoint /
// cali-to-host-endpoint trees. Their per-interface chains live in host-endpoint-chains.ts.

import type { Chain, Rule } from '../nft/index.js';
import {
  CHAIN_FWD_EGRESS,
  CHAIN_FWD_INGRESS,
  CHAIN_FWD_OFFLOAD,
  CHAIN_IN_EGRESS,
  CHAIN_IN_HOST,
  CHAIN_OUT_HOST,
  CHAIN_PRE_RAW,
  CHAIN_FWD_HEP_IN,
  CHAIN_FWD_HEP_OUT,
  CHAIN_HEP_IN_ANY,
  CHAIN_HEP_OUT_ANY,
  CHAIN_HEPFW_IN_ANY,
  CHAIN_HEPFW_OUT_ANY,
  CHAIN_IN_HEP,
  CHAIN_OUT_HEP,
  FLOWTABLE,
  MAP_HEP_IN,
  MAP_HEP_OUT,
  MAP_HEPFW_IN,
  MAP_HEPFW_OUT,
  CHAIN_PRE_HEP, CHAIN_RAW_HEP_IN, CHAIN_RAW_HEP_OUT, CHAIN_RAW_NOTRACK_IN, CHAIN_RAW_NOTRACK_OUT,
  CHAIN_HEP_PRE_ANY, CHAIN_HEP_RAW_IN_ANY, CHAIN_HEP_RAW_OUT_ANY, MAP_HEP_PRE, MAP_HEP_RAW_IN, MAP_HEP_RAW_OUT, HEP_ACCEPT_MARK,
  MAP_WL_FROM,
  MAP_WL_TO,
  WORKLOAD_IFACE_PREFIX,
} from './names.js';
import type { Settings } from './options.js';
import type { Meaning, RuleIds } from './rule-ids.js';
import type { ChainContent } from './ruleset.js';

const NDP_MLD_TYPES = '{ 130, 131, 132, 133, 135, 136 }';

export function skeleton(opts: Settings, ids: RuleIds): ChainContent[] {
  const cali = `"${WORKLOAD_IFACE_PREFIX}*"`;
  const base = (name: string, hook: Chain['hook'], priority: string): Chain =>
    ({ type: 'chain', name, chainType: 'filter', hook, priority, policy: 'accept' });
  const r = (chain: string, body: string, key: string, meaning: Meaning): Rule => ids.rule(chain, body, meaning, `sk|${key}`);
  const out: ChainContent[] = [];

  const preRaw: Rule[] = [];
  if (opts.antiSpoofing) {
    // Strict RPF: a workload may only send from addresses routed back through its own interface. IPv6
    // link-local and unspecified sources (NDP, DAD) are left to the input chains.
    preRaw.push(r(CHAIN_PRE_RAW, `iifname ${cali} ip6 saddr { ::, fe80::/10 } counter accept`, 'rpf-ll',
      { what: 'anti-spoofing', label: 'IPv6 link-local source' }));
    preRaw.push(r(CHAIN_PRE_RAW, `iifname ${cali} fib saddr . iif oif missing counter drop`, 'rpf',
      { what: 'anti-spoofing', label: 'spoofed workload source' }));
  }
  out.push({ chain: base(CHAIN_PRE_RAW, 'prerouting', 'raw'), rules: preRaw });

  // Workload → anywhere (forward): the source's egress policy; an unknown cali* interface is dropped.
  out.push({ chain: base(CHAIN_FWD_EGRESS, 'forward', 'filter - 10'), rules: [
    r(CHAIN_FWD_EGRESS, `iifname ${cali} counter iifname vmap @${MAP_WL_FROM}`, 'fwd-e-dispatch', { what: 'dispatch', direction: 'egress', label: 'to workload egress chain' }),
    r(CHAIN_FWD_EGRESS, `iifname ${cali} counter drop`, 'fwd-e-unknown', { what: 'unknown-interface', direction: 'egress', label: 'unknown workload interface' }),
  ] });
  // Anywhere → workload (forward): the destination's ingress policy, after the egress base chain accepted.
  out.push({ chain: base(CHAIN_FWD_INGRESS, 'forward', 'filter'), rules: [
    r(CHAIN_FWD_INGRESS, `oifname ${cali} counter oifname vmap @${MAP_WL_TO}`, 'fwd-i-dispatch', { what: 'dispatch', direction: 'ingress', label: 'to workload ingress chain' }),
    r(CHAIN_FWD_INGRESS, `oifname ${cali} counter drop`, 'fwd-i-unknown', { what: 'unknown-interface', direction: 'ingress', label: 'unknown workload interface' }),
  ] });
  if (opts.flowtableOffload) {
    // NFTablesFlowTableOffload (dataplane.md §1.3). A base chain after both policy chains (filter + 10): only a
    // packet that fwd-egress and fwd-ingress both accepted gets here, so every new connection is still decided
    // by policy, egress then ingress. An established flow has had packets from its workload side, and the first
    // of them seen here moves the flow into the flowtable, whose ingress hook then forwards it past the forward
    // chains — as the `ct state established,related accept` at the head of every workload chain would have.
    out.push({ chain: base(CHAIN_FWD_OFFLOAD, 'forward', 'filter + 10'), rules: [
      r(CHAIN_FWD_OFFLOAD, `iifname ${cali} meta l4proto { tcp, udp } ct state established counter flow add @${FLOWTABLE}`,
        'fwd-offload', { what: 'flow-offload', label: 'offload established flow' }),
    ] });
  }
  // Workload → its host (input): egress policy first (Felix cali-wl-to-host), NDP/MLD always allowed.
  out.push({ chain: base(CHAIN_IN_EGRESS, 'input', 'filter - 10'), rules: [
    r(CHAIN_IN_EGRESS, `iifname ${cali} icmpv6 type ${NDP_MLD_TYPES} counter accept`, 'in-e-ndp', { what: 'icmpv6-router', label: 'ICMPv6 NDP/MLD' }),
    r(CHAIN_IN_EGRESS, `iifname ${cali} counter iifname vmap @${MAP_WL_FROM}`, 'in-e-dispatch', { what: 'dispatch', direction: 'egress', label: 'to workload egress chain' }),
    r(CHAIN_IN_EGRESS, `iifname ${cali} counter drop`, 'in-e-unknown', { what: 'unknown-interface', direction: 'egress', label: 'unknown workload interface' }),
  ] });
  // Then DefaultEndpointToHostAction (§3.7): a later base chain on the same hook, so an accept above does not
  // skip it.
  const inHost: Rule[] = [
    r(CHAIN_IN_HOST, `iifname ${cali} ct state established,related counter accept`, 'in-h-ct', { what: 'conntrack', label: 'conntrack established,related' }),
    r(CHAIN_IN_HOST, `iifname ${cali} icmpv6 type ${NDP_MLD_TYPES} counter accept`, 'in-h-ndp', { what: 'icmpv6-router', label: 'ICMPv6 NDP/MLD' }),
  ];
  const toHost = opts.defaultEndpointToHostAction;
  if (toHost !== 'Return') {
    inHost.push(r(CHAIN_IN_HOST, `iifname ${cali} counter ${toHost === 'Drop' ? 'drop' : 'accept'}`, `in-h-${toHost}`,
      { what: 'endpoint-to-host', action: toHost, label: `DefaultEndpointToHostAction ${toHost}` }));
  }
  out.push({ chain: base(CHAIN_IN_HOST, 'input', 'filter'), rules: inHost });
  // Host → local workload is not policed (Calico: kubelet probes depend on it, §3.7).
  out.push({ chain: base(CHAIN_OUT_HOST, 'output', 'filter'), rules: [
    r(CHAIN_OUT_HOST, `oifname ${cali} counter accept`, 'out-h', { what: 'host-to-workload', label: 'host to local workload' }),
  ] });
  out.push(...hostEndpointDispatch(base, r, cali));
  return out;
}

/**
 * The host-endpoint base chains. Each is its own base chain, so its verdict is ANDed with the workload chains'
 * (an accept ends only its own base chain): a packet forwarded from eth0 to a pod passes fwd-hep-in (the host
 * endpoint's applyOnForward ingress policy) and fwd-ingress (the pod's ingress policy), as Felix's FORWARD does
 * (§3.8). Workload interfaces never reach a host endpoint chain (Felix sends cali* to the workload chains with a
 * goto, dataplane.md §1.11), nor does lo (host to itself is not policed, engine host-path.ts). The dispatch is a
 * goto, so a named interface's chain is the only one that runs for it, and the all-interfaces endpoint is the
 * default (dataplane.md §1.12). With no host endpoint the maps and *-any chains are empty: nothing is policed.
 */
function hostEndpointDispatch(
  base: (name: string, hook: Chain['hook'], priority: string) => Chain,
  r: (chain: string, body: string, key: string, meaning: Meaning) => Rule,
  cali: string,
): ChainContent[] {
  const HOOKS: Record<string, [Chain['hook'], string]> = {
    [CHAIN_IN_HEP]: ['input', 'filter + 5'], [CHAIN_OUT_HEP]: ['output', 'filter + 5'],
    [CHAIN_FWD_HEP_IN]: ['forward', 'filter + 5'], [CHAIN_FWD_HEP_OUT]: ['forward', 'filter + 6'],
    // preDNAT: prerouting before DNAT (dstnat, −100); untracked: before conntrack (−200), after anti-spoofing.
    [CHAIN_PRE_HEP]: ['prerouting', 'mangle'], [CHAIN_RAW_HEP_IN]: ['prerouting', 'raw + 1'], [CHAIN_RAW_HEP_OUT]: ['output', 'raw + 1'],
  };
  const marked = `meta mark and ${HEP_ACCEPT_MARK} == ${HEP_ACCEPT_MARK}`;
  const d = (chain: string, side: 'iifname' | 'oifname', map: string, any: string, dir: 'ingress' | 'egress', key: string, acceptMarked = false): ChainContent => ({
    chain: base(chain, HOOKS[chain]![0], HOOKS[chain]![1]),
    rules: [
      r(chain, `${side} { "lo" } counter accept`, `${key}-lo`, { what: 'dispatch', direction: dir, label: 'loopback: no host endpoint' }),
      r(chain, `${side} ${cali} counter accept`, `${key}-wl`, { what: 'dispatch', direction: dir, label: 'workload interface: workload chains police it' }),
      // An untracked or preDNAT Allow of this host endpoint accepts the packet for its later stages (§3.8).
      ...(acceptMarked ? [r(chain, `${marked} counter accept`, `${key}-mark`, { what: 'dispatch', direction: dir, label: 'accepted by untracked or preDNAT policy' })] : []),
      r(chain, `counter ${side} vmap @${map}`, `${key}-map`, { what: 'dispatch', direction: dir, label: 'to host endpoint chain' }),
      r(chain, `counter goto ${any}`, `${key}-any`, { what: 'dispatch', direction: dir, label: 'to all-interfaces host endpoint' }),
    ],
  });
  const notrack = (chain: string, hook: Chain['hook'], key: string): ChainContent => ({
    chain: base(chain, hook, 'raw + 2'),
    rules: [r(chain, `${marked} counter notrack`, key, { what: 'dispatch', label: 'untracked policy allowed: notrack' })],
  });
  return [
    { chain: { type: 'chain', name: CHAIN_HEP_IN_ANY }, rules: [] },
    { chain: { type: 'chain', name: CHAIN_HEP_OUT_ANY }, rules: [] },
    { chain: { type: 'chain', name: CHAIN_HEPFW_IN_ANY }, rules: [] },
    { chain: { type: 'chain', name: CHAIN_HEPFW_OUT_ANY }, rules: [] },
    { chain: { type: 'chain', name: CHAIN_HEP_PRE_ANY }, rules: [] },
    { chain: { type: 'chain', name: CHAIN_HEP_RAW_IN_ANY }, rules: [] },
    { chain: { type: 'chain', name: CHAIN_HEP_RAW_OUT_ANY }, rules: [] },
    d(CHAIN_RAW_HEP_IN, 'iifname', MAP_HEP_RAW_IN, CHAIN_HEP_RAW_IN_ANY, 'ingress', 'hep-raw-in'),
    d(CHAIN_RAW_HEP_OUT, 'oifname', MAP_HEP_RAW_OUT, CHAIN_HEP_RAW_OUT_ANY, 'egress', 'hep-raw-out'),
    notrack(CHAIN_RAW_NOTRACK_IN, 'prerouting', 'notrack-in'),
    notrack(CHAIN_RAW_NOTRACK_OUT, 'output', 'notrack-out'),
    d(CHAIN_PRE_HEP, 'iifname', MAP_HEP_PRE, CHAIN_HEP_PRE_ANY, 'ingress', 'hep-pre', true),
    d(CHAIN_IN_HEP, 'iifname', MAP_HEP_IN, CHAIN_HEP_IN_ANY, 'ingress', 'hep-in', true),
    d(CHAIN_OUT_HEP, 'oifname', MAP_HEP_OUT, CHAIN_HEP_OUT_ANY, 'egress', 'hep-out', true),
    d(CHAIN_FWD_HEP_IN, 'iifname', MAP_HEPFW_IN, CHAIN_HEPFW_IN_ANY, 'ingress', 'hepfw-in', true),
    d(CHAIN_FWD_HEP_OUT, 'oifname', MAP_HEPFW_OUT, CHAIN_HEPFW_OUT_ANY, 'egress', 'hepfw-out'),
  ];
}
