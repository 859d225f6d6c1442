// `tabby get` printers, keyed by their -o name in the printer registry (printers.ts): a table and `wide` with the
// columns calicoctl prints for each kind (kubectl's for the Kubernetes kinds; NAMESPACE first only with -A, as
// both do), `yaml`/`json` manifests that apply/create read back, and `name` (kubectl's `kind.group/name`).

import {
  convertKubernetesPolicy, isPrintable, kindInfoOf, quote, type ClusterRoleBinding, type K8sNetworkPolicy, type KindInfo,
  type LabelSelector, type Resource, type RoleBinding, type StagedKubernetesNetworkPolicy, type Subject,
} from '../../api/index.js';
import { ageText } from './age.js';
import { write } from '../command.js';
import { renderManifests } from './manifests.js';
import { printerSet, type Printer as RegistryPrinter } from './printers.js';

export interface PrintOptions {
  /** One object was asked for by name: yaml/json print the object itself, not a List. */
  single: boolean;
  /** -A: tables of namespaced kinds start with a NAMESPACE column, as kubectl's and calicoctl's do. */
  allNamespaces?: boolean;
  /** --show-labels: a LABELS column last, as kubectl (the wide tables of kinds that show labels already keep one). */
  showLabels?: boolean;
}

/** What `tabby get` prints: the objects found. */
export interface FoundResources extends PrintOptions {
  resources: readonly Resource[];
}

type Printer = (resources: readonly Resource[], options: PrintOptions) => string;

/** The default table fits this many columns (STYLE.md, CLI); `wide` may be wider. */
const TABLE_WIDTH = 100;
/** calicoctl's joinAndTruncate for a network set's NETS, in both tables. */
const NETS_WIDTH = 80;
const NONE = '<none>';

function labelsText(labels: Record<string, string> | undefined): string {
  // Sorted by key, as kubectl's --show-labels (apimachinery labels.Set.String).
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? NONE : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** A Kubernetes label selector in kubectl's notation (`app=web,env in (a,b)`). */
function k8sSelectorText(sel: LabelSelector | undefined): string {
  if (!sel) return NONE;
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = e.values?.length ? ` (${e.values.join(',')})` : '';
    parts.push(e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator.toLowerCase()}${values}`);
  }
  return parts.length === 0 ? '<all>' : parts.join(',');
}

interface Column {
  header: string;
  value(r: Resource): string;
  /** Free text (selectors, addresses, labels) that the default table may cut to fit; names never are. */
  shrink?: boolean;
}

/** A kind's columns after NAMESPACE: the default table's, and the wide table's. */
interface KindColumns {
  table: Column[];
  wide: Column[];
}

type Spec = Record<string, unknown>;
const spec = (r: Resource): Spec => ((r as { spec?: Spec }).spec ?? {});
const str = (v: unknown, absent = NONE): string => (v === undefined || v === null || v === '' ? absent : String(v));
const list = (v: unknown): string => (Array.isArray(v) && v.length > 0 ? v.map(String).join(',') : NONE);

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 3))}...`;
}

const NAME: Column = { header: 'NAME', value: (r) => r.metadata.name };
const LABELS: Column = { header: 'LABELS', value: (r) => labelsText(r.metadata.labels), shrink: true };

/**
 * A policy as Calico holds it: a Kubernetes policy is shown as Calico converts it (§4.1: tier default, order
 * 1000, the pod selector in Calico syntax), so ORDER says where it sits among the tier's policies.
 */
function policyView(r: Resource, info: KindInfo): Spec {
  if (info.key === 'KubernetesNetworkPolicy' || info.key === 'StagedKubernetesNetworkPolicy') {
    return convertKubernetesPolicy(r as K8sNetworkPolicy | StagedKubernetesNetworkPolicy).policy.spec as Spec;
  }
  return spec(r);
}

function policyColumns(info: KindInfo): KindColumns {
  const global = !info.namespaced;
  const tier: Column = { header: 'TIER', value: (r) => str(policyView(r, info).tier, 'default') };
  const wide: Column[] = [
    NAME, tier,
    { header: 'ORDER', value: (r) => str(policyView(r, info).order) },
    { header: 'SELECTOR', value: (r) => str(policyView(r, info).selector, 'all()'), shrink: true },
  ];
  // Only a global policy has a namespaceSelector (the endpoints' namespaces it applies to).
  if (global) wide.push({ header: 'NAMESPACESELECTOR', value: (r) => str(spec(r).namespaceSelector), shrink: true });
  if (info.group === 'networking.k8s.io' || info.key === 'StagedKubernetesNetworkPolicy') {
    // kubectl's `get networkpolicy` columns for the Kubernetes kinds.
    const podSelector: Column = { header: 'POD-SELECTOR', value: (r) => k8sSelectorText(spec(r).podSelector as LabelSelector | undefined), shrink: true };
    return { table: [NAME, podSelector], wide };
  }
  // calicoctl: `get networkpolicy` shows NAME and TIER, `get globalnetworkpolicy` NAME only.
  return { table: global ? [NAME] : [NAME, tier], wide };
}

function ipPoolMode(v: unknown): string {
  return str(v, 'Never');
}

/**
 * calicoctl's columns per kind (calicoctl/resourcemgr/*.go: the headings and wide headings each kind registers),
 * and kubectl's for the Kubernetes kinds. Where calicoctl prints Go's zero value for an unset field, the table
 * says what Calico does with it (`Never`, `false`, `Deny`) or `<none>`.
 */
function kindColumns(info: KindInfo): KindColumns {
  if (info.policy) return policyColumns(info);
  switch (info.key) {
    case 'IPPool': {
      const cidr: Column = { header: 'CIDR', value: (r) => str(spec(r).cidr) };
      const selector: Column = { header: 'SELECTOR', value: (r) => str(spec(r).nodeSelector, 'all()'), shrink: true };
      return {
        table: [NAME, cidr, selector],
        wide: [
          NAME, cidr,
          { header: 'NAT', value: (r) => String(spec(r).natOutgoing === true) },
          { header: 'IPIPMODE', value: (r) => ipPoolMode(spec(r).ipipMode) },
          { header: 'VXLANMODE', value: (r) => ipPoolMode(spec(r).vxlanMode) },
          { header: 'DISABLED', value: (r) => String(spec(r).disabled === true) },
          { header: 'DISABLEBGPEXPORT', value: (r) => String(spec(r).disableBGPExport === true) },
          selector,
        ],
      };
    }
    case 'Tier': {
      const order: Column = { header: 'ORDER', value: (r) => str(spec(r).order) };
      // §2.5: a tier without defaultAction denies at its end.
      return { table: [NAME, order], wide: [NAME, order, { header: 'DEFAULTACTION', value: (r) => str(spec(r).defaultAction, 'Deny') }] };
    }
    case 'HostEndpoint': {
      const node: Column = { header: 'NODE', value: (r) => str(spec(r).node) };
      return {
        table: [NAME, node],
        wide: [
          NAME, node,
          { header: 'INTERFACE', value: (r) => str(spec(r).interfaceName) },
          { header: 'IPS', value: (r) => list(spec(r).expectedIPs), shrink: true },
          { header: 'PROFILES', value: (r) => list(spec(r).profiles), shrink: true },
        ],
      };
    }
    case 'NetworkSet':
    case 'GlobalNetworkSet':
      return { table: [NAME], wide: [NAME, { header: 'NETS', value: (r) => truncate(list(spec(r).nets), NETS_WIDTH), shrink: true }] };
    case 'WorkloadEndpoint': {
      // calicoctl's default table names the workload, not the endpoint (`<node>-k8s-<pod>-eth0`).
      const workload: Column = { header: 'WORKLOAD', value: (r) => str(spec(r).workload ?? spec(r).pod) };
      const node: Column = { header: 'NODE', value: (r) => str(spec(r).node) };
      const networks: Column = { header: 'NETWORKS', value: (r) => list(spec(r).ipNetworks), shrink: true };
      const iface: Column = { header: 'INTERFACE', value: (r) => str(spec(r).interfaceName) };
      const nats = (r: Resource): string => {
        const v = spec(r).ipNATs;
        return Array.isArray(v) && v.length > 0
          ? (v as Array<{ internalIP?: unknown; externalIP?: unknown }>).map((n) => `${String(n.externalIP)}->${String(n.internalIP)}`).join(',')
          : NONE;
      };
      return {
        table: [workload, node, networks, iface],
        wide: [NAME, workload, node, networks, iface, { header: 'PROFILES', value: (r) => list(spec(r).profiles), shrink: true }, { header: 'NATS', value: nats, shrink: true }],
      };
    }
    // calicoctl resourcemgr/felixconfig.go: NAME in both tables.
    case 'FelixConfiguration':
      return { table: [NAME], wide: [NAME] };
    case 'Profile':
      return { table: [NAME], wide: [NAME, { header: 'LABELS', value: (r) => labelsText(spec(r).labelsToApply as Record<string, string> | undefined), shrink: true }] };
    case 'Pod': {
      // kubectl's wide pod table adds IP and NODE.
      const status = (r: Resource): Record<string, unknown> => ((r as { status?: Record<string, unknown> }).status ?? {});
      return {
        table: [NAME, { header: 'STATUS', value: (r) => str(status(r).phase, 'Unknown') }],
        wide: [
          NAME, { header: 'STATUS', value: (r) => str(status(r).phase, 'Unknown') },
          { header: 'IP', value: (r) => str(status(r).podIP) },
          { header: 'NODE', value: (r) => str(spec(r).nodeName) },
          LABELS,
        ],
      };
    }
    case 'Role':
    case 'ClusterRole': {
      // kubectl: NAME and CREATED AT (the creationTimestamp as stored, RFC 3339 in UTC), wide adds nothing.
      const created: Column = { header: 'CREATED AT', value: (r) => str(r.metadata.creationTimestamp) };
      return { table: [NAME, created], wide: [NAME, created] };
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      // kubectl: NAME, ROLE (`Kind/name`), AGE; wide adds the subjects by kind (a service account as `ns:name`,
      // its namespace empty when the binding leaves it to default) — empty cells as kubectl leaves them.
      const binding = (r: Resource): RoleBinding | ClusterRoleBinding => r as RoleBinding | ClusterRoleBinding;
      const subjects = (kind: Subject['kind']) => (r: Resource): string => (binding(r).subjects ?? [])
        .filter((s) => s.kind === kind)
        .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}:${s.name}` : s.name)).join(', ');
      const role: Column = { header: 'ROLE', value: (r) => `${binding(r).roleRef.kind}/${binding(r).roleRef.name}` };
      const age: Column = { header: 'AGE', value: (r) => ageText(r.metadata.creationTimestamp) };
      return {
        table: [NAME, role, age],
        wide: [
          NAME, role, age,
          { header: 'USERS', value: subjects('User'), shrink: true },
          { header: 'GROUPS', value: subjects('Group'), shrink: true },
          { header: 'SERVICEACCOUNTS', value: subjects('ServiceAccount'), shrink: true },
        ],
      };
    }
    default:
      return { table: [NAME], wide: [NAME, LABELS] };
  }
}

/** Cells read from a store or a file: one cell can never break its row or line. */
function cellText(text: string): string {
  return isPrintable(text) ? text : quote(text);
}

const GAP = 3;

function renderTable(cols: readonly Column[], items: readonly Resource[], limit: number | undefined): string {
  const rows = [cols.map((c) => c.header), ...items.map((r) => cols.map((c) => cellText(c.value(r))))];
  const widths = cols.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  if (limit !== undefined) {
    // Free-text columns give way, the last first, down to their header's width; names are never cut.
    let over = widths.reduce((a, w) => a + w, 0) + GAP * (cols.length - 1) - limit;
    for (let i = cols.length - 1; i >= 0 && over > 0; i--) {
      if (!cols[i]!.shrink) continue;
      const floor = Math.max(cols[i]!.header.length, 8);
      const cut = Math.min(over, widths[i]! - floor);
      if (cut > 0) {
        widths[i]! -= cut;
        over -= cut;
      }
    }
  }
  return rows.map((r) => r.map((c, i) => {
    const cell = truncate(c, widths[i]!);
    return i === r.length - 1 ? cell : cell.padEnd(widths[i]! + GAP);
  }).join('').trimEnd()).join('\n');
}

/** calicoctl lists tiers by order, those without one last. */
function tierOrder(a: Resource, b: Resource): number {
  const oa = spec(a).order;
  const ob = spec(b).order;
  return (typeof oa === 'number' ? oa : Infinity) - (typeof ob === 'number' ? ob : Infinity) || 0;
}

export interface TableOptions {
  wide: boolean;
  /** How many kinds the command shows: with several, the first header names the kind. */
  kinds: number;
  showLabels?: boolean;
  allNamespaces?: boolean;
}

/** One kind's columns as the options ask for them. */
function tableColumns(info: KindInfo, options: TableOptions): Column[] {
  const own = kindColumns(info)[options.wide ? 'wide' : 'table'];
  // Several kinds in one listing: the first column says which kind its table lists.
  const cols: Column[] = own.map((c, i) => (i === 0 && options.kinds > 1 ? { ...c, header: `${c.header} (${info.kind})` } : c));
  if (info.namespaced && options.allNamespaces) cols.unshift({ header: 'NAMESPACE', value: (r) => r.metadata.namespace ?? '' });
  if (options.showLabels && cols.at(-1)!.header !== 'LABELS') cols.push(LABELS);
  return cols;
}

/** One kind's table as cells, the header row first (get-output.ts prints the rows of watch events one by one). */
export function tableCells(info: KindInfo, items: readonly Resource[], options: TableOptions): string[][] {
  const cols = tableColumns(info, options);
  return [cols.map((c) => c.header), ...items.map((r) => cols.map((c) => c.value(r)))];
}

function table(wide: boolean): Printer {
  return (resources, { allNamespaces = false, showLabels = false }) => {
    // One table per kind, in the order the kinds first appear.
    const groups = new Map<KindInfo, Resource[]>();
    for (const r of resources) {
      const info = kindInfoOf(r);
      groups.set(info, [...(groups.get(info) ?? []), r]);
    }
    const out: string[] = [];
    for (const [info, items] of groups) {
      const cols = tableColumns(info, { wide, kinds: groups.size, allNamespaces, showLabels });
      const sorted = info.key === 'Tier' ? [...items].sort(tierOrder) : items;
      out.push(renderTable(cols, sorted, wide ? undefined : TABLE_WIDTH));
    }
    return out.join('\n\n');
  };
}

function nameOf(r: Resource): string {
  const info = kindInfoOf(r);
  return `${info.kind.toLowerCase()}${info.group === 'core' ? '' : `.${info.group}`}/${r.metadata.name}`;
}

const PRINTERS = {
  table: table(false),
  wide: table(true),
  yaml: (resources) => renderManifests(resources, 'yaml'),
  json: (resources, { single }) => {
    const text = renderManifests(resources, 'json');
    if (!single || resources.length !== 1) return text;
    const list = JSON.parse(text) as { items: unknown[] };
    return JSON.stringify(list.items[0], null, 2) + '\n';
  },
  name: (resources) => resources.map(nameOf).join('\n'),
} satisfies Record<string, Printer>;

const toStdout = (p: Printer): RegistryPrinter<FoundResources> => (found, io) => write(io.stdout, p(found.resources, found));

export const RESOURCE_PRINTERS = printerSet<FoundResources, keyof typeof PRINTERS>('table', {
  table: toStdout(PRINTERS.table),
  wide: toStdout(PRINTERS.wide),
  yaml: toStdout(PRINTERS.yaml),
  json: toStdout(PRINTERS.json),
  name: toStdout(PRINTERS.name),
});
