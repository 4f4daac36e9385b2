import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RejectSummary } from './reject-summary.js';

test('reject_summary_logs_the_first_refusal_at_once_then_one_line_per_interval', () => {
  const s = new RejectSummary(10_000);
  const first = s.add('stream:reset_before_answer', 'a', 0);
  assert.deepEqual(first?.counts, { 'stream:reset_before_answer': 1 });
  let lines = 0;
  for (let i = 1; i <= 150_000; i++) if (s.add(i % 2 ? 'stream:reset_before_answer' : 'connection:peer_penalised', `p${i % 7}`, i / 10)) lines++;
  // 150 000 refusals over 15 s: one line at 10 s; the rest waits for the next interval.
  assert.equal(lines, 1);
  assert.ok(s.pending > 0);
});

test('reject_summary_counts_by_reason_and_names_the_busiest_peers', () => {
  const s = new RejectSummary(1000, 2);
  s.add('x', 'warm-up', 0);
  s.add('stream:peer_stream_limit', 'a', 10);
  for (let i = 0; i < 5; i++) s.add('stream:reset_before_answer', 'b', 20);
  s.add('stream:reset_before_answer', 'c', 30);
  const line = s.flush(1000);
  assert.deepEqual(line?.counts, { 'stream:peer_stream_limit': 1, 'stream:reset_before_answer': 6 });
  assert.deepEqual(line?.peers, [{ peer: 'b', count: 5 }, { peer: 'a', count: 1 }]);
  assert.equal(line?.otherPeers, 1);
  assert.equal(line?.sinceMs, 990);
  assert.equal(s.flush(5000), undefined, 'nothing new: no line');
});

test('reject_summary_flush_before_the_interval_waits_unless_forced', () => {
  const s = new RejectSummary(1000);
  s.add('a', 'p', 0);
  s.add('a', 'p', 1);
  assert.equal(s.flush(500), undefined);
  assert.equal(s.nextLineAt, 1000);
  assert.deepEqual(s.flush(500, true)?.counts, { a: 1 });
});
