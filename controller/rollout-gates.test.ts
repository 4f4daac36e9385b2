import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText } from '../core/observe/prom-text.js';
import { bucketQuantile, canaryCounters, canaryWindow, type CanaryCounters, type CanarySelector } from './rollout-gates.js';

const SEL: CanarySelector = { service: 'echo', namespace: 'shop', workloads: new Set(['shop/echo-v2']) };

function line(name: string, labels: Record<string, string>, v: number): string {
  return `${name}{${Object.entries(labels).map(([k, x]) => `${k}="${x}"`).join(',')}} ${v}`;
}

function labels(workload: string, code: string, extra: Record<string, string> = {}): Record<string, string> {
  return { reporter: 'waypoint', destination_service_name: 'echo', destination_service_namespace: 'shop', destination_workload: workload, destination_workload_namespace: 'shop', response_code: code, ...extra };
}

function counters(text: string): CanaryCounters {
  return canaryCounters(parsePrometheusText(text).samples, SEL);
}

test('only the canary workload of the rolled-out Service is counted', () => {
  const c = counters(
    [
      line('istio_requests_total', labels('echo-v2', '200'), 90),
      line('istio_requests_total', labels('echo-v2', '503'), 10),
      line('istio_requests_total', labels('echo-v1', '200'), 1000),
      line('istio_requests_total', { ...labels('echo-v2', '200'), destination_service_name: 'other' }, 500),
      line('istio_requests_total', { ...labels('echo-v2', '200'), reporter: 'destination' }, 500),
      line('istio_requests_total', { ...labels('echo-v2', '200'), destination_workload_namespace: 'evil' }, 500),
    ].join('\n'),
  );
  assert.equal(c.requests, 100);
  assert.equal(c.successes, 90);
});

test('4xx answers count as successes, 5xx as failures', () => {
  const c = counters([line('istio_requests_total', labels('echo-v2', '404'), 5), line('istio_requests_total', labels('echo-v2', '500'), 5)].join('\n'));
  assert.deepEqual([c.requests, c.successes], [10, 5]);
});

test('histogram buckets of the canary are summed across series', () => {
  const c = counters(
    [
      line('istio_request_duration_milliseconds_bucket', { ...labels('echo-v2', '200'), le: '10' }, 3),
      line('istio_request_duration_milliseconds_bucket', { ...labels('echo-v2', '503'), le: '10' }, 1),
      line('istio_request_duration_milliseconds_bucket', { ...labels('echo-v2', '200'), le: '+Inf' }, 5),
    ].join('\n'),
  );
  assert.equal(c.buckets.get(10), 4);
  assert.equal(c.buckets.get(Infinity), 5);
});

test('bucketQuantile interpolates within the bucket as histogram_quantile does', () => {
  const b = new Map([[10, 50], [100, 100], [Infinity, 100]]);
  assert.equal(bucketQuantile(0.5, b), 10);
  assert.equal(bucketQuantile(0.75, b), 55);
  assert.equal(bucketQuantile(0.99, b), 98.2);
});

test('bucketQuantile answers the highest finite bound when the rank falls in +Inf, undefined when empty', () => {
  assert.equal(bucketQuantile(0.99, new Map([[10, 1], [Infinity, 100]])), 10);
  assert.equal(bucketQuantile(0.99, new Map([[10, 0], [Infinity, 0]])), undefined);
});

function cc(requests: number, successes: number, buckets: Array<[number, number]> = []): CanaryCounters {
  return { requests, successes, buckets: new Map(buckets) };
}

test('the window is the difference since its start, summed over waypoint pods', () => {
  const before = new Map([['wp-a', cc(100, 100, [[10, 100], [Infinity, 100]])], ['wp-b', cc(50, 50, [[10, 50], [Infinity, 50]])]]);
  const now = new Map([['wp-a', cc(130, 120, [[10, 110], [Infinity, 130]])], ['wp-b', cc(60, 60, [[10, 60], [Infinity, 60]])]]);
  const w = canaryWindow(42, before, now);
  assert.deepEqual([w.startedAt, w.requests, w.successes], [42, 40, 30]);
  assert.equal(w.p99Ms, 10); // 20 of 40 over 10ms, in +Inf: the highest finite bound
});

test('a waypoint pod that restarted or appeared counts from zero', () => {
  const before = new Map([['wp-a', cc(100, 100)]]);
  const now = new Map([['wp-a', cc(7, 6)], ['wp-new', cc(3, 3)]]);
  const w = canaryWindow(0, before, now);
  assert.deepEqual([w.requests, w.successes], [10, 9]);
});

test('no request in the window gives no p99', () => {
  const w = canaryWindow(0, new Map(), new Map([['wp', cc(0, 0, [[10, 0], [Infinity, 0]])]]));
  assert.equal(w.requests, 0);
  assert.equal(w.p99Ms, undefined);
});
