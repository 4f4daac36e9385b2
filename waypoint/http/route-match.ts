// Choosing the route rule for a request to a Service, as the Gateway API specification
// defines it for mesh routes (GAMMA):
//   - which routes apply: GEP-1294 ("Ports", "Namespace boundaries", "Multiple routes for
//     a Service", "Route types") and the mesh overview (site docs/mesh/mesh-overview.md);
//   - which rule wins: HTTPRouteRule.matches and GRPCRouteRule.matches precedence
//     (apis/v1/httproute_types.go, apis/v1/grpcroute_types.go);
//   - what each match means: HTTPPathMatch, HTTPHeaderMatch, HTTPQueryParamMatch,
//     HTTPMethod, GRPCMethodMatch, GRPCHeaderMatch.
// Where the specification leaves a choice to the implementation, the choice is named
// here and in docs/traffic-management.md ("Route matching and filters").
// Pure: no I/O, never throws; a malformed value (a regular expression that does not
// compile) matches nothing.
import { compileRouteRegex, fullMatch as matchesWhole, type RouteRegex } from '../../core/config/route-regex.js';
import type {
  GrpcMethodMatch,
  PathMatch,
  Route,
  RouteMatch,
  RouteRule,
  ValueMatch,
} from '../../core/config/routes.js';
import { parseGrpcPath } from './grpc-status.js';

export interface RouteRequest {
  /** As received (upper case for the standard methods; compared case-sensitively). */
  method: string;
  /** As received (the request target's origin form), may include `?query`. Matched as
   * is: no percent-decoding, no dot-segment removal (the data path normalises, if it
   * does, before calling). */
  path: string;
  /** Host/:authority without port, lower-case. Not used for mesh matching (GEP-1294:
   * implementations SHOULD NOT infer anything from a route's `hostnames`). */
  host: string;
  /** Lower-case names. A repeated header may come as an array. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The client's namespace from its mesh identity; undefined = unknown. */
  sourceNamespace?: string;
}

export interface RouteTarget {
  /** The Service's resource key `<namespace>/<hostname>`, as RouteParent.service. */
  service: string;
  /** The Service's namespace. */
  namespace: string;
  /** The Service port the client addressed. */
  port: number;
}

export type RouteSelection = {
  route: Route;
  ruleIndex: number;
  rule: RouteRule;
  match: RouteMatch;
  /** Index of `match` in `rule.matches`. */
  matchIndex: number;
};

/** The path match a match entry without `path` means (HTTPRouteMatch.path default). */
const DEFAULT_PATH: PathMatch = Object.freeze({ type: 'PathPrefix', value: '/' }) as PathMatch;
/** A match entry with no conditions. */
const MATCH_ALL: RouteMatch = Object.freeze({}) as RouteMatch;

/** Whether one of the route's accepted parents is this Service, on this port when the
 * parentRef names a port (GEP-1294 "Ports": no port = every port of the Service). */
export function routeAttachesTo(route: Route, target: RouteTarget): boolean {
  return route.parents.some(
    (p) => p.service === target.service && (p.port === undefined || p.port === target.port),
  );
}

/**
 * The routes that apply to requests from a client in `sourceNamespace` to this Service
 * port (GEP-1294 "Namespace boundaries" and "Multiple routes for a Service"):
 *   - consumer routes (route namespace ≠ Service namespace) apply only to clients of the
 *     route's own namespace, and when such routes exist for the client they are the
 *     only ones used (the producer's routes do not merge with them);
 *   - otherwise the producer routes (route namespace = Service namespace) apply, to every
 *     client, including clients whose namespace is unknown;
 *   - of the group chosen, only one route kind applies (GEP-1294 "Route types": GRPCRoute
 *     wins over HTTPRoute on one Service port; GRPCRoute: "Merging MUST not be done
 *     between GRPCRoutes and HTTPRoutes").
 * The order of the result is the input's; precedence is decided by matchRoutes.
 */
export function routesFor(
  routes: readonly Route[],
  target: RouteTarget,
  sourceNamespace: string | undefined,
): Route[] {
  const attached = routes.filter((r) => routeAttachesTo(r, target));
  let group: Route[] = [];
  if (sourceNamespace !== undefined && sourceNamespace !== target.namespace) {
    group = attached.filter((r) => r.namespace === sourceNamespace);
  }
  if (group.length === 0) group = attached.filter((r) => r.namespace === target.namespace);
  return oneKind(group);
}

function oneKind(routes: Route[]): Route[] {
  return routes.some((r) => r.routeKind === 'GRPCRoute')
    ? routes.filter((r) => r.routeKind === 'GRPCRoute')
    : routes;
}

/**
 * The rule for this request among the routes that apply to its Service port
 * (routesFor), or undefined when routes apply but none matches (the caller answers 404,
 * or gRPC UNIMPLEMENTED). With no routes at all the caller forwards to the Service
 * itself (GEP-1294 "Route presence"); this function cannot tell that case apart, so
 * callers check routesFor's result first.
 */
export function selectRoute(
  routes: readonly Route[],
  target: RouteTarget,
  req: RouteRequest,
): RouteSelection | undefined {
  return matchRoutes(routesFor(routes, target, req.sourceNamespace), req);
}

/**
 * The highest-precedence matching (rule, match) across all rules of all given routes.
 *
 * HTTPRoute (HTTPRouteRule.matches): "Exact" path > "PathPrefix" with the most
 * characters > method match > most header matches > most query parameter matches, then
 * the oldest route (creation timestamp) > `{namespace}/{name}` first alphabetically >
 * the first rule, and within it the first match, in list order. RegularExpression paths
 * (precedence left to implementations) rank below Exact and above every PathPrefix,
 * longer expressions first: an expression is the more specific thing its author wrote,
 * and ranking it below `PathPrefix /` would make it dead behind any catch-all.
 *
 * GRPCRoute (GRPCRouteRule.matches): most characters in a matching service > in a
 * matching method > most header matches, then the same route and rule tie-breaks.
 * Characters count for Exact values; a RegularExpression service or method counts 0
 * (it ranks with "any service"/"any method"). Hostname characters, first in GRPCRoute's
 * list, are always equal in a mesh (hostnames are not matched, GEP-1294).
 *
 * If the list mixes kinds (callers should pass routesFor's result) only GRPCRoutes count.
 */
export function matchRoutes(routes: readonly Route[], req: RouteRequest): RouteSelection | undefined {
  const considered = oneKind([...routes]);
  const ctx = new RequestView(req);
  let best: Candidate | undefined;
  for (const route of considered) {
    const grpc = route.routeKind === 'GRPCRoute';
    const created = createdMillis(route.created);
    const fullName = `${route.namespace}/${route.name}`;
    route.rules.forEach((rule, ruleIndex) => {
      // No matches: every request (the HTTPRoute default `PathPrefix /`, GRPCRoute's
      // "MUST match every gRPC request"); the controller fills it in, this is a fallback.
      const matches = rule.matches.length > 0 ? rule.matches : [MATCH_ALL];
      matches.forEach((match, matchIndex) => {
        const score = grpc ? grpcScore(match, ctx) : httpScore(match, ctx);
        if (score === undefined) return;
        const c: Candidate = { route, rule, ruleIndex, match, matchIndex, score, created, fullName };
        if (best === undefined || precedes(c, best)) best = c;
      });
    });
  }
  if (best === undefined) return undefined;
  return { route: best.route, ruleIndex: best.ruleIndex, rule: best.rule, match: best.match, matchIndex: best.matchIndex };
}

interface Candidate {
  route: Route;
  rule: RouteRule;
  ruleIndex: number;
  match: RouteMatch;
  matchIndex: number;
  /** Compared element by element, larger first. */
  score: number[];
  created: number;
  fullName: string;
}

function precedes(a: Candidate, b: Candidate): boolean {
  for (let i = 0; i < a.score.length; i++) {
    if (a.score[i] !== b.score[i]) return a.score[i]! > b.score[i]!;
  }
  if (a.route !== b.route) {
    if (a.created !== b.created) return a.created < b.created;
    if (a.fullName !== b.fullName) return a.fullName < b.fullName;
    // Same name and age (two kinds of one name cannot both be here): keep the first seen.
    return false;
  }
  if (a.ruleIndex !== b.ruleIndex) return a.ruleIndex < b.ruleIndex;
  return a.matchIndex < b.matchIndex;
}

/** Creation time in ms; an unparsable timestamp sorts as the youngest. */
function createdMillis(created: string): number {
  const t = Date.parse(created);
  return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
}

// Path kinds ranked: Exact > RegularExpression > PathPrefix.
const RANK_EXACT = 3;
const RANK_REGEX = 2;
const RANK_PREFIX = 1;

function httpScore(m: RouteMatch, req: RequestView): number[] | undefined {
  const path = m.path ?? DEFAULT_PATH;
  let rank: number;
  if (path.type === 'Exact') {
    if (req.path !== path.value) return undefined;
    rank = RANK_EXACT;
  } else if (path.type === 'PathPrefix') {
    if (!prefixMatches(path.value, req.path)) return undefined;
    rank = RANK_PREFIX;
  } else if (path.type === 'RegularExpression') {
    if (!fullMatch(path, path.value, req.path)) return undefined;
    rank = RANK_REGEX;
  } else {
    return undefined; // an unknown type matches nothing (fail closed)
  }
  // Methods are case-sensitive (RFC 9110 §9.1); the specification writes them upper case.
  if (m.method !== undefined && m.method !== req.method) return undefined;
  const headers = firstByName(m.headers, true);
  if (!headers.every((h) => valueMatches(h, req.header(h.name)))) return undefined;
  const params = firstByName(m.queryParams, false);
  if (!params.every((q) => valueMatches(q, req.queryParam(q.name)))) return undefined;
  return [rank, path.value.length, m.method !== undefined ? 1 : 0, headers.length, params.length];
}

function grpcScore(m: RouteMatch, req: RequestView): number[] | undefined {
  let serviceChars = 0;
  let methodChars = 0;
  if (m.grpc !== undefined) {
    const r = grpcMethodMatches(m.grpc, req);
    if (r === undefined) return undefined;
    [serviceChars, methodChars] = r;
  }
  const headers = firstByName(m.headers, true);
  if (!headers.every((h) => valueMatches(h, req.header(h.name)))) return undefined;
  return [serviceChars, methodChars, headers.length];
}

/** [service characters, method characters] when the method match holds. */
function grpcMethodMatches(g: GrpcMethodMatch, req: RequestView): [number, number] | undefined {
  const hasService = typeof g.service === 'string' && g.service !== '';
  const hasMethod = typeof g.method === 'string' && g.method !== '';
  if (!hasService && !hasMethod) return [0, 0];
  const call = req.grpcCall();
  if (call === undefined) return undefined;
  if (g.type === 'Exact') {
    if (hasService && call.service !== g.service) return undefined;
    if (hasMethod && call.method !== g.method) return undefined;
    return [hasService ? g.service!.length : 0, hasMethod ? g.method!.length : 0];
  }
  if (g.type === 'RegularExpression') {
    if (hasService && !fullMatch(g, g.service!, call.service)) return undefined;
    if (hasMethod && !fullMatch(g, g.method!, call.method)) return undefined;
    return [0, 0];
  }
  return undefined;
}

/**
 * PathPrefix: element by element, case-sensitive; a trailing `/` in the prefix is
 * ignored (HTTPPathMatch: `/abc` matches `/abc`, `/abc/`, `/abc/def`, not `/abcd`).
 * `path` is the path without its query.
 */
export function prefixMatches(prefix: string, path: string): boolean {
  const p = trimTrailingSlash(prefix);
  if (p === '') return true; // `/` matches every request (HTTPRouteRule.matches default)
  if (!path.startsWith(p)) return false;
  return path.length === p.length || path.charCodeAt(p.length) === 0x2f /* / */;
}

/** `/foo/` → `/foo`, `/` → `` (every path then continues with `/`). */
export function trimTrailingSlash(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x2f) end--;
  return s.slice(0, end);
}

/** The PathPrefix value a selected match matched with, for ReplacePrefixMatch; undefined
 * for an Exact or RegularExpression match (ReplacePrefixMatch is not allowed there). */
export function matchedPrefix(match: RouteMatch): string | undefined {
  const path = match.path ?? DEFAULT_PATH;
  return path.type === 'PathPrefix' ? path.value : undefined;
}

/**
 * A route hostname (`example.com`, or `*.example.com`: a suffix match on at least one
 * more label) against a request host without port, case-insensitive (HTTPRouteSpec.
 * hostnames). Not used by mesh route selection (GEP-1294 "hostnames field"); kept for
 * a Gateway listener's use and tested against the specification's examples.
 */
export function hostnameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p.startsWith('*.')) {
    const suffix = p.slice(1); // `.example.com`
    return h.length > suffix.length && h.endsWith(suffix);
  }
  return p === h;
}

/** Header and query parameter lists: of entries with an equivalent name only the first
 * is considered (HTTPHeaderMatch.name, HTTPQueryParamMatch.name); header names compare
 * case-insensitively, query parameter names exactly. */
function firstByName(list: readonly ValueMatch[] | undefined, caseInsensitive: boolean): ValueMatch[] {
  if (list === undefined || list.length === 0) return [];
  const seen = new Set<string>();
  const out: ValueMatch[] = [];
  for (const m of list) {
    const key = caseInsensitive ? m.name.toLowerCase() : m.name;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(m);
  }
  return out;
}

function valueMatches(m: ValueMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (m.type === 'Exact') return value === m.value;
  if (m.type === 'RegularExpression') return fullMatch(m, m.value, value);
  return false;
}

// Regular expressions are compiled once per match object and expression text, with RE2's
// syntax and linear-time matching (core/config/route-regex.ts), case-sensitive, and
// anchored at both ends (the whole path or value must match). A WeakMap lets a replaced
// Route's cache go with it. An expression that does not compile (the controller never
// sends one) matches nothing.
const regexCache = new WeakMap<object, Map<string, RouteRegex | null>>();

function compiled(owner: object, source: string): RouteRegex | null {
  let bySource = regexCache.get(owner);
  if (bySource === undefined) {
    bySource = new Map();
    regexCache.set(owner, bySource);
  }
  let re = bySource.get(source);
  if (re === undefined) {
    const c = compileRouteRegex(source);
    re = 'error' in c ? null : c;
    bySource.set(source, re);
  }
  return re;
}

function fullMatch(owner: object, source: string, value: string): boolean {
  const re = compiled(owner, source);
  return re !== null && matchesWhole(re, value);
}

/** What the matchers read from a request, computed once and only when asked. */
class RequestView {
  readonly path: string;
  readonly method: string;
  private readonly rawQuery: string | undefined;
  private query: Map<string, string> | undefined;
  private grpc: ReturnType<typeof parseGrpcPath> | null = null;

  constructor(private readonly req: RouteRequest) {
    const target = typeof req.path === 'string' ? req.path : '';
    const hash = target.indexOf('#');
    const noFragment = hash >= 0 ? target.slice(0, hash) : target;
    const q = noFragment.indexOf('?');
    this.path = q >= 0 ? noFragment.slice(0, q) : noFragment;
    this.rawQuery = q >= 0 ? noFragment.slice(q + 1) : undefined;
    this.method = typeof req.method === 'string' ? req.method : '';
  }

  /** A repeated header is its values joined with `, `, the one field value RFC 9110
   * §5.3 says it is equivalent to (HTTPHeaderMatch.name leaves repeated headers to
   * implementations and points at that RFC). */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    const v = this.req.headers[lower];
    // GEP-1294 points users who want to route by host at a header match on `Host`:
    // the request's host stands in when the caller keeps it out of `headers`.
    if (v === undefined) return lower === 'host' && this.req.host !== '' ? this.req.host : undefined;
    if (typeof v === 'string') return v;
    return v.length === 0 ? undefined : v.join(', ');
  }

  /** The first value of a query parameter (HTTPQueryParamMatch.name recommends the
   * first), names exact, names and values decoded as
   * application/x-www-form-urlencoded (`+` is a space, `%XX` is decoded; a malformed
   * escape is kept as written). */
  queryParam(name: string): string | undefined {
    if (this.query === undefined) this.query = parseQuery(this.rawQuery);
    return this.query.get(name);
  }

  grpcCall(): ReturnType<typeof parseGrpcPath> {
    if (this.grpc === null) this.grpc = parseGrpcPath(this.path);
    return this.grpc;
  }
}

/** First value per name of a query string. */
export function parseQuery(raw: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === undefined || raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = formDecode(eq >= 0 ? part.slice(0, eq) : part);
    const value = eq >= 0 ? formDecode(part.slice(eq + 1)) : '';
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

function formDecode(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}
