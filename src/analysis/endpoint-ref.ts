// How a user names an endpoint on the command line: `namespace/name` (a Pod or namespaced WorkloadEndpoint),
// `hep:<name>` (a HostEndpoint), or an address that exactly one endpoint owns.

import { parseIp, type Issue, type Result } from '../api/index.js';
import type { EndpointInfo, PolicyEngine } from '../engine/index.js';

export function resolveEndpoint(engine: PolicyEngine, text: string): Result<EndpointInfo> {
  const fail = (message: string): Result<EndpointInfo> => ({ ok: false, issues: [{ code: 'endpoint.unknown', path: [], message, value: text } satisfies Issue] });
  const direct = engine.endpoint(text);
  if (direct) return { ok: true, value: direct };
  if (parseIp(text)) {
    const owners = engine.endpointsWithAddress(text);
    if (owners.length === 1) return { ok: true, value: owners[0]! };
    if (owners.length === 0) return fail(`no endpoint has the address ${text}`);
    return fail(`${text} belongs to ${owners.map((o) => o.ref).join(', ')}; name one of them`);
  }
  // A name without its namespace (or a host endpoint without `hep:`): suggest what it could be.
  const name = text.startsWith('hep:') ? text.slice(4) : text.includes('/') ? text.slice(text.indexOf('/') + 1) : text;
  const similar = engine.endpoints().filter((e) => e.name === name).map((e) => e.ref);
  const hint = similar.length > 0 ? `; did you mean ${similar.slice(0, 5).join(', ')}?`
    : ': write namespace/name for a Pod or WorkloadEndpoint, hep:<name> for a HostEndpoint, or an address';
  return fail(`unknown endpoint ${JSON.stringify(text)}${hint}`);
}
