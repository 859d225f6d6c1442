// Kubernetes `Status` objects, and the one place a failure becomes one (issue 16 §1): a datastore error, an
// invalid object, a refused request. kubectl prints `Error from server (<reason>): <message>` from these, so
// reasons and codes are apimachinery's (k8s.io/apimachinery/pkg/apis/meta/v1 StatusReason) and messages keep
// the API server's wording where kubectl users know it (`globalnetworkpolicies.projectcalico.org "x" not found`),
// followed by what the CLI would say (the validation issue with its field path).

import { formatPath, type Issue, type KindInfo } from '../api/index.js';
import { qualifiedResource } from './rbac/index.js';
import {
  isConflict, isDatastoreError, isInvalid, isMissingTier, type DatastoreError,
} from '../datastore/index.js';

export type StatusReason =
  | 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid'
  | 'MethodNotAllowed' | 'NotAcceptable' | 'UnsupportedMediaType' | 'RequestEntityTooLarge' | 'Expired' | 'Gone'
  | 'InternalError' | 'ServiceUnavailable' | 'Timeout';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: StatusReason | '';
  details?: StatusDetails;
  code: number;
}

/** A failure answered as a Status: thrown inside handlers, turned into the response in app.ts. */
export class StatusError extends Error {
  constructor(readonly code: number, readonly reason: StatusReason, message: string, readonly details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    return {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason,
      ...(this.details && { details: this.details }), code: this.code,
    };
  }
}

/** What a request was about, for messages (`globalnetworkpolicies.projectcalico.org "x"`). */
export interface Subject {
  info: KindInfo;
  name?: string;
}

/** `globalnetworkpolicies.projectcalico.org`, or `namespaces` for the core group: the API server's qualified resource. */
function qualified(info: KindInfo): string {
  return qualifiedResource(info.group === 'core' ? '' : info.group, info.plural);
}

function detailsOf(subject: Subject | undefined, causes?: StatusCause[]): StatusDetails | undefined {
  if (!subject) return causes ? { causes } : undefined;
  return {
    ...(subject.name !== undefined && { name: subject.name }),
    group: subject.info.group === 'core' ? '' : subject.info.group,
    kind: subject.info.plural,
    ...(causes && { causes }),
  };
}

/** Validation issues as Status causes: apimachinery's FieldValueInvalid with the issue's field path. */
export function causesOf(issues: readonly Issue[]): StatusCause[] {
  return issues.map((i) => ({
    reason: i.code === 'schema.unknownField' ? 'FieldValueNotSupported' : 'FieldValueInvalid',
    message: i.message,
    ...(i.path.length > 0 && { field: formatPath(i.path) }),
  }));
}

/** 422 Invalid, as the API server answers an object that fails validation. */
export function invalidStatus(subject: Subject | undefined, issues: readonly Issue[]): StatusError {
  const what = subject
    ? `${subject.info.kind}${subject.info.group === 'core' ? '' : `.${subject.info.group}`} ${JSON.stringify(subject.name ?? '')}`
    : 'the object';
  const lines = issues.map((i) => (i.path.length > 0 ? `${formatPath(i.path)}: ${i.message}` : i.message));
  // As apimachinery's NewInvalid: details name the kind (not the resource), which kubectl prints.
  const details = detailsOf(subject, causesOf(issues));
  if (details && subject) details.kind = subject.info.kind;
  return new StatusError(422, 'Invalid', `${what} is invalid: ${lines.join('; ')}`, details);
}

export function badRequest(message: string, subject?: Subject): StatusError {
  return new StatusError(400, 'BadRequest', message, detailsOf(subject));
}

export function notFound(subject: Subject): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(subject.info)} ${JSON.stringify(subject.name ?? '')} not found`,
    detailsOf(subject));
}

/** Maps a datastore failure to its Status (the server's half of "error → status in one place"). */
export function statusOfDatastoreError(err: DatastoreError, subject: Subject | undefined): StatusError {
  const what = subject ? `${qualified(subject.info)} ${JSON.stringify(subject.name ?? '')}` : 'the object';
  switch (err.code) {
    case 'not-found':
      // A policy created in a tier that does not exist: the request is wrong, not the URL.
      if (isMissingTier(err)) return new StatusError(422, 'Invalid', err.message, detailsOf(subject, [{ reason: 'FieldValueNotFound', message: err.message, field: 'spec.tier' }]));
      return subject ? notFound(subject) : new StatusError(404, 'NotFound', err.message);
    case 'already-exists':
      return new StatusError(409, 'AlreadyExists', `${what} already exists`, detailsOf(subject));
    case 'conflict':
      return new StatusError(409, 'Conflict',
        `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the ` +
        `latest version and try again (${isConflict(err) ? err.message : 'conflict'})`, detailsOf(subject));
    case 'invalid':
      if (isInvalid(err)) return invalidStatus(subject, err.issues);
      return new StatusError(422, 'Invalid', err.message, detailsOf(subject));
    case 'not-supported':
      // A built-in or non-empty tier: refused for what it is, whoever asks (not an RBAC decision, so not 403).
      return new StatusError(400, 'BadRequest', err.message, detailsOf(subject));
    case 'compacted':
      return new StatusError(410, 'Expired', `too old resource version: ${err.message}`);
    case 'unavailable':
      return new StatusError(503, 'ServiceUnavailable', err.message);
    case 'damaged':
    case 'storage':
    case 'unreadable':
    case 'unauthorized':
      return new StatusError(500, 'InternalError', `the datastore failed: ${err.message}`, detailsOf(subject));
  }
}

/** Any thrown value as a Status: typed failures by their kind, anything else is a bug and says so. */
export function toStatusError(err: unknown, subject?: Subject): StatusError {
  if (err instanceof StatusError) return err;
  if (isDatastoreError(err)) return statusOfDatastoreError(err, subject);
  const message = err instanceof Error ? err.message : String(err);
  return new StatusError(500, 'InternalError', `internal error (a bug in tabby server): ${message}`);
}
