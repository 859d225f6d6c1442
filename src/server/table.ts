// kubectl's server-side printing: `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints
// the columns the server defines (with -o wide, the priority-1 columns too). The columns follow what
// `tabby get` and calicoctl show for each kind; every kind has Name and Age.

import type { KindKey, Resource } from '../api/index.js';

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string };
  columnDefinitions: TableColumn[];
  rows: Array<{ cells: unknown[]; object: unknown }>;
}

type Cell = (r: Resource) => unknown;
interface ColumnSpec { column: TableColumn; cell: Cell }

function col(name: string, description: string, cell: Cell, priority = 0, type: TableColumn['type'] = 'string'): ColumnSpec {
  return { column: { name, type, format: name === 'Name' ? 'name' : '', description, priority }, cell };
}

function spec(r: Resource): Record<string, unknown> {
  const s = (r as { spec?: unknown }).spec;
  return typeof s === 'object' && s !== null ? s as Record<string, unknown> : {};
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** kubectl's age format: 5s, 3m, 2h, 4d, 1y (duration.HumanDuration, shortened). */
export function age(created: string | undefined, now = Date.now()): string {
  if (!created) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (Number.isNaN(s)) return '<unknown>';
  if (s < 120) return `${s}s`;
  if (s < 3600 * 3) return `${Math.floor(s / 60)}m`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)}h`;
  if (s < 86400 * 365 * 2) return `${Math.floor(s / 86400)}d`;
  return `${Math.floor(s / (86400 * 365))}y`;
}

const NAME = col('Name', 'Name must be unique within a namespace.', (r) => r.metadata.name);
const AGE = col('Age', 'Time since the object was created.', (r) => age(r.metadata.creationTimestamp));

const POLICY: ColumnSpec[] = [
  NAME,
  col('Tier', 'The tier the policy belongs to.', (r) => text(spec(r).tier) || 'default'),
  col('Order', 'Order within the tier (lower first; none is last).', (r) => text(spec(r).order)),
  col('Selector', 'The endpoints the policy applies to.', (r) => text(spec(r).selector) || 'all()', 1),
  col('Types', 'Ingress, Egress or both.', (r) => (Array.isArray(spec(r).types) ? (spec(r).types as string[]).join(',') : ''), 1),
  AGE,
];

const BY_KIND: Partial<Record<KindKey, ColumnSpec[]>> = {
  NetworkPolicy: POLICY,
  GlobalNetworkPolicy: POLICY,
  StagedNetworkPolicy: POLICY,
  StagedGlobalNetworkPolicy: POLICY,
  Tier: [
    NAME,
    col('Order', 'Order of the tier (lower first).', (r) => text(spec(r).order)),
    col('Default Action', 'What happens at the end of the tier.', (r) => text(spec(r).defaultAction) || 'Deny'),
    AGE,
  ],
  KubernetesNetworkPolicy: [
    NAME,
    col('Pod-Selector', 'The pods the policy applies to.', (r) => podSelector(spec(r).podSelector)),
    AGE,
  ],
  StagedKubernetesNetworkPolicy: [
    NAME,
    col('Pod-Selector', 'The pods the policy applies to.', (r) => podSelector(spec(r).podSelector)),
    AGE,
  ],
  GlobalNetworkSet: [NAME, col('Nets', 'The networks in the set.', (r) => text((spec(r).nets as unknown[] | undefined)?.join(',')), 1), AGE],
  NetworkSet: [NAME, col('Nets', 'The networks in the set.', (r) => text((spec(r).nets as unknown[] | undefined)?.join(',')), 1), AGE],
  HostEndpoint: [
    NAME,
    col('Node', 'The node the endpoint is on.', (r) => text(spec(r).node)),
    col('Interface', 'The interface, or * for all.', (r) => text(spec(r).interfaceName)),
    col('Expected IPs', 'Addresses of the endpoint.', (r) => text((spec(r).expectedIPs as unknown[] | undefined)?.join(',')), 1),
    AGE,
  ],
  WorkloadEndpoint: [
    NAME,
    col('Workload', 'The pod or workload.', (r) => text(spec(r).workload ?? spec(r).pod)),
    col('Node', 'The node it runs on.', (r) => text(spec(r).node)),
    col('Networks', 'Its addresses.', (r) => text((spec(r).ipNetworks as unknown[] | undefined)?.join(','))),
    AGE,
  ],
  IPPool: [NAME, col('CIDR', 'The pool\'s addresses.', (r) => text(spec(r).cidr)), AGE],
  Namespace: [NAME, col('Status', 'The namespace phase.', () => 'Active'), AGE],
  // kubectl's own columns for the RBAC kinds (pkg/printers/internalversion).
  Role: [NAME, col('Created At', 'When the role was created.', (r) => r.metadata.creationTimestamp ?? '', 0, 'date')],
  ClusterRole: [NAME, col('Created At', 'When the role was created.', (r) => r.metadata.creationTimestamp ?? '', 0, 'date')],
  RoleBinding: [NAME, col('Role', 'The role it grants.', roleRefCell), AGE],
  ClusterRoleBinding: [NAME, col('Role', 'The role it grants.', roleRefCell), AGE],
  Pod: [
    NAME,
    col('Node', 'The node it runs on.', (r) => text(spec(r).nodeName)),
    col('IP', 'The pod address.', (r) => text((r as { status?: { podIP?: string } }).status?.podIP)),
    AGE,
  ],
};

/** `ClusterRole/view`, as kubectl prints a binding's roleRef. */
function roleRefCell(r: Resource): string {
  const ref = (r as { roleRef?: { kind?: string; name?: string } }).roleRef;
  return ref ? `${ref.kind ?? ''}/${ref.name ?? ''}` : '';
}

/** `app=web` for a podSelector's matchLabels, as kubectl prints a NetworkPolicy. */
function podSelector(sel: unknown): string {
  if (typeof sel !== 'object' || sel === null) return '<none>';
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  if ((s.matchExpressions?.length ?? 0) > 0) parts.push(`${s.matchExpressions!.length} expression(s)`);
  return parts.length > 0 ? parts.join(',') : '<none>';
}

function columnsOf(kind: KindKey): ColumnSpec[] {
  return BY_KIND[kind] ?? [NAME, AGE];
}

/** Whether an Accept header asks for a meta.k8s.io/v1 Table (kubectl get's first choice). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && params.includes('v=v1');
  });
}

/**
 * The Table for objects of one kind. Each row carries the object's metadata as a PartialObjectMetadata, or the
 * whole object with `includeObject=Object` (kubectl asks for it when it needs more than the columns).
 */
export function toTable(kind: KindKey, items: readonly Resource[], resourceVersion: string | undefined, includeObject: string | null): Table {
  const columns = columnsOf(kind);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: resourceVersion === undefined ? {} : { resourceVersion },
    columnDefinitions: columns.map((c) => c.column),
    rows: items.map((r) => ({
      cells: columns.map((c) => c.cell(r)),
      object: includeObject === 'None'
        ? undefined
        : includeObject === 'Object'
          ? r
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: r.metadata },
    })),
  };
}
