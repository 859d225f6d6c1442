// Resource URLs, as the Kubernetes API server lays them out:
//   /api/v1/[namespaces/NS/]PLURAL[/NAME]                    the core group (Namespace, Pod, ServiceAccount)
//   /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME]        projectcalico.org/v3, networking.k8s.io/v1
// `/api/v1/namespaces/NAME` is the Namespace itself. A cluster-scoped kind under a namespace, or a namespaced one
// requested by name without one, is not a URL of this API (404), as there.
//
// Names and namespaces come from the URL, so they are checked here before they reach a store key: a name may
// not be `.` or `..` nor hold `/` or `%` (apimachinery's path-segment rule, IsValidPathSegmentName), and a
// namespace must be a DNS label. Traversal is refused on the raw request line too (rawPathProblem), because the
// WHATWG URL parser resolves `..` and `%2e%2e` segments before any router sees the path.

import { type KindInfo } from '../api/index.js';
import { badRequest, StatusError } from './status.js';
import { groupVersion, kindByPlural, type GroupVersion } from './served-kinds.js';

export interface ResourceTarget {
  gv: GroupVersion;
  info: KindInfo;
  /** Set for namespaced kinds under /namespaces/NS; undefined for cluster-scoped kinds and all-namespace requests. */
  namespace: string | undefined;
  /** Undefined for collection requests. */
  name: string | undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAME = 253;

/** Why a raw request path (as sent, before URL parsing) is refused: dot segments, plain or percent-encoded. */
export function rawPathProblem(rawPath: string): string | undefined {
  const path = rawPath.split('?')[0]!;
  for (const seg of path.split('/')) {
    const decoded = seg.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return `the path ${JSON.stringify(path)} has a '${decoded}' segment`;
  }
  return undefined;
}

function segment(raw: string, what: string): string {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw badRequest(`the ${what} in the URL is not valid percent-encoding: ${JSON.stringify(raw)}`);
  }
  return text;
}

/** apimachinery's IsValidPathSegmentName, plus the length every Kubernetes name has. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'may not be empty';
  if (name === '.' || name === '..') return `may not be '${name}'`;
  if (name.includes('/')) return "may not contain '/'";
  if (name.includes('%')) return "may not contain '%'";
  if (name.length > MAX_NAME) return `may not be longer than ${MAX_NAME} characters`;
  // Control characters never make a valid name and would be written into messages and logs.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'may not contain control characters';
  return undefined;
}

function checkedName(raw: string): string {
  const name = segment(raw, 'name');
  const problem = nameProblem(name);
  if (problem) throw badRequest(`invalid resource name ${JSON.stringify(name)}: ${problem}`);
  return name;
}

function checkedNamespace(raw: string): string {
  const ns = segment(raw, 'namespace');
  if (!DNS_LABEL.test(ns) || ns.length > 63) {
    throw badRequest(`invalid namespace ${JSON.stringify(ns)}: a namespace is a DNS label (lower-case letters, digits and '-', at most 63)`);
  }
  return ns;
}

function notServed(path: string): StatusError {
  return new StatusError(404, 'NotFound', `the server could not find the requested resource (${path} is not served)`);
}

/**
 * The resource a path names, or undefined when it is no resource path (discovery and the like are routed
 * elsewhere). Throws a 404 Status for an unknown group, version or kind, 400 for a bad name.
 */
export function parseResourcePath(path: string): ResourceTarget | undefined {
  const segs = path.split('/').filter((s, i) => i > 0 || s !== '');
  if (segs.at(-1) === '') segs.pop();
  let gv: GroupVersion | undefined;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    gv = groupVersion('', segs[1]!);
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    gv = groupVersion(segs[1]!, segs[2]!);
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  if (!gv) throw notServed(path);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = checkedNamespace(rest[1]!);
    rest = rest.slice(2);
  }
  const info = kindByPlural(gv, rest[0]!);
  if (!info) throw notServed(path);
  if (rest.length > 2) throw notServed(path); // subresources (status, scale) are not served
  if (namespace !== undefined && !info.namespaced) throw notServed(path);
  const name = rest[1] === undefined ? undefined : checkedName(rest[1]);
  if (name !== undefined && info.namespaced && namespace === undefined) throw notServed(path);
  return { gv, info, namespace, name };
}
