// gRPC facts the waypoint needs without speaking protobuf: the gRPC status codes
// (https://grpc.github.io/grpc/core/md_doc_statuscodes.html), the mapping from an HTTP
// status to a gRPC status (grpc's doc/http-grpc-status-mapping.md), and the
// `/package.Service/Method` shape of a gRPC request path (grpc's PROTOCOL-HTTP2.md,
// "Path → ":path" "/" Service-Name "/" {method name}").
// Pure: no I/O, never throws.

/** The gRPC status codes, by name. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/**
 * The gRPC status a client reports for an HTTP response that carries no `grpc-status`
 * (an error answered by the waypoint itself, or by a backend that is not gRPC), exactly
 * grpc's table: 400 → INTERNAL, 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED,
 * 404 → UNIMPLEMENTED, 429/502/503/504 → UNAVAILABLE, every other status → UNKNOWN.
 * (The table describes non-200 responses; 200 without `grpc-status` is not a success
 * either, so it maps to UNKNOWN like every status the table does not list.)
 */
export function grpcStatusFromHttp(httpStatus: number): GrpcStatusCode {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** A gRPC call's service (with its package, `pkg.Service`) and method. */
export interface GrpcCallName {
  service: string;
  method: string;
}

/**
 * Parses a gRPC request path `/pkg.Service/Method`. Exactly two non-empty segments,
 * no query, no further `/`; anything else is not a gRPC call name (undefined).
 */
export function parseGrpcPath(path: string): GrpcCallName | undefined {
  if (typeof path !== 'string' || !path.startsWith('/')) return undefined;
  if (path.includes('?') || path.includes('#')) return undefined;
  const slash = path.indexOf('/', 1);
  if (slash < 0) return undefined;
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  if (service === '' || method === '' || method.includes('/')) return undefined;
  return { service, method };
}

/** Whether a `content-type` marks a gRPC request or response (`application/grpc`,
 * `application/grpc+proto`, `application/grpc;...`), case-insensitively. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (typeof contentType !== 'string') return false;
  const ct = contentType.trim().toLowerCase();
  if (!ct.startsWith('application/grpc')) return false;
  const rest = ct.slice('application/grpc'.length);
  return rest === '' || rest.startsWith('+') || rest.startsWith(';');
}
