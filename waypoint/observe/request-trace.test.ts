// A request's span, end to end through the sink: exported to a real OTLP receiver with the
// incoming trace id, the incoming span as its parent, and the outgoing traceparent naming
// the exported span; with tracing off, headers pass through and nothing is exported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { parseTraceparent } from '../../core/trace/context.js';
import { createTracer, NOOP_TRACER } from '../../core/trace/tracer.js';
import { startOtlpReceiver } from '../../test/support/otlp-receiver.js';
import { getReviews, state } from './fixtures.js';
import { RequestMetrics } from './request-metrics.js';
import { requestSink } from './request-sink.js';
import { startRequestTrace, traceFields } from './request-trace.js';

const INCOMING = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const CONNECT = '00-11111111111111111111111111111111-2222222222222222-01';

test('request_span_exported_to_otlp_carries_the_incoming_trace_id_and_parent_and_semconv_attributes', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const tracer = await createTracer({ endpoint: receiver.tracesUrl, sampler: { name: 'parentbased_always_on', ratio: 1 } }, { serviceName: 'ambient-waypoint' });
  t.after(() => tracer.shutdown());
  const sink = requestSink({ getState: () => state, tracer, metrics: new RequestMetrics({ registry: new Registry() }) });

  const span = startRequestTrace(tracer, { traceparent: INCOMING, tracestate: 'rojo=1' }, CONNECT);
  const out = parseTraceparent(span.outgoing.traceparent)!;
  sink(getReviews({ ...traceFields(span), status: 201, method: 'POST' }));
  await tracer.forceFlush();
  const [s] = await receiver.waitForSpans(1);
  assert.equal(s!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(s!.parentSpanId, '00f067aa0ba902b7');
  assert.equal(s!.spanId, out.spanId, 'the upstream request names the exported span as its parent');
  assert.equal(out.traceId, s!.traceId);
  assert.equal(s!.kind, 'server');
  assert.equal(s!.traceState, 'rojo=1');
  assert.equal(s!.attributes['http.request.method'], 'POST');
  assert.equal(s!.attributes['http.response.status_code'], 201);
  assert.equal(s!.attributes['url.path'], '/reviews/1');
  assert.equal(s!.attributes['server.address'], 'reviews.shop.svc.cluster.local');
  assert.equal(s!.attributes['mesh.source.principal'], 'spiffe://cluster.local/ns/apps/sa/sleep');
});

test('request_without_trace_headers_continues_the_connect_trace_so_l4_and_l7_share_it', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const tracer = await createTracer({ endpoint: receiver.tracesUrl, sampler: { name: 'parentbased_always_on', ratio: 1 } }, { serviceName: 'ambient-waypoint' });
  t.after(() => tracer.shutdown());
  const sink = requestSink({ getState: () => state, tracer });
  const span = startRequestTrace(tracer, {}, CONNECT);
  sink(getReviews(traceFields(span)));
  await tracer.forceFlush();
  const [s] = await receiver.waitForSpans(1);
  assert.equal(s!.traceId, '11111111111111111111111111111111');
  assert.equal(s!.parentSpanId, '2222222222222222');
});

test('request_not_sampled_is_not_exported_but_keeps_its_trace_id_for_the_log', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const tracer = await createTracer({ endpoint: receiver.tracesUrl, sampler: { name: 'parentbased_always_on', ratio: 1 } }, { serviceName: 'w' });
  t.after(() => tracer.shutdown());
  const span = startRequestTrace(tracer, { traceparent: INCOMING.replace(/01$/, '00') });
  const fields = traceFields(span);
  assert.equal(fields.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(fields.sampled, false);
  assert.match(span.outgoing.traceparent!, /-00$/);
  requestSink({ getState: () => state, tracer })(getReviews(fields));
  await tracer.forceFlush();
  assert.equal(receiver.spans.length, 0);
});

test('tracing_off_passes_trace_headers_through_unchanged', () => {
  const span = startRequestTrace(NOOP_TRACER, { traceparent: INCOMING, baggage: 'k=v' }, CONNECT);
  assert.deepEqual(span.outgoing, { traceparent: INCOMING, baggage: 'k=v' });
  assert.deepEqual(traceFields(span), { sampled: false, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
});
