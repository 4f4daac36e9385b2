// The waypoint's authorization layer: one request in, the decision of authz-decide.ts
// (pure) applied: a denial is answered here (403, or gRPC PERMISSION_DENIED) and the chain
// stops; an allowed request goes on. The outcome (decision, policy, rule, dry run, audits)
// is left on the request for the metrics and the access log. Runs after the
// authentication layer (authn.ts), which sets `auth`.
//
// The policies are read per request through `policies()`, so an update applies to the
// next request and never to one in flight. No config yet (`undefined`): fail closed, 503.
import type { Policy } from '../../core/config/model.js';
import type { RequestAuth } from '../../core/policy/types.js';
import { decideAtWaypoint, denialReply, forwardedFor, isGrpcRequest, localReply, serviceRefOfKey, GRPC_STATUS, AUTHZ_REASON_HEADER, type ObjectRef, type WaypointAuthzOutcome } from './authz-decide.js';

/** Request headers, lower-case names. */
export type AuthHeaders = Record<string, string | string[] | undefined>;

/**
 * The request as the authentication and authorization layers need it (the chain's
 * context adapts to it: waypoint/http/chain.ts RequestContext has these under its own
 * names: authority, source.identity, source.address, target.address/port/service).
 */
export interface AuthRequest {
  method: string;
  /** Path and query, as received; the authn layer removes a token it took from a query parameter (forwardOriginalToken false). */
  path: string;
  /** :authority / Host. */
  authority: string;
  /** Request headers (lower-case names); the authn layer sets and removes some. */
  headers: AuthHeaders;
  /** The tunnel's verified peer identity (`spiffe://...`), when mTLS. */
  sourceIdentity?: string;
  /** The client's address: the HBONE tunnel's TCP peer (never the CONNECT's `forwarded`
   * header, which a client could forge; `forwardedFor()` reads it for the access log). */
  sourceIp?: string;
  /** The tunnel's CONNECT target (Service VIP and port, or pod IP and port). */
  destination: { ip: string; port: number };
  /** The destination Service's resource key (`<ns>/<hostname>`), when a Service was called. */
  service?: string;
  /** Set by the authn layer for a valid JWT. */
  auth?: RequestAuth;
  /** Set by the authz layer. */
  authz?: WaypointAuthzOutcome;
  /** Answers the request from the waypoint (the chain's ctx.downstream.respond). */
  respond(status: number, headers: Record<string, string>, body: string): void;
}

export type AuthNext = () => Promise<void>;
export type AuthLayer = (req: AuthRequest, next: AuthNext) => Promise<void>;

export interface AuthzLayerOptions {
  /** The waypoint's own Gateway. */
  gateway: ObjectRef;
  /** The Policy resources the waypoint holds now; undefined until the first config arrived. */
  policies: () => readonly Policy[] | undefined;
  /** Called once per request with its outcome (metrics, access log). Must not throw. */
  onDecision?: (req: AuthRequest, outcome: WaypointAuthzOutcome) => void;
}

/** The reason header value when no config has arrived yet. */
export const NO_CONFIG_REASON = 'the waypoint has no authorization config yet: denied (fail closed)';

/** The authorization layer (see the header). */
export function authzLayer(o: AuthzLayerOptions): AuthLayer {
  return async (req, next) => {
    const policies = o.policies();
    const grpc = isGrpcRequest(req.headers);
    if (policies === undefined) {
      const outcome: WaypointAuthzOutcome = { decision: 'DENY', message: NO_CONFIG_REASON, audits: [], policies: [] };
      req.authz = outcome;
      safeCall(() => o.onDecision?.(req, outcome));
      const r = localReply(503, GRPC_STATUS.UNAVAILABLE, 'no authorization config yet', { [AUTHZ_REASON_HEADER]: NO_CONFIG_REASON }, grpc);
      req.respond(r.status, r.headers, r.body);
      return;
    }
    const serviceRef = req.service ? serviceRefOfKey(req.service) : undefined;
    const outcome = decideAtWaypoint(policies, o.gateway, {
      method: req.method,
      path: req.path,
      authority: req.authority,
      headers: req.headers,
      destination: req.destination,
      ...(req.sourceIdentity !== undefined && { sourceIdentity: req.sourceIdentity }),
      ...(req.sourceIp !== undefined && { sourceIp: req.sourceIp }),
      ...(serviceRef && { service: serviceRef }),
      ...(req.auth && { auth: req.auth }),
    });
    req.authz = outcome;
    safeCall(() => o.onDecision?.(req, outcome));
    if (outcome.decision === 'DENY') {
      const r = denialReply(outcome, grpc);
      req.respond(r.status, r.headers, r.body);
      return;
    }
    await next();
  };
}

function safeCall(f: () => void): void {
  try {
    f();
  } catch {
    // A recorder's failure never changes the decision.
  }
}

export { forwardedFor };
