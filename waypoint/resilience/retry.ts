// Retries (TrafficPolicy `retries`, and HTTPRoute `retry` mapped onto the same shape):
// whether a finished try is tried again, after how long, and how long a try may take.
// Pure: the random source and the clock are passed in; the retry layer does the I/O.
//
// A try is retried when all of these hold (decideRetry checks them in this order, and
// says which failed):
// 1. its outcome matches a `retryOn` condition (retriableCondition, Envoy's names):
//    - `5xx`: any answer 500-599, and a try that got no answer (connect failure, reset,
//      refused stream, per-try timeout);
//    - `gateway-error`: 502, 503, 504, and a try that got no answer (as `5xx`);
//    - `reset`: a try that got no answer (disconnect, reset, refused stream, timeout);
//    - `connect-failure`: the connection (TCP or HBONE) could not be made;
//    - `refused-stream`: HTTP/2 REFUSED_STREAM;
//    - `retriable-4xx`: 409;
//    - `retriable-status-codes`: an answer whose status is in `retriableStatusCodes`;
//    - `cancelled` (1), `deadline-exceeded` (4), `resource-exhausted` (8), `internal`
//      (13), `unavailable` (14): the answer's `grpc-status` (in its headers: a
//      trailers-only answer; a status in trailers comes after the answer started and can
//      no longer be retried).
// 2. the request may be sent again: its method is idempotent (RFC 9110: GET, HEAD,
//    OPTIONS, TRACE, PUT, DELETE) or `retryNonIdempotent` is set, except that a try
//    that never reached the application (connect failure, HTTP/2 refused stream) is
//    safe to repeat for any method;
// 3. its body can be sent again: empty, or every byte sent so far is still held
//    (`bodyReplayable`, the retry layer's bounded buffer; a body streamed past it is
//    never retried);
// 4. tries left: at most 1 + `attempts` tries;
// 5. the backoff fits in the time the request has left;
// 6. the retry budget allows it (RetryBudget).
//
// The backoff before retry n (0 for the first) is full jitter (AWS's): uniform in
// [minMs, min(maxMs, baseMs * 2^n)], minMs defaulting to 0.
import type { RetryCondition, Retries } from '../../core/config/traffic-policy.js';
import { MAX_TIMER_MS, parseDuration } from '../../core/duration.js';
import { RESILIENCE_DEFAULTS } from './limits.js';

/** How a try ended, as the retry layer saw it. */
export type TryOutcome =
  /** An answer's head: status and, when its headers carry one, its grpc-status. */
  | { kind: 'response'; status: number; grpcStatus?: number }
  | { kind: 'connect-failure' }
  /** Upstream disconnect or stream reset before the answer's head. */
  | { kind: 'reset' }
  /** HTTP/2 REFUSED_STREAM: the server did not process the request. */
  | { kind: 'refused-stream' }
  /** The per-try timeout passed before the answer's head. */
  | { kind: 'timeout' };

const GRPC_CONDITIONS: Readonly<Record<number, RetryCondition>> = {
  1: 'cancelled',
  4: 'deadline-exceeded',
  8: 'resource-exhausted',
  13: 'internal',
  14: 'unavailable',
};

/** RFC 9110 section 9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

/** The retryOn condition an outcome matches (the `reason` of `ambient_retries_total`),
 * or undefined when it is not retriable. */
export function retriableCondition(r: Pick<Retries, 'retryOn' | 'retriableStatusCodes'>, o: TryOutcome): RetryCondition | undefined {
  const on = new Set(r.retryOn);
  if (o.kind === 'response') {
    if (o.grpcStatus !== undefined) {
      const c = GRPC_CONDITIONS[o.grpcStatus];
      if (c && on.has(c)) return c;
    }
    const s = o.status;
    if ((s === 502 || s === 503 || s === 504) && on.has('gateway-error')) return 'gateway-error';
    if (s >= 500 && s <= 599 && on.has('5xx')) return '5xx';
    if (s === 409 && on.has('retriable-4xx')) return 'retriable-4xx';
    if (on.has('retriable-status-codes') && r.retriableStatusCodes.includes(s)) return 'retriable-status-codes';
    return undefined;
  }
  // No answer: the specific condition first, then the general ones.
  if (o.kind === 'connect-failure' && on.has('connect-failure')) return 'connect-failure';
  if (o.kind === 'refused-stream' && on.has('refused-stream')) return 'refused-stream';
  for (const c of ['reset', 'gateway-error', '5xx'] as const) if (on.has(c)) return c;
  return undefined;
}

/** Whether the application cannot have seen the request (safe to repeat any method). */
export function neverReachedApplication(o: TryOutcome): boolean {
  return o.kind === 'connect-failure' || o.kind === 'refused-stream';
}

/** Full-jitter exponential backoff before retry `n` (0: the first retry), never longer
 * than a timer holds (a longer delay would fire at once: a retry with no backoff at all). */
export function backoffMs(b: Retries['backoff'], n: number, random: () => number): number {
  const cap = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(Math.max(0, n), 52));
  const lo = Math.min(Math.max(0, b.minMs ?? 0), MAX_TIMER_MS);
  const hi = Math.min(Math.max(cap, lo), MAX_TIMER_MS);
  return Math.floor(lo + random() * (hi - lo));
}

/** How long one try may take: the policy's perTryTimeout, else the route's
 * backendRequest timeout, never beyond what the request has left. undefined: no limit. */
export function tryTimeoutMs(perTryTimeoutMs: number | undefined, backendRequestTimeoutMs: number | undefined, remainingMs: number | undefined): number | undefined {
  let t = perTryTimeoutMs !== undefined && perTryTimeoutMs > 0 ? perTryTimeoutMs : backendRequestTimeoutMs && backendRequestTimeoutMs > 0 ? backendRequestTimeoutMs : undefined;
  if (remainingMs !== undefined) t = t === undefined ? Math.max(0, remainingMs) : Math.min(t, Math.max(0, remainingMs));
  return t;
}

export interface RetryInput {
  retries: Retries;
  method: string;
  outcome: TryOutcome;
  /** Tries made so far, the one that just ended included (1 after the first). */
  tries: number;
  /** The body can be sent again (empty, or all of it still held in the replay buffer). */
  bodyReplayable: boolean;
  /** Milliseconds left before the request's own deadline; undefined: none. */
  remainingMs?: number;
  /** The retry budget's answer now (RetryBudget.canRetry). */
  budgetAllows: boolean;
  /** Uniform in [0, 1): the jitter (seeded in tests). */
  random: () => number;
}

export type RetryRefusal = 'not-retriable' | 'non-idempotent' | 'body-not-replayable' | 'attempts-exhausted' | 'deadline' | 'budget-exhausted';

export type RetryDecision =
  | { retry: true; reason: RetryCondition; delayMs: number }
  /** `reason`: the condition the outcome matched, when it did. `flag`: URX when a
   * retriable failure is answered because the tries ran out (Envoy's "upstream retry
   * limit exceeded"); UO when the retry budget refused the retry (Envoy's router flags a
   * retry refused by the retry budget or circuit breaker as upstream overflow). */
  | { retry: false; why: RetryRefusal; reason?: RetryCondition; flag?: 'URX' | 'UO' };

export function decideRetry(i: RetryInput): RetryDecision {
  const reason = retriableCondition(i.retries, i.outcome);
  if (!reason) return { retry: false, why: 'not-retriable' };
  if (!i.retries.retryNonIdempotent && !isIdempotent(i.method) && !neverReachedApplication(i.outcome)) return { retry: false, why: 'non-idempotent', reason };
  if (!i.bodyReplayable) return { retry: false, why: 'body-not-replayable', reason };
  if (i.tries >= 1 + i.retries.attempts) return { retry: false, why: 'attempts-exhausted', reason, flag: 'URX' };
  const delayMs = backoffMs(i.retries.backoff, i.tries - 1, i.random);
  if (i.remainingMs !== undefined && delayMs >= i.remainingMs) return { retry: false, why: 'deadline', reason };
  if (!i.budgetAllows) return { retry: false, why: 'budget-exhausted', reason, flag: 'UO' };
  return { retry: true, reason, delayMs };
}

/**
 * The retry budget of one target (Envoy's retry budget, with Linkerd's per-second floor):
 * a retry may start when the retries in flight stay within `percent` of the requests in
 * flight, or when fewer than `minRetriesPerSecond` retries started in the last second.
 * So retries cannot multiply the load on a failing target, yet a quiet target can still
 * retry a few requests. The retry layer calls requestStarted/requestEnded around each
 * request and retryStarted/retryEnded around each retry it makes.
 */
export class RetryBudget {
  private activeRequests = 0;
  private activeRetries = 0;
  /** Start times of recent retries, oldest first, at most `floor` kept. */
  private recent: number[] = [];
  private readonly floor: number;

  constructor(
    private budget: Retries['budget'],
    opts: { maxFloorPerSecond?: number } = {},
  ) {
    this.floor = Math.min(Math.max(0, Math.floor(budget.minRetriesPerSecond)), opts.maxFloorPerSecond ?? RESILIENCE_DEFAULTS.retryBudgetMaxFloorPerSecond);
  }

  requestStarted(): void {
    this.activeRequests++;
  }
  requestEnded(): void {
    if (this.activeRequests > 0) this.activeRequests--;
  }

  canRetry(now: number): boolean {
    if ((this.activeRetries + 1) * 100 <= this.budget.percent * this.activeRequests) return true;
    this.prune(now);
    return this.recent.length < this.floor;
  }

  retryStarted(now: number): void {
    this.activeRetries++;
    this.prune(now);
    this.recent.push(now);
    if (this.recent.length > this.floor) this.recent.splice(0, this.recent.length - this.floor);
  }
  retryEnded(): void {
    if (this.activeRetries > 0) this.activeRetries--;
  }

  state(): { activeRequests: number; activeRetries: number } {
    return { activeRequests: this.activeRequests, activeRetries: this.activeRetries };
  }

  private prune(now: number): void {
    let k = 0;
    while (k < this.recent.length && this.recent[k]! <= now - 1000) k++;
    if (k > 0) this.recent.splice(0, k);
  }
}

/** HTTPRoute `spec.rules[].retry` (Gateway API, experimental channel), as the object
 * writes it. */
export interface HttpRouteRetry {
  codes?: number[];
  attempts?: number;
  /** A Gateway API Duration (GEP-2257), e.g. "100ms", "1s". */
  backoff?: string;
}

/** What an HTTPRoute retry leaves to the implementation (docs/traffic-management.md). */
export const HTTPROUTE_RETRY_DEFAULTS = {
  /** `attempts` absent: retries after the first try (Istio's default). */
  attempts: 2,
  /** `backoff` absent: the first retry's backoff cap (Envoy's default base interval). */
  backoffMs: 25,
  /** The backoff cap is this many times the base (Envoy's default max interval). */
  backoffMaxFactor: 10,
  /** The retry budget: retries in flight at most this percent of requests in flight... */
  budgetPercent: 20,
  /** ...or fewer than this many retries started in the last second. */
  budgetMinRetriesPerSecond: 3,
} as const;

export class RetryConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * An HTTPRoute rule's `retry` as the Retries the retry layer runs:
 * - `codes` → `retriable-status-codes` with those codes (400-599, as the API allows);
 * - the connection errors the API says implementations SHOULD retry ("disconnect, reset,
 *   timeout, TCP failure") → `connect-failure`, `refused-stream`, `reset`;
 * - `attempts` → attempts (retries after the first try; absent: 2);
 * - `backoff` is a minimum ("not retried before the configured minimum duration"): it is
 *   both the backoff's base and its floor (`minMs`), capped at 10 x backoff;
 * - perTryTimeout: none here (the route's `timeouts.backendRequest` is the per-try
 *   timeout, tryTimeoutMs); non-idempotent methods are not retried; the default budget.
 * `path` names the field in errors (e.g. `spec.rules[0].retry`).
 */
export function retriesFromHttpRoute(retry: HttpRouteRetry, path = 'retry'): Retries {
  const codes = retry.codes ?? [];
  if (!Array.isArray(codes)) throw new RetryConfigError(`${path}.codes`, 'must be a list of status codes');
  codes.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 400 || c > 599) throw new RetryConfigError(`${path}.codes[${i}]`, `${JSON.stringify(c)} is not a status code from 400 to 599`);
  });
  const attempts = retry.attempts ?? HTTPROUTE_RETRY_DEFAULTS.attempts;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) throw new RetryConfigError(`${path}.attempts`, `${JSON.stringify(retry.attempts)} is not a whole number from 1 to 100`);
  const backoffMs = retry.backoff !== undefined ? parseDuration(`${path}.backoff`, retry.backoff, { gatewayApi: true, error: (field, why) => new RetryConfigError(field, why) }) : undefined;
  return retriesFromRouteRetry({ codes, attempts, ...(backoffMs !== undefined && { backoffMs }) });
}

/** The compiled Route model's `retry` (codes checked, attempts filled in, backoff in ms,
 * as the controller writes it) as Retries: the same mapping as retriesFromHttpRoute. */
export function retriesFromRouteRetry(r: { codes: readonly number[]; attempts: number; backoffMs?: number }): Retries {
  const base = r.backoffMs ?? HTTPROUTE_RETRY_DEFAULTS.backoffMs;
  const retryOn: RetryCondition[] = ['connect-failure', 'refused-stream', 'reset'];
  if (r.codes.length > 0) retryOn.push('retriable-status-codes');
  return {
    attempts: r.attempts,
    retryOn,
    retriableStatusCodes: [...new Set(r.codes)].sort((a, b) => a - b),
    backoff: { baseMs: base, maxMs: base * HTTPROUTE_RETRY_DEFAULTS.backoffMaxFactor, ...(r.backoffMs !== undefined && { minMs: r.backoffMs }) },
    budget: { percent: HTTPROUTE_RETRY_DEFAULTS.budgetPercent, minRetriesPerSecond: HTTPROUTE_RETRY_DEFAULTS.budgetMinRetriesPerSecond },
    retryNonIdempotent: false,
  };
}
