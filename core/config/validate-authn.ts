// Wire validation of a RequestAuthn resource (./request-authn.ts): JWT rules, their
// issuers, audiences, key sources and token locations. Called by validateResource
// (./validate.ts). Pure.
import { REQUEST_AUTHN_COMPILE_LIMITS, type JwtRule, type RequestAuthn } from './request-authn.js';
import { Invalid, show, obj, arr, str, nonEmpty, bool, oneOf, dnsLabel, dnsSubdomain, stringMap, bounded, capped, targetRef, type Obj } from './validate-fields.js';

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

export function requestAuthn(b: Obj): RequestAuthn {
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
