// The global rate limit's window arithmetic (ratelimit-global.ts runs it in Redis; this is
// the same arithmetic in TypeScript, for the decision's numbers and for unit tests).
//
// Fixed window: one counter per key, created with the first request and expiring `perMs`
// later (INCR, then PEXPIRE when it is new); a request is allowed when the count after
// it is at most `requests`. Requests refused also count (the window ends anyway).
//
// Sliding window (Cloudflare's and nginx's approximation): a counter per aligned window
// (index floor(now / perMs)); the rate is estimated as
//     previous * (perMs - elapsed) / perMs + current
// (elapsed: ms into the current window), i.e. the previous window's requests are assumed
// spread evenly. A request is allowed when the estimate plus itself is at most
// `requests`; only allowed requests are counted. Counters live 2 * perMs.
import type { RateLimitDecision } from './ratelimit-local.js';

export function slidingEstimate(previous: number, current: number, elapsedMs: number, windowMs: number): number {
  const e = Math.min(Math.max(0, elapsedMs), windowMs);
  return (previous * (windowMs - e)) / windowMs + current;
}

/** The aligned window `now` falls in, and how far into it. */
export function slidingWindowAt(now: number, windowMs: number): { index: number; elapsedMs: number } {
  const index = Math.floor(now / windowMs);
  return { index, elapsedMs: now - index * windowMs };
}

/** The decision for a fixed window, from the count after this request and the counter's
 * remaining life in ms. */
export function fixedWindowDecision(requests: number, windowMs: number, count: number, ttlMs: number): RateLimitDecision {
  const allowed = count <= requests;
  const resetSeconds = Math.max(1, Math.ceil(Math.max(0, ttlMs) / 1000));
  const d: RateLimitDecision = { allowed, limit: requests, requests, windowMs, remaining: Math.max(0, requests - count), resetSeconds };
  if (!allowed) d.retryAfterSeconds = resetSeconds;
  return d;
}

/** The decision for a sliding window from the counters as Redis answered them (`current`
 * includes this request when it was allowed). */
export function slidingWindowDecision(requests: number, windowMs: number, allowed: boolean, previous: number, current: number, elapsedMs: number): RateLimitDecision {
  const estimate = slidingEstimate(previous, current, elapsedMs, windowMs);
  const untilWindowEnd = windowMs - Math.min(Math.max(0, elapsedMs), windowMs);
  const d: RateLimitDecision = {
    allowed,
    limit: requests,
    requests,
    windowMs,
    remaining: allowed ? Math.max(0, Math.floor(requests - estimate + 1e-9)) : 0,
    resetSeconds: Math.max(1, Math.ceil(untilWindowEnd / 1000)),
  };
  if (!allowed) {
    const waitMs = slidingRetryAfterMs(requests, windowMs, previous, current, elapsedMs);
    d.retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    d.resetSeconds = Math.max(d.resetSeconds, d.retryAfterSeconds);
  }
  return d;
}

/** How long until the estimate leaves room for one more request (0 when it does now). */
export function slidingRetryAfterMs(requests: number, windowMs: number, previous: number, current: number, elapsedMs: number): number {
  const room = requests - 1; // the estimate must fall to this for one more to fit
  if (room < 0) return Number.MAX_SAFE_INTEGER;
  const e = Math.min(Math.max(0, elapsedMs), windowMs);
  if (slidingEstimate(previous, current, e, windowMs) <= room) return 0;
  if (current <= room && previous > 0) {
    // Within this window: previous * (W - e - t) / W + current <= room.
    const t = windowMs - e - ((room - current) * windowMs) / previous;
    return Math.max(0, Math.ceil(t));
  }
  // Next window: this window's count becomes the previous one, decaying from its start.
  if (current === 0) return windowMs - e;
  const t2 = windowMs - (room * windowMs) / current;
  return Math.ceil(windowMs - e + Math.max(0, t2));
}
