// Positions of the traffic graph's nodes, grouped by namespace: each namespace a block with
// its services in the first rows and its workloads after, blocks in rows. Computed once
// here (linear in the nodes) rather than by a force layout, so 1,000 nodes place at once
// and the same data always draws the same picture. Pure.
import type { GraphNode } from './api-types.js';

/** Distance between neighbouring nodes in a block, in graph units. */
export const NODE_SPACING = 90;
/** Space between namespace blocks. */
export const BLOCK_GAP = 160;

/** A namespace's block: the rectangle its nodes' cells cover, in graph units. */
export interface Block {
  namespace: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Placed {
  positions: Map<string, { x: number; y: number }>;
  namespaces: string[];
  /** One per namespace, in the order of `namespaces`. */
  blocks: Block[];
}

export function layoutByNamespace(nodes: readonly GraphNode[]): Placed {
  const byNs = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    const list = byNs.get(n.namespace);
    if (list) list.push(n);
    else byNs.set(n.namespace, [n]);
  }
  const namespaces = [...byNs.keys()].sort();
  const positions = new Map<string, { x: number; y: number }>();
  const blocks = namespaces.map((ns) => {
    const members = byNs.get(ns)!.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'service' ? -1 : 1));
    const cols = Math.max(1, Math.ceil(Math.sqrt(members.length)));
    const rows = Math.ceil(members.length / cols);
    return { ns, members, cols, w: cols * NODE_SPACING, h: rows * NODE_SPACING };
  });
  // Blocks in rows of about the square root of the total width, so the whole is roughly square.
  const totalArea = blocks.reduce((a, b) => a + (b.w + BLOCK_GAP) * (b.h + BLOCK_GAP), 0);
  const rowWidth = Math.max(Math.sqrt(totalArea), ...blocks.map((b) => b.w));
  let x = 0;
  let y = 0;
  let rowH = 0;
  const placedBlocks: Block[] = [];
  for (const b of blocks) {
    if (x > 0 && x + b.w > rowWidth) {
      x = 0;
      y += rowH + BLOCK_GAP;
      rowH = 0;
    }
    b.members.forEach((n, i) => {
      positions.set(n.id, { x: x + (i % b.cols) * NODE_SPACING, y: y + Math.floor(i / b.cols) * NODE_SPACING });
    });
    // The block covers its nodes' cells: NODE_SPACING squares centred on the nodes.
    placedBlocks.push({ namespace: b.ns, x: x - NODE_SPACING / 2, y: y - NODE_SPACING / 2, width: b.w, height: b.h });
    x += b.w + BLOCK_GAP;
    rowH = Math.max(rowH, b.h);
  }
  return { positions, namespaces, blocks: placedBlocks };
}
