// calicoctl's datastore configuration, read as calicoctl reads it (libcalico-go lib/apiconfig): a CalicoAPIConfig
// file (apiVersion projectcalico.org/v3, kind CalicoAPIConfig, spec.datastoreType, spec.etcdEndpoints, …) or, when
// no file is in use, the environment (DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, …; each also as
// CALICO_<NAME>, which envconfig.Process("calico", …) tries first). calicoctl uses one source or the other, never a
// mix: a file that exists is the whole configuration (calicoctl clientmgr.LoadClientConfig). The file is untrusted
// input: read within the loader's limits, unknown fields refused with their file:line:col (yaml.UnmarshalStrict in
// calicoctl), values checked for type. Settings (settings.ts) decides when this configuration applies.

import { decodeManifests, formatIssue, readTextFile, type Issue, type PathSegment } from '../api/index.js';

import { CliError } from './command.js';

/** One value and where it was written: `ETCD_KEY_FILE`, or `spec.etcdKeyFile at /etc/calico/calicoctl.cfg:7:3`. */
export interface CalicoctlValue {
  value: string;
  origin: string;
}

/** The calicoctl settings Tabby uses, by their CalicoAPIConfig names. */
export const CALICOCTL_ETCD_FIELDS = {
  datastoreType: 'DATASTORE_TYPE',
  etcdEndpoints: 'ETCD_ENDPOINTS',
  etcdUsername: 'ETCD_USERNAME',
  etcdPassword: 'ETCD_PASSWORD',
  etcdKeyFile: 'ETCD_KEY_FILE',
  etcdCertFile: 'ETCD_CERT_FILE',
  etcdCACertFile: 'ETCD_CA_CERT_FILE',
  // Inline PEM: file only. calicoctl has no environment variables for them "to avoid accidental exposure".
  etcdKey: null,
  etcdCert: null,
  etcdCACert: null,
} as const;

export type CalicoctlField = keyof typeof CALICOCTL_ETCD_FIELDS;

export interface CalicoctlConfig {
  /** The file, or `the environment`. */
  source: string;
  kind: 'file' | 'env';
  values: Partial<Record<CalicoctlField, CalicoctlValue>>;
}

/**
 * Fields calicoctl knows for its Kubernetes datastore (KubeConfig in apiconfig.go). A file meant for etcdv3 may
 * carry them, so they are accepted and unused; datastoreType kubernetes itself is refused by settings.ts.
 */
const KUBERNETES_FIELDS = new Set([
  'kubeconfig', 'k8sAPIEndpoint', 'k8sKeyFile', 'k8sCertFile', 'k8sCAFile', 'k8sAPIToken', 'k8sInsecureSkipTLSVerify',
  'k8sDisableNodePoll', 'usePodCIDR', 'kubeconfigInline', 'k8sClientQPS', 'k8sCurrentContext', 'calicoAPIGroup',
]);

/** A CalicoAPIConfig is a few lines, inline certificates a few KB each; anything larger is not one. */
export const MAX_CALICOCTL_CONFIG_BYTES = 256 * 1024;

/** The calicoctl environment; undefined when none of its variables is set (empty counts as unset). */
export function calicoctlEnvironment(env: NodeJS.ProcessEnv): CalicoctlConfig | undefined {
  const values: CalicoctlConfig['values'] = {};
  for (const [field, name] of Object.entries(CALICOCTL_ETCD_FIELDS) as Array<[CalicoctlField, string | null]>) {
    if (name === null) continue;
    for (const candidate of [`CALICO_${name}`, name]) {
      const v = env[candidate];
      if (v !== undefined && v !== '') {
        values[field] = { value: v, origin: candidate };
        break;
      }
    }
  }
  return Object.keys(values).length > 0 ? { source: 'the environment', kind: 'env', values } : undefined;
}

function fail(issues: Issue[], display: string): never {
  throw new CliError(`${issues.map(formatIssue).join('; ')} (fix the calicoctl config file ${display})`);
}

/**
 * Reads a CalicoAPIConfig file. `undefined` when it does not exist and `mustExist` is false (calicoctl's default
 * path); any other problem is a CliError naming the file and, for a field, its line and column.
 */
export async function readCalicoctlConfig(path: string, from: string, mustExist: boolean): Promise<CalicoctlConfig | undefined> {
  const read = await readTextFile(path, path, { maxBytes: MAX_CALICOCTL_CONFIG_BYTES });
  if (!read.ok) {
    if (read.issue.code === 'load.not-found' && !mustExist) return undefined;
    throw new CliError(`${formatIssue(read.issue)} (the calicoctl config file named by ${from})`);
  }
  const decoded = decodeManifests(read.text, path);
  if (decoded.issues.length > 0) fail(decoded.issues.slice(0, 5), path);
  if (decoded.documents.length !== 1) {
    throw new CliError(`${path}: expected one CalicoAPIConfig document, found ${decoded.documents.length} ` +
      "(apiVersion: projectcalico.org/v3, kind: CalicoAPIConfig, spec: {datastoreType: etcdv3, etcdEndpoints: …})");
  }
  const doc = decoded.documents[0]!;
  const issues: Issue[] = [];
  const at = (path: PathSegment[], message: string, value?: unknown): void => {
    issues.push({ code: 'calicoctl-config', path, message, ...(value !== undefined && { value }), position: doc.source.positionOf(path) });
  };
  const root = doc.value;
  if (!isMapping(root)) {
    at([], 'expected a CalicoAPIConfig mapping (apiVersion, kind, metadata, spec)');
    fail(issues, path);
  }
  for (const key of Object.keys(root)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(key)) at([key], `unknown field (allowed: apiVersion, kind, metadata, spec)`);
  }
  // The checks and their wording are apiconfig.LoadClientConfigFromBytes's.
  if (root.apiVersion !== 'projectcalico.org/v3') {
    at(['apiVersion'], `unknown APIVersion ${JSON.stringify(root.apiVersion ?? '')} (expected projectcalico.org/v3)`);
  }
  if (root.kind !== 'CalicoAPIConfig') at(['kind'], `expected kind 'CalicoAPIConfig', got ${JSON.stringify(root.kind ?? '')}`);
  if (root.metadata !== undefined && root.metadata !== null && !isMapping(root.metadata)) at(['metadata'], 'must be a mapping');
  const values: CalicoctlConfig['values'] = {};
  const spec = root.spec;
  if (spec !== undefined && spec !== null && !isMapping(spec)) at(['spec'], 'must be a mapping');
  if (isMapping(spec)) {
    const known = Object.keys(CALICOCTL_ETCD_FIELDS);
    for (const [key, v] of Object.entries(spec)) {
      if (KUBERNETES_FIELDS.has(key)) continue;
      if (key === 'etcdDiscoverySrv') {
        at(['spec', key], 'etcd discovery through SRV records is not supported by Tabby: list the endpoints in spec.etcdEndpoints');
        continue;
      }
      if (!known.includes(key)) {
        at(['spec', key], `unknown field (etcd settings: ${known.join(', ')})`);
        continue;
      }
      if (v === null || v === undefined) continue;
      if (typeof v !== 'string') {
        at(['spec', key], `must be a string, not ${Array.isArray(v) ? 'a list' : typeof v}`);
        continue;
      }
      if (v === '') continue;
      const pos = doc.source.positionOf(['spec', key]);
      values[key as CalicoctlField] = { value: v, origin: `spec.${key} at ${pos.file}:${pos.line}:${pos.col}` };
    }
  }
  if (issues.length > 0) fail(issues, path);
  return { source: path, kind: 'file', values };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
