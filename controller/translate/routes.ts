// HTTPRoute / GRPCRoute (gateway.networking.k8s.io/v1) attached to Services (GAMMA) ->
// Route resources (core/config/routes.ts), and the Gateway API status of every route.
// Pure: objects and the translated Services in, resources and statuses out.
//
// Decisions (the specification's where it has one; ours, documented in
// docs/traffic-management.md, where it leaves room):
//   - parentRefs: only `group: ""` (or "core") + `kind: Service` are ours; others (Gateways)
//     are left alone, without status. `namespace` defaults to the route's; a Service in
//     another namespace makes a consumer route (allowed, no ReferenceGrant: the spec says
//     ReferenceGrant does not govern parentRefs to Services). `port` narrows the route to
//     that Service port, `sectionName` to the port of that name (both: both must match);
//     no such port: Accepted=False NoMatchingParent. A Service that does not exist (or is
//     not in the mesh: ExternalName): Accepted=False NoMatchingParent. A headless Service
//     (no cluster IP to capture): Accepted=False UnsupportedValue.
//   - A route-wide error (bad hostnames, more items than the API allows): Accepted=False
//     UnsupportedValue on every parent, nothing emitted.
//   - A rule whose matches are invalid is dropped (which requests it meant is unknown). A
//     rule whose filters, backendRefs or timeouts are invalid or unsupported (CORS,
//     ExternalAuth, ExtensionRef) keeps its matches and loses its filters and backends, so
//     requests it matches get 500 (the spec's answer for an ExtensionRef that cannot be
//     honoured, and for a rule whose backends are all invalid): never silently routed by
//     another rule. Either way the route gets PartiallyInvalid=True, message "Dropped
//     Rule(s): ...", with Accepted=True when another rule is valid; when none is, the
//     route is not accepted (Accepted=False, the first error's reason) and not emitted.
//   - backendRefs (and RequestMirror's backendRef): group "" kind Service only (else
//     unresolved, ResolvedRefs=False InvalidKind); the Service must exist (BackendNotFound)
//     and have the port (BackendNotFound). A backend in another namespace needs a
//     ReferenceGrant there (RefNotPermitted), unless it is one of the route's own parent
//     Services: GEP-1294 lets a mesh skip the grant unless the route reaches further than
//     its clients could; here the waypoint forwards under its own identity, so a route
//     could otherwise reach a Service whose policy admits the waypoint but not the route's
//     clients. Sending a consumer's traffic on to the Service it addressed reaches nothing
//     new (the MeshConsumerRoute conformance case). An unresolved backend keeps its weight:
//     its share of requests gets 500, as the spec says.
//   - Defaults filled in: matches `[{path: PathPrefix /}]` (HTTPRoute) or `[{}]` (GRPCRoute,
//     match-all); a path without type is PathPrefix, without value "/"; header, query and
//     gRPC method matches default to Exact; backend weight 1; redirect status 302; mirror
//     100 percent. Header names are lower-cased; the first of two equal names wins (the
//     spec: "only the first entry with an equivalent name MUST be considered").
//   - timeouts: Gateway API Durations (GEP-2257) to milliseconds; backendRequest must not
//     exceed request (unless request is 0, disabled). `sessionPersistence` is not
//     implemented and ignored.
//   - retry (HTTPRoute, experimental channel): codes 400-599, each once; attempts at least 1
//     (default 2, Istio's) and at most TRAFFIC_POLICY_LIMITS.maxRetryAttempts; backoff a
//     Duration. Compiled into the rule's `retry`, which the waypoint's retry layer applies.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { MeshService, Resource } from '../../core/config/model.js';
import { routeKey, type MirrorTarget, type Route, type RouteBackend, type RouteFilter, type RouteKind, type RouteMatch, type RouteParent, type RouteRetry, type RouteRule, type RouteTimeouts } from '../../core/config/routes.js';
import { ROUTE_LIMITS } from '../../core/config/validate.js';
import { parseDuration } from '../../core/duration.js';
import { TRAFFIC_POLICY_DEFAULTS, TRAFFIC_POLICY_LIMITS } from '../../core/config/traffic-policy-compile.js';
import type { StatusCondition } from './input.js';
import { compareStrings, creationMs, objectKey, type Problems } from './objects.js';
import { DNS_LABEL, GATEWAY_DURATION, HOSTNAME, ROUTE_REASONS, RouteError, bad, enumOf, grpcMatch, headerModifier, httpMatch, integer, isObj, list, object, pathModifier, preciseHostname, show, string, subdomain, type Obj } from './route-fields.js';

/** The controllerName written in each RouteParentStatus entry the mesh owns. */
export const ROUTE_CONTROLLER_NAME = 'ambient.dev/waypoint';

export const ROUTE_CONDITIONS = Object.freeze({ accepted: 'Accepted', resolvedRefs: 'ResolvedRefs', partiallyInvalid: 'PartiallyInvalid' });

export { ROUTE_REASONS };

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** HTTPRoute or GRPCRoute as read from the cluster (untrusted: every field checked). */
export interface RouteObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

/** ReferenceGrant (gateway.networking.k8s.io/v1beta1, same schema as v1). */
export interface ReferenceGrantObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: unknown;
}

/** A parentRef as written in the route (echoed in its status entry). */
export interface StatusParentRef {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef: StatusParentRef;
  conditions: StatusCondition[];
}

/** The status computed for one route: one entry per Service parentRef. */
export interface RouteStatus {
  routeKind: RouteKind;
  namespace: string;
  name: string;
  /** metadata.generation compiled (0 when absent): each condition's observedGeneration. */
  generation: number;
  parents: RouteParentStatus[];
}

/** ReferenceGrants, indexed: may a `fromKind` in `fromNamespace` refer to Service `name` in `toNamespace`? */
export interface GrantIndex {
  allows(fromKind: RouteKind, fromNamespace: string, toNamespace: string, toName: string): boolean;
}

export interface RouteContext {
  /** The translated Services by `<namespace>/<name>` (undefined: not in the mesh). */
  service(namespaceName: string): MeshService | undefined;
  grants: GrantIndex;
}

/** What a compiled rule refers to, for ResolvedRefs. */
interface RefProblem {
  reason: string;
  message: string;
}

interface Compiling {
  kind: RouteKind;
  namespace: string;
  /** The route's single accepted parent Service key (`<namespace>/<name>`), if it has exactly one: the backend exempt from grants. */
  parentNames: ReadonlySet<string>;
  ctx: RouteContext;
  refs: RefProblem[];
}

/** Resolves a backendRef (or a mirror's): the Service key, or why not. */
function resolveBackend(path: string, o: Obj, c: Compiling): { service?: string; port: number; unresolved?: string } {
  const group = o.group === undefined ? '' : string(`${path}.group`, o.group, { max: 253 });
  const kind = o.kind === undefined ? 'Service' : string(`${path}.kind`, o.kind, { min: 1, max: 63 });
  const name = string(`${path}.name`, o.name, { min: 1, max: 253 });
  const namespace = o.namespace === undefined ? c.namespace : string(`${path}.namespace`, o.namespace, { min: 1, max: 63 });
  if (o.port === undefined) {
    if ((group === '' || group === 'core') && kind === 'Service') bad(`${path}.port`, 'is required when the backend is a Service');
  }
  const port = o.port === undefined ? 0 : integer(`${path}.port`, o.port, 1, 65535);
  const fail = (reason: string, message: string) => {
    c.refs.push({ reason, message: `${path}: ${message}` });
    return { port, unresolved: message };
  };
  if (!((group === '' || group === 'core') && kind === 'Service')) {
    return fail(ROUTE_REASONS.invalidKind, `${group === '' ? 'core' : group} kind ${kind} is not supported as a backend (only core Service)`);
  }
  const nsName = `${namespace}/${name}`;
  if (namespace !== c.namespace && !c.parentNames.has(nsName) && !c.ctx.grants.allows(c.kind, c.namespace, namespace, name)) {
    return fail(ROUTE_REASONS.refNotPermitted, `Service ${nsName} is in another namespace and no ReferenceGrant in ${namespace} allows ${c.kind}s from ${c.namespace} to refer to it`);
  }
  const svc = c.ctx.service(nsName);
  if (!svc) return fail(ROUTE_REASONS.backendNotFound, `Service ${nsName} does not exist (or is not in the mesh)`);
  if (!svc.ports.some((p) => p.port === port && p.protocol === 'TCP')) return fail(ROUTE_REASONS.backendNotFound, `Service ${nsName} has no TCP port ${port}`);
  return { service: svc.key, port };
}

function mirror(path: string, v: unknown, c: Compiling): MirrorTarget {
  const o = object(path, v);
  const ref = resolveBackend(`${path}.backendRef`, object(`${path}.backendRef`, o.backendRef), c);
  if (o.percent !== undefined && o.fraction !== undefined) bad(path, 'only one of percent and fraction may be set');
  let percent = 100;
  if (o.percent !== undefined) percent = integer(`${path}.percent`, o.percent, 0, 100);
  if (o.fraction !== undefined) {
    const f = object(`${path}.fraction`, o.fraction);
    const numerator = integer(`${path}.fraction.numerator`, f.numerator, 0, 2 ** 31 - 1);
    const denominator = f.denominator === undefined ? 100 : integer(`${path}.fraction.denominator`, f.denominator, 1, 2 ** 31 - 1);
    if (numerator > denominator) bad(`${path}.fraction`, `numerator ${numerator} is greater than denominator ${denominator}`);
    percent = (numerator * 100) / denominator;
  }
  const t: MirrorTarget = { port: ref.port, percent };
  if (ref.service !== undefined) t.service = ref.service;
  if (ref.unresolved !== undefined) t.unresolved = ref.unresolved;
  return t;
}

const HTTP_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror'] as const;
const GRPC_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror'] as const;
/** The filter types each API defines (the ones not in *_FILTERS are valid there but not supported here). */
const API_FILTERS = { HTTPRoute: [...HTTP_FILTERS, 'CORS', 'ExternalAuth', 'ExtensionRef'], GRPCRoute: [...GRPC_FILTERS, 'ExtensionRef'] } as const;
const FIELD_OF: Record<string, string> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
  ExtensionRef: 'extensionRef',
};

function filters(path: string, v: unknown, c: Compiling): RouteFilter[] {
  const supported: readonly string[] = c.kind === 'HTTPRoute' ? HTTP_FILTERS : GRPC_FILTERS;
  const out: RouteFilter[] = [];
  const seen = new Set<string>();
  list(path, v, ROUTE_LIMITS.maxFilters).forEach((x, i) => {
    const at = `${path}[${i}]`;
    const o = object(at, x);
    const type = string(`${at}.type`, o.type, { min: 1, max: 64 });
    if (!supported.includes(type)) {
      bad(`${at}.type`, (API_FILTERS[c.kind] as readonly string[]).includes(type) ? `filter ${type} is not supported by this mesh` : `${show(type)} is not a filter type of ${c.kind}`);
    }
    for (const [t, f] of Object.entries(FIELD_OF)) {
      if (t !== type && o[f] !== undefined) bad(`${at}.${f}`, `must not be set when type is ${type}`);
    }
    if (type !== 'RequestMirror') {
      if (seen.has(type)) bad(`${at}.type`, `filter ${type} cannot be repeated`);
      seen.add(type);
    }
    const body = o[FIELD_OF[type]!];
    if (body === undefined) bad(`${at}.${FIELD_OF[type]}`, `is required when type is ${type}`);
    const bat = `${at}.${FIELD_OF[type]}`;
    switch (type) {
      case 'RequestHeaderModifier':
      case 'ResponseHeaderModifier':
        out.push({ type, modifier: headerModifier(bat, body) });
        break;
      case 'RequestRedirect': {
        const r = object(bat, body);
        const f: Extract<RouteFilter, { type: 'RequestRedirect' }> = { type: 'RequestRedirect', statusCode: 302 };
        if (r.scheme !== undefined) f.scheme = enumOf(`${bat}.scheme`, r.scheme, ['http', 'https'] as const);
        if (r.hostname !== undefined) f.hostname = preciseHostname(`${bat}.hostname`, r.hostname);
        if (r.port !== undefined) f.port = integer(`${bat}.port`, r.port, 1, 65535);
        if (r.path !== undefined) f.path = pathModifier(`${bat}.path`, r.path);
        if (r.statusCode !== undefined) {
          if (typeof r.statusCode !== 'number' || ![301, 302, 303, 307, 308].includes(r.statusCode)) bad(`${bat}.statusCode`, `${show(r.statusCode)} is not supported (one of 301, 302, 303, 307, 308)`);
          f.statusCode = r.statusCode;
        }
        out.push(f);
        break;
      }
      case 'URLRewrite': {
        const r = object(bat, body);
        const f: Extract<RouteFilter, { type: 'URLRewrite' }> = { type: 'URLRewrite' };
        if (r.hostname !== undefined) f.hostname = preciseHostname(`${bat}.hostname`, r.hostname);
        if (r.path !== undefined) f.path = pathModifier(`${bat}.path`, r.path);
        out.push(f);
        break;
      }
      case 'RequestMirror':
        out.push({ type: 'RequestMirror', mirror: mirror(bat, body, c) });
        break;
    }
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite')) bad(path, 'RequestRedirect and URLRewrite cannot be used together', ROUTE_REASONS.incompatibleFilters);
  return out;
}

function usesReplacePrefix(fs: readonly RouteFilter[]): boolean {
  return fs.some((f) => (f.type === 'RequestRedirect' || f.type === 'URLRewrite') && f.path?.type === 'ReplacePrefixMatch');
}

function timeouts(path: string, v: unknown): RouteTimeouts | undefined {
  if (v === undefined) return undefined;
  const o = object(path, v);
  const t: RouteTimeouts = {};
  if (o.request !== undefined) t.requestMs = parseDuration(`${path}.request`, o.request, GATEWAY_DURATION);
  if (o.backendRequest !== undefined) t.backendRequestMs = parseDuration(`${path}.backendRequest`, o.backendRequest, GATEWAY_DURATION);
  if (t.requestMs !== undefined && t.backendRequestMs !== undefined && t.requestMs !== 0 && t.backendRequestMs > t.requestMs) {
    bad(`${path}.backendRequest`, `${show(o.backendRequest)} is longer than request ${show(o.request)}`);
  }
  return t.requestMs === undefined && t.backendRequestMs === undefined ? undefined : t;
}

/** rules[].retry (HTTPRouteRetry, apis/v1/httproute_types.go). */
function retry(path: string, v: unknown): RouteRetry | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(path, v);
  for (const k of Object.keys(o)) if (k !== 'codes' && k !== 'attempts' && k !== 'backoff') bad(`${path}.${k}`, 'is not a field of retry (known: codes, attempts, backoff)');
  const codes = list(`${path}.codes`, o.codes, TRAFFIC_POLICY_LIMITS.maxStatusCodes).map((c, i) => integer(`${path}.codes[${i}]`, c, 400, 599));
  codes.forEach((c, i) => {
    if (codes.indexOf(c) !== i) bad(`${path}.codes[${i}]`, `${c} is listed twice`);
  });
  const r: RouteRetry = { codes, attempts: o.attempts === undefined ? TRAFFIC_POLICY_DEFAULTS.attempts : integer(`${path}.attempts`, o.attempts, 1, TRAFFIC_POLICY_LIMITS.maxRetryAttempts) };
  if (o.backoff !== undefined) r.backoffMs = parseDuration(`${path}.backoff`, o.backoff, GATEWAY_DURATION);
  return r;
}

interface RuleOutcome {
  rule?: RouteRule;
  /** Why (part of) the rule was dropped. */
  error?: RouteError;
}

function compileRule(path: string, v: unknown, c: Compiling, names: Set<string>): RuleOutcome {
  let matches: RouteMatch[];
  let name: string | undefined;
  let o: Obj;
  try {
    o = object(path, v);
    if (o.name !== undefined) {
      name = subdomain(`${path}.name`, o.name);
      if (names.has(name)) bad(`${path}.name`, `${show(name)} is the name of another rule of this route`);
      names.add(name);
    }
    const raw = list(`${path}.matches`, o.matches, ROUTE_LIMITS.maxMatchesPerRule);
    matches = raw.length === 0 ? [c.kind === 'HTTPRoute' ? { path: { type: 'PathPrefix', value: '/' } } : {}] : raw.map((m, j) => (c.kind === 'HTTPRoute' ? httpMatch : grpcMatch)(`${path}.matches[${j}]`, m));
  } catch (err) {
    if (err instanceof RouteError) return { error: err };
    throw err;
  }
  const refsBefore = c.refs.length;
  try {
    const ruleFilters = filters(`${path}.filters`, o.filters, c);
    const backends: RouteBackend[] = list(`${path}.backendRefs`, o.backendRefs, ROUTE_LIMITS.maxBackendsPerRule).map((x, j) => {
      const at = `${path}.backendRefs[${j}]`;
      const b = object(at, x);
      const ref = resolveBackend(at, b, c);
      const backend: RouteBackend = { port: ref.port, weight: b.weight === undefined ? 1 : integer(`${at}.weight`, b.weight, 0, 1_000_000), filters: filters(`${at}.filters`, b.filters, c) };
      if (ref.service !== undefined) backend.service = ref.service;
      if (ref.unresolved !== undefined) backend.unresolved = ref.unresolved;
      return backend;
    });
    if (backends.length > 0 && ruleFilters.some((f) => f.type === 'RequestRedirect')) {
      bad(`${path}.filters`, 'a RequestRedirect filter cannot be used together with backendRefs', ROUTE_REASONS.incompatibleFilters);
    }
    if (usesReplacePrefix(ruleFilters) || backends.some((b) => usesReplacePrefix(b.filters))) {
      if (matches.length !== 1 || matches[0]!.path?.type !== 'PathPrefix') {
        bad(`${path}.filters`, 'path.type ReplacePrefixMatch needs exactly one match, of type PathPrefix', ROUTE_REASONS.incompatibleFilters);
      }
    }
    const t = c.kind === 'HTTPRoute' ? timeouts(`${path}.timeouts`, o.timeouts) : undefined;
    const rule: RouteRule = name === undefined ? { matches, filters: ruleFilters, backends } : { name, matches, filters: ruleFilters, backends };
    if (t) rule.timeouts = t;
    const rt = c.kind === 'HTTPRoute' ? retry(`${path}.retry`, o.retry) : undefined;
    if (rt) rule.retry = rt;
    return { rule };
  } catch (err) {
    if (!(err instanceof RouteError)) throw err;
    c.refs.length = refsBefore; // what this rule referred to no longer matters
    // Requests this rule matches get 500: never routed by another rule instead.
    const rule: RouteRule = name === undefined ? { matches, filters: [], backends: [] } : { name, matches, filters: [], backends: [] };
    return { rule, error: err };
  }
}

interface ParentOutcome {
  ref: StatusParentRef;
  /** Accepted as a Service parent. */
  parent?: RouteParent;
  problem?: RouteError;
}

function compileParents(spec: Obj, namespace: string, ctx: RouteContext, hints: string[]): ParentOutcome[] {
  const out: ParentOutcome[] = [];
  list('spec.parentRefs', spec.parentRefs, ROUTE_LIMITS.maxParentRefs).forEach((x, i) => {
    const at = `spec.parentRefs[${i}]`;
    if (!isObj(x)) return;
    const group = x.group === undefined ? GATEWAY_GROUP : x.group;
    const kind = x.kind === undefined ? 'Gateway' : x.kind;
    if (kind === 'Service' && x.group === undefined) {
      // The API defaults the group to gateway.networking.k8s.io: a common slip, said in the log.
      hints.push(`${at}: kind Service without group "" names a ${GATEWAY_GROUP} Service, not a core Service: the mesh ignores it (set group: "")`);
    }
    if (!((group === '' || group === 'core') && kind === 'Service')) return; // not ours (a Gateway's)
    const ref: StatusParentRef = { group: group as string, kind: 'Service', name: typeof x.name === 'string' ? x.name : '' };
    if (typeof x.namespace === 'string') ref.namespace = x.namespace;
    if (typeof x.sectionName === 'string') ref.sectionName = x.sectionName;
    if (typeof x.port === 'number') ref.port = x.port;
    try {
      const name = string(`${at}.name`, x.name, { min: 1, max: 253 });
      const ns = x.namespace === undefined ? namespace : string(`${at}.namespace`, x.namespace, { min: 1, max: 63 });
      if (!DNS_LABEL.test(ns)) bad(`${at}.namespace`, `${show(ns)} is not a namespace name`);
      const port = x.port === undefined ? undefined : integer(`${at}.port`, x.port, 1, 65535);
      const section = x.sectionName === undefined ? undefined : string(`${at}.sectionName`, x.sectionName, { min: 1, max: 253 });
      const svc = ctx.service(`${ns}/${name}`);
      if (!svc) bad(at, `Service ${ns}/${name} does not exist (or is not in the mesh)`, ROUTE_REASONS.noMatchingParent);
      if (svc.vips.length === 0) bad(at, `Service ${ns}/${name} is headless: a route attaches to a Service with a cluster IP`);
      const tcp = svc.ports.filter((p) => p.protocol === 'TCP');
      const chosen = tcp.filter((p) => (port === undefined || p.port === port) && (section === undefined || p.name === section));
      if ((port !== undefined || section !== undefined) && chosen.length === 0) {
        const want = [port !== undefined ? `port ${port}` : '', section !== undefined ? `a port named ${show(section)}` : ''].filter(Boolean).join(' and ');
        bad(at, `Service ${ns}/${name} has no TCP ${want}`, ROUTE_REASONS.noMatchingParent);
      }
      const parent: RouteParent = { service: svc.key };
      if (port !== undefined || section !== undefined) parent.port = chosen[0]!.port;
      out.push({ ref, parent });
    } catch (err) {
      if (!(err instanceof RouteError)) throw err;
      out.push({ ref, problem: err });
    }
  });
  return out;
}

function hostnames(spec: Obj): string[] {
  const out = list('spec.hostnames', spec.hostnames, ROUTE_LIMITS.maxHostnames).map((h, i) => {
    const s = string(`spec.hostnames[${i}]`, h, { min: 1, max: 253 }).toLowerCase();
    if (!HOSTNAME.test(s)) bad(`spec.hostnames[${i}]`, `${show(h)} is not a hostname (RFC 1123, optionally "*." first; no IP)`);
    return s;
  });
  return [...new Set(out)];
}

function generationOf(meta: V1ObjectMeta | undefined): number {
  const g: unknown = meta?.generation;
  return typeof g === 'number' && Number.isInteger(g) && g >= 0 ? g : 0;
}

/** A route without a readable creationTimestamp counts as the newest (as creationMs says): it never wins a precedence tie. */
const NEWEST = '9999-12-31T23:59:59Z';

function createdOf(meta: V1ObjectMeta | undefined): string {
  const ms = creationMs(meta);
  if (!Number.isFinite(ms) || ms < 0 || ms > Date.parse(NEWEST)) return NEWEST;
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

export interface CompiledRoute {
  /** Undefined when no parent accepted it (or it has no Service parent). */
  route?: Route;
  /** Undefined when the object's namespace or name cannot be read, or it names no Service parent. */
  status?: RouteStatus;
  /** Said about the object (logged by the controller). */
  problems: string[];
}

/** Compiles one HTTPRoute or GRPCRoute against the Services and grants of `ctx`. */
export function compileRoute(kind: RouteKind, obj: RouteObject, ctx: RouteContext): CompiledRoute {
  const meta = obj?.metadata;
  const name = meta?.name;
  const namespace = meta?.namespace;
  if (typeof name !== 'string' || name === '' || typeof namespace !== 'string' || namespace === '') {
    return { problems: ['metadata.name or metadata.namespace is missing'] };
  }
  const spec = isObj(obj.spec) ? obj.spec : {};
  let parents: ParentOutcome[];
  const hints: string[] = [];
  try {
    parents = compileParents(spec, namespace, ctx, hints);
  } catch (err) {
    if (!(err instanceof RouteError)) throw err;
    return { problems: [err.message] };
  }
  if (parents.length === 0) {
    // Attached to Gateways only: not ours. Entries we wrote while it had a Service parent
    // would stay forever: an empty status removes ours (others' entries are kept).
    const cur = (obj as { status?: { parents?: unknown } }).status?.parents;
    const stale = Array.isArray(cur) && cur.some((e) => isObj(e) && e.controllerName === ROUTE_CONTROLLER_NAME);
    return stale ? { problems: hints, status: { routeKind: kind, namespace, name, generation: generationOf(meta), parents: [] } } : { problems: hints };
  }
  const generation = generationOf(meta);
  const accepted = parents.filter((p) => p.parent);
  // A backend is exempt from the grant only when it is the one Service every request of this
  // route arrives through: with two parents, the exemption for one would let requests arriving
  // through the other reach it under the waypoint's identity, skipping its own waypoint.
  const parentKeys = new Set(accepted.map((p) => `${p.parent!.service.split('/')[0]}/${(p.ref.name)}`));
  const c: Compiling = { kind, namespace, parentNames: parentKeys.size === 1 ? parentKeys : new Set(), ctx, refs: [] };
  let routeError: RouteError | undefined;
  let hosts: string[] = [];
  const rules: RouteRule[] = [];
  const dropped: string[] = [];
  let firstRuleError: RouteError | undefined;
  let valid = 0;
  try {
    if (!isObj(obj.spec)) bad('spec', 'is missing');
    hosts = hostnames(spec);
    const rawRules = list('spec.rules', spec.rules, ROUTE_LIMITS.maxRules);
    const ruleList = rawRules.length === 0 ? [{}] : rawRules;
    let total = 0;
    for (const r of ruleList) total += isObj(r) && Array.isArray(r.matches) ? r.matches.length : 0;
    if (total > ROUTE_LIMITS.maxMatchesPerRoute) bad('spec.rules', `hold ${total} matches in all, more than the ${ROUTE_LIMITS.maxMatchesPerRoute} the API allows`);
    const names = new Set<string>();
    ruleList.forEach((r, i) => {
      const outcome = compileRule(`spec.rules[${i}]`, r, c, names);
      if (outcome.rule) rules.push(outcome.rule);
      if (outcome.error) {
        firstRuleError ??= outcome.error;
        dropped.push(`${outcome.error.message}${outcome.rule ? ' (the rule answers 500)' : ' (the rule is left out)'}`);
      } else valid++;
    });
    if (valid === 0) routeError = firstRuleError;
  } catch (err) {
    if (!(err instanceof RouteError)) throw err;
    routeError = err;
  }

  const problems: string[] = [...hints];
  const refsCondition: StatusCondition =
    c.refs.length === 0
      ? { type: ROUTE_CONDITIONS.resolvedRefs, status: 'True', reason: ROUTE_REASONS.resolvedRefs, message: 'All references are resolved.' }
      : { type: ROUTE_CONDITIONS.resolvedRefs, status: 'False', reason: c.refs[0]!.reason, message: `Unresolved: ${c.refs.map((r) => r.message).join('; ')}. Requests sent to an unresolved backend get 500.` };
  if (routeError) problems.push(`not accepted: ${routeError.message}`);
  else if (dropped.length > 0) problems.push(`Dropped Rule(s): ${dropped.join('; ')}`);
  if (!routeError && c.refs.length > 0) problems.push(refsCondition.message);

  const statusParents: RouteParentStatus[] = parents.map((p) => {
    const conditions: StatusCondition[] = [];
    if (p.problem) {
      conditions.push({ type: ROUTE_CONDITIONS.accepted, status: 'False', reason: p.problem.reason, message: p.problem.message });
      problems.push(`parent not accepted: ${p.problem.message}`);
    } else if (routeError) {
      conditions.push({ type: ROUTE_CONDITIONS.accepted, status: 'False', reason: routeError.reason, message: routeError.message });
    } else {
      const svc = ctx.service(`${p.ref.namespace ?? namespace}/${p.ref.name}`);
      const note = svc?.waypoint ? '' : ` Service ${p.ref.namespace ?? namespace}/${p.ref.name} has no waypoint yet: the route applies once it has one (label ambient.dev/use-waypoint).`;
      conditions.push({ type: ROUTE_CONDITIONS.accepted, status: 'True', reason: ROUTE_REASONS.accepted, message: `Route accepted.${note}` });
    }
    conditions.push(refsCondition);
    if (!routeError && !p.problem && dropped.length > 0) {
      conditions.push({ type: ROUTE_CONDITIONS.partiallyInvalid, status: 'True', reason: ROUTE_REASONS.unsupportedValue, message: `Dropped Rule(s): ${dropped.join('; ')}` });
    }
    return { parentRef: p.ref, conditions };
  });
  const status: RouteStatus = { routeKind: kind, namespace, name, generation, parents: statusParents };
  if (routeError || accepted.length === 0) return { status, problems };

  const routeParents: RouteParent[] = [];
  const seen = new Set<string>();
  for (const p of accepted) {
    const id = `${p.parent!.service}:${p.parent!.port ?? ''}`;
    if (seen.has(id)) continue;
    seen.add(id);
    routeParents.push(p.parent!);
  }
  const route: Route = {
    key: routeKey(namespace, kind, name),
    routeKind: kind,
    name,
    namespace,
    created: createdOf(meta),
    parents: routeParents,
    hostnames: hosts,
    rules,
  };
  return { route, status, problems };
}

/** The Service names (`<namespace>/<name>`) a route object refers to, as parent or backend,
 * and the namespaces of its cross-namespace backends (whose ReferenceGrants it reads). */
export function routeReferences(obj: RouteObject): { services: string[]; grantNamespaces: string[] } {
  const ns = typeof obj?.metadata?.namespace === 'string' ? obj.metadata.namespace : '';
  const services = new Set<string>();
  const grantNamespaces = new Set<string>();
  const spec = isObj(obj?.spec) ? obj.spec : {};
  const nameOf = (o: Obj): string | undefined => (typeof o.name === 'string' ? `${typeof o.namespace === 'string' ? o.namespace : ns}/${o.name}` : undefined);
  if (Array.isArray(spec.parentRefs)) {
    for (const p of spec.parentRefs) if (isObj(p)) { const n = nameOf(p); if (n) services.add(n); }
  }
  const backend = (b: unknown) => {
    if (!isObj(b)) return;
    const n = nameOf(b);
    if (n) services.add(n);
    if (typeof b.namespace === 'string' && b.namespace !== ns) grantNamespaces.add(b.namespace);
  };
  const fromFilters = (fs: unknown) => {
    if (!Array.isArray(fs)) return;
    for (const f of fs) if (isObj(f) && isObj(f.requestMirror)) backend(f.requestMirror.backendRef);
  };
  if (Array.isArray(spec.rules)) {
    for (const r of spec.rules) {
      if (!isObj(r)) continue;
      fromFilters(r.filters);
      if (!Array.isArray(r.backendRefs)) continue;
      for (const b of r.backendRefs) {
        backend(b);
        if (isObj(b)) fromFilters(b.filters);
      }
    }
  }
  return { services: [...services].sort(compareStrings), grantNamespaces: [...grantNamespaces].sort(compareStrings) };
}

/**
 * ReferenceGrants, indexed. A grant in namespace T with `from: {group:
 * gateway.networking.k8s.io, kind: HTTPRoute|GRPCRoute, namespace: F}` and `to: {group: "",
 * kind: Service, name?}` lets routes of that kind in F refer to Services in T (all of them
 * when `name` is absent). A malformed entry grants nothing.
 */
export function indexReferenceGrants(grants: readonly ReferenceGrantObject[]): GrantIndex {
  // `${toNamespace}\0${fromKind}\0${fromNamespace}` -> names allowed ('*': all)
  const allowed = new Map<string, Set<string>>();
  for (const g of grants) {
    const ns = g?.metadata?.namespace;
    if (typeof ns !== 'string' || !isObj(g.spec)) continue;
    const from = Array.isArray(g.spec.from) ? g.spec.from.filter(isObj) : [];
    const to = Array.isArray(g.spec.to) ? g.spec.to.filter(isObj) : [];
    const names: string[] = [];
    for (const t of to) {
      if ((t.group === '' || t.group === 'core') && t.kind === 'Service') names.push(typeof t.name === 'string' && t.name !== '' ? t.name : '*');
    }
    if (names.length === 0) continue;
    for (const f of from) {
      if (f.group !== GATEWAY_GROUP || (f.kind !== 'HTTPRoute' && f.kind !== 'GRPCRoute') || typeof f.namespace !== 'string') continue;
      const k = `${ns}\0${f.kind}\0${f.namespace}`;
      let s = allowed.get(k);
      if (!s) allowed.set(k, (s = new Set()));
      for (const n of names) s.add(n);
    }
  }
  return {
    allows(fromKind, fromNamespace, toNamespace, toName) {
      const s = allowed.get(`${toNamespace}\0${fromKind}\0${fromNamespace}`);
      return !!s && (s.has('*') || s.has(toName));
    },
  };
}

export interface RoutesContext extends RouteContext {
  problems: Problems;
  /** Validates and emits one resource; false when it was refused (already reported). */
  emit: (kind: string, key: string, r: Resource) => boolean;
}

/** Compiles every route, emits the Route resources, reports problems, returns the statuses
 * sorted by kind, namespace, name. */
export function translateRoutes(httpRoutes: readonly RouteObject[], grpcRoutes: readonly RouteObject[], ctx: RoutesContext): RouteStatus[] {
  const statuses: RouteStatus[] = [];
  for (const [kind, objs] of [['HTTPRoute', httpRoutes], ['GRPCRoute', grpcRoutes]] as const) {
    const seen = new Set<string>();
    for (const obj of objs) {
      const key = objectKey(obj?.metadata);
      if (seen.has(key)) {
        ctx.problems.report(kind, key, 'a second object with the same namespace and name; left out');
        continue;
      }
      seen.add(key);
      const status = compileAndEmit(kind, obj, ctx);
      if (status) statuses.push(status);
    }
  }
  return statuses.sort(compareRouteStatuses);
}

/** compileRoute, then the resource emitted and the problems reported through ctx; returns the status. */
export function compileAndEmit(kind: RouteKind, obj: RouteObject, ctx: RoutesContext): RouteStatus | undefined {
  const key = objectKey(obj?.metadata);
  let r: CompiledRoute;
  try {
    r = compileRoute(kind, obj, ctx);
  } catch (err) {
    ctx.problems.report(kind, key, `internal error while translating: ${(err as Error)?.message ?? String(err)}`);
    return undefined;
  }
  for (const p of r.problems) ctx.problems.report(kind, key, p);
  if (r.route && !ctx.emit(kind, key, { kind: 'Route', key: r.route.key, body: r.route })) {
    // The compiled route failed the resource validator: a controller bug; keep the status honest.
    for (const p of r.status?.parents ?? []) {
      const a = p.conditions.find((x) => x.type === ROUTE_CONDITIONS.accepted);
      if (a) Object.assign(a, { status: 'False', reason: ROUTE_REASONS.unsupportedValue, message: 'the compiled route failed validation (a bug in the controller; see the controller log)' });
    }
  }
  return r.status;
}

export function compareRouteStatuses(a: RouteStatus, b: RouteStatus): number {
  return compareStrings(a.routeKind, b.routeKind) || compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}
