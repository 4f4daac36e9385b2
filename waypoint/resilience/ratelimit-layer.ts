// The rate limit layer (chain.ts: after `route`, which decides the target Service port):
// the target's TrafficPolicy `rateLimits`, local first (this replica's token bucket, no
// I/O), then global (the Redis counter). A request over either limit is answered 429
// (flag RL, AMB_WAYPOINT_RATE_LIMITED) with `retry-after` and the x-ratelimit-* headers
// (ratelimit-local.ts documents their format); an allowed request's answer carries the
// x-ratelimit-* headers of the tighter limit (the fewest remaining).
//
// A global limit that Redis cannot answer is decided by its failureMode; the first such
// decision after answered ones, and the first answered one after failures, are reported
// through `onGlobalFailure` / `onGlobalRecovered` (one log line per change, not per
// request). Without a global limiter (no Redis address set), a global limit is decided
// by its failureMode too: fail closed when the policy says deny.
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { ErrorCodes } from '../../core/errors.js';
import type { Headers, Layer, RequestContext } from '../http/chain.js';
import { RESILIENCE_DEFAULTS } from './limits.js';
import type { GlobalRateLimiter } from './ratelimit-global.js';
import { globalRateLimitKey } from './ratelimit-key.js';
import { TokenBucket, rateLimitHeaders, type RateLimitDecision } from './ratelimit-local.js';
import type { RateLimitResult, ResilienceMetrics } from './metrics.js';

export interface RateLimitLayerOptions {
  /** The TrafficPolicy of a Service port (`service`: its resource key), if any. */
  policyFor: (service: string, port: number) => TrafficPolicy | undefined;
  global?: GlobalRateLimiter;
  metrics?: ResilienceMetrics;
  /** Monotonic ms for the token buckets (performance.now). */
  now?: () => number;
  onGlobalFailure?: (fields: { service: string; policy: string; failureMode: 'allow' | 'deny'; error: string }) => void;
  onGlobalRecovered?: (fields: { service: string; policy: string }) => void;
  maxLocalBuckets?: number;
}

/** `<namespace>/<hostname>` → the hostname (Istio's destination_service). */
export function serviceHost(serviceKey: string): string {
  const i = serviceKey.indexOf('/');
  return i < 0 ? serviceKey : serviceKey.slice(i + 1);
}

function answer429(ctx: RequestContext, d: RateLimitDecision, why: string): void {
  ctx.record.flags.push('RL');
  ctx.record.status = 429;
  ctx.record.error ??= `${ErrorCodes.WAYPOINT_RATE_LIMITED}: ${why}`;
  ctx.downstream.respond(429, { 'content-type': 'text/plain', ...rateLimitHeaders(d) }, `${why}\n`);
}

export function rateLimitLayer(o: RateLimitLayerOptions): Layer {
  const now = o.now ?? (() => performance.now());
  const buckets = new Map<string, { bucket: TokenBucket; cfg: object }>();
  const maxBuckets = o.maxLocalBuckets ?? RESILIENCE_DEFAULTS.localRateLimitMaxBuckets;
  let globalFailing = false;

  return async (ctx, next) => {
    const a = ctx.action;
    if (a?.kind !== 'forward' || a.service === undefined) return next();
    const policy = o.policyFor(a.service, a.port);
    const rl = policy?.rateLimits;
    if (!policy || !rl || (!rl.local && !rl.global)) return next();
    const host = serviceHost(a.service);
    const decisions: RateLimitDecision[] = [];

    if (rl.local) {
      const id = `${policy.key}|${a.service}:${a.port}`;
      let entry = buckets.get(id);
      if (!entry) {
        if (buckets.size >= maxBuckets) buckets.clear();
        entry = { bucket: new TokenBucket(rl.local, now()), cfg: rl.local };
        buckets.set(id, entry);
      } else if (entry.cfg !== rl.local) {
        entry.bucket.update(rl.local, now());
        entry.cfg = rl.local;
      }
      const d = entry.bucket.take(now());
      o.metrics?.rateLimit(host, 'local', d.allowed ? 'allowed' : 'denied');
      if (!d.allowed) return answer429(ctx, d, 'local rate limit exceeded');
      decisions.push(d);
    }

    if (rl.global) {
      const g = rl.global;
      let d: RateLimitDecision;
      let result: RateLimitResult;
      let error: string | undefined;
      if (o.global) {
        const key = globalRateLimitKey(`${policy.key}/${a.service}:${a.port}`, g.perMs, g.key, {
          sourcePrincipal: ctx.source.identity,
          sourceNamespace: ctx.source.namespace,
          path: ctx.path,
          headers: ctx.headers,
        });
        const gd = await o.global.check(g, key);
        d = gd;
        result = gd.result;
        error = gd.error;
      } else {
        const allow = g.failureMode === 'allow';
        d = { allowed: allow, limit: g.requests, requests: g.requests, windowMs: g.perMs, remaining: 0, resetSeconds: 1, ...(allow ? {} : { retryAfterSeconds: 1 }) };
        result = allow ? 'failure_allowed' : 'failure_denied';
        error = 'no Redis address is set for global rate limits';
      }
      o.metrics?.rateLimit(host, 'global', result);
      const failed = result === 'failure_allowed' || result === 'failure_denied';
      if (failed && !globalFailing) {
        globalFailing = true;
        o.onGlobalFailure?.({ service: a.service, policy: policy.key, failureMode: g.failureMode, error: `${ErrorCodes.WAYPOINT_RATE_LIMIT_UNAVAILABLE}: ${error ?? 'no answer'}` });
      } else if (!failed && globalFailing) {
        globalFailing = false;
        o.onGlobalRecovered?.({ service: a.service, policy: policy.key });
      }
      if (failed) ctx.record.error ??= `${ErrorCodes.WAYPOINT_RATE_LIMIT_UNAVAILABLE}: ${error ?? 'no answer'} (failureMode ${g.failureMode})`;
      if (!d.allowed) return answer429(ctx, d, failed ? 'global rate limit unavailable' : 'global rate limit exceeded');
      if (!failed) decisions.push(d);
    }

    // The answer carries the tighter limit's headers.
    const tightest = decisions.reduce<RateLimitDecision | undefined>((m, d) => (m === undefined || d.remaining < m.remaining ? d : m), undefined);
    if (tightest) {
      const extra = rateLimitHeaders(tightest);
      const prev = a.responseHeaders;
      ctx.action = { ...a, responseHeaders: (h: Headers) => ({ ...(prev ? prev(h) : h), ...extra }) };
    }
    return next();
  };
}
