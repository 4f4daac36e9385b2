import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatResponseFlags, RESPONSE_FLAGS, RequestTracker, type RequestRecord } from './request-record.js';

const known = { startedAt: 1000, method: 'GET', authority: 'a', path: '/', scheme: 'http', httpVersion: '1.1', protocol: 'http', mtls: true } as const;

test('request_tracker_hands_the_record_to_the_sink_exactly_once', () => {
  const got: RequestRecord[] = [];
  let now = 1000;
  const t = new RequestTracker({ ...known }, (r) => got.push(r), undefined, () => now);
  t.set({ route: 'ns/HTTPRoute/r', destinationService: 'ns/svc.ns.svc.cluster.local' });
  t.flag(RESPONSE_FLAGS.upstreamRequestTimeout);
  t.flag(RESPONSE_FLAGS.upstreamRequestTimeout);
  t.status = 504;
  t.requestBytes = 3;
  t.responseBytes = 24;
  now = 1042;
  t.finish('upstream request timeout');
  t.finish('again');
  t.set({ route: 'other' });
  assert.equal(got.length, 1);
  assert.equal(t.finished, true);
  const r = got[0]!;
  assert.equal(r.status, 504);
  assert.equal(r.durationMs, 42);
  assert.equal(r.requestBytes, 3);
  assert.equal(r.responseBytes, 24);
  assert.equal(r.route, 'ns/HTTPRoute/r');
  assert.deepEqual(r.responseFlags, ['UT']);
  assert.equal(r.error, 'upstream request timeout');
});

test('request_tracker_a_throwing_sink_is_reported_not_thrown', () => {
  const errors: unknown[] = [];
  const t = new RequestTracker({ ...known }, () => {
    throw new Error('sink broke');
  }, (e) => errors.push(e));
  t.finish();
  assert.equal((errors[0] as Error).message, 'sink broke');
});

test('response_flags_format_as_envoy_prints_them', () => {
  assert.equal(formatResponseFlags([]), '-');
  assert.equal(formatResponseFlags(['NR']), 'NR');
  assert.equal(formatResponseFlags(['DC', 'UF', 'UH']), 'UH,UF,DC');
});
