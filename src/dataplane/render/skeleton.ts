// The static skeleton (dataplane.md §5.2): the base chains and their dispatch and fail-closed rules, installed
// before anything else and kept while the agent is away. It depends on the settings only, never on the feed.
//
// Host endpoints (next) hook here too: their dispatch rules join these base chains (Felix's cali-from-host-endpoint
// / cali-to-host-endpoint jumps), while their per-interface chains get a module of their own beside
// workload-chains.ts.

import type { Chain, Rule } from '../nft/index.js';
import {
  CHAIN_FWD_EGRESS,
  CHAIN_FWD_INGRESS,
  CHAIN_FWD_OFFLOAD,
  CHAIN_IN_EGRESS,
  CHAIN_IN_HOST,
  CHAIN_OUT_HOST,
  CHAIN_PRE_RAW,
  FLOWTABLE,
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
  return out;
}
