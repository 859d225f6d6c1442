// What one request asks to do, as the Kubernetes API server's authorizer sees it (k8s.io/apiserver
// authorizer.Attributes), and what the authorizer answers. The server fills these from the URL and the token;
// everything in this folder is pure and never sees HTTP.

/** A resource request (`/apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]`) or, with `path`, a non-resource one. */
export interface RequestAttributes {
  /** The authenticated user name (`jane`, `system:serviceaccount:shop:ci`). */
  user: string;
  /** The user's groups from the token file; `system:authenticated` is implied (see Authorizer). */
  groups: readonly string[];
  /** Kubernetes' verb: get, list, watch, create, update, patch, delete, deletecollection (or any custom verb). */
  verb: string;
  /** `""` for the core group (`/api/v1`), else the group (`projectcalico.org`, `networking.k8s.io`). */
  apiGroup: string;
  /** The plural (`networkpolicies`); empty for a non-resource request. */
  resource: string;
  subresource?: string;
  /** Absent or empty: cluster scope (a cluster-scoped kind, or a namespaced kind across all namespaces). */
  namespace?: string;
  /** The object's name; absent for list, watch, create and deletecollection, as Kubernetes leaves it. */
  name?: string;
  /**
   * For a Calico tiered policy (networkpolicies, globalnetworkpolicies, stagednetworkpolicies,
   * stagedglobalnetworkpolicies in projectcalico.org) with a name: the policy's tier — the stored object's
   * spec.tier for get/update/patch/delete, the body's for create. When absent the tier is read from the name as
   * Calico's API server reads it (`security.block` → security, `block` → default).
   */
  tier?: string;
  /** A non-resource request's URL path (`/healthz`, `/version`); set only when `resource` is empty. */
  path?: string;
}

export type Decision =
  | { allowed: true }
  | {
      allowed: false;
      /** Why, as the Kubernetes (or, for tiered policy, Calico) API server words it: `User "dev" cannot list resource …`. */
      reason: string;
      /** The whole message of the 403 Status: `networkpolicies.networking.k8s.io "x" is forbidden: <reason>`. */
      message: string;
    };

export const ALLOWED: Decision = Object.freeze({ allowed: true });

/** kube-apiserver's privileged group: allowed everything, before RBAC is asked. */
export const SUPERUSER_GROUP = 'system:masters';
/** The group every authenticated caller is in. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
