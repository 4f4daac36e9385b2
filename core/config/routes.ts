// The compiled form of Gateway API routes attached to Services (GAMMA): the fourth kind of
// resource the controller pushes, to waypoints only (node agents never route by HTTP).
//
// The controller compiles each HTTPRoute and GRPCRoute (controller/translate/routes.ts)
// into one Route resource holding only what its accepted parentRefs and rules mean, with
// every default the specification sets already filled in (a rule without matches gets
// `PathPrefix /`, a backendRef without weight gets 1, a redirect without status 302), and
// every reference resolved (a backend Service to its resource key, or `unresolved` with
// the reason the route's status gives). The waypoint merges the Routes of one Service port
// and picks a rule per request (waypoint/http/route-match.ts) by the specification's
// precedence, which needs each route's creation time and name; so they are carried here.
//
// Values keep the specification's spelling (`PathPrefix`, `RequestHeaderModifier`) so a
// config dump reads like the objects it came from. Regular expressions are carried as
// source text, checked by the controller to compile in RE2 syntax (core/config/route-regex.ts).

/** Which Gateway API kind a Route came from. */
export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

/** One accepted parentRef: a Service (GAMMA), and the port when `port` was set. */
export interface RouteParent {
  /** The Service's resource key (`<namespace>/<hostname>`). */
  service: string;
  /** parentRef.port: the route applies to this Service port only; absent: every port. */
  port?: number;
}

export type StringMatchType = 'Exact' | 'RegularExpression';

export interface PathMatch {
  type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  value: string;
}

/** A header or query parameter match. Header names are lower-cased by the controller
 * (they compare case-insensitively); query parameter names compare exactly. */
export interface ValueMatch {
  type: StringMatchType;
  name: string;
  value: string;
}

/** GRPCRoute's method match: service and/or method, exact or regular expression. */
export interface GrpcMethodMatch {
  type: StringMatchType;
  service?: string;
  method?: string;
}

/** One entry of a rule's `matches` (every field must hold; absent fields match anything).
 * An HTTPRoute match uses path/headers/queryParams/method; a GRPCRoute match uses
 * grpc/headers. */
export interface RouteMatch {
  path?: PathMatch;
  headers?: ValueMatch[];
  queryParams?: ValueMatch[];
  /** Upper-case HTTP method. */
  method?: string;
  grpc?: GrpcMethodMatch;
}

export interface HeaderValue {
  name: string;
  value: string;
}

export interface HeaderModifier {
  set?: HeaderValue[];
  add?: HeaderValue[];
  /** Header names. */
  remove?: string[];
}

export interface PathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  value: string;
}

/** A mirror target: resolved like a backend; `percent` (0-100, fractions allowed) of the
 * requests are copied to it, fire and forget. */
export interface MirrorTarget {
  service?: string;
  port: number;
  percent: number;
  /** Set when the reference could not be resolved: nothing is mirrored. */
  unresolved?: string;
}

export type RouteFilter =
  | { type: 'RequestHeaderModifier'; modifier: HeaderModifier }
  | { type: 'ResponseHeaderModifier'; modifier: HeaderModifier }
  | {
      type: 'RequestRedirect';
      scheme?: 'http' | 'https';
      hostname?: string;
      port?: number;
      path?: PathModifier;
      /** 301, 302, 303, 307 or 308; the controller sets the default 302. */
      statusCode: number;
    }
  | { type: 'URLRewrite'; hostname?: string; path?: PathModifier }
  | { type: 'RequestMirror'; mirror: MirrorTarget };

export interface RouteBackend {
  /** The backend Service's resource key; absent when `unresolved` is set. */
  service?: string;
  /** The Service port (backendRef.port). */
  port: number;
  /** Relative weight, 0 allowed (never chosen). */
  weight: number;
  /** Backend-level filters (backendRefs[].filters), applied after the rule's. */
  filters: RouteFilter[];
  /** Why the reference does not resolve (a Service that does not exist, a kind that is not
   * a Service, a cross-namespace reference without a ReferenceGrant): requests the
   * weighted choice sends here get 500, as the specification says. */
  unresolved?: string;
}

export interface RouteTimeouts {
  /** timeouts.request in milliseconds; 0 disables. */
  requestMs?: number;
  /** timeouts.backendRequest in milliseconds; 0 disables. */
  backendRequestMs?: number;
}

/** rules[].retry (HTTPRoute, Gateway API experimental channel), applied by the waypoint's
 * retry layer as a TrafficPolicy's `retries` are: a failed try is retried on a connection
 * error (connect-failure, reset, as the specification says an implementation SHOULD) and on
 * an answer whose status is in `codes`. */
export interface RouteRetry {
  /** Status codes (400-599) to retry; empty: connection errors only. */
  codes: number[];
  /** Retries after the first try; the controller fills in 2 (Istio's default) when unset. */
  attempts: number;
  /** The least wait before a retry (`backoff`, a Gateway API Duration); absent: the retry
   * layer's default backoff (25ms base, as a TrafficPolicy's). */
  backoffMs?: number;
}

export interface RouteRule {
  /** rules[].name, when set. */
  name?: string;
  /** At least one (the default `PathPrefix /` for HTTPRoute, match-all for GRPCRoute). */
  matches: RouteMatch[];
  filters: RouteFilter[];
  /** Empty: no backend; the request is answered by a redirect filter, or else 500. */
  backends: RouteBackend[];
  timeouts?: RouteTimeouts;
  /** HTTPRoute only. */
  retry?: RouteRetry;
}

export interface Route {
  /** `<namespace>/<kind>/<name>`: the resource key. */
  key: string;
  routeKind: RouteKind;
  name: string;
  namespace: string;
  /** metadata.creationTimestamp (RFC 3339): the specification's precedence tie-break. */
  created: string;
  /** The accepted parentRefs; a route with none is not emitted. */
  parents: RouteParent[];
  /** spec.hostnames, lower-cased; empty: every host. */
  hostnames: string[];
  rules: RouteRule[];
}

export function routeKey(namespace: string, routeKind: RouteKind, name: string): string {
  return `${namespace}/${routeKind}/${name}`;
}
