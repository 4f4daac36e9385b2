import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distanceToSegment, EDGE_HIT_PX, fitView, hitTest, MAX_ZOOM, MIN_ZOOM, segmentNearRect, toGraph, toScreen, unionOf, zoomAbout, type HitScene } from './graph-view.js';

test('screen_and_graph_coordinates_are_inverse', () => {
  const v = { zoom: 0.5, pan: { x: 10, y: -20 } };
  assert.deepEqual(toScreen(v, 100, 200), { x: 60, y: 80 });
  assert.deepEqual(toGraph(v, 60, 80), { x: 100, y: 200 });
});

test('fit_centres_the_bounds_and_keeps_the_padding', () => {
  const v = fitView({ x: 0, y: 0, width: 1000, height: 500 }, 560, 460, 30);
  assert.equal(v.zoom, 0.5); // 500 / 1000 across, 400 / 500 down: the narrower wins
  assert.deepEqual(toScreen(v, 500, 250), { x: 280, y: 230 });
  assert.deepEqual(toScreen(v, 0, 0), { x: 30, y: 105 });
});

test('fit_of_a_huge_graph_stops_at_the_smallest_zoom_and_of_a_point_at_the_largest', () => {
  assert.equal(fitView({ x: 0, y: 0, width: 1e9, height: 1e9 }, 800, 600, 30).zoom, MIN_ZOOM);
  assert.equal(fitView({ x: 5, y: 5, width: 0, height: 0 }, 800, 600, 30).zoom, MAX_ZOOM);
});

test('zoom_keeps_the_point_under_the_cursor_still', () => {
  const v = { zoom: 1, pan: { x: 0, y: 0 } };
  const z = zoomAbout(v, 2, 100, 50);
  assert.equal(z.zoom, 2);
  assert.deepEqual(toGraph(z, 100, 50), toGraph(v, 100, 50));
  assert.equal(zoomAbout(v, 1000, 0, 0).zoom, MAX_ZOOM);
});

test('union_of_rectangles', () => {
  assert.deepEqual(unionOf([{ x: 0, y: 10, width: 5, height: 5 }, { x: -5, y: 0, width: 2, height: 2 }]), { x: -5, y: 0, width: 10, height: 15 });
  assert.deepEqual(unionOf([]), { x: 0, y: 0, width: 0, height: 0 });
});

test('distance_to_a_segment_is_to_its_nearest_point_ends_included', () => {
  assert.equal(distanceToSegment(5, 3, 0, 0, 10, 0), 3);
  assert.equal(distanceToSegment(13, 4, 0, 0, 10, 0), 5);
  assert.equal(distanceToSegment(3, 4, 0, 0, 0, 0), 5);
});

// Two nodes 100 apart joined by an edge, and a third node off to the side with an edge to the first.
const scene: HitScene = {
  nodeIds: ['a', 'b', 'c'],
  nodeXY: Float64Array.from([0, 0, 100, 0, 0, 100]),
  edgeIds: ['e:ab', 'e:ac'],
  edgeXY: Float64Array.from([0, 0, 100, 0, 0, 0, 0, 100]),
};

test('a_click_on_a_node_selects_it_over_the_edges_that_start_there', () => {
  assert.equal(hitTest(scene, 3, 2, 1), 'a');
  assert.equal(hitTest(scene, 99, 0, 1), 'b');
});

test('a_click_near_a_line_selects_its_edge_within_a_few_screen_pixels', () => {
  assert.equal(hitTest(scene, 50, 3, 1), 'e:ab');
  assert.equal(hitTest(scene, 3, 50, 1), 'e:ac');
  assert.equal(hitTest(scene, 50, EDGE_HIT_PX + 1, 1), undefined);
  // Zoomed out, the same screen distance is more graph units.
  assert.equal(hitTest(scene, 50, (EDGE_HIT_PX + 1) * 2, 0.25), 'e:ab');
});

test('a_click_on_empty_space_selects_nothing', () => {
  assert.equal(hitTest(scene, 60, 60, 1), undefined);
  assert.equal(hitTest({ nodeIds: [], nodeXY: new Float64Array(), edgeIds: [], edgeXY: new Float64Array() }, 0, 0, 1), undefined);
});

test('of_two_edges_in_reach_the_nearer_one_is_selected', () => {
  const two: HitScene = { nodeIds: [], nodeXY: new Float64Array(), edgeIds: ['e:1', 'e:2'], edgeXY: Float64Array.from([0, 0, 100, 0, 0, 4, 100, 4]) };
  assert.equal(hitTest(two, 50, 1, 1), 'e:1');
  assert.equal(hitTest(two, 50, 3, 1), 'e:2');
});

test('a_segment_is_near_a_rectangle_when_their_boxes_meet', () => {
  const r = { x: 0, y: 0, width: 10, height: 10 };
  assert.equal(segmentNearRect(-5, 5, 20, 5, r), true);
  assert.equal(segmentNearRect(20, 0, 30, 10, r), false);
  assert.equal(segmentNearRect(-5, -5, -1, 20, r), false);
});
