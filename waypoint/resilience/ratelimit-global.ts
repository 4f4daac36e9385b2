// The global rate limit (TrafficPolicy `rateLimits.global`): one counter per key shared
// by every replica of the waypoint through Redis (ioredis). The one I/O piece of
// waypoint/resilience/; the arithmetic is ratelimit-window.ts, the key ratelimit-key.ts.
//
// Each decision is one Lua script, atomic in Redis, sent as EVALSHA (ioredis's
// defineCommand falls back to EVAL when Redis does not have the script, e.g. after a
// restart):
// - fixed window: INCR the key; when it is new (or lost its expiry), PEXPIRE it perMs;
//   answer the count and PTTL. Two replicas incrementing the same key can never both
//   see the same count, so the combined allowed count is exact.
// - sliding window: read the current and previous aligned windows' counters, allow when
//   previous * (perMs - elapsed) / perMs + current + 1 <= requests, and only then INCR
//   the current one (expiry 2 * perMs). The window index comes from this replica's clock
//   (passed as the keys), so replicas' clocks should agree to well under a window.
//
// When Redis cannot answer (not connected, or no answer within
// `globalRateLimitCommandTimeoutMs`), the decision is the limit's `failureMode`: `allow`
// lets the request through, `deny` answers 429; either way the decision says so
// (`result: failure_allowed | failure_denied`) for the metric and the log line.
// Commands are never queued while disconnected (enableOfflineQueue off): a decision
// never waits for a reconnection. Reconnection never stops, backing off n * step up to a
// maximum (RESILIENCE_DEFAULTS).
import { Redis, type RedisOptions } from 'ioredis';
import type { GlobalRateLimit } from '../../core/config/traffic-policy.js';
import { RESILIENCE_DEFAULTS } from './limits.js';
import type { RateLimitDecision } from './ratelimit-local.js';
import { fixedWindowDecision, slidingWindowAt, slidingWindowDecision } from './ratelimit-window.js';

export const FIXED_WINDOW_LUA = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

export const SLIDING_WINDOW_LUA = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (window - elapsed) / window + current + 1 > limit then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], window * 2) end
return {1, current, previous}
`;

export type GlobalResult = 'allowed' | 'denied' | 'failure_allowed' | 'failure_denied';

export interface GlobalDecision extends RateLimitDecision {
  result: GlobalResult;
  /** Why Redis gave no answer (failure results only), for the log line. */
  error?: string;
}

export type LimiterEvent = { type: 'connected' } | { type: 'disconnected'; error?: string };

export interface GlobalRateLimiterOptions {
  /** `redis://host:port` (the waypoint's Redis address setting) or host and port. */
  url?: string;
  host?: string;
  port?: number;
  /** Wall clock in ms for the sliding window's index (tests pass a fake one). */
  now?: () => number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  reconnectStepMs?: number;
  reconnectMaxMs?: number;
  /** Connection changes, for a log line (the limiter itself logs nothing). */
  onEvent?: (e: LimiterEvent) => void;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** The reconnection delay after the n-th failed attempt (never null: never give up). */
export function reconnectDelayMs(times: number, stepMs: number, maxMs: number): number {
  return Math.min(Math.max(1, times) * stepMs, maxMs);
}

export class GlobalRateLimiter {
  private readonly redis: Redis;
  private readonly now: () => number;
  private connected = false;
  private lastError: string | undefined;
  private readonly counts: Record<GlobalResult, number> = { allowed: 0, denied: 0, failure_allowed: 0, failure_denied: 0 };
  private readonly fixed: ScriptFn;
  private readonly sliding: ScriptFn;

  constructor(opts: GlobalRateLimiterOptions) {
    this.now = opts.now ?? Date.now;
    const step = opts.reconnectStepMs ?? RESILIENCE_DEFAULTS.globalRateLimitReconnectStepMs;
    const max = opts.reconnectMaxMs ?? RESILIENCE_DEFAULTS.globalRateLimitReconnectMaxMs;
    const options: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? RESILIENCE_DEFAULTS.globalRateLimitCommandTimeoutMs,
      connectTimeout: opts.connectTimeoutMs ?? RESILIENCE_DEFAULTS.globalRateLimitConnectTimeoutMs,
      retryStrategy: (times) => reconnectDelayMs(times, step, max),
      autoResubscribe: false,
      lazyConnect: false,
    };
    this.redis = opts.url ? new Redis(opts.url, options) : new Redis({ ...options, host: opts.host ?? '127.0.0.1', port: opts.port ?? 6379 });
    this.redis.on('ready', () => {
      this.connected = true;
      this.lastError = undefined;
      opts.onEvent?.({ type: 'connected' });
    });
    this.redis.on('error', (err: Error) => {
      this.lastError = err.message;
    });
    this.redis.on('close', () => {
      if (!this.connected) return;
      this.connected = false;
      opts.onEvent?.(this.lastError ? { type: 'disconnected', error: this.lastError } : { type: 'disconnected' });
    });
    this.redis.defineCommand('ambientRateLimitFixed', { numberOfKeys: 1, lua: FIXED_WINDOW_LUA });
    this.redis.defineCommand('ambientRateLimitSliding', { numberOfKeys: 2, lua: SLIDING_WINDOW_LUA });
    const r = this.redis as unknown as Record<string, ScriptFn>;
    this.fixed = (...a) => r['ambientRateLimitFixed']!.apply(this.redis, a);
    this.sliding = (...a) => r['ambientRateLimitSliding']!.apply(this.redis, a);
  }

  /** Counts one request against `key` (ratelimit-key.ts) under `limit`. Never throws. */
  async check(limit: GlobalRateLimit, key: string): Promise<GlobalDecision> {
    let d: RateLimitDecision;
    try {
      d = limit.window === 'sliding' ? await this.checkSliding(limit, key) : await this.checkFixed(limit, key);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.lastError = error;
      const allow = limit.failureMode === 'allow';
      const result: GlobalResult = allow ? 'failure_allowed' : 'failure_denied';
      this.counts[result]++;
      const base: RateLimitDecision = { allowed: allow, limit: limit.requests, requests: limit.requests, windowMs: limit.perMs, remaining: 0, resetSeconds: 1 };
      if (!allow) base.retryAfterSeconds = 1;
      return { ...base, result, error };
    }
    const result: GlobalResult = d.allowed ? 'allowed' : 'denied';
    this.counts[result]++;
    return { ...d, result };
  }

  private async checkFixed(limit: GlobalRateLimit, key: string): Promise<RateLimitDecision> {
    const reply = (await this.fixed(key, limit.perMs)) as [number, number];
    return fixedWindowDecision(limit.requests, limit.perMs, Number(reply[0]), Number(reply[1]));
  }

  private async checkSliding(limit: GlobalRateLimit, key: string): Promise<RateLimitDecision> {
    const { index, elapsedMs } = slidingWindowAt(this.now(), limit.perMs);
    const reply = (await this.sliding(`${key}:${index}`, `${key}:${index - 1}`, limit.requests, limit.perMs, elapsedMs)) as [number, number, number];
    return slidingWindowDecision(limit.requests, limit.perMs, Number(reply[0]) === 1, Number(reply[2]), Number(reply[1]), elapsedMs);
  }

  /** Connected to Redis now, and the last error seen. */
  state(): { connected: boolean; lastError?: string } {
    return this.lastError === undefined ? { connected: this.connected } : { connected: this.connected, lastError: this.lastError };
  }

  /** Decisions so far by result (`ambient_ratelimit_decisions_total{mode="global", result}`). */
  decisions(): Readonly<Record<GlobalResult, number>> {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.connected = false;
    this.redis.disconnect(false);
  }
}
