// Wire validation of a Route resource (./routes.ts): every match, filter, backend and
// timeout of a compiled HTTPRoute or GRPCRoute, bounded by the Gateway API's own maxima.
// Called by validateResource (./validate.ts). Pure.
import { ROUTE_REGEX_MAX_PROGRAM_SIZE, routeRegexError } from './route-regex.js';
import { routeKey, type HeaderModifier, type HeaderValue, type MirrorTarget, type PathModifier, type Route, type RouteBackend, type RouteFilter, type RouteMatch, type RouteParent, type RouteRetry, type RouteRule, type RouteTimeouts, type ValueMatch } from './routes.js';
import { TRAFFIC_POLICY_LIMITS } from './traffic-policy-compile.js';
import { Invalid, show, obj, arr, str, nonEmpty, token, oneOf, port, dnsLabel, dnsSubdomain, distinct, optionalList, defined, bounded, capped, DNS1123_SUBDOMAIN, type Obj } from './validate-fields.js';

/** Sizes of a Route: the Gateway API's own maxima (apis/v1 httproute_types.go,
 * grpcroute_types.go), checked by the controller when it compiles a route and by every
 * reader of a Route resource (docs/configuration.md). */
export const ROUTE_LIMITS = Object.freeze({
  maxParentRefs: 32,
  maxHostnames: 16,
  maxRules: 16,
  maxMatchesPerRule: 64,
  maxMatchesPerRoute: 128,
  /** Header and query parameter matches of one match; set/add/remove entries of a header modifier. */
  maxValueMatches: 16,
  maxFilters: 16,
  maxBackendsPerRule: 16,
  /** Characters of a header value (and of a match value). */
  maxValueChars: 4096,
  /** Characters of a path, a regular expression, a gRPC service or method. */
  maxPathChars: 1024,
  /** RE2 program size of a regular expression (Envoy's `re2.max_program_size.error_level`). */
  maxRegexProgramSize: ROUTE_REGEX_MAX_PROGRAM_SIZE,
});


const HEADER_TOKEN = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
/**
 * An RFC 9110 field value (HTAB, visible ASCII, space, obs-text): what Node's HTTP stack
 * sends; any other character makes it throw ERR_INVALID_CHAR in the waypoint.
 */
export const HTTP_FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const QUERY_TOKEN = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const ROUTE_HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function routeRegex(path: string, v: string): string {
  const why = routeRegexError(v);
  if (why !== undefined) throw new Invalid(path, `${show(v)} is not a valid regular expression (RE2 syntax): ${why}`);
  return v;
}

function serviceKey(path: string, v: unknown): string {
  const s = token(path, v);
  if (!s.includes('/')) throw new Invalid(path, `${show(s)} is not a Service key <namespace>/<hostname>`);
  return s;
}

function headerName(path: string, v: unknown): string {
  const s = capped(path, v, 256);
  if (!HEADER_TOKEN.test(s)) throw new Invalid(path, `${show(s)} is not a lower-case header name`);
  return s;
}

function valueMatch(path: string, v: unknown, header: boolean): ValueMatch {
  const o = obj(path, v);
  const type = oneOf(`${path}.type`, o.type, ['Exact', 'RegularExpression'] as const);
  const name = header ? headerName(`${path}.name`, o.name) : capped(`${path}.name`, o.name, 256);
  if (!header && !QUERY_TOKEN.test(name)) throw new Invalid(`${path}.name`, `${show(name)} is not a query parameter name`);
  const value = capped(`${path}.value`, o.value, ROUTE_LIMITS.maxValueChars);
  if (type === 'RegularExpression') routeRegex(`${path}.value`, value);
  return { type, name, value };
}

function routeMatch(path: string, v: unknown, grpc: boolean): RouteMatch {
  const o = obj(path, v);
  const m: RouteMatch = {};
  if (!grpc) {
    for (const f of ['grpc'] as const) if (o[f] !== undefined) throw new Invalid(`${path}.${f}`, 'must be absent in an HTTPRoute match');
    if (o.path !== undefined) {
      const p = obj(`${path}.path`, o.path);
      const type = oneOf(`${path}.path.type`, p.type, ['Exact', 'PathPrefix', 'RegularExpression'] as const);
      const value = capped(`${path}.path.value`, p.value, ROUTE_LIMITS.maxPathChars);
      if (type === 'RegularExpression') routeRegex(`${path}.path.value`, value);
      else if (!value.startsWith('/')) throw new Invalid(`${path}.path.value`, `${show(value)} must start with "/"`);
      m.path = { type, value };
    }
  } else {
    for (const f of ['path', 'queryParams', 'method'] as const) if (o[f] !== undefined) throw new Invalid(`${path}.${f}`, 'must be absent in a GRPCRoute match');
    if (o.grpc !== undefined) {
      const g = obj(`${path}.grpc`, o.grpc);
      const type = oneOf(`${path}.grpc.type`, g.type, ['Exact', 'RegularExpression'] as const);
      const out: NonNullable<RouteMatch['grpc']> = { type };
      if (g.service !== undefined) out.service = capped(`${path}.grpc.service`, g.service, ROUTE_LIMITS.maxPathChars);
      if (g.method !== undefined) out.method = capped(`${path}.grpc.method`, g.method, ROUTE_LIMITS.maxPathChars);
      if (out.service === undefined && out.method === undefined) throw new Invalid(`${path}.grpc`, 'must set service, method or both');
      if (type === 'RegularExpression') {
        if (out.service !== undefined) routeRegex(`${path}.grpc.service`, out.service);
        if (out.method !== undefined) routeRegex(`${path}.grpc.method`, out.method);
      }
      m.grpc = out;
    }
  }
  const headers = optionalList(o, path, 'headers', (p, x) => valueMatch(p, x, true));
  if (headers) {
    bounded(`${path}.headers`, headers, ROUTE_LIMITS.maxValueMatches);
    distinct(`${path}.headers`, headers, (h) => h.name, 'header');
    m.headers = headers;
  }
  if (!grpc) {
    const query = optionalList(o, path, 'queryParams', (p, x) => valueMatch(p, x, false));
    if (query) {
      bounded(`${path}.queryParams`, query, ROUTE_LIMITS.maxValueMatches);
      distinct(`${path}.queryParams`, query, (q) => q.name, 'query parameter');
      m.queryParams = query;
    }
    if (o.method !== undefined) m.method = oneOf(`${path}.method`, o.method, HTTP_METHODS);
  }
  return m;
}

function headerValues(path: string, v: unknown): HeaderValue[] {
  const list = bounded(path, arr(path, v), ROUTE_LIMITS.maxValueMatches).map((x, i) => {
    const o = obj(`${path}[${i}]`, x);
    const value = capped(`${path}[${i}].value`, o.value, ROUTE_LIMITS.maxValueChars);
    if (!HTTP_FIELD_VALUE.test(value)) throw new Invalid(`${path}[${i}].value`, `${show(value)} is not an HTTP field value (RFC 9110: tab, space, visible ASCII, bytes 0x80-0xff)`);
    return { name: headerName(`${path}[${i}].name`, o.name), value };
  });
  distinct(path, list, (h) => h.name, 'header');
  return list;
}

function headerModifier(path: string, v: unknown): HeaderModifier {
  const o = obj(path, v);
  const m: HeaderModifier = {};
  if (o.set !== undefined) m.set = headerValues(`${path}.set`, o.set);
  if (o.add !== undefined) m.add = headerValues(`${path}.add`, o.add);
  if (o.remove !== undefined) m.remove = bounded(`${path}.remove`, arr(`${path}.remove`, o.remove), ROUTE_LIMITS.maxValueMatches).map((x, i) => headerName(`${path}.remove[${i}]`, x));
  return m;
}

function pathModifier(path: string, v: unknown): PathModifier {
  const o = obj(path, v);
  const type = oneOf(`${path}.type`, o.type, ['ReplaceFullPath', 'ReplacePrefixMatch'] as const);
  const value = capped(`${path}.value`, o.value, ROUTE_LIMITS.maxPathChars, { empty: type === 'ReplacePrefixMatch' });
  if (value !== '' && !value.startsWith('/')) throw new Invalid(`${path}.value`, `${show(value)} must start with "/"`);
  return { type, value };
}

function hostnameOf(path: string, v: unknown): string {
  const s = str(path, v);
  if (s.length > 253 || !DNS1123_SUBDOMAIN.test(s)) throw new Invalid(path, `${show(s)} is not a lower-case hostname`);
  return s;
}

/** A backend or mirror reference: exactly one of service and unresolved; port 0 only when unresolved. */
function reference(path: string, o: Obj): { service?: string; port: number; unresolved?: string } {
  const out: { service?: string; port: number; unresolved?: string } = { port: 0 };
  if (o.unresolved !== undefined) {
    out.unresolved = nonEmpty(`${path}.unresolved`, o.unresolved);
    if (o.service !== undefined) throw new Invalid(`${path}.service`, 'must be absent when unresolved is set');
    out.port = port(`${path}.port`, o.port, { allowZero: true });
  } else {
    out.service = serviceKey(`${path}.service`, o.service);
    out.port = port(`${path}.port`, o.port);
  }
  return out;
}

function mirrorTarget(path: string, v: unknown): MirrorTarget {
  const o = obj(path, v);
  const ref = reference(path, o);
  const percent = o.percent;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) throw new Invalid(`${path}.percent`, `${show(percent)} is not a percentage (0..100)`);
  return defined({ service: ref.service, port: ref.port, percent, unresolved: ref.unresolved });
}

function routeFilter(path: string, v: unknown, grpc: boolean): RouteFilter {
  const o = obj(path, v);
  const type = oneOf(`${path}.type`, o.type, grpc ? (['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror'] as const) : (['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror'] as const));
  switch (type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier':
      return { type, modifier: headerModifier(`${path}.modifier`, o.modifier) };
    case 'RequestMirror':
      return { type, mirror: mirrorTarget(`${path}.mirror`, o.mirror) };
    case 'RequestRedirect': {
      const statusCode = o.statusCode;
      if (typeof statusCode !== 'number' || ![301, 302, 303, 307, 308].includes(statusCode)) throw new Invalid(`${path}.statusCode`, `${show(statusCode)} is not one of 301, 302, 303, 307, 308`);
      const f: Extract<RouteFilter, { type: 'RequestRedirect' }> = { type, statusCode };
      if (o.scheme !== undefined) f.scheme = oneOf(`${path}.scheme`, o.scheme, ['http', 'https'] as const);
      if (o.hostname !== undefined) f.hostname = hostnameOf(`${path}.hostname`, o.hostname);
      if (o.port !== undefined) f.port = port(`${path}.port`, o.port);
      if (o.path !== undefined) f.path = pathModifier(`${path}.path`, o.path);
      return f;
    }
    case 'URLRewrite': {
      const f: Extract<RouteFilter, { type: 'URLRewrite' }> = { type };
      if (o.hostname !== undefined) f.hostname = hostnameOf(`${path}.hostname`, o.hostname);
      if (o.path !== undefined) f.path = pathModifier(`${path}.path`, o.path);
      return f;
    }
  }
}

function routeFilters(path: string, v: unknown, grpc: boolean): RouteFilter[] {
  const fs = bounded(path, arr(path, v), ROUTE_LIMITS.maxFilters).map((x, i) => routeFilter(`${path}[${i}]`, x, grpc));
  if (fs.some((f) => f.type === 'RequestRedirect') && fs.some((f) => f.type === 'URLRewrite')) throw new Invalid(path, 'RequestRedirect and URLRewrite cannot be used together');
  return fs;
}

function durationMs(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Invalid(path, `${show(v)} is not a number of milliseconds (a non-negative integer)`);
  return v;
}

function routeRule(path: string, v: unknown, grpc: boolean): RouteRule {
  const o = obj(path, v);
  const matches = bounded(`${path}.matches`, arr(`${path}.matches`, o.matches), ROUTE_LIMITS.maxMatchesPerRule).map((x, i) => routeMatch(`${path}.matches[${i}]`, x, grpc));
  if (matches.length === 0) throw new Invalid(`${path}.matches`, 'must hold at least one match');
  const filters = routeFilters(`${path}.filters`, o.filters, grpc);
  const backends = bounded(`${path}.backends`, arr(`${path}.backends`, o.backends), ROUTE_LIMITS.maxBackendsPerRule).map((x, i): RouteBackend => {
    const at = `${path}.backends[${i}]`;
    const b = obj(at, x);
    const ref = reference(at, b);
    const weight = b.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 1_000_000) throw new Invalid(`${at}.weight`, `${show(weight)} is not a weight (an integer 0..1000000)`);
    return defined({ service: ref.service, port: ref.port, weight, filters: routeFilters(`${at}.filters`, b.filters, grpc), unresolved: ref.unresolved });
  });
  const name = o.name === undefined ? undefined : dnsSubdomain(`${path}.name`, o.name);
  let timeouts: RouteTimeouts | undefined;
  if (o.timeouts !== undefined) {
    if (grpc) throw new Invalid(`${path}.timeouts`, 'must be absent in a GRPCRoute rule');
    const t = obj(`${path}.timeouts`, o.timeouts);
    timeouts = defined({
      requestMs: t.requestMs === undefined ? undefined : durationMs(`${path}.timeouts.requestMs`, t.requestMs),
      backendRequestMs: t.backendRequestMs === undefined ? undefined : durationMs(`${path}.timeouts.backendRequestMs`, t.backendRequestMs),
    });
    if (timeouts.requestMs && timeouts.backendRequestMs !== undefined && timeouts.backendRequestMs > timeouts.requestMs) {
      throw new Invalid(`${path}.timeouts.backendRequestMs`, `${timeouts.backendRequestMs} is longer than requestMs ${timeouts.requestMs}`);
    }
  }
  let retry: RouteRetry | undefined;
  if (o.retry !== undefined) {
    if (grpc) throw new Invalid(`${path}.retry`, 'must be absent in a GRPCRoute rule');
    const r = obj(`${path}.retry`, o.retry);
    const codes = bounded(`${path}.retry.codes`, arr(`${path}.retry.codes`, r.codes), TRAFFIC_POLICY_LIMITS.maxStatusCodes).map((c, i) => {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 400 || c > 599) throw new Invalid(`${path}.retry.codes[${i}]`, `${show(c)} is not a status code 400..599`);
      return c;
    });
    const attempts = r.attempts;
    if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > TRAFFIC_POLICY_LIMITS.maxRetryAttempts) throw new Invalid(`${path}.retry.attempts`, `${show(attempts)} is not a whole number 1..${TRAFFIC_POLICY_LIMITS.maxRetryAttempts}`);
    retry = defined({ codes, attempts, backoffMs: r.backoffMs === undefined ? undefined : durationMs(`${path}.retry.backoffMs`, r.backoffMs) });
  }
  return defined({ name, matches, filters, backends, timeouts, retry });
}

export function route(b: Obj): Route {
  const routeKind = oneOf('routeKind', b.routeKind, ['HTTPRoute', 'GRPCRoute'] as const);
  const name = dnsSubdomain('name', b.name);
  const namespace = dnsLabel('namespace', b.namespace);
  const key = str('key', b.key);
  if (key !== routeKey(namespace, routeKind, name)) throw new Invalid('key', `${show(key)} is not ${show(routeKey(namespace, routeKind, name))}`);
  const created = str('created', b.created);
  if (!RFC3339.test(created) || Number.isNaN(Date.parse(created))) throw new Invalid('created', `${show(created)} is not an RFC 3339 time`);
  const parents = bounded('parents', arr('parents', b.parents), ROUTE_LIMITS.maxParentRefs).map((x, i): RouteParent => {
    const o = obj(`parents[${i}]`, x);
    const p: RouteParent = { service: serviceKey(`parents[${i}].service`, o.service) };
    if (o.port !== undefined) p.port = port(`parents[${i}].port`, o.port);
    return p;
  });
  if (parents.length === 0) throw new Invalid('parents', 'must hold at least one parent Service');
  const hostnames = bounded('hostnames', arr('hostnames', b.hostnames), ROUTE_LIMITS.maxHostnames).map((x, i) => {
    const s = str(`hostnames[${i}]`, x);
    if (s.length > 253 || !ROUTE_HOSTNAME.test(s)) throw new Invalid(`hostnames[${i}]`, `${show(s)} is not a lower-case hostname (optionally "*." first)`);
    return s;
  });
  const grpc = routeKind === 'GRPCRoute';
  const rules = bounded('rules', arr('rules', b.rules), ROUTE_LIMITS.maxRules).map((x, i) => routeRule(`rules[${i}]`, x, grpc));
  distinct('rules', rules.filter((r) => r.name !== undefined), (r) => r.name!, 'rule name');
  return { key, routeKind, name, namespace, created, parents, hostnames, rules };
}
