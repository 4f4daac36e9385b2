import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compose, type RequestContext } from './chain.js';
import { idleRemainingMs, idleTimeoutLayer, touch } from './idle-timeout.js';
import { fakeContext, policy } from '../resilience/test-context.js';

const withIdle = (idleMs: number) => () => policy({ timeouts: { idleMs } });
const untilAborted = (ctx: RequestContext) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));

test('idle_remaining_counts_from_the_last_byte', () => {
  assert.equal(idleRemainingMs(100, 150, 80), 30);
  assert.equal(idleRemainingMs(100, 180, 80), 0);
  assert.ok(idleRemainingMs(100, 500, 80) < 0);
});

test('a_request_idle_before_its_answer_gets_504_with_flag_ut', async () => {
  const { ctx, seen } = fakeContext();
  await compose([idleTimeoutLayer({ policyFor: withIdle(1) }), (c) => untilAborted(c)])(ctx);
  assert.equal(seen.status, 504);
  assert.equal(ctx.record.status, 504);
  assert.deepEqual(ctx.record.flags, ['UT']);
  assert.equal(ctx.signal.reason, 'idle timeout');
  assert.match(ctx.record.error!, /AMB_WAYPOINT_TIMEOUT: idle timeout 1 ms/);
});

test('a_request_idle_after_its_answer_started_is_reset', async () => {
  const { ctx, seen } = fakeContext();
  await compose([
    idleTimeoutLayer({ policyFor: withIdle(1) }),
    (c) => {
      c.downstream.writeHead(200, {});
      return untilAborted(c);
    },
  ])(ctx);
  assert.equal(seen.status, 200);
  assert.equal(seen.aborted, true);
  assert.deepEqual(ctx.record.flags, ['UT']);
});

test('bytes_moving_keep_the_request_going', async () => {
  // A clock that stands still just after the last byte: the request is never idle long enough.
  let clock = 0;
  const { ctx, seen } = fakeContext();
  let rounds = 0;
  await compose([
    idleTimeoutLayer({ policyFor: withIdle(1), now: () => clock }),
    (c) =>
      new Promise<void>((resolve) => {
        clock = 0.5;
        touch(c);
        const tick = () => (++rounds >= 5 ? resolve() : setTimeout(tick, 2));
        setTimeout(tick, 2);
      }),
  ])(ctx);
  assert.equal(seen.status, undefined);
  assert.deepEqual(ctx.record.flags, []);
  assert.equal(ctx.signal.aborted, false);
});

test('a_target_without_timeouts_idle_is_left_alone', async () => {
  const { ctx } = fakeContext();
  let ran = false;
  await compose([idleTimeoutLayer({ policyFor: () => policy() }), async () => void (ran = true)])(ctx);
  assert.equal(ran, true);
  assert.deepEqual(ctx.record.flags, []);
});

test('a_request_the_client_already_ended_is_not_answered_again', async () => {
  const { ctx, seen } = fakeContext();
  await compose([
    idleTimeoutLayer({ policyFor: withIdle(1) }),
    (c) => {
      c.abort('downstream closed');
      return new Promise<void>(() => {});
    },
  ])(ctx);
  assert.equal(seen.status, undefined);
  assert.deepEqual(ctx.record.flags, []);
});

test('touch_outside_the_layer_is_a_no_op', () => {
  const { ctx } = fakeContext();
  touch(ctx);
});
