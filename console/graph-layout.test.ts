import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GraphNode } from './api-types.js';
import { BLOCK_GAP, layoutByNamespace, NODE_SPACING } from './graph-layout.js';

const node = (ns: string, name: string, kind: GraphNode['kind'] = 'workload'): GraphNode => ({ id: `${kind}:${ns}/${name}`, kind, namespace: ns, name, health: 'healthy' });

test('every_node_gets_a_distinct_position', () => {
  const nodes = Array.from({ length: 1000 }, (_, i) => node(`ns-${i % 17}`, `w-${i}`));
  const { positions, namespaces } = layoutByNamespace(nodes);
  assert.equal(positions.size, 1000);
  assert.equal(namespaces.length, 17);
  assert.equal(new Set([...positions.values()].map((p) => `${p.x},${p.y}`)).size, 1000);
});

test('a_namespace_is_one_block_apart_from_the_others', () => {
  const nodes = [node('a', 'x'), node('a', 'y'), node('a', 'z'), node('a', 'w'), node('b', 'x')];
  const { positions } = layoutByNamespace(nodes);
  const a = nodes.slice(0, 4).map((n) => positions.get(n.id)!);
  const b = positions.get('workload:b/x')!;
  const maxAx = Math.max(...a.map((p) => p.x));
  const maxAy = Math.max(...a.map((p) => p.y));
  assert.equal(maxAx, NODE_SPACING); // 2 columns for 4 nodes
  assert.ok(b.x >= maxAx + BLOCK_GAP || b.y >= maxAy + BLOCK_GAP, JSON.stringify({ a, b }));
});

test('services_come_first_in_their_block_and_the_layout_does_not_depend_on_input_order', () => {
  const nodes = [node('shop', 'zeta'), node('shop', 'echo', 'service'), node('shop', 'alpha')];
  const one = layoutByNamespace(nodes).positions;
  const two = layoutByNamespace([...nodes].reverse()).positions;
  assert.deepEqual(one.get('service:shop/echo'), { x: 0, y: 0 });
  assert.deepEqual([...one.entries()].sort(), [...two.entries()].sort());
});

test('no_nodes_no_positions', () => {
  assert.equal(layoutByNamespace([]).positions.size, 0);
});

test('each_namespace_block_covers_its_nodes_and_blocks_do_not_overlap', () => {
  const nodes = Array.from({ length: 300 }, (_, i) => node(`ns-${i % 7}`, `w-${i}`, i % 5 === 0 ? 'service' : 'workload'));
  const { positions, namespaces, blocks } = layoutByNamespace(nodes);
  assert.deepEqual(blocks.map((b) => b.namespace), namespaces);
  for (const n of nodes) {
    const p = positions.get(n.id)!;
    const b = blocks.find((x) => x.namespace === n.namespace)!;
    assert.ok(p.x > b.x && p.x < b.x + b.width && p.y > b.y && p.y < b.y + b.height, `${n.id} outside its block`);
  }
  for (const a of blocks)
    for (const b of blocks)
      if (a !== b) assert.ok(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y, `${a.namespace} overlaps ${b.namespace}`);
});
