// Server-managed metadata that another store (a Kubernetes API server, another Calico datastore) filled in and
// that means nothing here (issue 12 §2: `kubectl get … -o yaml | tabby apply -f -`). kube-apiserver's
// rest.BeforeCreate likewise resets uid, creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds and
// the field manager owns managedFields; selfLink is no longer set by any API server (k8s 1.20+). `status` is not
// dropped: Tabby reads a Pod's status.podIP(s) as Calico's pod-to-workload-endpoint conversion does.

import type { ObjectMeta } from './types.js';

/** Fields no store of Tabby's keeps as written: they describe the object in the store it was read from. */
export const FOREIGN_SERVER_FIELDS = [
  'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds',
] as const;

/** Fields this store assigns when it creates an object (admission.ts stamps uid and creationTimestamp). */
export const CREATE_ASSIGNED_FIELDS = ['resourceVersion', 'uid', 'creationTimestamp'] as const;

/** Deletes from `meta` (owned by the caller) every server-managed field of another store. */
export function stripForeignServerFields(meta: ObjectMeta, options: { created: boolean }): void {
  const m = meta as unknown as Record<string, unknown>;
  for (const field of FOREIGN_SERVER_FIELDS) delete m[field];
  if (options.created) for (const field of CREATE_ASSIGNED_FIELDS) delete m[field];
}
