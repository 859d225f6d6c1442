// The seeds' scenario, as data: which workloads exist, which policies are applied at each step (taken from
// examples/), and which connections are probed. `tabby demo` runs it for real (live.ts) when it can, and
// through the engine alone (offline.ts) when it cannot; both read this one description.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DemoWorkload {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  ports: Array<{ name: string; port: number; protocol: 'TCP' | 'UDP' }>;
}

export interface DemoProbe {
  from: string;
  to: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  /** What the connection is for, in a few words. */
  purpose: string;
}

export interface DemoStep {
  title: string;
  /** Example files applied at this step (cumulative: earlier steps' policies stay). */
  files: string[];
}

/** The repository's examples/ folder, from both src/ (tests) and dist/ (the built CLI). */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples/', import.meta.url));

export function examplePath(file: string): string {
  return join(EXAMPLES_DIR, file);
}

// Addresses and labels are those of examples/cluster.yaml, so `tabby explain -f examples` describes the same pods.
export const WORKLOADS: DemoWorkload[] = [
  {
    namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' }, ip: '10.244.0.10',
    ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'metrics', port: 9153, protocol: 'TCP' }],
  },
  {
    namespace: 'shop', name: 'frontend', labels: { app: 'frontend' }, ip: '10.244.1.10',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  },
  {
    namespace: 'shop', name: 'backend', labels: { app: 'backend' }, ip: '10.244.2.20',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  },
];

export const PROBES: DemoProbe[] = [
  { from: 'shop/frontend', to: 'shop/backend', protocol: 'TCP', port: 8080, purpose: 'frontend calls the API' },
  { from: 'shop/backend', to: 'shop/frontend', protocol: 'TCP', port: 80, purpose: 'backend opens the web port' },
  { from: 'kube-system/coredns', to: 'shop/backend', protocol: 'TCP', port: 8080, purpose: 'another namespace calls the API' },
  { from: 'shop/frontend', to: 'kube-system/coredns', protocol: 'UDP', port: 53, purpose: 'frontend resolves a name' },
  { from: 'shop/frontend', to: 'kube-system/coredns', protocol: 'TCP', port: 9153, purpose: 'frontend scrapes DNS metrics' },
];

export const STEPS: DemoStep[] = [
  { title: 'No policy: every pod is open (the namespace profile kns.<ns> allows)', files: [] },
  {
    title: 'Kubernetes policies in shop: deny all ingress, allow frontend → backend TCP 8080',
    files: ['frontend-backend.yaml'],
  },
  {
    title: 'Calico default deny (GlobalNetworkPolicy, order 1000) with allow-dns (order 100)',
    files: ['default-deny.yaml', 'allow-dns.yaml'],
  },
];

/** The Namespaces of the scenario, as examples/cluster.yaml has them. */
export const NAMESPACES = ['kube-system', 'shop'];

export const POOL_CIDR = '10.244.0.0/16';
