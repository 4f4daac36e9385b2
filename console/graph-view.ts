// The arithmetic of the large traffic graph's own canvas renderer (console/graph-canvas.ts):
// the view (zoom and pan, as cytoscape's so a kept view means the same in both), fitting,
// zooming about a point, and what a click at a point hits. Pure, so it is unit-tested.

/** Screen = graph * zoom + pan, in CSS pixels. */
export interface ViewState {
  zoom: number;
  pan: { x: number; y: number };
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 4;
/** A node's radius in graph units (22 wide, as the small graph draws them). */
export const NODE_RADIUS = 11;
/** How far from a line (in screen pixels) a click still selects its edge. */
export const EDGE_HIT_PX = 4;
/** The smallest radius (in screen pixels) a click on a node hits, however far out the view is. */
export const NODE_HIT_MIN_PX = 4;

export function clampZoom(z: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));
}

export function toScreen(v: ViewState, x: number, y: number): { x: number; y: number } {
  return { x: x * v.zoom + v.pan.x, y: y * v.zoom + v.pan.y };
}

export function toGraph(v: ViewState, sx: number, sy: number): { x: number; y: number } {
  return { x: (sx - v.pan.x) / v.zoom, y: (sy - v.pan.y) / v.zoom };
}

/** The smallest rectangle holding every one given (an empty one at 0,0 for none). */
export function unionOf(rects: readonly Rect[]): Rect {
  if (rects.length === 0) return { x: 0, y: 0, width: 0, height: 0 };
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const r of rects) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.width);
    y1 = Math.max(y1, r.y + r.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The view showing all of `bounds` centred in a width x height screen with `padding` around it. */
export function fitView(bounds: Rect, width: number, height: number, padding: number): ViewState {
  const w = Math.max(1, width - 2 * padding);
  const h = Math.max(1, height - 2 * padding);
  const zoom = clampZoom(Math.min(w / Math.max(1, bounds.width), h / Math.max(1, bounds.height)));
  return {
    zoom,
    pan: { x: width / 2 - (bounds.x + bounds.width / 2) * zoom, y: height / 2 - (bounds.y + bounds.height / 2) * zoom },
  };
}

/** Zooms by `factor` keeping the graph point under the screen point (sx, sy) where it is. */
export function zoomAbout(v: ViewState, factor: number, sx: number, sy: number): ViewState {
  const zoom = clampZoom(v.zoom * factor);
  const g = toGraph(v, sx, sy);
  return { zoom, pan: { x: sx - g.x * zoom, y: sy - g.y * zoom } };
}

/** The distance from (px, py) to the segment from (ax, ay) to (bx, by). */
export function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * What can be clicked, in graph units: nodes as points (x, y interleaved) and edges as
 * segments (x0, y0, x1, y1), with their ids in the same order.
 */
export interface HitScene {
  nodeIds: readonly string[];
  nodeXY: Float64Array;
  edgeIds: readonly string[];
  edgeXY: Float64Array;
}

/**
 * The id of what a click at graph point (gx, gy) selects at this zoom: the nearest node
 * within its radius (nodes are drawn over edges, so they win), else the nearest edge within
 * EDGE_HIT_PX screen pixels, else undefined. A scan of every element: a click is rare and
 * 5,000 segments take well under a millisecond, so no index to keep in step.
 */
export function hitTest(scene: HitScene, gx: number, gy: number, zoom: number): string | undefined {
  const nodeR = Math.max(NODE_RADIUS, NODE_HIT_MIN_PX / zoom);
  let best: string | undefined;
  let bestD = nodeR;
  for (let i = 0; i < scene.nodeIds.length; i++) {
    const d = Math.hypot(gx - scene.nodeXY[2 * i]!, gy - scene.nodeXY[2 * i + 1]!);
    if (d <= bestD) {
      bestD = d;
      best = scene.nodeIds[i];
    }
  }
  if (best !== undefined) return best;
  bestD = EDGE_HIT_PX / zoom;
  for (let i = 0; i < scene.edgeIds.length; i++) {
    const o = 4 * i;
    const d = distanceToSegment(gx, gy, scene.edgeXY[o]!, scene.edgeXY[o + 1]!, scene.edgeXY[o + 2]!, scene.edgeXY[o + 3]!);
    if (d <= bestD) {
      bestD = d;
      best = scene.edgeIds[i];
    }
  }
  return best;
}

/** Whether a segment's bounding box meets a rectangle (a cheap test to skip off-screen edges' extras). */
export function segmentNearRect(ax: number, ay: number, bx: number, by: number, r: Rect): boolean {
  return Math.max(ax, bx) >= r.x && Math.min(ax, bx) <= r.x + r.width && Math.max(ay, by) >= r.y && Math.min(ay, by) <= r.y + r.height;
}
