// Errors as Kubernetes reports them: a `Status` body whose code, reason and message match
// kube-apiserver's (k8s.io/apimachinery/pkg/api/errors), so clients' `IsNotFound`,
// `IsConflict`, `IsAlreadyExists` and kubectl's messages work unchanged. Note that a
// cause's type travels as `reason` on the wire (StatusCause.Type has json:"reason").
import { resourceKey, type KindInfo } from './kinds.js';

export interface StatusCause {
  /** CauseType, e.g. FieldValueRequired, FieldValueInvalid. */
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

type Res = Pick<KindInfo, 'group' | 'plural'>;

const ref = (k: Res, name: string): StatusDetails => ({ name, ...(k.group ? { group: k.group } : {}), kind: k.plural });

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

export const unauthorized = (message = 'Unauthorized'): ApiError => new ApiError(401, 'Unauthorized', message);

export const forbidden = (k: Res, name: string, why: string): ApiError =>
  new ApiError(403, 'Forbidden', `${resourceKey(k)} "${name}" is forbidden: ${why}`, ref(k, name));

export const notFound = (k: Res, name: string): ApiError => new ApiError(404, 'NotFound', `${resourceKey(k)} "${name}" not found`, ref(k, name));

/** 404 for a path that names no resource (unknown kind, group or version). */
export const pathNotFound = (message = 'the server could not find the requested resource'): ApiError => new ApiError(404, 'NotFound', message, {});

export const methodNotSupported = (what: string, method: string): ApiError =>
  new ApiError(405, 'MethodNotAllowed', `${method} is not supported on ${what}: the server does not allow this method on the requested resource`, {});

export const notAcceptable = (message: string): ApiError => new ApiError(406, 'NotAcceptable', message);

export const alreadyExists = (k: Res, name: string): ApiError =>
  new ApiError(409, 'AlreadyExists', `${resourceKey(k)} "${name}" already exists`, ref(k, name));

export const conflict = (k: Res, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${resourceKey(k)} "${name}": ${why}`, ref(k, name));

export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message);

/** 413 for a request body over the limit, in kube-apiserver's words. */
export const tooLarge = (limit: number): ApiError => new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);

/** 413 for an object that would be stored larger than the object limit (etcd's request limit on a real cluster). */
export const objectTooLarge = (k: Res, name: string, size: number, limit: number): ApiError =>
  new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: ${resourceKey(k)} "${name}" would be ${size} bytes, limit is ${limit}`, ref(k, name));

export const unsupportedMediaType = (got: string, accepted: readonly string[]): ApiError =>
  new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (${got}) - accepted media types include: ${accepted.join(', ')}`);

/** 422 Invalid: `<Kind> "<name>" is invalid: <field>: <message>, ...` with one cause per field error. */
export function invalid(k: Pick<KindInfo, 'group' | 'kind'>, name: string, causes: StatusCause[]): ApiError {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${k.kind} "${name}" is invalid: ${list}`, {
    name,
    ...(k.group ? { group: k.group } : {}),
    kind: k.kind,
    causes,
  });
}

export const internalError = (message: string): ApiError => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
