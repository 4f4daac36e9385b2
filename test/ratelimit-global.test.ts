// The global rate limit against a real redis-server on loopback (test/support/redis.ts):
// two limiters stand for two replicas of a waypoint sharing one limit; Redis is stopped,
// made too slow and restarted under them. Fails (never skips) when redis-server is
// missing: scripts/setup.sh installs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { GlobalRateLimit } from '../core/config/traffic-policy.js';
import { GlobalRateLimiter, type GlobalDecision, type GlobalRateLimiterOptions, type LimiterEvent } from '../waypoint/resilience/ratelimit-global.js';
import { globalRateLimitKey } from '../waypoint/resilience/ratelimit-key.js';
import { rateLimitHeaders } from '../waypoint/resilience/ratelimit-local.js';
import { startRedis, type TestRedis } from './support/redis.js';

let redis: TestRedis | undefined;
const opened: GlobalRateLimiter[] = [];
const clients: Redis[] = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  for (const l of opened) await l.close();
  for (const c of clients) c.disconnect(false);
  await redis?.stop();
});

/** A command timeout far above the waypoint's (100 ms): on a loaded test machine a slow
 * answer must not turn a decision into a failure-mode one, except in the test that makes
 * Redis slow on purpose (and sets its own). */
const TEST_COMMAND_TIMEOUT_MS = 5_000;

function limiter(o: Partial<GlobalRateLimiterOptions> = {}): GlobalRateLimiter {
  const l = new GlobalRateLimiter({ host: '127.0.0.1', port: redis!.port, reconnectStepMs: 50, reconnectMaxMs: 200, commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS, ...o });
  opened.push(l);
  return l;
}

/** Waits (bounded) until the limiter's connection state is `want`. */
async function until(l: GlobalRateLimiter, want: boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (l.state().connected === want) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`limiter did not become ${what} within 20 s (state ${JSON.stringify(l.state())})`);
}

const limit = (o: Partial<GlobalRateLimit> = {}): GlobalRateLimit => ({ requests: 40, perMs: 60_000, key: [], window: 'fixed', failureMode: 'deny', ...o });
const keyFor = (scope: string, perMs = 60_000) => globalRateLimitKey(scope, perMs, [{ type: 'sourcePrincipal' }], { sourcePrincipal: 'spiffe://cluster.local/ns/shop/sa/web', sourceNamespace: 'shop', path: '/', headers: {} });

/** `n` decisions alternating between the replicas, `batch` in flight at once. */
async function fire(replicas: GlobalRateLimiter[], lim: GlobalRateLimit, key: string, n: number, batch = 20): Promise<GlobalDecision[]> {
  const out: GlobalDecision[] = [];
  for (let i = 0; i < n; i += batch) {
    const round = Array.from({ length: Math.min(batch, n - i) }, (_, j) => replicas[(i + j) % replicas.length]!.check(lim, key));
    out.push(...(await Promise.all(round)));
  }
  return out;
}

test('two_replicas_share_one_fixed_window_limit_exactly', async () => {
  const a = limiter();
  const b = limiter();
  await until(a, true, 'connected');
  await until(b, true, 'connected');
  const lim = limit({ requests: 40 });
  const ds = await fire([a, b], lim, keyFor('shop/p/fixed:80'), 200);
  const allowed = ds.filter((d) => d.allowed).length;
  assert.equal(allowed, 40, 'INCR is atomic: the two replicas together allow exactly the limit');
  assert.ok(ds.every((d) => d.result === (d.allowed ? 'allowed' : 'denied')), 'no failure-mode decision while Redis answers');
  const denied = ds.find((d) => !d.allowed)!;
  const h = rateLimitHeaders(denied);
  assert.equal(h['x-ratelimit-limit'], '40, 40;w=60');
  assert.equal(h['x-ratelimit-remaining'], '0');
  assert.ok(Number(h['retry-after']) >= 1 && Number(h['retry-after']) <= 60, h['retry-after']);
  // Both replicas took part.
  assert.ok(a.decisions().allowed + a.decisions().denied === 100 && b.decisions().allowed + b.decisions().denied === 100);
});

test('two_replicas_share_one_sliding_window_limit_within_one_request', async () => {
  let now = 10 * 60_000; // the start of an aligned window
  const clock = () => now;
  const a = limiter({ now: clock });
  const b = limiter({ now: clock });
  await until(a, true, 'connected');
  await until(b, true, 'connected');
  const lim = limit({ requests: 40, window: 'sliding' });
  const key = keyFor('shop/p/sliding:80');
  let ds = await fire([a, b], lim, key, 120);
  assert.equal(ds.filter((d) => d.allowed).length, 40);
  // Half-way through the next window the previous one weighs half: 20 more fit.
  now = 11 * 60_000 + 30_000;
  ds = await fire([a, b], lim, key, 120);
  const allowed = ds.filter((d) => d.allowed).length;
  assert.ok(Math.abs(allowed - 20) <= 1, `allowed ${allowed}, want 20 +- 1`);
  const denied = ds.find((d) => !d.allowed)!;
  assert.ok(denied.retryAfterSeconds! >= 1, String(denied.retryAfterSeconds));
});

test('distinct_keys_count_separately', async () => {
  const a = limiter();
  await until(a, true, 'connected');
  const lim = limit({ requests: 5 });
  const one = await fire([a], lim, keyFor('shop/p/k1:80'), 10);
  const two = await fire([a], lim, keyFor('shop/p/k2:80'), 10);
  assert.equal(one.filter((d) => d.allowed).length, 5);
  assert.equal(two.filter((d) => d.allowed).length, 5);
});

test('redis_too_slow_to_answer_gives_the_failure_mode', async () => {
  const l = limiter({ commandTimeoutMs: 50 });
  await until(l, true, 'connected');
  const admin = new Redis({ host: '127.0.0.1', port: redis!.port, maxRetriesPerRequest: 0 });
  clients.push(admin);
  admin.on('error', () => undefined); // refused once a later test stops Redis
  // The server stops answering every client for 3 s (the OK comes first): a Redis that is
  // there but too slow, without depending on how fast this machine is.
  await admin.client('PAUSE', 3000, 'ALL');
  const deny = await l.check(limit({ failureMode: 'deny' }), keyFor('shop/p/slow:80'));
  const allow = await l.check(limit({ failureMode: 'allow' }), keyFor('shop/p/slow:80'));
  assert.deepEqual([deny.allowed, deny.result, allow.allowed, allow.result], [false, 'failure_denied', true, 'failure_allowed']);
  assert.match(deny.error ?? '', /timed out/i);
  admin.disconnect(false);
  // Answered again once the pause ends.
  for (let i = 0; i < 200; i++) {
    if ((await l.check(limit(), keyFor('shop/p/slow-after:80'))).result === 'allowed') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('the limiter should answer normally after the server answers again');
});

test('redis_stopped_then_restarted_failure_mode_then_limits_again', async () => {
  const events: LimiterEvent[] = [];
  const allowMode = limiter({ onEvent: (e) => events.push(e) });
  const denyMode = limiter();
  await until(allowMode, true, 'connected');
  await until(denyMode, true, 'connected');
  const port = redis!.port;
  await redis!.stop();
  redis = undefined;
  await until(allowMode, false, 'disconnected');
  await until(denyMode, false, 'disconnected');
  assert.ok(events.some((e) => e.type === 'disconnected'), JSON.stringify(events));

  const key = keyFor('shop/p/restart:80');
  const open = await fire([allowMode], limit({ requests: 3, failureMode: 'allow' }), key, 10);
  assert.ok(open.every((d) => d.allowed && d.result === 'failure_allowed'), 'failureMode allow lets every request through');
  const closed = await fire([denyMode], limit({ requests: 3, failureMode: 'deny' }), key, 10);
  assert.ok(closed.every((d) => !d.allowed && d.result === 'failure_denied'), 'failureMode deny refuses every request');
  assert.equal(rateLimitHeaders(closed[0]!)['retry-after'], '1');
  assert.equal(allowMode.decisions().failure_allowed, 10);
  assert.equal(denyMode.decisions().failure_denied, 10);

  redis = await startRedis({ port });
  await until(allowMode, true, 'reconnected');
  await until(denyMode, true, 'reconnected');
  assert.equal(events.filter((e) => e.type === 'connected').length, 2, 'connected, then connected again');
  // The restarted Redis has no scripts cached (EVALSHA falls back to EVAL) and no counters.
  const again = await fire([allowMode, denyMode], limit({ requests: 3, failureMode: 'allow' }), key, 12, 4);
  assert.equal(again.filter((d) => d.allowed).length, 3);
  assert.ok(again.every((d) => d.result === 'allowed' || d.result === 'denied'));
});
