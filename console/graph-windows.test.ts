import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_GRAPH_WINDOWS, sourceNote, windowOptions } from './graph-windows.js';

test('before_any_answer_the_controllers_own_windows_are_offered', () => {
  assert.deepEqual(windowOptions(undefined, '5m'), ['1m', '5m', '15m']);
  assert.deepEqual(windowOptions([], '5m'), [...DEFAULT_GRAPH_WINDOWS]);
});

test('the_long_windows_are_offered_when_the_api_advertises_them', () => {
  assert.deepEqual(windowOptions(['1m', '5m', '15m', '1h', '6h', '24h'], '5m'), ['1m', '5m', '15m', '1h', '6h', '24h']);
});

test('a_shared_links_window_stays_selectable_even_when_not_advertised', () => {
  assert.deepEqual(windowOptions(['1m', '5m', '15m'], '6h'), ['1m', '5m', '15m', '6h']);
  assert.deepEqual(windowOptions(['1m', '5m', '15m'], '15m'), ['1m', '5m', '15m']);
});

test('the_legend_names_the_source', () => {
  assert.equal(sourceNote('prometheus'), 'from Prometheus');
  assert.equal(sourceNote('window'), "from the controller's telemetry window");
});
