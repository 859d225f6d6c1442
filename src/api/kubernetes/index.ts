// Kubernetes objects in Tabby: the API server's defaults and validation, and conversion to the Calico policies,
// workload endpoints and profiles Calico derives from them (calico-semantics.md §4, §3.5, §3.9).

export {
  applyKubernetesDefaults,
  defaultedPolicyTypes,
  defaultNamespace,
  defaultNetworkPolicy,
  defaultPod,
  NAMESPACE_NAME_LABEL,
} from './defaults.js';
export { validateK8sNetworkPolicySpec, validateKubernetesResource } from './validate.js';
export { validateLabelSelector, validateLabels } from './fields.js';
export { rbacNameProblems, rbacUpdateIssues } from './rbac-validate.js';
export {
  CONVERTED_FROM_ANNOTATION,
  ORCHESTRATOR_LABEL,
  convertKubernetesPolicy,
  convertedFromOf,
  labelSelectorToCalico,
  type ConvertOptions,
  type ConvertedFrom,
  type ConvertedFromKind,
  type ConvertedPolicy,
  type KubernetesPolicyNaming,
} from './convert.js';
export {
  NAME_LABEL,
  NAMESPACE_LABEL,
  NAMESPACE_LABEL_PREFIX,
  SERVICE_ACCOUNT_LABEL,
  SERVICE_ACCOUNT_LABEL_PREFIX,
  namespaceProfile,
  namespaceProfileName,
  podToWorkloadEndpoint,
  serviceAccountProfile,
  serviceAccountProfileName,
  vethNameForWorkload,
  workloadEndpointName,
} from './endpoints.js';
export { portFromString, simplifyPorts, type CalicoPort } from './ports.js';
