// Propagation: the proxy's span continues the incoming trace, starts one when none comes
// in, and the outgoing headers carry the proxy's span as the parent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceparent } from './context.js';
import { startSpan } from './propagate.js';
import type { SamplerConfig } from './sampler.js';

const ON: SamplerConfig = { name: 'parentbased_always_on', ratio: 1 };
const INCOMING = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const CONNECT = '00-11111111111111111111111111111111-2222222222222222-01';

test('propagate_span_is_a_child_of_the_incoming_traceparent_and_is_sent_on_as_parent', () => {
  const s = startSpan({ traceparent: INCOMING, tracestate: 'rojo=1', baggage: 'user=a' }, CONNECT, ON);
  assert.equal(s.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(s.parentSpanId, '00f067aa0ba902b7');
  assert.notEqual(s.spanId, '00f067aa0ba902b7');
  assert.equal(s.sampled, true);
  assert.deepEqual(parseTraceparent(s.outgoing.traceparent), { traceId: s.traceId, spanId: s.spanId, sampled: true });
  assert.equal(s.outgoing.tracestate, 'rojo=1');
  assert.equal(s.outgoing.baggage, 'user=a');
});

test('propagate_honours_an_incoming_not_sampled_flag', () => {
  const s = startSpan({ traceparent: INCOMING.replace(/01$/, '00') }, undefined, ON);
  assert.equal(s.sampled, false);
  assert.match(s.outgoing.traceparent!, /-00$/);
});

test('propagate_without_incoming_context_continues_the_connect_traceparent', () => {
  const s = startSpan({}, CONNECT, { name: 'parentbased_always_off', ratio: 1 });
  assert.equal(s.traceId, '11111111111111111111111111111111');
  assert.equal(s.parentSpanId, '2222222222222222');
  assert.equal(s.sampled, false, "the CONNECT's flag is not followed: sampled as a root");
});

test('propagate_starts_a_new_trace_when_none_comes_in', () => {
  const s = startSpan({ traceparent: 'garbage', tracestate: 'rojo=1' }, undefined, ON);
  assert.match(s.traceId, /^[0-9a-f]{32}$/);
  assert.equal(s.parentSpanId, undefined);
  assert.equal(s.sampled, true);
  assert.equal(s.outgoing.tracestate, undefined, 'a tracestate without a valid traceparent is dropped');
  assert.notEqual(startSpan({}, undefined, ON).traceId, s.traceId);
});

test('propagate_drops_an_invalid_tracestate_but_keeps_the_trace', () => {
  const s = startSpan({ traceparent: INCOMING, tracestate: 'Bad=1' }, undefined, ON);
  assert.equal(s.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(s.outgoing.tracestate, undefined);
});

test('propagate_with_tracing_off_passes_headers_through_and_names_the_trace_for_the_log', () => {
  const s = startSpan({ traceparent: INCOMING, tracestate: 'x=1', baggage: 'b=2' }, CONNECT, undefined);
  assert.deepEqual(s.outgoing, { traceparent: INCOMING, tracestate: 'x=1', baggage: 'b=2' });
  assert.equal(s.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(s.sampled, false);
  const none = startSpan({}, CONNECT, undefined);
  assert.deepEqual(none.outgoing, {}, 'nothing is added when nothing came in');
  assert.equal(none.traceId, '11111111111111111111111111111111');
  assert.equal(startSpan({}, undefined, undefined).traceId, '');
});
