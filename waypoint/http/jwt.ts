// End-user JWT validation for the waypoint (RequestAuthentication, core/config/request-authn.ts),
// as Istio documents it (https://istio.io/latest/docs/reference/config/security/request_authentication/,
// https://istio.io/latest/docs/concepts/security/#request-authentication) and Envoy's
// jwt_authn filter, which Istio configures, does it:
//   - tokens are looked for in every location the rules read (headers, then parameters,
//     then cookies, in rule order), every value at each; a request may carry several, and
//     EVERY one must verify or the request is refused (Envoy's jwt_authn: "all of them must
//     be valid"), so that a forged token never travels to the backend beside a valid one;
//     the first found gives `request.auth` (Istio leaves which one undefined);
//   - no token: the request goes on unauthenticated (no `request.auth.*`); an
//     AuthorizationPolicy with requestPrincipals is what makes one required;
//   - each token is validated by the rules whose `issuer` equals its `iss` and that name the
//     location it was found in; none: "Jwt issuer is not configured" (401);
//   - its signature is verified with the rule's keys (jose, https://github.com/panva/jose),
//     `exp` and `nbf` with jwtClockSkewSeconds of leeway, `aud` against `audiences` when set;
//   - a valid token gives `request.auth.principal` = `<iss>/<sub>`, `audiences` (`aud`),
//     `presenter` (`azp`) and `claims` (the payload).
// Everything here but `verifyJwt` (which awaits key resolution) is pure.
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { JwtRule } from '../../core/config/request-authn.js';
import type { RequestAuth } from '../../core/policy/types.js';

export type TokenLocation = { kind: 'header'; name: string; prefix: string } | { kind: 'param'; name: string } | { kind: 'cookie'; name: string };

export interface FoundToken {
  token: string;
  location: TokenLocation;
}

/** Request headers, lower-case names. */
export type JwtHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The raw (still percent-encoded) `name=value` pairs of a path's query. */
function queryPairs(path: string): Array<{ name: string; value: string; raw: string }> {
  const q = path.indexOf('?');
  if (q < 0) return [];
  const end = path.indexOf('#', q);
  const query = path.slice(q + 1, end < 0 ? undefined : end);
  return query
    .split('&')
    .filter((p) => p !== '')
    .map((raw) => {
      const eq = raw.indexOf('=');
      return { name: safeDecode(eq < 0 ? raw : raw.slice(0, eq)), value: safeDecode(eq < 0 ? '' : raw.slice(eq + 1)), raw };
    });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Every value of the cookie `name`, in order (a client may repeat a name). */
function cookieValues(headers: JwtHeaders, name: string): string[] {
  const out: string[] = [];
  const raw = headers['cookie'];
  const all = typeof raw === 'string' ? [raw] : (raw ?? []);
  for (const line of all) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
    }
  }
  return out;
}

/** The token of a header value under `prefix` ('' = the whole value); the default
 * `Authorization: Bearer` scheme matches case-insensitively (RFC 7235 section 2.1). */
function fromHeaderValue(value: string, prefix: string, caseInsensitive: boolean): string | undefined {
  if (prefix !== '') {
    const head = value.slice(0, prefix.length);
    if (caseInsensitive ? head.toLowerCase() !== prefix.toLowerCase() : head !== prefix) return undefined;
    value = value.slice(prefix.length);
  }
  const t = value.trim();
  return t === '' ? undefined : t;
}

/** The locations of `rule`, in Envoy's order: headers, parameters, cookies. */
export function locationsOf(rule: JwtRule): TokenLocation[] {
  return [
    ...rule.fromHeaders.map((h): TokenLocation => ({ kind: 'header', name: h.name, prefix: h.prefix })),
    ...rule.fromParams.map((name): TokenLocation => ({ kind: 'param', name })),
    ...rule.fromCookies.map((name): TokenLocation => ({ kind: 'cookie', name })),
  ];
}

function sameLocation(a: TokenLocation, b: TokenLocation): boolean {
  return a.kind === b.kind && a.name === b.name && (a.kind !== 'header' || b.kind !== 'header' || a.prefix === b.prefix);
}

/** Every token at `loc`: each value of a repeated header, parameter or cookie that holds
 * one (all are checked; one left out would be forwarded unverified). */
export function tokensAt(loc: TokenLocation, headers: JwtHeaders, path: string, defaultHeader = false): string[] {
  let values: Array<string | undefined>;
  if (loc.kind === 'header') {
    const v = headers[loc.name];
    values = (typeof v === 'string' ? [v] : (v ?? [])).map((x) => fromHeaderValue(x, loc.prefix, defaultHeader));
  } else if (loc.kind === 'param') values = queryPairs(path).filter((x) => x.name === loc.name).map((x) => x.value);
  else values = cookieValues(headers, loc.name);
  return values.filter((t): t is string => t !== undefined && t !== '');
}

/** The first token at `loc`, if the request has one there. */
export function tokenAt(loc: TokenLocation, headers: JwtHeaders, path: string, defaultHeader = false): string | undefined {
  return tokensAt(loc, headers, path, defaultHeader)[0];
}

/** Every token of the request over the locations the rules read (see the header), each
 * location once, in rule order then location order. */
export function findTokens(rules: readonly JwtRule[], headers: JwtHeaders, path: string): FoundToken[] {
  const out: FoundToken[] = [];
  const seen: TokenLocation[] = [];
  for (const rule of rules) {
    for (const loc of locationsOf(rule)) {
      if (seen.some((l) => sameLocation(l, loc))) continue;
      seen.push(loc);
      for (const token of tokensAt(loc, headers, path, rule.defaultLocations && loc.kind === 'header')) out.push({ token, location: loc });
    }
  }
  return out;
}

/** The request's first token (the one that gives `request.auth`). */
export function findToken(rules: readonly JwtRule[], headers: JwtHeaders, path: string): FoundToken | undefined {
  return findTokens(rules, headers, path)[0];
}

/** Whether `rule` looks for tokens at `loc`. */
export function ruleReads(rule: JwtRule, loc: TokenLocation): boolean {
  return locationsOf(rule).some((l) => sameLocation(l, loc));
}

/** Why a token was refused: Envoy jwt_authn's status messages (what the 401's body says). */
export type JwtFailure =
  | 'Jwt is missing'
  | 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections'
  | 'Jwt issuer is not configured'
  | 'Jwt is expired'
  | 'Jwt not yet valid'
  | 'Audiences in Jwt are not allowed'
  | 'Jwks doesn\'t have key to match kid or alg from Jwt'
  | 'Jwks remote fetch is failed'
  | 'Jwt verification fails'
  | 'Jwt is too large';

/** The rules that may validate `found`: those reading its location with its issuer. Reads the
 * unverified payload (only to choose the rule; nothing of it is trusted until verified). */
export function candidateRules(rules: readonly JwtRule[], found: FoundToken, maxTokenBytes: number): { rules: JwtRule[] } | { failure: JwtFailure } {
  if (found.token.length > maxTokenBytes) return { failure: 'Jwt is too large' };
  let payload: JWTPayload;
  try {
    payload = decodeJwt(found.token);
  } catch {
    return { failure: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' };
  }
  const iss = typeof payload.iss === 'string' ? payload.iss : undefined;
  const matching = rules.filter((r) => r.issuer === iss && ruleReads(r, found.location));
  return matching.length ? { rules: matching } : { failure: 'Jwt issuer is not configured' };
}

/** Resolves a rule's keys: inline `jwks`, else the cache of `jwksUri`. `refresh`: a token named an unknown key. */
export type KeyResolver = (rule: JwtRule, refresh: boolean) => Promise<{ keys?: JSONWebKeySet; error?: string }>;

export type VerifyResult = { ok: true; payload: JWTPayload } | { ok: false; failure: JwtFailure; detail?: string };

/** Verifies `token` with `rule`: signature, exp/nbf with `skewSeconds`, issuer, audiences. */
export async function verifyJwt(token: string, rule: JwtRule, resolve: KeyResolver, skewSeconds: number, nowSeconds?: number): Promise<VerifyResult> {
  const attempt = async (refresh: boolean): Promise<VerifyResult | 'unknown-key'> => {
    const { keys, error } = await resolve(rule, refresh);
    if (!keys) return { ok: false, failure: 'Jwks remote fetch is failed', ...(error !== undefined && { detail: error }) };
    try {
      const r = await jwtVerify(token, createLocalJWKSet(keys), {
        issuer: rule.issuer,
        ...(rule.audiences.length > 0 && { audience: rule.audiences }),
        clockTolerance: skewSeconds,
        ...(nowSeconds !== undefined && { currentDate: new Date(nowSeconds * 1000) }),
      });
      return { ok: true, payload: r.payload };
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
      return { ok: false, ...failureOf(err) };
    }
  };
  const r = await attempt(false);
  if (r !== 'unknown-key') return r;
  // Key rotation: the issuer may have published a key we do not hold yet.
  const again = rule.jwks ? 'unknown-key' : await attempt(true);
  return again === 'unknown-key' ? { ok: false, failure: "Jwks doesn't have key to match kid or alg from Jwt" } : again;
}

function failureOf(err: unknown): { failure: JwtFailure; detail?: string } {
  if (err instanceof joseErrors.JWTExpired) return { failure: 'Jwt is expired' };
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return { failure: 'Jwt not yet valid', detail: err.message };
    if (err.claim === 'aud') return { failure: 'Audiences in Jwt are not allowed' };
    if (err.claim === 'iss') return { failure: 'Jwt issuer is not configured' };
    return { failure: 'Jwt verification fails', detail: err.message };
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return { failure: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections', detail: (err as Error).message };
  return { failure: 'Jwt verification fails', detail: (err as Error)?.message };
}

/** `request.auth.*` of a verified payload (Istio: principal `<iss>/<sub>`, audiences from
 * `aud`, presenter from `azp`, claims the payload). */
export function requestAuthOf(payload: JWTPayload): RequestAuth {
  const aud = payload.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  const auth: RequestAuth = { principal: `${payload.iss ?? ''}/${payload.sub ?? ''}`, audiences, claims: payload as Record<string, unknown> };
  if (typeof payload['azp'] === 'string') auth.presenter = payload['azp'];
  return auth;
}

/** A claim for outputClaimToHeaders: `a.b` walks nested objects; a string, number or boolean
 * becomes the header's value (Istio: "Only claims of type string, int and bool are
 * supported"); anything else, or a value with characters a header cannot carry, gives none. */
export function claimHeaderValue(claims: Readonly<Record<string, unknown>>, claim: string): string | undefined {
  let cur: unknown = claims;
  const direct = Object.hasOwn(claims, claim) ? [claim] : claim.split('.');
  for (const n of direct) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, n)) return undefined;
    cur = (cur as Record<string, unknown>)[n];
  }
  const v = typeof cur === 'string' ? cur : typeof cur === 'number' || typeof cur === 'boolean' ? String(cur) : undefined;
  return v !== undefined && /^[\x20-\x7e\t]*$/.test(v) ? v : undefined;
}

/** The path without the query parameter `name` (the token, when not forwarded); other
 * parameters are kept byte for byte. */
export function withoutParam(path: string, name: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const hash = path.indexOf('#', q);
  const base = path.slice(0, q);
  const tail = hash < 0 ? '' : path.slice(hash);
  const kept = queryPairs(path)
    .filter((p) => p.name !== name)
    .map((p) => p.raw);
  return kept.length ? `${base}?${kept.join('&')}${tail}` : `${base}${tail}`;
}

/** The header changes a validated token makes (Istio: outputPayloadToHeader,
 * outputClaimToHeaders, forwardOriginalToken), and the new path when a token taken from a
 * query parameter is removed. */
export interface TokenOutputs {
  set: Record<string, string>;
  remove: string[];
  path?: string;
}

export function tokenOutputs(rule: JwtRule, found: FoundToken, payload: JWTPayload, path: string): TokenOutputs {
  const out: TokenOutputs = { set: {}, remove: [] };
  if (rule.outputPayloadToHeader) {
    // The token's own payload segment: base64url JSON, as Envoy's forward_payload_header.
    out.set[rule.outputPayloadToHeader] = found.token.split('.')[1] ?? '';
  }
  for (const c of rule.outputClaimToHeaders) {
    const v = claimHeaderValue(payload as Record<string, unknown>, c.claim);
    if (v !== undefined) out.set[c.header] = v;
  }
  if (!rule.forwardOriginalToken) {
    if (found.location.kind === 'header') out.remove.push(found.location.name);
    else if (found.location.kind === 'param') out.path = withoutParam(path, found.location.name);
    // A cookie is left in place: the Cookie header carries the client's other cookies too.
  }
  return out;
}

/** The headers every applicable rule writes: removed from every request before anything is
 * set, so that a client cannot send its own `x-jwt-payload` or claim header. */
export function outputHeadersOf(rules: readonly JwtRule[]): string[] {
  const s = new Set<string>();
  for (const r of rules) {
    if (r.outputPayloadToHeader) s.add(r.outputPayloadToHeader);
    for (const c of r.outputClaimToHeaders) s.add(c.header);
  }
  return [...s];
}
