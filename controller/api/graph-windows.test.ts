import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../core/errors.js';
import { ApiFailure } from './api-error.js';
import { graphSourceFor, graphWindows, parseGraphWindow } from './graph-windows.js';

const RETENTION = 15 * 60_000;

test('no_window_is_five_minutes', () => {
  assert.deepEqual(parseGraphWindow(null), { window: '5m', windowMs: 300_000 });
  assert.deepEqual(parseGraphWindow(''), { window: '5m', windowMs: 300_000 });
});

test('windows_up_to_thirty_days_parse', () => {
  assert.equal(parseGraphWindow('24h').windowMs, 86_400_000);
  assert.equal(parseGraphWindow('720h').windowMs, 720 * 3_600_000);
  assert.equal(parseGraphWindow('1h30m').windowMs, 5_400_000);
});

test('a_bad_or_too_long_window_is_400_naming_the_field', () => {
  for (const bad of ['soon', '-5m', '721h', '10ms', '5d']) {
    assert.throws(() => parseGraphWindow(bad), (e: unknown) => e instanceof ApiFailure && e.status === 400 && e.code === ErrorCodes.API_BAD_REQUEST && /^window: /.test(e.message), bad);
  }
});

test('without_prometheus_only_windows_within_the_retention_are_offered', () => {
  assert.deepEqual(graphWindows({ retentionMs: RETENTION, prometheus: false }), ['1m', '5m', '15m']);
  assert.deepEqual(graphWindows({ retentionMs: 60_000, prometheus: false }), ['1m']);
});

test('with_prometheus_the_long_windows_are_offered_too', () => {
  assert.deepEqual(graphWindows({ retentionMs: RETENTION, prometheus: true }), ['1m', '5m', '15m', '1h', '6h', '24h']);
});

test('a_window_within_the_retention_is_the_controllers_even_with_prometheus', () => {
  assert.equal(graphSourceFor({ window: '15m', windowMs: RETENTION }, { retentionMs: RETENTION, prometheus: true }), 'window');
});

test('a_longer_window_with_prometheus_is_read_from_prometheus', () => {
  assert.equal(graphSourceFor({ window: '1h', windowMs: 3_600_000 }, { retentionMs: RETENTION, prometheus: true }), 'prometheus');
});

test('a_longer_window_without_prometheus_is_refused_naming_the_flag', () => {
  assert.throws(
    () => graphSourceFor({ window: '1h', windowMs: 3_600_000 }, { retentionMs: RETENTION, prometheus: false }),
    (e: unknown) => e instanceof ApiFailure && e.status === 400 && e.code === 'AMB_API_WINDOW_UNAVAILABLE' && /"1h".*15m.*--prometheus-url/.test(e.message),
  );
});
