// The L4 path's spans: one per connection record, continuing the HBONE CONNECT's trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTracer, NOOP_TRACER, type FinishedSpan, type Tracer } from '../../core/trace/tracer.js';
import { startOtlpReceiver } from '../../test/support/otlp-receiver.js';
import { accessLogSink } from './access-log.js';
import { connectionSpan, exportConnectionSpan } from './connection-span.js';
import { client, outboundToReviews, server, state } from './fixtures.js';
import { silentLogger } from '../../core/log.js';

const ON = { name: 'parentbased_always_on', ratio: 1 } as const;
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('connection_span_of_the_source_agent_is_the_span_its_connect_named', () => {
  const s = connectionSpan(outboundToReviews({ traceparent: TP, startedAt: new Date(1_700_000_000_000), durationMs: 12 }), ON)!;
  assert.equal(s.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(s.spanId, '00f067aa0ba902b7');
  assert.equal(s.parentSpanId, undefined);
  assert.equal(s.kind, 'client');
  assert.equal(s.endMs - s.startMs, 12);
  assert.equal(s.attributes['mesh.source.principal'], client.identity);
  assert.equal(s.attributes['mesh.destination.principal'], server.identity);
  assert.equal(s.attributes['mesh.bytes_sent'], 100);
  assert.equal(s.attributes['mesh.bytes_received'], 2048);
  assert.equal(s.attributes['server.address'], '10.96.0.10');
  assert.equal(s.attributes['mesh.upstream.address'], '10.244.2.7:15008');
  assert.equal(s.attributes['mesh.response_flags'], '-');
  assert.equal(s.status, undefined);
});

test('connection_span_of_the_destination_agent_is_a_child_of_the_connect_traceparent', () => {
  const s = connectionSpan(outboundToReviews({ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', traceparent: TP }), ON)!;
  assert.equal(s.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(s.parentSpanId, '00f067aa0ba902b7');
  assert.notEqual(s.spanId, '00f067aa0ba902b7');
  assert.equal(s.kind, 'server');
});

test('connection_span_follows_the_sampled_flag_only_from_a_waypoint', () => {
  const off = { name: 'parentbased_always_off', ratio: 1 } as const;
  const inbound = { direction: 'inbound-hbone', reporter: 'destination', plan: 'accept' } as const;
  assert.equal(connectionSpan(outboundToReviews({ ...inbound, traceparent: TP }), off), undefined, "a source agent's 01 is not a decision");
  assert.ok(connectionSpan(outboundToReviews({ ...inbound, via: 'waypoint', traceparent: TP }), off), "a waypoint's 01 is");
  assert.equal(connectionSpan(outboundToReviews({ ...inbound, via: 'waypoint', traceparent: TP.replace(/01$/, '00') }), ON), undefined);
});

test('connection_span_without_a_connect_starts_a_trace_and_a_failure_is_an_error', () => {
  const s = connectionSpan(outboundToReviews({ plan: 'passthrough', error: 'passthrough to 1.2.3.4:80 failed: ECONNREFUSED' }), ON)!;
  assert.match(s.traceId, /^[0-9a-f]{32}$/);
  assert.equal(s.parentSpanId, undefined);
  assert.deepEqual(s.status, { error: true, message: 'passthrough to 1.2.3.4:80 failed: ECONNREFUSED' });
  assert.equal(s.attributes['mesh.response_flags'], 'UF');
});

test('connection_span_is_not_built_when_tracing_is_off', () => {
  const exported: FinishedSpan[] = [];
  const counting: Tracer = { ...NOOP_TRACER, export: (s) => void exported.push(s) };
  exportConnectionSpan(counting, outboundToReviews({ traceparent: TP }));
  accessLogSink(silentLogger, () => state, undefined, counting)(outboundToReviews({ traceparent: TP }));
  assert.equal(exported.length, 0);
});

test('connection_record_exports_a_span_with_its_attributes_and_the_traceparents_trace_id', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const tracer = await createTracer({ endpoint: receiver.tracesUrl, sampler: ON }, { serviceName: 'ambient-node-agent' });
  t.after(() => tracer.shutdown());
  const sink = accessLogSink(silentLogger, () => state, undefined, tracer);
  sink(outboundToReviews({ traceparent: TP }));
  sink(outboundToReviews({ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', traceparent: TP }));
  await tracer.forceFlush();
  const spans = await receiver.waitForSpans(2);
  const source = spans.find((s) => s.kind === 'client')!;
  const destination = spans.find((s) => s.kind === 'server')!;
  assert.equal(source.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(source.spanId, '00f067aa0ba902b7');
  assert.equal(destination.traceId, source.traceId);
  assert.equal(destination.parentSpanId, source.spanId, "the destination's span is the source's child");
  assert.equal(source.name, 'outbound connection');
  assert.equal(source.attributes['mesh.source.principal'], client.identity);
  assert.equal(source.attributes['mesh.bytes_sent'], 100);
  assert.equal(source.attributes['network.transport'], 'tcp');
  assert.equal(source.resource['service.name'], 'ambient-node-agent');
});

test('connection_span_of_the_destination_agent_keeps_the_connect_tracestate', () => {
  const s = connectionSpan(outboundToReviews({ direction: 'inbound-hbone', reporter: 'destination', plan: 'accept', via: 'waypoint', traceparent: TP, tracestate: 'shop=7' }), ON)!;
  assert.equal(s.parentSpanId, '00f067aa0ba902b7');
  assert.equal(s.tracestate, 'shop=7');
});
