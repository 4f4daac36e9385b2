import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { compose, type Layer, type RequestContext, type RouteAction } from './chain.js';
import type { Downstream } from './downstream.js';
import { routeLayer } from './route.js';
import { timeoutLayer } from './timeout.js';

/** A downstream that records what was answered. */
function fakeDownstream() {
  const seen: { status?: number; headers?: Record<string, string>; body?: string; aborted?: boolean } = {};
  const ds = {
    headersSent: false,
    respond(status: number, headers: Record<string, string> = {}, body = '') {
      Object.assign(seen, { status, headers, body });
      ds.headersSent = true;
    },
    writeHead() {
      ds.headersSent = true;
    },
    body: undefined as never,
    end() {},
    writeContinue() {},
    abort() {
      seen.aborted = true;
    },
  };
  return { ds: ds as unknown as Downstream & { headersSent: boolean }, seen };
}

function ctx(ds: Downstream): RequestContext {
  const ac = new AbortController();
  return {
    method: 'GET',
    path: '/',
    authority: 'api',
    scheme: 'http',
    headers: {},
    body: Readable.from([]),
    protocol: 'http1',
    source: { identity: 'spiffe://cluster.local/ns/a/sa/b', namespace: 'a', serviceAccount: 'b' },
    target: { address: { host: '10.96.0.1', port: 80 }, service: 'a/api', port: 80 },
    startedAt: 0,
    signal: ac.signal,
    abort: (r) => ac.abort(r),
    downstream: ds,
    record: { flags: [] },
  };
}

test('compose_runs_layers_in_list_order_around_next', async () => {
  const order: string[] = [];
  const layer = (name: string): Layer => async (_c, next) => {
    order.push(`${name}>`);
    await next();
    order.push(`<${name}`);
  };
  await compose([layer('a'), layer('b'), layer('c')])(ctx(fakeDownstream().ds));
  assert.deepEqual(order, ['a>', 'b>', 'c>', '<c', '<b', '<a']);
});

test('compose_layer_that_answers_stops_the_chain', async () => {
  const order: string[] = [];
  await compose([async () => void order.push('answer'), async () => void order.push('never')])(ctx(fakeDownstream().ds));
  assert.deepEqual(order, ['answer']);
});

test('compose_lets_a_layer_call_next_again_as_a_retry_will', async () => {
  let attempts = 0;
  const retry: Layer = async (_c, next) => {
    await next();
    await next();
  };
  await compose([retry, async () => void attempts++])(ctx(fakeDownstream().ds));
  assert.equal(attempts, 2);
});

test('route_respond_action_answers_and_does_not_forward', async () => {
  const { ds, seen } = fakeDownstream();
  let forwarded = false;
  const action: RouteAction = { kind: 'respond', status: 302, headers: { location: '/x' }, route: 'a/HTTPRoute/r', rule: 'one' };
  const c = ctx(ds);
  await compose([routeLayer(() => action), async () => void (forwarded = true)])(c);
  assert.equal(seen.status, 302);
  assert.equal(forwarded, false);
  assert.equal(c.record.route, 'a/HTTPRoute/r');
  assert.equal(c.record.rule, 'one');
});

test('route_function_that_throws_gives_500_not_a_crash', async () => {
  const { ds, seen } = fakeDownstream();
  await compose([
    routeLayer(() => {
      throw new Error('bug');
    }),
  ])(ctx(ds));
  assert.equal(seen.status, 500);
});

test('route_forward_action_is_on_the_context_for_later_layers', async () => {
  let seenAction: RouteAction | undefined;
  await compose([routeLayer(() => ({ kind: 'forward', service: 'a/v2', port: 8080 })), async (c) => void (seenAction = c.action)])(ctx(fakeDownstream().ds));
  assert.deepEqual(seenAction, { kind: 'forward', service: 'a/v2', port: 8080 });
});

test('timeout_passed_before_the_head_answers_504_and_aborts_upstream_work', async () => {
  const { ds, seen } = fakeDownstream();
  const c = ctx(ds);
  c.action = { kind: 'forward', service: 'a/api', port: 80, requestTimeoutMs: 10 };
  let aborted = false;
  await compose([timeoutLayer(0), (cc) => new Promise<void>((resolve) => cc.signal.addEventListener('abort', () => ((aborted = true), resolve())))])(c);
  assert.equal(seen.status, 504);
  assert.equal(aborted, true);
  assert.deepEqual(c.record.flags, ['UT']);
});

test('timeout_passed_after_the_head_resets_instead', async () => {
  const { ds, seen } = fakeDownstream();
  const c = ctx(ds);
  c.action = { kind: 'forward', service: 'a/api', port: 80, requestTimeoutMs: 10 };
  await compose([
    timeoutLayer(0),
    (cc) =>
      new Promise<void>((resolve) => {
        cc.downstream.writeHead(200, {});
        cc.signal.addEventListener('abort', () => resolve());
      }),
  ])(c);
  assert.equal(seen.status, undefined);
  assert.equal(seen.aborted, true);
});

test('no_timeout_configured_leaves_the_request_alone', async () => {
  const { ds, seen } = fakeDownstream();
  await compose([timeoutLayer(0), async () => {}])(ctx(ds));
  assert.equal(seen.status, undefined);
});
