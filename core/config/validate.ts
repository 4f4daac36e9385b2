// Strict validation of one resource as received over the wire (DESIGN.md "Configuration
// model": a resource that fails validation is rejected alone and reported). A node agent
// or waypoint runs every received resource through `validateResource` before it touches
// its state, and NACKs the ones that fail with the message, which names the field:
//   Workload 1234: ips[1]: "10.0.0.x" is not an IP address
//
// The result is a fresh copy holding only the model's fields. Unknown fields are dropped,
// not rejected, as protobuf readers do: a controller newer than its agents (mid-upgrade)
// may add a field, and NACKing every resource for it would stop the whole mesh.
import { ROUTE_REGEX_MAX_PROGRAM_SIZE, routeRegexError } from './route-regex.js';
import { isIP } from 'node:net';
import { parseSpiffeId } from '../identity/spiffe.js';
import type { Endpoint, MeshService, Policy, PolicyOperation, PolicyRule, PolicySource, PolicyTargetRef, Resource, ResourceKind, ServicePort, WaypointRef, Workload } from './model.js';
import { REQUEST_AUTHN_COMPILE_LIMITS, type JwtRule, type RequestAuthn } from './request-authn.js';
import { validateTrafficPolicyBody } from './traffic-policy-validate.js';
import { routeKey, type HeaderModifier, type HeaderValue, type MirrorTarget, type PathModifier, type Route, type RouteBackend, type RouteFilter, type RouteMatch, type RouteParent, type RouteRetry, type RouteRule, type RouteTimeouts, type ValueMatch } from './routes.js';
import { TRAFFIC_POLICY_LIMITS } from './traffic-policy-compile.js';

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

export type ValidationResult = { ok: true; resource: Resource } | { ok: false; error: string };

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Keys and identifiers: printable, no whitespace (they appear in logs and dumps). */
const TOKEN = /^[\x21-\x7e]+$/;
const MAX_KEY = 512;

class Invalid extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = typeof v === 'bigint' ? `${v}n` : Object.prototype.toString.call(v); // BigInt, cycles
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

type Obj = Record<string, unknown>;

function obj(path: string, v: unknown): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Invalid(path, `must be an object, got ${show(v)}`);
  return v as Obj;
}

function arr(path: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Invalid(path, `must be an array, got ${show(v)}`);
  return v;
}

function str(path: string, v: unknown): string {
  if (typeof v !== 'string') throw new Invalid(path, `must be a string, got ${show(v)}`);
  return v;
}

function nonEmpty(path: string, v: unknown): string {
  const s = str(path, v);
  if (s === '') throw new Invalid(path, 'must not be empty');
  return s;
}

function token(path: string, v: unknown): string {
  const s = nonEmpty(path, v);
  if (s.length > MAX_KEY || !TOKEN.test(s)) throw new Invalid(path, `${show(s)} must be 1-${MAX_KEY} printable characters without spaces`);
  return s;
}

function bool(path: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Invalid(path, `must be true or false, got ${show(v)}`);
  return v;
}

function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Invalid(path, `${show(v)} is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

function port(path: string, v: unknown, { allowZero = false } = {}): number {
  const min = allowZero ? 0 : 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) {
    throw new Invalid(path, `${show(v)} is not a port number (${min}..65535)`);
  }
  return v;
}

function ip(path: string, v: unknown): string {
  // isIP accepts an IPv6 zone ("fe80::1%eth0"); a zone means nothing off the node that
  // wrote it, so it is not a pod or service address.
  if (typeof v !== 'string' || isIP(v) === 0 || v.includes('%')) throw new Invalid(path, `${show(v)} is not an IP address`);
  return v;
}

function cidrOrIp(path: string, v: unknown): string {
  const s = str(path, v);
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const family = addr.includes('%') ? 0 : isIP(addr);
  const bits = slash < 0 ? undefined : s.slice(slash + 1);
  const max = family === 6 ? 128 : 32;
  if (family === 0 || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
    throw new Invalid(path, `${show(s)} is not an IP address or CIDR block`);
  }
  return s;
}

function dnsLabel(path: string, v: unknown): string {
  const s = str(path, v);
  if (s.length > 63 || !DNS1123_LABEL.test(s)) throw new Invalid(path, `${show(s)} is not a DNS-1123 label`);
  return s;
}

function dnsSubdomain(path: string, v: unknown): string {
  const s = str(path, v);
  if (s.length > 253 || !DNS1123_SUBDOMAIN.test(s)) throw new Invalid(path, `${show(s)} is not a DNS-1123 subdomain`);
  return s;
}

function stringMap(path: string, v: unknown): Record<string, string> {
  const o = obj(path, v);
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, str(`${path}[${show(k)}]`, val)]));
}

function stringList(path: string, v: unknown): string[] {
  return arr(path, v).map((x, i) => str(`${path}[${i}]`, x));
}

function distinct<T>(path: string, items: readonly T[], keyOf: (t: T) => string, what: string): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    const first = seen.get(k);
    if (first !== undefined) throw new Invalid(`${path}[${i}]`, `duplicate ${what} ${show(k)} (also at ${path}[${first}])`);
    seen.set(k, i);
  });
}

/** Copies the optional field when present (undefined counts as absent, as in JSON). */
function optional<T>(o: Obj, field: string, parse: (path: string, v: unknown) => T): T | undefined {
  return o[field] === undefined ? undefined : parse(field, o[field]);
}

function waypointRef(path: string, v: unknown): WaypointRef {
  const o = obj(path, v);
  const service = token(`${path}.service`, o.service);
  if (!service.includes('/')) throw new Invalid(`${path}.service`, `${show(service)} is not a Service key <namespace>/<hostname>`);
  return { service, port: port(`${path}.port`, o.port) };
}

function workload(b: Obj): Workload {
  const uid = token('uid', b.uid);
  const namespace = dnsLabel('namespace', b.namespace);
  const serviceAccount = dnsSubdomain('serviceAccount', b.serviceAccount);
  const identity = str('identity', b.identity);
  let id;
  try {
    id = parseSpiffeId(identity);
  } catch (err) {
    throw new Invalid('identity', (err as Error).message);
  }
  if (id.namespace !== namespace || id.serviceAccount !== serviceAccount) {
    throw new Invalid('identity', `${show(identity)} does not match namespace ${show(namespace)} and serviceAccount ${show(serviceAccount)}`);
  }
  const ips = arr('ips', b.ips).map((x, i) => ip(`ips[${i}]`, x));
  if (ips.length === 0) throw new Invalid('ips', 'must hold at least one address');
  distinct('ips', ips, (x) => x, 'address');
  const protocol = oneOf('protocol', b.protocol, ['HBONE', 'TCP'] as const);
  const hostNetwork = optional(b, 'hostNetwork', bool);
  if (hostNetwork && protocol === 'HBONE') throw new Invalid('protocol', 'a host-network workload is never enrolled, so it cannot be HBONE');
  const w: Workload = {
    uid,
    name: dnsSubdomain('name', b.name),
    namespace,
    serviceAccount,
    identity,
    node: dnsSubdomain('node', b.node),
    ips,
    protocol,
    labels: stringMap('labels', b.labels),
    canonicalName: nonEmpty('canonicalName', b.canonicalName),
    canonicalRevision: nonEmpty('canonicalRevision', b.canonicalRevision),
    mtlsMode: oneOf('mtlsMode', b.mtlsMode, ['STRICT', 'PERMISSIVE'] as const),
    healthy: bool('healthy', b.healthy),
  };
  if (hostNetwork !== undefined) w.hostNetwork = hostNetwork;
  const mtlsPorts = optional(b, 'mtlsPorts', (path, v) => portModes(path, v, w.mtlsMode));
  if (mtlsPorts && Object.keys(mtlsPorts).length > 0) w.mtlsPorts = mtlsPorts;
  const wp = optional(b, 'waypoint', waypointRef);
  if (wp) w.waypoint = wp;
  return w;
}

/** Workload.mtlsPorts: decimal port (1-65535, no leading zero) -> STRICT | PERMISSIVE. An
 * entry equal to the workload's mtlsMode says nothing and is left out of the copy, so that
 * two spellings of one configuration compare equal. */
function portModes(path: string, v: unknown, mode: Workload['mtlsMode']): Record<string, Workload['mtlsMode']> {
  const o = obj(path, v);
  const out: Record<string, Workload['mtlsMode']> = {};
  for (const [k, val] of Object.entries(o)) {
    const at = `${path}[${show(k)}]`;
    if (!/^[1-9][0-9]{0,4}$/.test(k) || Number(k) > 65535) throw new Invalid(at, `${show(k)} is not a port number (1-65535, decimal)`);
    const m = oneOf(at, val, ['STRICT', 'PERMISSIVE'] as const);
    if (m !== mode) out[k] = m;
  }
  return out;
}

function servicePort(path: string, v: unknown): ServicePort {
  const o = obj(path, v);
  const p: ServicePort = {
    port: port(`${path}.port`, o.port),
    targetPort: port(`${path}.targetPort`, o.targetPort, { allowZero: true }),
    protocol: oneOf(`${path}.protocol`, o.protocol, ['TCP', 'UDP'] as const),
  };
  if (o.name !== undefined) p.name = dnsLabel(`${path}.name`, o.name);
  if (o.appProtocol !== undefined) p.appProtocol = nonEmpty(`${path}.appProtocol`, o.appProtocol);
  return p;
}

function endpoint(path: string, v: unknown, namedTcpPorts: ReadonlySet<string>): Endpoint {
  const o = obj(path, v);
  const portsObj = obj(`${path}.ports`, o.ports);
  const ports = Object.fromEntries(
    Object.entries(portsObj).map(([k, val]) => {
      const at = `${path}.ports[${show(k)}]`;
      if (!namedTcpPorts.has(k)) throw new Invalid(at, 'is not a TCP service port with a named targetPort (targetPort 0)');
      return [k, port(at, val)];
    }),
  );
  return { workloadUid: token(`${path}.workloadUid`, o.workloadUid), ports, healthy: bool(`${path}.healthy`, o.healthy) };
}

function service(b: Obj): MeshService {
  const name = dnsLabel('name', b.name);
  const namespace = dnsLabel('namespace', b.namespace);
  const hostname = dnsSubdomain('hostname', b.hostname);
  const prefix = `${name}.${namespace}.svc.`;
  if (!hostname.startsWith(prefix) || hostname.length === prefix.length) {
    throw new Invalid('hostname', `${show(hostname)} is not ${prefix}<cluster domain>`);
  }
  const key = str('key', b.key);
  if (key !== `${namespace}/${hostname}`) throw new Invalid('key', `${show(key)} is not ${show(`${namespace}/${hostname}`)}`);
  const vips = arr('vips', b.vips).map((x, i) => ip(`vips[${i}]`, x));
  distinct('vips', vips, (x) => x, 'address');
  const ports = arr('ports', b.ports).map((x, i) => servicePort(`ports[${i}]`, x));
  distinct('ports', ports, (p) => `${p.port}/${p.protocol}`, 'port');
  const namedTcp = new Set(ports.filter((p) => p.targetPort === 0 && p.protocol === 'TCP').map((p) => String(p.port)));
  const endpoints = arr('endpoints', b.endpoints).map((x, i) => endpoint(`endpoints[${i}]`, x, namedTcp));
  distinct('endpoints', endpoints, (e) => e.workloadUid, 'workloadUid');
  const s: MeshService = { key, name, namespace, hostname, vips, ports, endpoints };
  const wp = optional(b, 'waypoint', waypointRef);
  if (wp) s.waypoint = wp;
  return s;
}

function optionalList<T>(o: Obj, path: string, field: string, each: (path: string, v: unknown) => T): T[] | undefined {
  if (o[field] === undefined) return undefined;
  return arr(`${path}.${field}`, o[field]).map((x, i) => each(`${path}.${field}[${i}]`, x));
}

/** Keeps only the fields that are present, so that the copy has no `undefined` members. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const SOURCE_STRING_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts'] as const;
const SOURCE_CIDR_FIELDS = ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;
const OPERATION_STRING_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

function rule(path: string, v: unknown): PolicyRule {
  const o = obj(path, v);
  const from = arr(`${path}.from`, o.from).map((x, i): PolicySource => {
    const p = `${path}.from[${i}]`;
    const f = obj(p, x);
    const out: PolicySource = {};
    for (const k of SOURCE_STRING_FIELDS) {
      const list = optionalList(f, p, k, nonEmpty);
      if (list) out[k] = list;
    }
    for (const k of SOURCE_CIDR_FIELDS) {
      const list = optionalList(f, p, k, cidrOrIp);
      if (list) out[k] = list;
    }
    return out;
  });
  const to = arr(`${path}.to`, o.to).map((x, i): PolicyOperation => {
    const p = `${path}.to[${i}]`;
    const t = obj(p, x);
    const out: PolicyOperation = {};
    // 0..65535 as Istio's validation allows (a port 0 matches no connection).
    const ports = optionalList(t, p, 'ports', (q, n) => port(q, n, { allowZero: true }));
    if (ports) out.ports = ports;
    const notPorts = optionalList(t, p, 'notPorts', (q, n) => port(q, n, { allowZero: true }));
    if (notPorts) out.notPorts = notPorts;
    for (const k of OPERATION_STRING_FIELDS) {
      const list = optionalList(t, p, k, nonEmpty);
      if (list) out[k] = list;
    }
    return out;
  });
  const when = arr(`${path}.when`, o.when).map((x, i) => {
    const p = `${path}.when[${i}]`;
    const c = obj(p, x);
    return defined({
      key: nonEmpty(`${p}.key`, c.key),
      values: c.values === undefined ? undefined : stringList(`${p}.values`, c.values),
      notValues: c.notValues === undefined ? undefined : stringList(`${p}.notValues`, c.notValues),
    });
  });
  return { from, to, when };
}

function targetRef(path: string, v: unknown): PolicyTargetRef {
  const o = obj(path, v);
  const kind = oneOf(`${path}.kind`, o.kind, ['Service', 'Gateway'] as const);
  const group = str(`${path}.group`, o.group);
  const want = kind === 'Service' ? '' : 'gateway.networking.k8s.io';
  if (group !== want) throw new Invalid(`${path}.group`, `${show(group)} is not ${show(want)} (the group of a ${kind})`);
  return { group, kind, name: dnsSubdomain(`${path}.name`, o.name) };
}

function policy(b: Obj): Policy {
  const name = dnsSubdomain('name', b.name);
  const namespace = dnsLabel('namespace', b.namespace);
  const key = str('key', b.key);
  if (key !== `${namespace}/${name}`) throw new Invalid('key', `${show(key)} is not ${show(`${namespace}/${name}`)}`);
  const scope = oneOf('scope', b.scope, ['global', 'namespace', 'targets'] as const);
  const selector = optional(b, 'selector', stringMap);
  const targetRefs = optional(b, 'targetRefs', (p, v) => arr(p, v).map((x, i) => targetRef(`${p}[${i}]`, x)));
  if (scope === 'targets') {
    if (selector !== undefined) throw new Invalid('selector', 'must be absent when scope is targets');
    if (targetRefs === undefined || targetRefs.length === 0) throw new Invalid('targetRefs', 'is required (non-empty) when scope is targets');
  } else if (targetRefs !== undefined) {
    throw new Invalid('targetRefs', `must be absent when scope is ${scope}`);
  }
  const p: Policy = {
    key,
    name,
    namespace,
    scope,
    action: oneOf('action', b.action, ['ALLOW', 'DENY', 'AUDIT'] as const),
    rules: arr('rules', b.rules).map((x, i) => rule(`rules[${i}]`, x)),
  };
  if (selector !== undefined) p.selector = selector;
  if (targetRefs !== undefined) p.targetRefs = targetRefs;
  if (b.dryRun !== undefined && bool('dryRun', b.dryRun)) p.dryRun = true;
  if (b.rejected !== undefined) p.rejected = nonEmpty('rejected', b.rejected);
  return p;
}


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

function bounded<T>(path: string, items: T[], max: number): T[] {
  if (items.length > max) throw new Invalid(path, `holds ${items.length} entries, more than ${max}`);
  return items;
}

function capped(path: string, v: unknown, max: number, { empty = false } = {}): string {
  const s = empty ? str(path, v) : nonEmpty(path, v);
  if (s.length > max) throw new Invalid(path, `is longer than ${max} characters`);
  return s;
}

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

function route(b: Obj): Route {
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

const JWT_HEADER_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;

function authnString(path: string, v: unknown): string {
  return capped(path, v, REQUEST_AUTHN_COMPILE_LIMITS.maxValueChars);
}

function authnList<T>(path: string, v: unknown, each: (path: string, v: unknown) => T, max: number = REQUEST_AUTHN_COMPILE_LIMITS.maxListItems): T[] {
  return bounded(path, arr(path, v), max).map((x, i) => each(`${path}[${i}]`, x));
}

function jwtHeaderName(path: string, v: unknown): string {
  const s = nonEmpty(path, v);
  if (!JWT_HEADER_NAME.test(s)) throw new Invalid(path, `${show(s)} is not a lower-case HTTP header name`);
  return s;
}

function httpUri(path: string, v: unknown): string {
  const s = authnString(path, v);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Invalid(path, `${show(s)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Invalid(path, `${show(s)} is not an http(s) URL`);
  return s;
}

function jwtRule(path: string, v: unknown): JwtRule {
  const o = obj(path, v);
  const r: JwtRule = {
    issuer: authnString(`${path}.issuer`, o.issuer),
    audiences: authnList(`${path}.audiences`, o.audiences, authnString),
    fromHeaders: authnList(`${path}.fromHeaders`, o.fromHeaders, (p, x) => {
      const h = obj(p, x);
      return { name: jwtHeaderName(`${p}.name`, h.name), prefix: capped(`${p}.prefix`, h.prefix, REQUEST_AUTHN_COMPILE_LIMITS.maxValueChars, { empty: true }) };
    }),
    fromParams: authnList(`${path}.fromParams`, o.fromParams, authnString),
    fromCookies: authnList(`${path}.fromCookies`, o.fromCookies, authnString),
    defaultLocations: bool(`${path}.defaultLocations`, o.defaultLocations),
    forwardOriginalToken: bool(`${path}.forwardOriginalToken`, o.forwardOriginalToken),
    outputClaimToHeaders: authnList(`${path}.outputClaimToHeaders`, o.outputClaimToHeaders, (p, x) => {
      const h = obj(p, x);
      return { header: jwtHeaderName(`${p}.header`, h.header), claim: authnString(`${p}.claim`, h.claim) };
    }),
  };
  if (o.jwks !== undefined) {
    const j = obj(`${path}.jwks`, o.jwks);
    const keys = bounded(`${path}.jwks.keys`, arr(`${path}.jwks.keys`, j.keys), REQUEST_AUTHN_COMPILE_LIMITS.maxInlineJwksKeys).map((k, i) => obj(`${path}.jwks.keys[${i}]`, k));
    r.jwks = { keys };
  }
  if (o.jwksUri !== undefined) r.jwksUri = httpUri(`${path}.jwksUri`, o.jwksUri);
  if (r.jwks === undefined && r.jwksUri === undefined) throw new Invalid(path, 'sets neither jwks nor jwksUri');
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== 'number' || !Number.isInteger(o.timeoutMs) || o.timeoutMs <= 0) throw new Invalid(`${path}.timeoutMs`, `${show(o.timeoutMs)} is not a positive whole number of ms`);
    r.timeoutMs = o.timeoutMs;
  }
  if (o.outputPayloadToHeader !== undefined) r.outputPayloadToHeader = jwtHeaderName(`${path}.outputPayloadToHeader`, o.outputPayloadToHeader);
  // The compiler fills Istio's default locations in when none is given: never empty here.
  if (r.fromHeaders.length === 0 && r.fromParams.length === 0 && r.fromCookies.length === 0) throw new Invalid(path, 'names no token location (fromHeaders, fromParams, fromCookies)');
  return r;
}

function requestAuthn(b: Obj): RequestAuthn {
  const name = dnsSubdomain('name', b.name);
  const namespace = dnsLabel('namespace', b.namespace);
  const key = str('key', b.key);
  if (key !== `${namespace}/${name}`) throw new Invalid('key', `${show(key)} is not ${show(`${namespace}/${name}`)}`);
  const scope = oneOf('scope', b.scope, ['targets', 'workloads'] as const);
  const r: RequestAuthn = { key, name, namespace, scope, rules: authnList('rules', b.rules, jwtRule, REQUEST_AUTHN_COMPILE_LIMITS.maxJwtRules) };
  if (b.selector !== undefined) r.selector = stringMap('selector', b.selector);
  if (b.targetRefs !== undefined) r.targetRefs = authnList('targetRefs', b.targetRefs, targetRef, REQUEST_AUTHN_COMPILE_LIMITS.maxTargetRefs);
  if (scope === 'targets' && (r.targetRefs === undefined || r.targetRefs.length === 0)) throw new Invalid('targetRefs', 'must name at least one target when scope is "targets"');
  if (scope === 'workloads' && r.targetRefs !== undefined) throw new Invalid('targetRefs', 'must be absent when scope is "workloads"');
  return r;
}

const KINDS: readonly ResourceKind[] = ['Workload', 'Service', 'Policy', 'Route', 'RequestAuthn', 'TrafficPolicy'];

/** Validates one resource from the wire; on success returns a clean copy of it. */
export function validateResource(r: unknown): ValidationResult {
  const kind = r !== null && typeof r === 'object' ? (r as Obj).kind : undefined;
  const key = r !== null && typeof r === 'object' ? (r as Obj).key : undefined;
  const name = `${typeof kind === 'string' && KINDS.includes(kind as ResourceKind) ? kind : 'resource'} ${typeof key === 'string' && key !== '' ? key : '<no key>'}`;
  try {
    const o = obj('resource', r);
    const k = oneOf('kind', o.kind, KINDS);
    const resourceKeyValue = token('key', o.key);
    const body = obj('body', o.body);
    const parsed = k === 'Workload' ? workload(body) : k === 'Service' ? service(body) : k === 'Route' ? route(body) : k === 'RequestAuthn' ? requestAuthn(body) : k === 'TrafficPolicy' ? validateTrafficPolicyBody(body, (p, why) => {
            throw new Invalid(p, why);
          }) : policy(body);
    const bodyKey = k === 'Workload' ? (parsed as Workload).uid : (parsed as { key: string }).key;
    if (bodyKey !== resourceKeyValue) {
      throw new Invalid('key', `${show(resourceKeyValue)} does not match the body's ${k === 'Workload' ? 'uid' : 'key'} ${show(bodyKey)}`);
    }
    return { ok: true, resource: { kind: k, key: resourceKeyValue, body: parsed } as Resource };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: `${name}: ${err.path}: ${err.why}` };
    throw err;
  }
}
