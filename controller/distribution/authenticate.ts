// Who is calling: the bearer token (TokenReview, cached), the claimed node (x-ambient-node),
// and the pods on that node, which both place the caller (its token's pod must be there)
// and bound what a node agent may ask for. The decisions are authorize.ts's pure
// functions; this module does the I/O around them and turns a refusal into an HTTP status.
import type { IncomingHttpHeaders } from 'node:http2';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import { NODE_HEADER } from '../../core/config/wire.js';
import type { Logger } from '../../core/log.js';
import {
  defaultNodeAgentServiceAccount,
  callerFromReview,
  isNodeName,
  verifyCallerNode,
  type Caller,
  type PodRef,
  type ServiceAccountRef,
  type WaypointCheck,
} from './authorize.js';
import { Refused, headerValue } from './http.js';
import type { KeyedRateLimiter } from './rate-limit.js';
import { reviewedForAudience, screenToken, type TokenReviewer } from './token-review.js';

/** The pods scheduled on a node and not finished (an informer's cache, normally). */
export type PodLister = (node: string) => readonly PodRef[] | Promise<readonly PodRef[]>;

export interface Authenticated {
  caller: Caller;
  /** The pods on the caller's node, as listed for this request. */
  pods: readonly PodRef[];
}

/** `namespace/name` or a ref; undefined: the default ServiceAccount in `controlPlaneNamespace`. */
export function parseServiceAccount(v: ServiceAccountRef | string | undefined, controlPlaneNamespace?: string): ServiceAccountRef {
  if (v === undefined) return defaultNodeAgentServiceAccount(controlPlaneNamespace);
  if (typeof v !== 'string') return v;
  const [namespace, name, ...rest] = v.split('/');
  if (!namespace || !name || rest.length) throw new MeshError(ErrorCodes.CTRL_BAD_REQUEST, `node agent service account ${JSON.stringify(v)} is not "<namespace>/<name>"`);
  return { namespace, name };
}

export class Authenticator {
  readonly #reviewer: TokenReviewer;
  readonly #podLister: PodLister;
  readonly #trustDomain: string;
  readonly #nodeAgentSa: ServiceAccountRef;
  readonly #isWaypoint: WaypointCheck | undefined;
  readonly #audiences: readonly string[];
  readonly #maxTokenBytes: number;
  readonly #reviewLimiter: KeyedRateLimiter;
  readonly #log: Logger;

  constructor(o: {
    reviewer: TokenReviewer;
    podLister: PodLister;
    trustDomain: string;
    nodeAgentServiceAccount: ServiceAccountRef;
    isWaypoint?: WaypointCheck;
    /** The token must be for one of these (non-empty; the TokenReview is asked for them and must confirm one). */
    audiences: readonly string[];
    maxTokenBytes: number;
    /** TokenReviews per source address (cache hits are free). */
    reviewLimiter: KeyedRateLimiter;
    logger: Logger;
  }) {
    if (o.audiences.length === 0) throw new MeshError(ErrorCodes.CTRL_BAD_REQUEST, 'the controller needs a token audience');
    this.#reviewer = o.reviewer;
    this.#podLister = o.podLister;
    this.#trustDomain = o.trustDomain;
    this.#nodeAgentSa = o.nodeAgentServiceAccount;
    this.#isWaypoint = o.isWaypoint;
    this.#audiences = o.audiences;
    this.#maxTokenBytes = o.maxTokenBytes;
    this.#reviewLimiter = o.reviewLimiter;
    this.#log = o.logger;
  }

  /** `source`: the caller's address, for the per-source limit on TokenReviews. */
  async authenticate(headers: IncomingHttpHeaders, source: string): Promise<Authenticated> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(headerValue(headers, 'authorization') ?? '');
    if (!m) throw new Refused(401, ErrorCodes.CTRL_UNAUTHENTICATED, 'no bearer token: send "authorization: Bearer <ServiceAccount token>"');
    const node = headerValue(headers, NODE_HEADER) ?? '';
    if (!isNodeName(node)) throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, `header ${NODE_HEADER} must name the caller's node (a DNS-1123 subdomain), got ${JSON.stringify(node.slice(0, 80))}`);
    const token = m[1]!;
    // Cheap checks first: what is not a JWT for our audience never costs a TokenReview.
    const shape = screenToken(token, { maxBytes: this.#maxTokenBytes, audiences: this.#audiences });
    if (!shape.ok) throw new Refused(401, ErrorCodes.CTRL_UNAUTHENTICATED, shape.reason);
    const admit = () => {
      const taken = this.#reviewLimiter.take(source);
      if (!taken.ok) {
        this.#log.warn({ source }, 'controller: TokenReviews from one source over the rate limit');
        throw new Refused(429, ErrorCodes.CTRL_RATE_LIMITED, `too many new tokens from ${source} (limits reviewBurst, reviewsPerSecond); retry in ${taken.retryAfterMs} ms`);
      }
    };
    let review;
    try {
      review = await this.#reviewer.review(token, admit);
    } catch (err) {
      if (err instanceof Refused) throw err;
      throw new Refused(503, ErrorCodes.CTRL_AUTH_UNAVAILABLE, (err as Error).message);
    }
    if (!review.authenticated) throw new Refused(401, ErrorCodes.CTRL_UNAUTHENTICATED, `token rejected by the API server: ${review.error}`);
    if (!reviewedForAudience(review, this.#audiences)) {
      throw new Refused(401, ErrorCodes.CTRL_UNAUTHENTICATED, `the API server did not confirm the token is for ${JSON.stringify(this.#audiences)} (status.audiences: ${JSON.stringify(review.audiences ?? [])})`);
    }
    const who = callerFromReview(review.user, node, {
      trustDomain: this.#trustDomain,
      nodeAgentServiceAccount: this.#nodeAgentSa,
      ...(this.#isWaypoint ? { isWaypoint: this.#isWaypoint } : {}),
    });
    if (!who.ok) {
      this.#log.warn({ user: review.user.username, node, reason: who.reason }, 'controller: caller refused');
      throw new Refused(who.status, who.code, who.reason);
    }
    let pods: readonly PodRef[];
    try {
      pods = await this.#podLister(node);
    } catch (err) {
      throw new Refused(503, ErrorCodes.CTRL_AUTH_UNAVAILABLE, `cannot list the pods of node ${node}: ${(err as Error).message}`);
    }
    const placed = verifyCallerNode(who.caller, pods);
    if (!placed.ok) {
      this.#log.warn({ caller: formatSpiffeId(who.caller.identity), node, pod: who.caller.pod?.name, reason: placed.reason }, 'controller: caller refused');
      throw new Refused(placed.status, placed.code, placed.reason);
    }
    return { caller: who.caller, pods };
  }
}
