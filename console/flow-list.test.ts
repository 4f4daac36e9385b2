import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Flow } from './api-types.js';
import { mergeFlows } from './flow-list.js';

const flow = (id: string, time: string): Flow => ({
  id, time, kind: 'connection', verdict: 'allowed', policy: null,
  source: { namespace: 'a', workload: 'x', identity: null }, destination: { namespace: 'a', workload: 'y', service: null, identity: null, port: 80 },
  protocol: 'tcp', method: null, path: null, status: null, durationMs: 1, bytesSent: 0, bytesReceived: 0, reporter: 'node agent on n1',
});

test('streamed_flows_come_first_newest_on_top', () => {
  const cur = [flow('1', '2026-01-01T00:00:01Z')];
  const out = mergeFlows(cur, [flow('2', '2026-01-01T00:00:03Z'), flow('3', '2026-01-01T00:00:02Z')]);
  assert.deepEqual(out.map((f) => f.id), ['2', '3', '1']);
});

test('a_flow_seen_twice_is_listed_once', () => {
  const cur = [flow('1', '2026-01-01T00:00:01Z')];
  assert.equal(mergeFlows(cur, [flow('1', '2026-01-01T00:00:01Z')]), cur);
  assert.deepEqual(mergeFlows([], [flow('2', 't'), flow('2', 't')]).map((f) => f.id), ['2']);
});

test('the_list_keeps_at_most_the_bound_dropping_the_oldest', () => {
  const many = Array.from({ length: 10 }, (_, i) => flow(String(i), `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`));
  assert.deepEqual(mergeFlows([], many, 3).map((f) => f.id), ['9', '8', '7']);
});
