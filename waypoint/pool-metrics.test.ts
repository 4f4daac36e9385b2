import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { exportPoolMetrics } from './start.js';
import type { WaypointStats } from './proxy.js';

test('pool_counts_are_on_metrics_per_protocol_when_scraped', async () => {
  const registry = new Registry();
  const stats: WaypointStats = {
    http1: { opened: 2, closed: 1, requests: 10, reused: 8, active: 1, connectFailures: 1, overflowed: 3 },
    h2: { opened: 1, closed: 0, requests: 5, reused: 4, active: 0, connectFailures: 0, overflowed: 0 },
    inflight: 1,
    hbone: { connections: 1, streams: 1 },
    mirrors: { sent: 0, answered: 0, failed: 0, timedOut: 0, busy: 0, tooLarge: 0, noEndpoint: 0, aborted: 0, active: 0 },
  };
  exportPoolMetrics(registry, () => stats);
  const text = await registry.metrics();
  assert.match(text, /ambient_waypoint_upstream_connections_opened_total\{protocol="http1"\} 2/);
  assert.match(text, /ambient_waypoint_upstream_reused_requests_total\{protocol="http1"\} 8/);
  assert.match(text, /ambient_waypoint_upstream_requests_total\{protocol="h2"\} 5/);
  assert.match(text, /ambient_waypoint_upstream_connections_open\{protocol="http1"\} 1/);
  assert.match(text, /ambient_waypoint_upstream_overflows_total\{protocol="http1"\} 3/);
  stats.http1.reused = 9;
  assert.match(await registry.metrics(), /ambient_waypoint_upstream_reused_requests_total\{protocol="http1"\} 9/, 'read anew at each scrape');
});
