// The field readers of the route compiler (./routes.ts): each reads one part of an
// HTTPRoute or GRPCRoute as the Gateway API defines it (matches, header and path
// modifiers, hostnames, Durations), fills in the specification's defaults, and throws a
// RouteError naming the field path, the value and the status reason when the value is
// not allowed. Pure; what a part refers to (Services, ReferenceGrants) is the compiler's.
import { routeRegexError } from '../../core/config/route-regex.js';
import type { GrpcMethodMatch, HeaderModifier, PathMatch, PathModifier, RouteMatch, ValueMatch } from '../../core/config/routes.js';
import { HTTP_FIELD_VALUE, ROUTE_LIMITS } from '../../core/config/validate.js';
import type { DurationOptions } from '../../core/duration.js';

/** The specification's reasons (apis/v1/shared_types.go). */
export const ROUTE_REASONS = Object.freeze({
  accepted: 'Accepted',
  noMatchingParent: 'NoMatchingParent',
  unsupportedValue: 'UnsupportedValue',
  incompatibleFilters: 'IncompatibleFilters',
  resolvedRefs: 'ResolvedRefs',
  refNotPermitted: 'RefNotPermitted',
  invalidKind: 'InvalidKind',
  backendNotFound: 'BackendNotFound',
});

export class RouteError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export type Obj = Record<string, unknown>;

export const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function bad(path: string, why: string, reason: string = ROUTE_REASONS.unsupportedValue): never {
  throw new RouteError(reason, `${path}: ${why}`);
}

export function object(path: string, v: unknown): Obj {
  if (!isObj(v)) bad(path, `must be an object, got ${show(v)}`);
  return v;
}

export function list(path: string, v: unknown, max: number): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(path, `must be a list, got ${show(v)}`);
  if (v.length > max) bad(path, `holds ${v.length} entries, more than the ${max} the API allows`);
  return v;
}

export function string(path: string, v: unknown, { min = 0, max = 4096 } = {}): string {
  if (typeof v !== 'string') bad(path, `must be a string, got ${show(v)}`);
  if (v.length < min) bad(path, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
  if (v.length > max) bad(path, `is longer than ${max} characters`);
  return v;
}

export function enumOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(path, `${show(v)} is not supported (one of ${allowed.join(', ')})`);
  return v as T;
}

export function integer(path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(path, `${show(v)} is not an integer in ${min}..${max}`);
  return v;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** HeaderName (shared_types.go): an RFC 7230 token. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** HTTPPathMatch's character rule for Exact and PathPrefix. */
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const GRPC_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

export function subdomain(path: string, v: unknown): string {
  const s = string(path, v, { min: 1, max: 253 });
  if (!DNS_SUBDOMAIN.test(s)) bad(path, `${show(s)} is not a DNS-1123 subdomain`);
  return s;
}

function regex(path: string, v: string): string {
  const why = routeRegexError(v);
  if (why !== undefined) bad(path, `${show(v)} is not a valid regular expression (RE2 syntax): ${why}`);
  return v;
}

/** How a Duration field (shared_types.go, GEP-2257) is read by core/duration's parseDuration:
 * in milliseconds, or a RouteError naming the field. */
export const GATEWAY_DURATION: DurationOptions = { gatewayApi: true, show, error: (path, why) => new RouteError(ROUTE_REASONS.unsupportedValue, `${path}: ${why}`) };

function pathValueProblem(v: string): string | undefined {
  if (!v.startsWith('/')) return 'must start with "/"';
  for (const s of ['//', '/./', '/../', '%2f', '%2F', '#']) if (v.includes(s)) return `must not contain ${show(s)}`;
  for (const s of ['/..', '/.']) if (v.endsWith(s)) return `must not end with ${show(s)}`;
  if (!PATH_CHARS.test(v)) return 'holds a character a path may not (RFC 3986 pchar, "/" and %-escapes)';
  return undefined;
}

function pathMatch(path: string, v: unknown): PathMatch {
  const o = v === undefined ? {} : object(path, v);
  const type = o.type === undefined ? 'PathPrefix' : enumOf(`${path}.type`, o.type, ['Exact', 'PathPrefix', 'RegularExpression'] as const);
  const value = o.value === undefined ? '/' : string(`${path}.value`, o.value, { min: 1, max: 1024 });
  if (type === 'RegularExpression') regex(`${path}.value`, value);
  else {
    const why = pathValueProblem(value);
    if (why) bad(`${path}.value`, `${show(value)} ${why}`);
  }
  return { type, value };
}

/** Header or query parameter matches; the first of two equal names wins. */
function valueMatches(path: string, v: unknown, { header, maxValue }: { header: boolean; maxValue: number }): ValueMatch[] | undefined {
  const out: ValueMatch[] = [];
  const seen = new Set<string>();
  list(path, v, ROUTE_LIMITS.maxValueMatches).forEach((x, i) => {
    const at = `${path}[${i}]`;
    const o = object(at, x);
    const type = o.type === undefined ? 'Exact' : enumOf(`${at}.type`, o.type, ['Exact', 'RegularExpression'] as const);
    let name = string(`${at}.name`, o.name, { min: 1, max: 256 });
    if (!HEADER_NAME.test(name)) bad(`${at}.name`, `${show(name)} is not a valid ${header ? 'header' : 'query parameter'} name`);
    if (header) name = name.toLowerCase();
    const value = string(`${at}.value`, o.value, { min: 1, max: maxValue });
    if (type === 'RegularExpression') regex(`${at}.value`, value);
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ type, name, value });
  });
  return out.length > 0 ? out : undefined;
}

export function httpMatch(path: string, v: unknown): RouteMatch {
  const o = object(path, v);
  const m: RouteMatch = { path: pathMatch(`${path}.path`, o.path) };
  const headers = valueMatches(`${path}.headers`, o.headers, { header: true, maxValue: 4096 });
  if (headers) m.headers = headers;
  const query = valueMatches(`${path}.queryParams`, o.queryParams, { header: false, maxValue: 1024 });
  if (query) m.queryParams = query;
  if (o.method !== undefined) m.method = enumOf(`${path}.method`, o.method, HTTP_METHODS);
  return m;
}

export function grpcMatch(path: string, v: unknown): RouteMatch {
  const o = object(path, v);
  const m: RouteMatch = {};
  if (o.method !== undefined) {
    const at = `${path}.method`;
    const mo = object(at, o.method);
    const type = mo.type === undefined ? 'Exact' : enumOf(`${at}.type`, mo.type, ['Exact', 'RegularExpression'] as const);
    const g: GrpcMethodMatch = { type };
    if (mo.service !== undefined) g.service = string(`${at}.service`, mo.service, { min: 1, max: 1024 });
    if (mo.method !== undefined) g.method = string(`${at}.method`, mo.method, { min: 1, max: 1024 });
    if (g.service === undefined && g.method === undefined) {
      if (mo.type !== undefined) bad(at, 'one or both of service and method must be set');
    } else {
      if (type === 'Exact') {
        if (g.service !== undefined && !GRPC_SERVICE.test(g.service)) bad(`${at}.service`, `${show(g.service)} is not a gRPC service name`);
        if (g.method !== undefined && !GRPC_METHOD.test(g.method)) bad(`${at}.method`, `${show(g.method)} is not a gRPC method name`);
      } else {
        if (g.service !== undefined) regex(`${at}.service`, g.service);
        if (g.method !== undefined) regex(`${at}.method`, g.method);
      }
      m.grpc = g;
    }
  }
  const headers = valueMatches(`${path}.headers`, o.headers, { header: true, maxValue: 4096 });
  if (headers) m.headers = headers;
  return m;
}

function headerList(path: string, v: unknown): Array<{ name: string; value: string }> | undefined {
  const out: Array<{ name: string; value: string }> = [];
  const seen = new Set<string>();
  list(path, v, ROUTE_LIMITS.maxValueMatches).forEach((x, i) => {
    const at = `${path}[${i}]`;
    const o = object(at, x);
    const name = string(`${at}.name`, o.name, { min: 1, max: 256 });
    if (!HEADER_NAME.test(name)) bad(`${at}.name`, `${show(name)} is not a valid header name`);
    const value = string(`${at}.value`, o.value, { min: 1, max: 4096 });
    if (!HTTP_FIELD_VALUE.test(value)) bad(`${at}.value`, `${show(value)} is not an HTTP field value (RFC 9110: tab, space, visible ASCII, bytes 0x80-0xff)`);
    const lower = name.toLowerCase();
    if (seen.has(lower)) return; // "Subsequent entries with an equivalent header name MUST be ignored"
    seen.add(lower);
    out.push({ name: lower, value });
  });
  return out.length > 0 ? out : undefined;
}

export function headerModifier(path: string, v: unknown): HeaderModifier {
  const o = object(path, v);
  const m: HeaderModifier = {};
  const set = headerList(`${path}.set`, o.set);
  if (set) m.set = set;
  const add = headerList(`${path}.add`, o.add);
  if (add) m.add = add;
  const remove = list(`${path}.remove`, o.remove, ROUTE_LIMITS.maxValueMatches).map((x, i) => {
    const name = string(`${path}.remove[${i}]`, x, { min: 1, max: 256 });
    if (!HEADER_NAME.test(name)) bad(`${path}.remove[${i}]`, `${show(name)} is not a valid header name`);
    return name.toLowerCase();
  });
  if (remove.length > 0) m.remove = [...new Set(remove)];
  return m;
}

export function pathModifier(path: string, v: unknown): PathModifier {
  const o = object(path, v);
  const type = enumOf(`${path}.type`, o.type, ['ReplaceFullPath', 'ReplacePrefixMatch'] as const);
  const field = type === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch';
  const other = type === 'ReplaceFullPath' ? 'replacePrefixMatch' : 'replaceFullPath';
  if (o[other] !== undefined) bad(`${path}.${other}`, `must not be set when type is ${type}`);
  if (o[field] === undefined) bad(`${path}.${field}`, `is required when type is ${type}`);
  const value = string(`${path}.${field}`, o[field], { max: 1024 });
  if (type === 'ReplaceFullPath' || value !== '') {
    const why = pathValueProblem(value);
    if (why) bad(`${path}.${field}`, `${show(value)} ${why}`);
  }
  return { type, value };
}

export function preciseHostname(path: string, v: unknown): string {
  const s = string(path, v, { min: 1, max: 253 }).toLowerCase();
  if (!DNS_SUBDOMAIN.test(s)) bad(path, `${show(v)} is not a hostname (RFC 1123, no wildcard)`);
  return s;
}
