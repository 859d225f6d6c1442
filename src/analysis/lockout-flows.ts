// The host's critical flows the lockout check protects (issue 17 §4): Tabby's defaults — what a Kubernetes node
// cannot lose without the cluster noticing — and the extra ports a user lists (the `lockoutPorts` setting, a
// FelixConfiguration's failsafe ports). "Inbound" is traffic to the host, "outbound" traffic the host sends.

import type { Issue, Result } from '../api/index.js';

export type CriticalDirection = 'inbound' | 'outbound';

export interface CriticalFlow {
  /** `SSH`, `kubelet`, `API server`, `etcd`, `etcd peers`, `BGP`, `DNS`, or `port tcp:8443` for a listed one. */
  name: string;
  direction: CriticalDirection;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  /** Where the flow comes from: `default`, the setting's origin (`--lockout-ports`, a config file), a FelixConfiguration. */
  origin: string;
}

const flow = (name: string, direction: CriticalDirection, protocol: CriticalFlow['protocol'], port: number): CriticalFlow =>
  ({ name, direction, protocol, port, origin: 'default' });

/**
 * Inbound: SSH, the kubelet API (the API server and metrics scrape it), the API server and etcd (control-plane
 * nodes), BGP sessions (calico-node peers). Outbound: DNS over UDP and TCP, the API server and etcd as clients,
 * BGP. Not Calico's failsafe list: 10250 is in none of Felix's defaults, 53 only outbound over UDP.
 */
export const DEFAULT_CRITICAL_FLOWS: readonly CriticalFlow[] = [
  flow('SSH', 'inbound', 'TCP', 22),
  flow('kubelet', 'inbound', 'TCP', 10250),
  flow('API server', 'inbound', 'TCP', 6443),
  flow('etcd', 'inbound', 'TCP', 2379),
  flow('etcd peers', 'inbound', 'TCP', 2380),
  flow('BGP', 'inbound', 'TCP', 179),
  flow('DNS', 'outbound', 'UDP', 53),
  flow('DNS', 'outbound', 'TCP', 53),
  flow('API server', 'outbound', 'TCP', 6443),
  flow('etcd', 'outbound', 'TCP', 2379),
  flow('etcd peers', 'outbound', 'TCP', 2380),
  flow('BGP', 'outbound', 'TCP', 179),
];

const ENTRY = /^(?:(in|out|inbound|outbound):)?(tcp|udp|sctp):(\d{1,5})$/i;

/**
 * The `lockoutPorts` setting: comma-separated `[in:|out:]PROTOCOL:PORT` (`tcp:8443,out:udp:123`); an entry
 * without a direction is protected both ways. Errors name the entry and what is allowed.
 */
export function parseLockoutPorts(text: string, origin: string): Result<CriticalFlow[]> {
  const out: CriticalFlow[] = [];
  const issues: Issue[] = [];
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  entries.forEach((entry, i) => {
    const m = ENTRY.exec(entry);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) {
      issues.push({
        code: 'lockout.invalid-port', path: [i], value: entry,
        message: `lockoutPorts entry ${JSON.stringify(entry)} (from ${origin}): write [in:|out:]tcp|udp|sctp:PORT with PORT 1–65535, e.g. tcp:8443 or out:udp:123`,
      });
      return;
    }
    const protocol = m[2]!.toUpperCase() as CriticalFlow['protocol'];
    const dir = m[1]?.toLowerCase();
    const directions: CriticalDirection[] = dir === undefined ? ['inbound', 'outbound'] : dir.startsWith('in') ? ['inbound'] : ['outbound'];
    for (const direction of directions) out.push({ name: `port ${protocol.toLowerCase()}:${port}`, direction, protocol, port, origin });
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

/** The flows to check: the defaults, then the listed ones that are not already among them. */
export function criticalFlows(extra: readonly CriticalFlow[] = []): CriticalFlow[] {
  return mergeFlows(DEFAULT_CRITICAL_FLOWS, extra);
}

/** `base`, then each of `extra` whose (direction, protocol, port) is not yet there. */
export function mergeFlows(base: readonly CriticalFlow[], extra: readonly CriticalFlow[]): CriticalFlow[] {
  const out = [...base];
  const key = (f: CriticalFlow) => `${f.direction}/${f.protocol}/${f.port}`;
  const seen = new Set(out.map(key));
  for (const f of extra) {
    if (seen.has(key(f))) continue;
    seen.add(key(f));
    out.push(f);
  }
  return out;
}

export function flowLabel(f: CriticalFlow): string {
  return `${f.name} (${f.protocol} ${f.port} ${f.direction})`;
}
