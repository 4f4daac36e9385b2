import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { Retries } from '../../core/config/traffic-policy.js';
import type { RequestContext } from '../http/chain.js';
import type { Downstream } from '../http/downstream.js';
import { ResilienceMetrics } from './metrics.js';
import { ownAnswerOutcome, previousTries, retryLayer, type RetryLayerOptions } from './retry-layer.js';
import { fakeContext, policy } from './test-context.js';

const retries = (o: Partial<Retries> = {}): Retries => ({
  attempts: 3,
  retryOn: ['gateway-error', 'reset', 'connect-failure'],
  retriableStatusCodes: [],
  backoff: { baseMs: 25, maxMs: 250 },
  budget: { percent: 100, minRetriesPerSecond: 10 },
  retryNonIdempotent: false,
  ...o,
});

type Step = { status: number; body?: string; headers?: Record<string, string> } | { fail: 'UF' | 'UC' | 'UT' | 'UH' };

/** The client's side: what reached it. */
function client() {
  const seen = { status: undefined as number | undefined, body: '', heads: 0, responds: 0, ended: false, aborted: false };
  const body = new Writable({
    write(chunk, _e, cb) {
      seen.body += chunk.toString();
      cb();
    },
  });
  const ds: Downstream & { headersSent: boolean } = {
    headersSent: false,
    respond(status, _h, b = '') {
      seen.status = status;
      seen.body += b;
      seen.responds++;
      ds.headersSent = true;
    },
    writeHead(status) {
      seen.status = status;
      seen.heads++;
      ds.headersSent = true;
    },
    body,
    end() {
      seen.ended = true;
    },
    writeContinue() {},
    abort() {
      seen.aborted = true;
    },
  };
  return { ds, seen };
}

/** A stand-in for the layers below (balancer, forward): one step per try. */
function upstream(steps: Step[]) {
  const tries: Array<{ body: string; backendMs?: number; mirrors?: unknown; flagsAtStart: string[]; previous: readonly string[] }> = [];
  const next = (ctx: RequestContext) => async () => {
    const i = tries.length;
    const chunks: Buffer[] = [];
    for await (const c of ctx.body) chunks.push(Buffer.from(c as Buffer));
    const a = ctx.action!;
    tries.push({ body: Buffer.concat(chunks).toString(), ...(a.kind === 'forward' && { backendMs: a.backendRequestTimeoutMs, mirrors: a.mirrors }), flagsAtStart: [...ctx.record.flags], previous: [...previousTries(ctx)] });
    const s = steps[Math.min(i, steps.length - 1)]!;
    ctx.record.upstream = `10.0.0.${i + 1}:8080`;
    if ('fail' in s) {
      ctx.record.flags.push(s.fail);
      ctx.record.status = s.fail === 'UT' ? 504 : 503;
      if (ctx.downstream.headersSent) ctx.downstream.abort();
      else ctx.downstream.respond(ctx.record.status, {}, `${s.fail}\n`);
      return;
    }
    ctx.record.status = s.status;
    ctx.downstream.writeHead(s.status, s.headers ?? {});
    ctx.downstream.body.write(s.body ?? `try ${i + 1}`);
    ctx.downstream.end();
  };
  return { tries, next };
}

async function run(steps: Step[], o: { retries?: Retries; method?: string; body?: Readable; opts?: Partial<RetryLayerOptions>; ctx?: Partial<RequestContext> } = {}) {
  const delays: number[] = [];
  const p = policy({ retries: o.retries ?? retries() });
  const layer = retryLayer({ policyFor: () => p, now: () => 0, random: () => 0.5, sleep: async (ms) => void delays.push(ms), ...o.opts });
  const c = client();
  const { ctx } = fakeContext({ downstream: c.ds, method: o.method ?? 'GET', body: o.body ?? Readable.from([]), ...o.ctx });
  const u = upstream(steps);
  await layer(ctx, u.next(ctx));
  return { seen: c.seen, tries: u.tries, ctx, delays };
}

test('a_503_then_200_reaches_the_client_as_the_200', async () => {
  const { seen, tries, ctx, delays } = await run([{ status: 503 }, { status: 200 }]);
  assert.equal(tries.length, 2);
  assert.deepEqual([seen.status, seen.body, seen.heads, seen.ended], [200, 'try 2', 1, true]);
  assert.equal(ctx.record.upstream, '10.0.0.2:8080');
  assert.deepEqual(ctx.record.flags, []);
  assert.deepEqual(delays, [12], 'full jitter of the first backoff (25 ms) at 0.5');
});

test('exhausted_tries_answer_the_last_failure_with_urx', async () => {
  const { seen, tries, ctx } = await run([{ status: 503 }]);
  assert.equal(tries.length, 4, 'the first try and 3 retries');
  assert.deepEqual([seen.status, seen.body], [503, 'try 4']);
  assert.deepEqual(ctx.record.flags, ['URX']);
});

test('a_non_retriable_answer_goes_straight_to_the_client', async () => {
  const { seen, tries } = await run([{ status: 500 }, { status: 200 }]);
  assert.equal(tries.length, 1);
  assert.equal(seen.status, 500);
});

test('connect_failures_and_resets_are_retried', async () => {
  const { seen, tries, ctx } = await run([{ fail: 'UF' }, { fail: 'UC' }, { status: 200 }]);
  assert.equal(tries.length, 3);
  assert.equal(seen.status, 200);
  assert.equal(seen.responds, 0, 'the held 503s never reached the client');
  assert.deepEqual(ctx.record.flags, [], 'each try starts with clean flags');
  assert.deepEqual(tries.map((t) => t.flagsAtStart), [[], [], []]);
});

test('no_endpoint_is_not_retried', async () => {
  const { seen, tries } = await run([{ fail: 'UH' }, { status: 200 }]);
  assert.equal(tries.length, 1);
  assert.equal(seen.status, 503);
});

test('post_is_not_retried_after_an_answer', async () => {
  const { seen, tries } = await run([{ status: 503 }, { status: 200 }], { method: 'POST' });
  assert.equal(tries.length, 1);
  assert.equal(seen.status, 503);
});

test('post_body_is_replayed_on_each_try_when_allowed', async () => {
  const { seen, tries } = await run([{ status: 503 }, { status: 503 }, { status: 201 }], { method: 'POST', retries: retries({ retryNonIdempotent: true }), body: Readable.from([Buffer.from('{"a":'), Buffer.from('1}')]) });
  assert.deepEqual(tries.map((t) => t.body), ['{"a":1}', '{"a":1}', '{"a":1}']);
  assert.equal(seen.status, 201);
});

test('a_body_beyond_the_buffer_is_never_retried', async () => {
  const { seen, tries } = await run([{ status: 503 }, { status: 200 }], { method: 'PUT', body: Readable.from([Buffer.alloc(2000)]), opts: { maxBufferedBodyBytes: 1000 } });
  assert.equal(tries.length, 1);
  assert.equal(tries[0]!.body.length, 2000, 'the body itself is forwarded whole');
  assert.equal(seen.status, 503);
});

test('grpc_unavailable_in_headers_is_retried_when_asked', async () => {
  const { seen, tries } = await run([{ status: 200, headers: { 'grpc-status': '14' } }, { status: 200, headers: { 'grpc-status': '0' } }], { retries: retries({ retryOn: ['unavailable'] }) });
  assert.equal(tries.length, 2);
  assert.equal(seen.body, 'try 2');
});

test('per_try_timeout_is_the_forward_layers_backend_timeout', async () => {
  const { tries } = await run([{ fail: 'UT' }, { status: 200 }], { retries: retries({ perTryTimeoutMs: 2000 }) });
  assert.deepEqual(tries.map((t) => t.backendMs), [2000, 2000]);
});

test('per_try_timeout_never_outlasts_the_request_timeout', async () => {
  const { tries } = await run([{ status: 200 }], { retries: retries({ perTryTimeoutMs: 2000 }), ctx: { action: { kind: 'forward', service: 'shop/echo.shop.svc.cluster.local', port: 80, requestTimeoutMs: 500 } } });
  assert.equal(tries[0]!.backendMs, 500);
});

test('mirrors_go_with_the_first_try_only', async () => {
  const mirrors = [{ service: 'shop/shadow', port: 80 }];
  const { tries, ctx } = await run([{ status: 503 }, { status: 200 }], { ctx: { action: { kind: 'forward', service: 'shop/echo.shop.svc.cluster.local', port: 80, mirrors } } });
  assert.deepEqual(tries.map((t) => t.mirrors), [mirrors, undefined]);
  assert.equal(ctx.action!.kind === 'forward' && ctx.action!.mirrors, mirrors, 'the action is restored');
});

test('an_empty_budget_refuses_the_retry_with_uo', async () => {
  const { seen, tries, ctx } = await run([{ status: 503 }, { status: 200 }], { retries: retries({ budget: { percent: 0, minRetriesPerSecond: 0 } }) });
  assert.equal(tries.length, 1);
  assert.equal(seen.status, 503);
  assert.deepEqual(ctx.record.flags, ['UO']);
});

test('retries_are_counted_by_reason_and_refusals_by_why', async () => {
  const registry = new Registry();
  const metrics = new ResilienceMetrics({ registry });
  await run([{ status: 503 }], { retries: retries({ attempts: 1 }), opts: { metrics } });
  const text = await registry.metrics();
  assert.match(text, /ambient_retries_total\{destination_service="echo.shop.svc.cluster.local",reason="gateway-error"\} 1/);
  assert.match(text, /ambient_retries_refused_total\{destination_service="echo.shop.svc.cluster.local",why="attempts-exhausted"\} 1/);
});

test('without_retries_configured_the_layer_calls_next_once', async () => {
  const c = client();
  const { ctx } = fakeContext({ downstream: c.ds });
  const u = upstream([{ status: 503 }]);
  await retryLayer({ policyFor: () => policy() })(ctx, u.next(ctx));
  assert.equal(u.tries.length, 1);
  assert.equal(c.seen.status, 503);
});

test('route_retries_apply_when_no_policy_has_any', async () => {
  const c = client();
  const { ctx } = fakeContext({ downstream: c.ds });
  const u = upstream([{ status: 503 }, { status: 200 }]);
  await retryLayer({ policyFor: () => undefined, routeRetries: () => retries({ retryOn: ['retriable-status-codes'], retriableStatusCodes: [503] }), sleep: async () => undefined, random: () => 0 })(ctx, u.next(ctx));
  assert.equal(u.tries.length, 2);
  assert.equal(c.seen.status, 200);
});

test('a_request_ended_from_above_during_backoff_stops_retrying', async () => {
  const c = client();
  const { ctx } = fakeContext({ downstream: c.ds });
  const u = upstream([{ status: 503 }, { status: 200 }]);
  const layer = retryLayer({
    policyFor: () => policy({ retries: retries() }),
    random: () => 0.5, // a backoff above 0, so that the wait happens
    sleep: async () => {
      ctx.abort('request timeout');
      throw new Error('aborted');
    },
  });
  await layer(ctx, u.next(ctx));
  assert.equal(u.tries.length, 1);
  assert.equal(c.seen.status, undefined, 'the timeout layer answers, not the held try');
  assert.equal(ctx.downstream, c.ds, 'the client’s downstream is back in place for it');
});

test('a_client_gone_during_backoff_is_flagged_dc', async () => {
  const c = client();
  const { ctx } = fakeContext({ downstream: c.ds });
  const u = upstream([{ status: 503 }, { status: 200 }]);
  const layer = retryLayer({
    policyFor: () => policy({ retries: retries() }),
    random: () => 0.5,
    sleep: async () => {
      ctx.abort('downstream closed');
      throw new Error('aborted');
    },
  });
  await layer(ctx, u.next(ctx));
  assert.equal(u.tries.length, 1);
  assert.ok(ctx.record.flags.includes('DC'), JSON.stringify(ctx.record.flags));
});

test('own_answer_outcomes_come_from_the_flags', () => {
  assert.deepEqual(ownAnswerOutcome(['UF']), { kind: 'connect-failure' });
  assert.deepEqual(ownAnswerOutcome(['UC']), { kind: 'reset' });
  assert.deepEqual(ownAnswerOutcome(['UT']), { kind: 'timeout' });
  assert.equal(ownAnswerOutcome(['UH']), undefined);
});

test('the_balancer_can_see_which_endpoints_earlier_tries_used', async () => {
  const { tries } = await run([{ status: 503 }, { fail: 'UF' }, { status: 200 }]);
  assert.deepEqual(tries.map((t) => t.previous), [[], ['10.0.0.1:8080'], ['10.0.0.1:8080', '10.0.0.2:8080']]);
});
