// The request timeout layer: 504 when the exchange outlasts it, and a timeout longer than a
// timer can hold (a Gateway API Duration may be up to 99999h) never firing early.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compose, type RequestContext } from './chain.js';
import { timeoutLayer } from './timeout.js';
import { fakeContext } from '../resilience/test-context.js';

const untilAborted = (ctx: RequestContext) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
const forward = (requestTimeoutMs: number) => ({ action: { kind: 'forward' as const, service: 'shop/echo.shop.svc.cluster.local', port: 80, requestTimeoutMs } });

test('a_request_past_its_route_timeout_gets_504_with_flag_ut', async () => {
  const { ctx, seen } = fakeContext(forward(5));
  await compose([timeoutLayer(0), (c) => untilAborted(c)])(ctx);
  assert.equal(seen.status, 504);
  assert.deepEqual(ctx.record.flags, ['UT']);
  assert.match(ctx.record.error!, /AMB_WAYPOINT_TIMEOUT: request timeout 5 ms/);
});

test('a_route_timeout_longer_than_a_timer_holds_does_not_fire_at_once', async () => {
  const { ctx, seen } = fakeContext(forward(600 * 3_600_000));
  await compose([timeoutLayer(0), () => new Promise<void>((resolve) => setTimeout(resolve, 50))])(ctx);
  assert.equal(seen.status, undefined);
  assert.deepEqual(ctx.record.flags, []);
  assert.equal(ctx.signal.aborted, false);
});
