// Unit tests of the local cluster's scheduler: least-loaded node, deterministic ties.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeLoad, pickNode } from './scheduler.js';

test('pick_node_returns_undefined_with_no_nodes', () => {
  assert.equal(pickNode([], new Map()), undefined);
});

test('pick_node_returns_the_only_node', () => {
  assert.equal(pickNode(['n1'], new Map([['n1', 7]])), 'n1');
});

test('pick_node_picks_the_least_loaded_node', () => {
  const load = new Map([
    ['a', 3],
    ['b', 1],
    ['c', 2],
  ]);
  assert.equal(pickNode(['a', 'b', 'c'], load), 'b');
});

test('pick_node_treats_a_node_missing_from_the_load_map_as_empty', () => {
  const load = new Map([
    ['a', 1],
    ['b', 1],
  ]);
  assert.equal(pickNode(['a', 'b', 'z'], load), 'z');
});

test('pick_node_breaks_ties_by_name_whatever_the_input_order', () => {
  const load = new Map([
    ['c', 0],
    ['a', 0],
    ['b', 0],
  ]);
  assert.equal(pickNode(['c', 'b', 'a'], load), 'a');
  assert.equal(pickNode(['b', 'c'], load), 'b');
});

test('pick_node_ignores_load_of_nodes_not_in_the_list', () => {
  const load = new Map([
    ['gone', 0],
    ['a', 2],
    ['b', 1],
  ]);
  assert.equal(pickNode(['a', 'b'], load), 'b');
});

test('pick_node_does_not_reorder_the_callers_node_list', () => {
  const nodes = ['c', 'a', 'b'];
  pickNode(nodes, new Map());
  assert.deepEqual(nodes, ['c', 'a', 'b']);
});

test('node_load_counts_pods_per_node', () => {
  const load = nodeLoad([
    { spec: { nodeName: 'a' }, status: { phase: 'Running' } },
    { spec: { nodeName: 'a' }, status: { phase: 'Pending' } },
    { spec: { nodeName: 'b' } },
  ]);
  assert.deepEqual([...load].sort(), [
    ['a', 2],
    ['b', 1],
  ]);
});

test('node_load_ignores_unscheduled_pods', () => {
  const load = nodeLoad([{ spec: {} }, {}, { spec: { nodeName: '' } }, { spec: { nodeName: 'a' } }]);
  assert.deepEqual([...load], [['a', 1]]);
});

test('node_load_ignores_finished_pods', () => {
  const load = nodeLoad([
    { spec: { nodeName: 'a' }, status: { phase: 'Succeeded' } },
    { spec: { nodeName: 'a' }, status: { phase: 'Failed' } },
    { spec: { nodeName: 'b' }, status: { phase: 'Running' } },
  ]);
  assert.equal(load.has('a'), false);
  assert.equal(load.get('b'), 1);
});

test('node_load_of_no_pods_is_empty', () => {
  assert.equal(nodeLoad([]).size, 0);
});

test('node_load_feeds_pick_node_to_spread_pods', () => {
  const load = nodeLoad([
    { spec: { nodeName: 'a' }, status: { phase: 'Running' } },
    { spec: { nodeName: 'b' }, status: { phase: 'Succeeded' } },
  ]);
  assert.equal(pickNode(['a', 'b'], load), 'b');
});
