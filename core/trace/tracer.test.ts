// The OTLP exporter against a real HTTP receiver on 127.0.0.1 (test/support/otlp-receiver.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOtlpReceiver } from '../../test/support/otlp-receiver.js';
import { createTracer, NOOP_TRACER } from './tracer.js';

test('tracer_without_config_is_the_noop_tracer', async () => {
  const t = await createTracer(undefined, { serviceName: 'x' });
  assert.equal(t, NOOP_TRACER);
  assert.equal(t.enabled, false);
  assert.equal(t.sampler, undefined);
});

test('tracer_exports_a_span_with_the_decided_ids_times_kind_and_attributes_over_otlp_protobuf', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const tracer = await createTracer({ endpoint: receiver.tracesUrl, sampler: { name: 'always_on', ratio: 1 } }, { serviceName: 'ambient-waypoint', resource: { 'k8s.namespace.name': 'shop' } });
  t.after(() => tracer.shutdown());
  tracer.export({
    name: 'GET',
    kind: 'server',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '1111111111111111',
    parentSpanId: '00f067aa0ba902b7',
    tracestate: 'rojo=1',
    startMs: 1_700_000_000_000.5,
    endMs: 1_700_000_000_012.5,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 503, 'mesh.ok': true, skipped: undefined, empty: '' },
    status: { error: true, message: 'no healthy upstream' },
  });
  tracer.export({ name: 'root', kind: 'client', traceId: '22222222222222222222222222222222', spanId: '3333333333333333', startMs: 1_700_000_000_000, endMs: 1_700_000_000_001, attributes: {} });
  await tracer.forceFlush();
  const spans = await receiver.waitForSpans(2);
  const s = spans.find((x) => x.name === 'GET')!;
  assert.equal(s.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(s.spanId, '1111111111111111');
  assert.equal(s.parentSpanId, '00f067aa0ba902b7');
  assert.equal(s.traceState, 'rojo=1');
  assert.equal(s.kind, 'server');
  assert.equal(s.startTimeUnixNano, 1_700_000_000_000_500_000n);
  assert.equal(s.endTimeUnixNano, 1_700_000_000_012_500_000n);
  assert.deepEqual(s.attributes, { 'http.request.method': 'GET', 'http.response.status_code': 503, 'mesh.ok': true });
  assert.deepEqual(s.status, { code: 'error', message: 'no healthy upstream' });
  assert.equal(s.resource['service.name'], 'ambient-waypoint');
  assert.equal(s.resource['k8s.namespace.name'], 'shop');
  const root = spans.find((x) => x.name === 'root')!;
  assert.equal(root.traceId, '22222222222222222222222222222222');
  assert.equal(root.spanId, '3333333333333333');
  assert.equal(root.parentSpanId, '');
  assert.equal(root.kind, 'client');
  assert.deepEqual(receiver.refused, []);
});

test('tracer_service_name_from_otel_service_name_wins', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const tracer = await createTracer({ endpoint: receiver.tracesUrl, sampler: { name: 'always_on', ratio: 1 }, serviceName: 'custom' }, { serviceName: 'ambient-waypoint' });
  t.after(() => tracer.shutdown());
  tracer.export({ name: 'x', kind: 'internal', traceId: '44444444444444444444444444444444', spanId: '5555555555555555', startMs: 1, endMs: 2, attributes: {} });
  await tracer.forceFlush();
  const [s] = await receiver.waitForSpans(1);
  assert.equal(s!.resource['service.name'], 'custom');
});
