// The API's errors: an HTTP status and a mesh error code, answered as
// {"error": {"code": "AMB_API_...", "message": "..."}} (docs/api.md, "Errors").
import { ErrorCodes, MeshError, type ErrorCode } from '../../core/errors.js';

export class ApiFailure extends MeshError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(code, message, options);
    this.name = 'ApiFailure';
    this.headers = options?.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export const badRequest = (message: string) => new ApiFailure(400, ErrorCodes.API_BAD_REQUEST, message);
export const invalid = (message: string) => new ApiFailure(422, ErrorCodes.API_INVALID, message);
export const notFound = (message: string) => new ApiFailure(404, ErrorCodes.API_NOT_FOUND, message);
/** GET /graph for a window the controller cannot answer (longer than its own, no Prometheus configured). */
export const windowUnavailable = (message: string) => new ApiFailure(400, ErrorCodes.API_WINDOW_UNAVAILABLE, message);
/** Prometheus could not be reached in time (connection refused, DNS, timeout). */
export const prometheusUnreachable = (message: string, cause?: unknown) => new ApiFailure(503, ErrorCodes.API_PROMETHEUS_UNREACHABLE, message, { cause, headers: { 'retry-after': '5' } });
/** Prometheus answered, but not with a usable answer (an error, not JSON, too large, too many series). */
export const prometheusFailed = (message: string, cause?: unknown) => new ApiFailure(502, ErrorCodes.API_PROMETHEUS_FAILED, message, { cause });
