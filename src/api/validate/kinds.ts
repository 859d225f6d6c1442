// The registry: each projectcalico.org/v3 kind and the validation traits it declares.

import type { KindKey } from '../kinds.js';
import { hostEndpointKind, workloadEndpointKind } from './endpoints.js';
import { felixConfigurationKind } from './felixConfiguration.js';
import { ipPoolKind } from './ippool.js';
import type { CalicoKindValidation } from './kind.js';
import { globalNetworkSetKind, networkSetKind } from './networkSet.js';
import {
  globalNetworkPolicyKind,
  networkPolicyKind,
  stagedGlobalNetworkPolicyKind,
  stagedNetworkPolicyKind,
} from './policy.js';
import { profileKind } from './profile.js';
import { stagedKubernetesNetworkPolicyKind } from './stagedKubernetesPolicy.js';
import { tierKind } from './tier.js';

export const CALICO_KIND_VALIDATION: Partial<Record<KindKey, CalicoKindValidation<never>>> = {
  NetworkPolicy: networkPolicyKind,
  GlobalNetworkPolicy: globalNetworkPolicyKind,
  StagedNetworkPolicy: stagedNetworkPolicyKind,
  StagedGlobalNetworkPolicy: stagedGlobalNetworkPolicyKind,
  StagedKubernetesNetworkPolicy: stagedKubernetesNetworkPolicyKind,
  Tier: tierKind,
  NetworkSet: networkSetKind,
  GlobalNetworkSet: globalNetworkSetKind,
  HostEndpoint: hostEndpointKind,
  WorkloadEndpoint: workloadEndpointKind,
  Profile: profileKind,
  IPPool: ipPoolKind,
  FelixConfiguration: felixConfigurationKind,
};
