// The route layer's whole decision for one request, composed from the pure pieces
// (route-match, filters, backend-choice) in the order the specification gives them:
// which routes apply → which rule wins → the rule's filters → which backend → that
// backend's filters. "Decide, then act": the data path executes the plan (answers,
// forwards, mirrors); nothing here does I/O or draws randomness except through `random`.
import type { HeaderModifier, MirrorTarget, Route, RouteBackend, RouteTimeouts } from '../../core/config/routes.js';
import { chooseBackend } from './backend-choice.js';
import { applyFilters, type FilterRequest, type HeaderMap } from './filters.js';
import { GrpcStatus, grpcStatusFromHttp, type GrpcStatusCode } from './grpc-status.js';
import { matchRoutes, matchedPrefix, routesFor, type RouteRequest, type RouteSelection, type RouteTarget } from './route-match.js';

export type RoutePlan =
  /** No route applies to this Service port: forward to the Service itself, unchanged
   * (GEP-1294 "Route presence"). */
  | { kind: 'default' }
  /** Answer locally: 404 when routes apply but no rule matches (HTTPRouteRule.matches),
   * 500 when the rule cannot send anywhere (no backend, all weights 0, the chosen
   * backend unresolved, a filter that cannot be applied). `grpcStatus` is the status
   * for a gRPC client: UNIMPLEMENTED for 404; for 500, UNAVAILABLE under a GRPCRoute
   * (GRPCRouteRule.backendRefs), else grpc's mapping of 500 (UNKNOWN). */
  | { kind: 'reject'; status: 404 | 500; grpcStatus: GrpcStatusCode; reason: string; selection?: RouteSelection }
  | {
      kind: 'redirect';
      status: number;
      location: string;
      /** To apply to the redirect response, in order. */
      responseModifiers: HeaderModifier[];
      selection: RouteSelection;
    }
  | {
      kind: 'forward';
      selection: RouteSelection;
      /** A resolved backend (its `service` is set). */
      backend: RouteBackend;
      backendIndex: number;
      /** The request to send, after the rule's and the backend's filters. */
      request: FilterRequest;
      /** Targets to send a copy of `request` to, fire and forget. */
      mirrors: MirrorTarget[];
      /** To apply to the backend's response, in order (the backend's, then the rule's). */
      responseModifiers: HeaderModifier[];
      timeouts?: RouteTimeouts;
    };

export interface PlanRequest extends RouteRequest {
  /** The scheme the client used (`http` inside the mesh unless the waypoint serves TLS). */
  scheme?: 'http' | 'https';
}

/** The plan for `req` sent to `target`, given every Route the waypoint holds. */
export function planRoute(routes: readonly Route[], target: RouteTarget, req: PlanRequest, random: () => number): RoutePlan {
  const applicable = routesFor(routes, target, req.sourceNamespace);
  if (applicable.length === 0) return { kind: 'default' };
  const selection = matchRoutes(applicable, req);
  if (selection === undefined) return reject(404, 'no route rule matches the request', undefined);
  const prefix = matchedPrefix(selection.match);
  const first = applyFilters(selection.rule.filters, filterRequestOf(req, target), prefix, random);
  if (first.kind === 'error') return reject(500, first.reason, selection);
  if (first.kind === 'redirect') return { ...first, selection };
  const backends = selection.rule.backends;
  if (backends.length === 0) return reject(500, 'the rule has no backendRefs', selection);
  const choice = chooseBackend(backends, random);
  if (choice === undefined) return reject(500, 'every backendRef of the rule has weight 0', selection);
  const { backend, index } = choice;
  if (backend.unresolved !== undefined || backend.service === undefined) {
    return reject(500, `backendRef ${index} does not resolve: ${backend.unresolved ?? 'no Service'}`, selection);
  }
  const second = applyFilters(backend.filters, first.request, prefix, random);
  if (second.kind === 'error') return reject(500, second.reason, selection);
  const responseModifiers = [...second.responseModifiers, ...first.responseModifiers];
  if (second.kind === 'redirect') return { ...second, responseModifiers, selection };
  return {
    kind: 'forward',
    selection,
    backend,
    backendIndex: index,
    request: second.request,
    mirrors: [...first.mirrors, ...second.mirrors],
    responseModifiers,
    ...(selection.rule.timeouts !== undefined ? { timeouts: selection.rule.timeouts } : {}),
  };
}

function reject(status: 404 | 500, reason: string, selection: RouteSelection | undefined): RoutePlan {
  const grpc = selection?.route.routeKind === 'GRPCRoute';
  const grpcStatus = status === 500 && grpc ? GrpcStatus.UNAVAILABLE : grpcStatusFromHttp(status);
  return { kind: 'reject', status, grpcStatus, reason, ...(selection !== undefined ? { selection } : {}) };
}

/** The filters' view of the request: the authority is the Host header as received (with
 * its port, to forward it unmodified), else the request's host; headers without `host`,
 * arrays copied so filters never alias the caller's. */
export function filterRequestOf(req: PlanRequest, target: RouteTarget): FilterRequest {
  const headers: HeaderMap = {};
  let authority = req.host;
  for (const [name, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    const n = name.toLowerCase();
    if (n === 'host') {
      const h = typeof v === 'string' ? v : v[0];
      if (h !== undefined && h !== '') authority = h;
      continue;
    }
    const prev = headers[n];
    const vals = typeof v === 'string' ? [v] : [...v];
    headers[n] = prev === undefined ? (typeof v === 'string' ? v : vals) : [...(typeof prev === 'string' ? [prev] : prev), ...vals];
  }
  return { scheme: req.scheme ?? 'http', authority, port: target.port, path: req.path, headers };
}
