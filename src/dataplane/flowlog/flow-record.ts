// The flow record, issue 13 §2's `-o json` contract: one per (reporter, source, destination, protocol,
// destination port, action, enforced trace, pending trace) per interval, shaped after Goldmane's Flow.
// `decision` and `pendingDecision` are exactly `decision` of `tabby explain -o json` (engine Decision).

import type { Decision, PolicyKind } from '../../engine/index.js';

export type Reporter = 'Src' | 'Dst';

export interface FlowEndpoint {
  kind: 'WorkloadEndpoint' | 'HostEndpoint' | 'NetworkSet' | 'GlobalNetworkSet' | 'Net';
  namespace?: string;
  name?: string;
  ip: string;
  /** The destination's port; a source's port varies per connection and is not part of the record. */
  port?: number;
  labels?: Record<string, string>;
}

/** Goldmane's PolicyHit: one enforced (or pending) hit, in evaluation order. */
export interface PolicyHit {
  kind: PolicyKind | 'Profile' | 'EndOfTier';
  namespace?: string;
  name: string;
  tier?: string;
  action: 'Allow' | 'Deny' | 'Pass' | 'Log';
  /** Position of the policy among its tier's policies applied to the endpoint (−1 for profiles). */
  policyIndex: number;
  /** The rule's index, −1 for an end-of-tier action or the no-profile drop. */
  ruleIndex: number;
  /** For EndOfTier: the tier's first applicable policy, the one that "triggered" the tier. */
  trigger?: { kind: PolicyKind; namespace?: string; name: string };
}

/** What identifies a record within an interval (everything but times and counters). */
export interface FlowKey {
  reporter: Reporter;
  protocol: string;
  source: FlowEndpoint;
  destination: FlowEndpoint;
  action: 'Allow' | 'Deny';
  decision: Decision | null;
  trace: PolicyHit[];
  pendingAction: 'Allow' | 'Deny';
  pendingDecision: Decision | null;
  pendingTrace: PolicyHit[];
}

export interface FlowCounters {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Connections (denied: distinct attempts by 5-tuple) first seen in the interval. */
  connectionsStarted: number;
  /** Allowed connections whose conntrack entry ended in the interval. */
  connectionsCompleted: number;
  /** Allowed connections still open at the interval's end. */
  connectionsLive: number;
}

export interface FlowRecord extends FlowKey, FlowCounters {
  /** The interval, ISO 8601. */
  startTime: string;
  endTime: string;
}

/** The aggregation key's text: key fields in a fixed order, so equal keys are equal strings. */
export function flowKeyText(k: FlowKey): string {
  return JSON.stringify([k.reporter, k.protocol, endpointKey(k.source), endpointKey(k.destination), k.action, k.trace, k.pendingTrace,
    k.decision, k.pendingAction, k.pendingDecision]);
}

function endpointKey(e: FlowEndpoint): unknown[] {
  return [e.kind, e.namespace ?? null, e.name ?? null, e.kind === 'Net' || e.kind === 'WorkloadEndpoint' || e.kind === 'HostEndpoint' ? e.ip : null, e.port ?? null];
}
