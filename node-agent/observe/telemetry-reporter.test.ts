import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TelemetryReport } from '../../core/observe/telemetry-wire.js';
import { TelemetryReporter } from './telemetry-reporter.js';

const REPORT: TelemetryReport = { edges: [], overflowEdges: 0, flows: [], droppedFlows: 1 };

test('nothing_to_report_sends_nothing', async () => {
  let sent = 0;
  const r = new TelemetryReporter({ take: () => undefined, send: async () => void sent++ });
  await r.flush();
  assert.equal(sent, 0);
});

test('a_report_is_sent_as_json', async () => {
  const bodies: string[] = [];
  const r = new TelemetryReporter({ take: () => REPORT, send: async (b) => void bodies.push(b) });
  await r.flush();
  assert.deepEqual(bodies.map((b) => JSON.parse(b) as unknown), [REPORT]);
  assert.equal(r.stats.sent, 1);
});

test('a_refused_report_is_dropped_and_counted_not_retried', async () => {
  let calls = 0;
  let takes = 0;
  const r = new TelemetryReporter({
    take: () => (takes++ === 0 ? REPORT : undefined),
    send: async () => {
      calls++;
      throw new Error('controller answered 403');
    },
  });
  await r.flush();
  await r.flush();
  assert.deepEqual([calls, r.stats.dropped, r.stats.lastError], [1, 1, 'controller answered 403']);
});

test('one_report_in_flight_at_most_a_tick_meanwhile_is_skipped', async () => {
  let release!: () => void;
  let takes = 0;
  const r = new TelemetryReporter({
    take: () => {
      takes++;
      return REPORT;
    },
    send: () => new Promise<void>((resolve) => (release = resolve)),
  });
  const first = r.flush();
  const second = r.flush();
  assert.equal(takes, 1);
  assert.equal(r.stats.skipped, 1);
  release();
  await Promise.all([first, second]);
  assert.equal(r.stats.sent, 1);
});

test('a_take_that_throws_does_not_escape', async () => {
  const r = new TelemetryReporter({
    take: () => {
      throw new Error('broken');
    },
    send: async () => {},
  });
  await r.flush();
  assert.equal(r.stats.lastError, 'broken');
});
