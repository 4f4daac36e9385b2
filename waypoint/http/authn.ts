// The waypoint's request authentication layer (RequestAuthentication.ambient.dev/v1): the
// RequestAuthentications attached to the waypoint's Gateway or to the destination Service
// (targetRefs, as for authorization: core/config/request-authn.ts requestAuthnsAtWaypoint)
// validate the request's JWTs (jwt.ts): every token it carries in a location a rule reads
// must verify. An invalid token is answered 401 here, with
// `www-authenticate: Bearer` (gRPC: grpc-status 16 UNAUTHENTICATED) and the chain stops;
// a valid one sets `req.auth` for the authorization layer after it and applies the rule's
// outputs; no token goes on unauthenticated. Runs before authz.ts.
import type { JSONWebKeySet, JWTPayload } from 'jose';
import type { RequestAuthn, JwtRule } from '../../core/config/request-authn.js';
import { requestAuthnsAtWaypoint } from '../../core/config/request-authn.js';
import { WAYPOINT_AUTH_DEFAULTS, type WaypointAuthLimits } from '../limits.js';
import { GRPC_STATUS, headerText, isGrpcRequest, localReply, serviceRefOfKey, type ObjectRef } from './authz-decide.js';
import type { AuthLayer, AuthRequest } from './authz.js';
import { JwksCache } from './jwks.js';
import { candidateRules, findTokens, outputHeadersOf, requestAuthOf, tokenOutputs, verifyJwt, type FoundToken, type JwtFailure, type KeyResolver } from './jwt.js';

/** What authentication did with one request (access log, metrics). */
export type AuthnOutcome =
  | { result: 'none' }
  | { result: 'unauthenticated' }
  | { result: 'valid'; principal: string; policy: string }
  | { result: 'invalid'; failure: JwtFailure; detail?: string };

export interface AuthnLayerOptions {
  /** The waypoint's own Gateway. */
  gateway: ObjectRef;
  /** The RequestAuthn resources the waypoint holds now (read per request). */
  requestAuthns: () => readonly RequestAuthn[];
  /** The jwksUri key cache, shared by every request (one per waypoint). */
  jwks?: JwksCache;
  limits?: Partial<WaypointAuthLimits>;
  /** Seconds clock for exp/nbf (tests). */
  nowSeconds?: () => number;
  /** Called once per request with what authentication did. Must not throw. */
  onResult?: (req: AuthRequest, outcome: AuthnOutcome) => void;
}

/** The `www-authenticate` value of a 401, as Envoy's jwt_authn writes it: the request's URL
 * without its query as the realm. */
export function wwwAuthenticate(authority: string, path: string): string {
  const q = path.search(/[?#]/);
  const realm = `http://${authority}${q < 0 ? path : path.slice(0, q)}`.replace(/["\\]/g, '');
  return headerText(`Bearer realm="${realm}", error="invalid_token"`);
}


/** The request authentication layer (see the header). */
export function authnLayer(o: AuthnLayerOptions): AuthLayer {
  const limits: WaypointAuthLimits = { ...WAYPOINT_AUTH_DEFAULTS, ...o.limits };
  const cache = o.jwks ?? new JwksCache({ limits });
  const resolve: KeyResolver = (rule: JwtRule, refresh: boolean) => {
    if (rule.jwks) return Promise.resolve({ keys: rule.jwks as unknown as JSONWebKeySet });
    if (!rule.jwksUri) return Promise.resolve({ error: 'the rule has no keys' });
    const timeout = rule.timeoutMs ?? limits.jwksFetchTimeoutMs;
    return refresh ? cache.refresh(rule.jwksUri, timeout) : cache.keys(rule.jwksUri, timeout);
  };
  const report = (req: AuthRequest, outcome: AuthnOutcome) => {
    try {
      o.onResult?.(req, outcome);
    } catch {
      // a recorder's failure changes nothing
    }
  };
  return async (req, next) => {
    delete req.auth; // only this layer sets it
    const service = req.service ? serviceRefOfKey(req.service) : undefined;
    const applicable = requestAuthnsAtWaypoint(o.requestAuthns(), o.gateway, service);
    const rules = applicable.flatMap((r) => r.rules);
    if (rules.length === 0) {
      report(req, { result: 'none' });
      return next();
    }
    // What the rules write is never taken from the client.
    for (const h of outputHeadersOf(rules)) delete req.headers[h];
    // Every token the request carries, wherever the rules look: all must verify. Checking
    // only the first would let a forged one in another location reach the backend.
    const tokens = findTokens(rules, req.headers, req.path);
    if (tokens.length === 0) {
      report(req, { result: 'unauthenticated' });
      return next();
    }
    const refuse = (failure: JwtFailure, detail?: string) => {
      report(req, { result: 'invalid', failure, ...(detail !== undefined && { detail }) });
      const r = localReply(401, GRPC_STATUS.UNAUTHENTICATED, failure, { 'www-authenticate': wwwAuthenticate(req.authority, req.path) }, isGrpcRequest(req.headers));
      req.respond(r.status, r.headers, r.body);
    };
    const verified: Array<{ found: FoundToken; rule: JwtRule; payload: JWTPayload }> = [];
    for (const found of tokens) {
      const candidates = candidateRules(rules, found, limits.maxTokenBytes);
      if ('failure' in candidates) return refuse(candidates.failure);
      let firstFailure: { failure: JwtFailure; detail?: string } | undefined;
      for (const rule of candidates.rules) {
        const v = await verifyJwt(found.token, rule, resolve, limits.jwtClockSkewSeconds, o.nowSeconds?.());
        if (v.ok) {
          verified.push({ found, rule, payload: v.payload });
          firstFailure = undefined;
          break;
        }
        firstFailure ??= { failure: v.failure, ...(v.detail !== undefined && { detail: v.detail }) };
      }
      if (firstFailure) return refuse(firstFailure.failure, firstFailure.detail);
    }
    // All valid: the first gives request.auth; each applies its rule's outputs (an earlier
    // token's header wins) and is removed from where it was unless its rule forwards it.
    const set = new Set<string>();
    for (const { found, rule, payload } of verified) {
      const out = tokenOutputs(rule, found, payload, req.path);
      for (const h of out.remove) delete req.headers[h];
      for (const [h, value] of Object.entries(out.set)) {
        if (set.has(h)) continue;
        set.add(h);
        req.headers[h] = value;
      }
      if (out.path !== undefined) req.path = out.path;
    }
    const head = verified[0]!;
    const auth = requestAuthOf(head.payload);
    req.auth = auth;
    const owner = applicable.find((r) => r.rules.includes(head.rule));
    report(req, { result: 'valid', principal: auth.principal, policy: owner?.key ?? '' });
    return next();
  };
}

