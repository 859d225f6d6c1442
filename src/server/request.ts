// What a resource handler is given: the target the URL names, who asks, and the request's parts, read once.

import type { Resource, ResourceKey } from '../api/index.js';
import type { Datastore } from '../datastore/index.js';
import type { Authorizer } from './authorization.js';
import type { ResourceTarget } from './resource-paths.js';
import type { UserInfo } from './token-file.js';

export interface ApiContext {
  store: Datastore;
  authorizer: Authorizer;
  /** A write the pipeline stored (not dry runs): the live RBAC index applies its own kinds at once. */
  onWrite?: (change: { upserted: Resource } | { deleted: ResourceKey; resourceVersion?: string }) => void;
  /** The node agents' reports (`tabby agent status -o json`), given by the composition root (the CLI). */
  agents?: AgentReports;
}

/** What `/tabby/v1/agents` serves: each node's agent status as `tabby agent status -o json` prints it. */
export interface AgentReports {
  list(): Promise<ReadonlyArray<{ node: string }>>;
  /** Undefined when no agent of the node ever reported. */
  get(node: string): Promise<{ node: string } | undefined>;
}

export interface ResourceRequest {
  method: string;
  target: ResourceTarget;
  query: URLSearchParams;
  user: UserInfo;
  accept: string | undefined;
  contentType: string | undefined;
  /** The request body as JSON; throws a 400 Status for a malformed or empty body (body.ts). */
  json(): Promise<unknown>;
  /** Aborted when the client goes away (ends watches). */
  signal: AbortSignal;
}
