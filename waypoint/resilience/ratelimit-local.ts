// The local rate limit (TrafficPolicy `rateLimits.local`): a token bucket per waypoint
// replica and target. The bucket starts full with `burst` tokens and refills continuously
// at `requests` tokens per `perMs` (so 100 per 1s is one token every 10 ms), never above
// `burst`; each request takes one token or, when less than one is left, is answered 429.
// Pure: time is passed in (ms, any monotonic clock; a clock going back adds nothing).
//
// The answer carries the headers of draft-ietf-httpapi-ratelimit-headers (draft 03's
// fields with the `x-` prefix, as Envoy's rate limit filters write them):
//   x-ratelimit-limit: <burst>, <requests>;w=<window s>
//       what may be sent right now at most (the bucket's size), then the quota policy:
//       <requests> per window of <window s> seconds (perMs rounded up to whole seconds);
//   x-ratelimit-remaining: <whole tokens left after this request>
//   x-ratelimit-reset: <seconds until the bucket is full again, rounded up>
//   retry-after: <seconds until one token is back, rounded up, at least 1>  (429 only)
// All values are non-negative integers (delta-seconds).
import type { LocalRateLimit } from '../../core/config/traffic-policy.js';

export interface RateLimitDecision {
  allowed: boolean;
  /** The most a client may send at once (x-ratelimit-limit's first value). */
  limit: number;
  /** The quota policy: `requests` per `windowMs`. */
  requests: number;
  windowMs: number;
  /** Whole requests left after this one. */
  remaining: number;
  /** Seconds until the quota is whole again (x-ratelimit-reset). */
  resetSeconds: number;
  /** Seconds before a denied request may be tried again (retry-after). */
  retryAfterSeconds?: number;
}

/** Refill adds fractions of a token (0.1 per ms for 100/s): sums of them are compared with
 * this slack so that ten tenths make a token. */
const EPSILON = 1e-9;

export class TokenBucket {
  private tokens: number;
  private last: number;
  private cfg: LocalRateLimit;

  constructor(cfg: LocalRateLimit, now: number) {
    this.cfg = cfg;
    this.tokens = burstOf(cfg);
    this.last = now;
  }

  /** A new policy: tokens kept, capped by the new burst. */
  update(cfg: LocalRateLimit, now: number): void {
    this.refill(now);
    this.cfg = cfg;
    this.tokens = Math.min(this.tokens, burstOf(cfg));
  }

  take(now: number): RateLimitDecision {
    this.refill(now);
    const burst = burstOf(this.cfg);
    const rate = this.cfg.requests / this.cfg.perMs; // tokens per ms
    const base = { limit: burst, requests: this.cfg.requests, windowMs: this.cfg.perMs };
    if (this.tokens >= 1 - EPSILON) {
      this.tokens = Math.max(0, this.tokens - 1);
      return { allowed: true, ...base, remaining: Math.floor(this.tokens + EPSILON), resetSeconds: secondsUntil(burst - this.tokens, rate) };
    }
    const retryAfterSeconds = Math.max(1, secondsUntil(1 - this.tokens, rate));
    return { allowed: false, ...base, remaining: 0, resetSeconds: Math.max(retryAfterSeconds, secondsUntil(burst - this.tokens, rate)), retryAfterSeconds };
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(burstOf(this.cfg), this.tokens + (elapsed * this.cfg.requests) / this.cfg.perMs);
      this.last = now;
    }
  }
}

function burstOf(cfg: LocalRateLimit): number {
  return cfg.burst > 0 ? cfg.burst : cfg.requests;
}

/** Whole seconds (rounded up) to gain `missing` tokens at `rate` per ms. */
function secondsUntil(missing: number, rate: number): number {
  if (missing <= 1e-9) return 0;
  if (!(rate > 0)) return Number.MAX_SAFE_INTEGER;
  return Math.ceil(missing / rate / 1000 - 1e-9);
}

/** The response headers for a decision (see the top of this file for their format). */
export function rateLimitHeaders(d: RateLimitDecision): Record<string, string> {
  const windowSeconds = Math.max(1, Math.ceil(d.windowMs / 1000));
  const h: Record<string, string> = {
    'x-ratelimit-limit': `${d.limit}, ${d.requests};w=${windowSeconds}`,
    'x-ratelimit-remaining': String(Math.max(0, d.remaining)),
    'x-ratelimit-reset': String(Math.max(0, d.resetSeconds)),
  };
  if (!d.allowed) h['retry-after'] = String(Math.max(1, d.retryAfterSeconds ?? d.resetSeconds));
  return h;
}
