// RequestAuthentication.ambient.dev/v1: Istio's security.istio.io/v1 RequestAuthentication
// (https://istio.io/latest/docs/reference/config/security/request_authentication/), field
// for field, compiled into the resource a waypoint consumes (`RequestAuthn`). Pure: the
// object in, the resource or the first fault out, naming the field path and the value
// (`spec.jwtRules[0].jwksUri: "ftp://x" is not an http(s) URL`).
//
// What applies where: a RequestAuthentication with `targetRefs` (a Service, or the
// waypoint's Gateway, in the policy's own namespace) is enforced by the waypoint of its
// targets, exactly as an AuthorizationPolicy with targetRefs (waypoint/http/authn.ts). One
// with a `selector` (or none) names workloads; a node agent sees no HTTP and cannot validate
// a JWT, so it is compiled and reported ("not enforced: attach it with targetRefs").
//
// Semantics kept from Istio's reference:
//   - `issuer` is required; a token is validated by the rules whose issuer equals its `iss`;
//   - `audiences` (optional): the token's `aud` must hold one of them;
//   - `jwks` (inline JSON Web Key Set, a string) wins over `jwksUri` when both are set; one
//     of the two is required here (Istio's OpenID discovery from the issuer is not
//     supported: docs/authorization.md);
//   - locations: `fromHeaders` [{name, prefix}], `fromParams`, `fromCookies`; none set means
//     Istio's defaults: `Authorization: Bearer <token>`, then the `access_token` parameter;
//   - `outputPayloadToHeader`, `forwardOriginalToken` (default false: the token is removed
//     after it is validated), `outputClaimToHeaders` [{header, claim}];
//   - `timeout`: the jwksUri fetch's timeout (a duration such as "5s").
import type { PolicyTargetRef } from './model.js';
import { absent, DNS1123_SUBDOMAIN, fault, FieldFault, fieldReader, HEADER_NAME, isObj } from './object-fields.js';

/** One `jwtRules[]` entry, compiled. */
export interface JwtRule {
  issuer: string;
  /** Empty: the audience is not checked. */
  audiences: string[];
  /** The inline key set (`jwks`), parsed. When set, `jwksUri` is ignored. */
  jwks?: { keys: Array<Record<string, unknown>> };
  /** http(s) URL of the key set. */
  jwksUri?: string;
  /** `timeout` for fetching jwksUri, in ms. */
  timeoutMs?: number;
  /** Header names lower-case; `prefix` is '' when none. */
  fromHeaders: Array<{ name: string; prefix: string }>;
  fromParams: string[];
  fromCookies: string[];
  /** True when no location was given: Istio's defaults were filled in (the Bearer prefix
   * of the Authorization header then matches case-insensitively, RFC 7235). */
  defaultLocations: boolean;
  /** Lower-case header name. */
  outputPayloadToHeader?: string;
  forwardOriginalToken: boolean;
  /** Header names lower-case; `claim` may name a nested claim with dots (`a.b`). */
  outputClaimToHeaders: Array<{ header: string; claim: string }>;
}

/** A compiled RequestAuthentication: the resource waypoints receive. */
export interface RequestAuthn {
  /** `<namespace>/<name>`: the resource key. */
  key: string;
  name: string;
  namespace: string;
  /** 'targets': attached with targetRefs, enforced by their waypoints; 'workloads': a selector
   * (or none), which only a proxy that sees HTTP could enforce: no waypoint evaluates it. */
  scope: 'targets' | 'workloads';
  selector?: Record<string, string>;
  targetRefs?: PolicyTargetRef[];
  rules: JwtRule[];
}

/** Bounds the compiler enforces on one object (docs/configuration.md). */
export const REQUEST_AUTHN_COMPILE_LIMITS = Object.freeze({
  /** `jwtRules` entries. */
  maxJwtRules: 64,
  /** `targetRefs` entries (as AuthorizationPolicy's). */
  maxTargetRefs: 16,
  /** Characters of an inline `jwks`. */
  maxInlineJwksChars: 64 * 1024,
  /** Keys in an inline `jwks`. */
  maxInlineJwksKeys: 64,
  /** Entries of one list (audiences, fromHeaders, fromParams, fromCookies, outputClaimToHeaders). */
  maxListItems: 64,
  /** Characters of one string value (issuer, URI, audience, names). */
  maxValueChars: 2048,
  /** Characters of a value quoted in a message. */
  maxShownChars: 120,
});

export const DEFAULT_JWT_HEADER = { name: 'authorization', prefix: 'Bearer ' } as const;
export const DEFAULT_JWT_PARAM = 'access_token';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** Headers a rule may not write: the request's own framing and routing. */
const RESERVED_OUTPUT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'keep-alive', 'proxy-connection', 'authorization']);

export type RequestAuthnResult = { ok: true; resource: RequestAuthn; warnings: string[] } | { ok: false; message: string };

// The field readers shared with the other compilers (./object-fields.ts), bounded by this one's limits.
const { show, obj, unknownFields, list, str, headerName, durationMs } = fieldReader(REQUEST_AUTHN_COMPILE_LIMITS);

function outputHeader(path: string, v: unknown): string {
  const h = headerName(path, v);
  if (RESERVED_OUTPUT_HEADERS.has(h) || h.startsWith(':')) throw fault(path, `${show(h)} is a header the waypoint does not let a rule overwrite`);
  return h;
}

/** The IPv4 address an IPv4 or IPv4-mapped IPv6 literal stands for, else undefined. */
function ipv4Of(ip: string): number[] | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) return v4.slice(1).map(Number);
  const mapped = /^(?:0{0,4}:){5}ffff:(.+)$/i.exec(ip) ?? /^::ffff:(.+)$/i.exec(ip);
  if (!mapped) return undefined;
  const tail = mapped[1]!;
  if (tail.includes('.')) return ipv4Of(tail);
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(tail);
  if (!hex) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255];
}

/** Whether a key set may never be fetched from `ip` (a literal, IPv6 without brackets):
 * loopback (127/8, ::1), link-local (169.254/16, where cloud metadata answers; fe80::/10),
 * unspecified (0.0.0.0/8, ::), and the IPv4-mapped forms of those. Such a jwksUri would
 * let whoever writes a RequestAuthentication make the waypoint probe its own pod's ports or
 * the node's metadata endpoint. Shared with the waypoint's fetch (waypoint/http/jwks.ts),
 * which checks the address a name resolves to. */
export function jwksAddressRefused(ip: string): boolean {
  const a = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
  const v4 = ipv4Of(a);
  if (v4) return v4[0] === 127 || v4[0] === 0 || (v4[0] === 169 && v4[1] === 254);
  if (!a.includes(':')) return false;
  // Expand the IPv6 literal to its eight groups.
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return false;
  const n = groups.map((g) => parseInt(g, 16));
  if (n.every((x) => x === 0)) return true; // ::
  if (n.slice(0, 7).every((x) => x === 0) && n[7] === 1) return true; // ::1
  return (n[0]! & 0xffc0) === 0xfe80; // fe80::/10
}

/** Whether a URL host is a name that means this machine (`localhost`, `*.localhost`, RFC 6761). */
function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

function httpUrl(path: string, v: unknown): string {
  const s = str(path, v);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw fault(path, `${show(s)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw fault(path, `${show(s)} is not an http(s) URL`);
  if (u.username !== '' || u.password !== '') throw fault(path, `${show(s)} holds credentials; a key set is public`);
  if (isLocalhostName(u.hostname) || jwksAddressRefused(u.hostname)) {
    throw fault(path, `${show(s)} is a loopback, link-local or unspecified address; a key set is never fetched from the waypoint's own host or the node's metadata endpoint`);
  }
  return u.toString();
}

function compileJwks(path: string, v: unknown): { keys: Array<Record<string, unknown>> } {
  const s = str(path, v);
  if (s.length > REQUEST_AUTHN_COMPILE_LIMITS.maxInlineJwksChars) throw fault(path, `is longer than ${REQUEST_AUTHN_COMPILE_LIMITS.maxInlineJwksChars} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (err) {
    throw fault(path, `is not JSON (${(err as Error).message})`);
  }
  if (!isObj(parsed) || !Array.isArray(parsed['keys'])) throw fault(path, 'is not a JSON Web Key Set (an object with a "keys" list, RFC 7517 section 5)');
  const keys = parsed['keys'];
  if (keys.length === 0) throw fault(path, 'has no keys');
  if (keys.length > REQUEST_AUTHN_COMPILE_LIMITS.maxInlineJwksKeys) throw fault(path, `has ${keys.length} keys, more than ${REQUEST_AUTHN_COMPILE_LIMITS.maxInlineJwksKeys}`);
  keys.forEach((k, i) => {
    if (!isObj(k) || typeof k['kty'] !== 'string') throw fault(`${path}.keys[${i}]`, 'is not a JSON Web Key (no "kty")');
    if (k['d'] !== undefined) throw fault(`${path}.keys[${i}]`, 'holds a private key ("d"): publish only public keys');
  });
  return { keys: keys as Array<Record<string, unknown>> };
}

function compileRule(path: string, v: unknown, warnings: string[]): JwtRule {
  const o = obj(path, v);
  unknownFields(path, o, ['issuer', 'audiences', 'jwks', 'jwksUri', 'jwks_uri', 'fromHeaders', 'fromParams', 'fromCookies', 'outputPayloadToHeader', 'forwardOriginalToken', 'outputClaimToHeaders', 'timeout']);
  const issuer = str(`${path}.issuer`, o['issuer']);
  const audiences = list(`${path}.audiences`, o['audiences']).map((a, i) => str(`${path}.audiences[${i}]`, a));
  const rule: JwtRule = { issuer, audiences, fromHeaders: [], fromParams: [], fromCookies: [], defaultLocations: false, forwardOriginalToken: false, outputClaimToHeaders: [] };
  const uriField = absent(o['jwksUri']) ? (absent(o['jwks_uri']) ? undefined : 'jwks_uri') : 'jwksUri';
  if (!absent(o['jwks'])) {
    rule.jwks = compileJwks(`${path}.jwks`, o['jwks']);
    if (uriField) warnings.push(`${path}: jwks and ${uriField} are both set; jwks is used (as Istio does)`);
  } else if (uriField) {
    rule.jwksUri = httpUrl(`${path}.${uriField}`, o[uriField]);
    if (rule.jwksUri.startsWith('http:')) warnings.push(`${path}.${uriField}: fetched over plain http; anyone on the path can replace the keys (use https)`);
  } else {
    throw fault(path, 'sets neither jwks nor jwksUri: the waypoint needs the issuer\'s keys (OpenID discovery from the issuer is not supported)');
  }
  if (!absent(o['timeout'])) rule.timeoutMs = durationMs(`${path}.timeout`, o['timeout'], 1, 3_600_000);
  rule.fromHeaders = list(`${path}.fromHeaders`, o['fromHeaders']).map((h, i) => {
    const hp = `${path}.fromHeaders[${i}]`;
    const ho = obj(hp, h);
    unknownFields(hp, ho, ['name', 'prefix']);
    const prefix = absent(ho['prefix']) ? '' : ho['prefix'];
    if (typeof prefix !== 'string') throw fault(`${hp}.prefix`, `${show(prefix)} is not a string`);
    return { name: headerName(`${hp}.name`, ho['name']), prefix };
  });
  rule.fromParams = list(`${path}.fromParams`, o['fromParams']).map((p, i) => str(`${path}.fromParams[${i}]`, p));
  rule.fromCookies = list(`${path}.fromCookies`, o['fromCookies']).map((c, i) => {
    const s = str(`${path}.fromCookies[${i}]`, c);
    if (!HEADER_NAME.test(s)) throw fault(`${path}.fromCookies[${i}]`, `${show(s)} is not a cookie name`);
    return s;
  });
  if (rule.fromHeaders.length + rule.fromParams.length + rule.fromCookies.length === 0) {
    rule.defaultLocations = true;
    rule.fromHeaders = [{ ...DEFAULT_JWT_HEADER }];
    rule.fromParams = [DEFAULT_JWT_PARAM];
  }
  if (!absent(o['outputPayloadToHeader'])) rule.outputPayloadToHeader = outputHeader(`${path}.outputPayloadToHeader`, o['outputPayloadToHeader']);
  if (!absent(o['forwardOriginalToken'])) {
    if (typeof o['forwardOriginalToken'] !== 'boolean') throw fault(`${path}.forwardOriginalToken`, `${show(o['forwardOriginalToken'])} is not true or false`);
    rule.forwardOriginalToken = o['forwardOriginalToken'];
  }
  rule.outputClaimToHeaders = list(`${path}.outputClaimToHeaders`, o['outputClaimToHeaders']).map((c, i) => {
    const cp = `${path}.outputClaimToHeaders[${i}]`;
    const co = obj(cp, c);
    unknownFields(cp, co, ['header', 'claim']);
    return { header: outputHeader(`${cp}.header`, co['header']), claim: str(`${cp}.claim`, co['claim']) };
  });
  return rule;
}

function compileTargetRef(path: string, v: unknown, namespace: string): PolicyTargetRef {
  const o = obj(path, v);
  unknownFields(path, o, ['group', 'kind', 'name', 'namespace']);
  const kind = o['kind'];
  if (kind !== 'Service' && kind !== 'Gateway') throw fault(`${path}.kind`, `${show(kind)} is not supported (supported: Service, Gateway)`);
  const group = absent(o['group']) ? '' : o['group'];
  const want = kind === 'Service' ? '' : GATEWAY_GROUP;
  if (group !== want) throw fault(`${path}.group`, `${show(group)} is not the group of a ${kind} (${show(want)})`);
  if (typeof o['name'] !== 'string' || !DNS1123_SUBDOMAIN.test(o['name'])) throw fault(`${path}.name`, `${show(o['name'])} is not an object name`);
  const ns = o['namespace'];
  if (!absent(ns) && ns !== '' && ns !== namespace) throw fault(`${path}.namespace`, `${show(ns)} is not the policy's own namespace ${show(namespace)} (cross-namespace references are refused, as Istio does)`);
  return { group: group as string, kind, name: o['name'] };
}

function compile(object: unknown): { resource: RequestAuthn; warnings: string[] } {
  const o = obj('object', object);
  const meta = obj('metadata', o['metadata']);
  const name = meta['name'];
  const namespace = meta['namespace'];
  if (typeof name !== 'string' || name === '') throw fault('metadata.name', `${show(name)} is not a name`);
  if (typeof namespace !== 'string' || namespace === '') throw fault('metadata.namespace', `${show(namespace)} is not a namespace`);
  const spec = absent(o['spec']) ? {} : obj('spec', o['spec']);
  unknownFields('spec', spec, ['selector', 'targetRef', 'targetRefs', 'jwtRules']);
  const warnings: string[] = [];
  let targetRefs: PolicyTargetRef[] | undefined;
  const refs = list('spec.targetRefs', spec['targetRefs'], REQUEST_AUTHN_COMPILE_LIMITS.maxTargetRefs);
  if (refs.length > 0 && !absent(spec['targetRef'])) throw fault('spec.targetRef', 'is set together with spec.targetRefs: set only targetRefs (targetRef is deprecated)');
  if (refs.length > 0) targetRefs = refs.map((r, i) => compileTargetRef(`spec.targetRefs[${i}]`, r, namespace));
  else if (!absent(spec['targetRef'])) targetRefs = [compileTargetRef('spec.targetRef', spec['targetRef'], namespace)];
  let selector: Record<string, string> | undefined;
  if (!absent(spec['selector'])) {
    if (targetRefs) throw fault('spec.selector', 'is set together with targetRefs: a RequestAuthentication selects workloads or attaches to targets, not both (Istio refuses it too)');
    const sel = obj('spec.selector', spec['selector']);
    unknownFields('spec.selector', sel, ['matchLabels']);
    const labels = absent(sel['matchLabels']) ? {} : obj('spec.selector.matchLabels', sel['matchLabels']);
    selector = {};
    for (const [k, v] of Object.entries(labels)) selector[k] = str(`spec.selector.matchLabels.${k}`, v);
  }
  const rules = list('spec.jwtRules', spec['jwtRules'], REQUEST_AUTHN_COMPILE_LIMITS.maxJwtRules).map((r, i) => compileRule(`spec.jwtRules[${i}]`, r, warnings));
  if (!targetRefs) warnings.push('it has no targetRefs: only a waypoint validates JWTs, so attach it to a Service or a waypoint Gateway with targetRefs; as written it is enforced nowhere');
  const resource: RequestAuthn = { key: `${namespace}/${name}`, name, namespace, scope: targetRefs ? 'targets' : 'workloads', rules };
  if (selector) resource.selector = selector;
  if (targetRefs) resource.targetRefs = targetRefs;
  return { resource, warnings };
}

/** Compiles one RequestAuthentication object. Never throws. */
export function compileRequestAuthentication(object: unknown): RequestAuthnResult {
  try {
    const { resource, warnings } = compile(object);
    return { ok: true, resource, warnings };
  } catch (err) {
    return { ok: false, message: err instanceof FieldFault ? err.message : `the object could not be read: ${(err as Error)?.message ?? String(err)}` };
  }
}

/** The RequestAuthentications a waypoint enforces for a request to `service` through the
 * waypoint of `gateway`: scope 'targets' naming the Gateway (in its namespace) or the Service
 * (in its namespace), as for authorization (waypoint/http/authz-decide.ts). Sorted by key. */
export function requestAuthnsAtWaypoint(all: readonly RequestAuthn[], gateway: { namespace: string; name: string }, service: { namespace: string; name: string } | undefined): RequestAuthn[] {
  const names = (r: RequestAuthn, ref: PolicyTargetRef): boolean =>
    (ref.kind === 'Gateway' && ref.group === GATEWAY_GROUP && r.namespace === gateway.namespace && ref.name === gateway.name) ||
    (ref.kind === 'Service' && ref.group === '' && service !== undefined && r.namespace === service.namespace && ref.name === service.name);
  return all.filter((r) => r.scope === 'targets' && (r.targetRefs ?? []).some((ref) => names(r, ref))).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
