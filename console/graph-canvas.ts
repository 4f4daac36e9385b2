// The traffic graph drawn on a plain 2D canvas, for graphs too large for cytoscape to stay
// responsive (its style and compound-node machinery took seconds for 5,000 edges). Each
// frame strokes the edges in one path per colour and fills the nodes in one path per
// colour, so a frame is a handful of draw calls whatever the size; labels, arrows and the
// waypoint marks appear once zoomed in far enough to read them. Positions come from
// layoutByNamespace; the view and the click arithmetic from graph-view.ts.
import type { Graph, GraphEdge, GraphNode } from './api-types.js';
import { edgeHealth } from './format.js';
import type { Placed } from './graph-layout.js';
import { fitView, hitTest, NODE_RADIUS, segmentNearRect, toGraph, toScreen, unionOf, zoomAbout, type HitScene, type Rect, type ViewState } from './graph-view.js';

export interface GraphColours {
  fg: string;
  bg: string;
  muted: string;
  ok: string;
  warn: string;
  bad: string;
  svc: string;
  panel: string;
  border: string;
}

export interface CanvasGraphOptions {
  graph: Graph;
  placed: Placed;
  colours: GraphColours;
  /** The view to start from (a reload keeps the user's); fitted to the graph when absent. */
  view?: ViewState;
  /** An edge's label (rate, success, mTLS and waypoint marks). */
  labelOf: (e: GraphEdge) => string;
  /** A click: the id of the node, of the edge (`e:` + its id), or undefined on empty space. */
  onTap: (id: string | undefined) => void;
  /** After every change of the view. */
  onView: (v: ViewState) => void;
  /** After the first frame is drawn. */
  onFirstFrame: () => void;
}

/** From this zoom on, arrows and waypoint diamonds are drawn on the edges in view. */
export const DETAIL_ZOOM = 0.5;
/** Node names from this zoom on (11px text at 0.82 is 9px on screen, the smallest drawn). */
export const NODE_LABEL_ZOOM = 0.82;
/** Edge labels only when at most this many edges are in view (more would be unreadable). */
export const EDGE_LABELS_MAX = 150;
/** A press that moves less than this (screen pixels) before release is a click, not a pan. */
const CLICK_SLOP_PX = 4;
const FIT_PADDING = 30;

type Health = ReturnType<typeof edgeHealth>;

export class CanvasGraph {
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly nodes: GraphNode[];
  private readonly edges: GraphEdge[];
  private readonly scene: HitScene;
  private readonly edgeHealths: Health[];
  /** Node indices by `kind|health`, edge indices by `health|plain`: one path each. */
  private readonly nodeGroups = new Map<string, number[]>();
  private readonly edgeGroups = new Map<string, number[]>();
  private readonly nodeIndex = new Map<string, number>();
  private readonly edgeIndex = new Map<string, number>();
  private colours: GraphColours;
  private v: ViewState;
  /** The view is the fitted one (no kept view, not moved by the user). */
  private fitted: boolean;
  private selectedId: string | undefined;
  private frame = 0;
  private first = true;
  private width = 0;
  private height = 0;
  /** While dragging: the frame at the start of the drag, moved instead of redrawn (a blit, not 5,000 lines a frame). */
  private texture: { image: HTMLCanvasElement; pan: { x: number; y: number } } | undefined;
  private readonly resize: ResizeObserver;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly container: HTMLElement,
    private readonly opts: CanvasGraphOptions,
  ) {
    const { graph, placed } = opts;
    this.colours = opts.colours;
    this.nodes = graph.nodes.filter((n) => placed.positions.has(n.id));
    this.nodes.forEach((n, i) => this.nodeIndex.set(n.id, i));
    this.edges = graph.edges.filter((e) => this.nodeIndex.has(e.source) && this.nodeIndex.has(e.target));
    const nodeXY = new Float64Array(this.nodes.length * 2);
    this.nodes.forEach((n, i) => {
      const p = placed.positions.get(n.id)!;
      nodeXY[2 * i] = p.x;
      nodeXY[2 * i + 1] = p.y;
      group(this.nodeGroups, `${n.kind}|${n.health}`, i);
    });
    const edgeXY = new Float64Array(this.edges.length * 4);
    this.edgeHealths = this.edges.map((e, i) => {
      const s = this.nodeIndex.get(e.source)!;
      const t = this.nodeIndex.get(e.target)!;
      edgeXY.set([nodeXY[2 * s]!, nodeXY[2 * s + 1]!, nodeXY[2 * t]!, nodeXY[2 * t + 1]!], 4 * i);
      const h = edgeHealth(e.successRate);
      group(this.edgeGroups, `${h}|${e.mtls ? '' : 'plain'}`, i);
      this.edgeIndex.set(`e:${e.id}`, i);
      return h;
    });
    this.scene = { nodeIds: this.nodes.map((n) => n.id), nodeXY, edgeIds: this.edges.map((e) => `e:${e.id}`), edgeXY };

    this.canvas = document.createElement('canvas');
    this.canvas.style.cssText = 'display:block;width:100%;height:100%;touch-action:none;cursor:grab';
    container.appendChild(this.canvas);
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
    this.measure();
    this.fitted = !opts.view;
    this.v = opts.view ?? this.fit();
    this.listen();
    this.resize = new ResizeObserver(() => {
      this.measure();
      // Until the user moves the view, it follows the container's size (which may have been
      // 0 when the graph was made, in a tab not yet shown).
      if (this.fitted) {
        this.v = this.fit();
        opts.onView(this.view());
      }
      this.redraw();
    });
    this.resize.observe(container);
    opts.onView(this.v);
    this.redraw();
  }

  /** How many edges are drawn (those whose ends are both in the graph). */
  get edgeCount(): number {
    return this.edges.length;
  }

  view(): ViewState {
    return { zoom: this.v.zoom, pan: { ...this.v.pan } };
  }

  /** The id of what is highlighted. */
  get selection(): string | undefined {
    return this.selectedId;
  }

  select(id: string | undefined): void {
    this.selectedId = id;
    this.redraw();
  }

  restyle(colours: GraphColours): void {
    this.colours = colours;
    this.redraw();
  }

  /** Where a node (by id) or the middle of an edge (`e:` + id) is drawn, in the container's pixels. */
  renderedPosition(id: string): { x: number; y: number } | undefined {
    const n = this.nodeIndex.get(id);
    if (n !== undefined) return toScreen(this.v, this.scene.nodeXY[2 * n]!, this.scene.nodeXY[2 * n + 1]!);
    const e = this.edgeIndex.get(id);
    if (e === undefined) return undefined;
    const xy = this.scene.edgeXY;
    return toScreen(this.v, (xy[4 * e]! + xy[4 * e + 2]!) / 2, (xy[4 * e + 1]! + xy[4 * e + 3]!) / 2);
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    for (const f of this.cleanup) f();
    this.canvas.remove();
  }

  private fit(): ViewState {
    return fitView(unionOf(this.opts.placed.blocks), this.width, this.height, FIT_PADDING);
  }

  private setView(v: ViewState): void {
    this.fitted = false;
    this.v = v;
    this.opts.onView(this.view());
    this.redraw();
  }

  private snapshot(): { image: HTMLCanvasElement; pan: { x: number; y: number } } {
    const image = document.createElement('canvas');
    image.width = this.canvas.width;
    image.height = this.canvas.height;
    image.getContext('2d')!.drawImage(this.canvas, 0, 0);
    return { image, pan: { ...this.v.pan } };
  }

  private measure(): void {
    this.texture = undefined;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    this.width = this.container.clientWidth;
    this.height = this.container.clientHeight;
    this.canvas.width = Math.max(1, Math.round(this.width * dpr));
    this.canvas.height = Math.max(1, Math.round(this.height * dpr));
  }

  private listen(): void {
    const c = this.canvas;
    let press: { id: number; x: number; y: number; moved: number; pan: { x: number; y: number } } | undefined;
    const local = (ev: MouseEvent) => {
      const r = c.getBoundingClientRect();
      return { x: ev.clientX - r.left, y: ev.clientY - r.top };
    };
    const on = <K extends keyof HTMLElementEventMap>(type: K, fn: (ev: HTMLElementEventMap[K]) => void, o?: AddEventListenerOptions) => {
      c.addEventListener(type, fn as EventListener, o);
      this.cleanup.push(() => c.removeEventListener(type, fn as EventListener, o));
    };
    on('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      c.setPointerCapture(ev.pointerId);
      press = { id: ev.pointerId, x: ev.clientX, y: ev.clientY, moved: 0, pan: { ...this.v.pan } };
      c.style.cursor = 'grabbing';
    });
    on('pointermove', (ev) => {
      if (!press || ev.pointerId !== press.id) return;
      const dx = ev.clientX - press.x;
      const dy = ev.clientY - press.y;
      press.moved = Math.max(press.moved, Math.hypot(dx, dy));
      if (press.moved >= CLICK_SLOP_PX && !this.texture) this.texture = this.snapshot();
      if (press.moved >= CLICK_SLOP_PX) this.setView({ zoom: this.v.zoom, pan: { x: press.pan.x + dx, y: press.pan.y + dy } });
    });
    const release = (ev: PointerEvent, tap: boolean) => {
      if (!press || ev.pointerId !== press.id) return;
      const wasClick = press.moved < CLICK_SLOP_PX;
      press = undefined;
      c.style.cursor = 'grab';
      if (this.texture) {
        this.texture = undefined;
        this.redraw();
      }
      if (tap && wasClick) {
        const p = local(ev);
        const g = toGraph(this.v, p.x, p.y);
        this.opts.onTap(hitTest(this.scene, g.x, g.y, this.v.zoom));
      }
    };
    on('pointerup', (ev) => release(ev, true));
    on('pointercancel', (ev) => release(ev, false));
    on(
      'wheel',
      (ev) => {
        ev.preventDefault();
        this.texture = undefined;
        const p = local(ev);
        // Lines (Firefox) scroll about 16 times as far as pixels per step.
        const dy = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
        this.setView(zoomAbout(this.v, Math.exp(-dy * 0.002), p.x, p.y));
      },
      { passive: false },
    );
  }

  /** Draws at the next animation frame (many view changes in one frame draw once). */
  private redraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
      if (this.first) {
        this.first = false;
        this.opts.onFirstFrame();
      }
    });
  }

  private healthColour(h: string): string {
    const c = this.colours;
    return h === 'degraded' ? c.warn : h === 'failing' ? c.bad : h === 'idle' ? c.muted : c.ok;
  }

  private draw(): void {
    const { ctx, colours: c, v } = this;
    const dpr = this.canvas.width / Math.max(1, this.width);
    const z = v.zoom;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = c.bg;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.texture) {
      ctx.drawImage(this.texture.image, Math.round(dpr * (v.pan.x - this.texture.pan.x)), Math.round(dpr * (v.pan.y - this.texture.pan.y)));
      return;
    }
    // The part of the graph in view, in graph units.
    const tl = toGraph(v, 0, 0);
    const seen: Rect = { x: tl.x - NODE_RADIUS, y: tl.y - NODE_RADIUS, width: this.width / z + 2 * NODE_RADIUS, height: this.height / z + 2 * NODE_RADIUS };
    const inView = (x: number, y: number) => x >= seen.x && x <= seen.x + seen.width && y >= seen.y && y <= seen.y + seen.height;
    ctx.setTransform(dpr * z, 0, 0, dpr * z, dpr * v.pan.x, dpr * v.pan.y);

    // Namespace blocks.
    ctx.fillStyle = c.panel;
    ctx.strokeStyle = c.border;
    ctx.lineWidth = 1 / z;
    ctx.beginPath();
    for (const b of this.opts.placed.blocks) ctx.rect(b.x, b.y, b.width, b.height);
    ctx.globalAlpha = 0.6;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.stroke();

    // Edges: one path per colour and dash, only those that can cross the view.
    const xy = this.scene.edgeXY;
    const visible: number[] = [];
    ctx.lineWidth = 1 / z;
    ctx.globalAlpha = 0.5;
    for (const [key, list] of this.edgeGroups) {
      const [health, plain] = key.split('|');
      ctx.strokeStyle = this.healthColour(health!);
      ctx.setLineDash(plain ? [4 / z, 3 / z] : []);
      ctx.beginPath();
      for (const i of list) {
        const o = 4 * i;
        if (!segmentNearRect(xy[o]!, xy[o + 1]!, xy[o + 2]!, xy[o + 3]!, seen)) continue;
        visible.push(i);
        ctx.moveTo(xy[o]!, xy[o + 1]!);
        ctx.lineTo(xy[o + 2]!, xy[o + 3]!);
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    if (z >= DETAIL_ZOOM) for (const i of visible) this.drawEdgeMarks(i);

    // Nodes: one path per kind and health.
    const nxy = this.scene.nodeXY;
    const r = Math.max(NODE_RADIUS, 1.5 / z);
    for (const [key, list] of this.nodeGroups) {
      const [kind, health] = key.split('|');
      ctx.fillStyle = this.healthColour(health!);
      ctx.beginPath();
      for (const i of list) {
        const x = nxy[2 * i]!;
        const y = nxy[2 * i + 1]!;
        if (!inView(x, y)) continue;
        if (kind === 'service') ctx.rect(x - r, y - r, 2 * r, 2 * r);
        else {
          ctx.moveTo(x + r, y);
          ctx.arc(x, y, r, 0, 2 * Math.PI);
        }
      }
      ctx.fill();
      if (kind === 'service') {
        ctx.strokeStyle = c.svc;
        ctx.lineWidth = Math.max(3, 1 / z);
        ctx.stroke();
      }
    }

    // The selection on top (widths in screen pixels, whatever the zoom), with its label.
    const sel = this.selectedId;
    const se = sel === undefined ? undefined : this.edgeIndex.get(sel);
    const sn = sel === undefined ? undefined : this.nodeIndex.get(sel);
    if (se !== undefined) {
      const o = 4 * se;
      ctx.strokeStyle = this.healthColour(this.edgeHealths[se]!);
      ctx.lineWidth = 3 / z;
      ctx.beginPath();
      ctx.moveTo(xy[o]!, xy[o + 1]!);
      ctx.lineTo(xy[o + 2]!, xy[o + 3]!);
      ctx.stroke();
      ctx.globalAlpha = 0.35;
      ctx.strokeStyle = c.svc;
      ctx.lineWidth = 10 / z;
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    if (sn !== undefined) {
      ctx.globalAlpha = 0.35;
      ctx.fillStyle = c.svc;
      ctx.beginPath();
      ctx.arc(nxy[2 * sn]!, nxy[2 * sn + 1]!, r + 6 / z, 0, 2 * Math.PI);
      ctx.fill();
      ctx.globalAlpha = 1;
    }

    // Text in screen pixels, so it stays readable at any zoom.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.textAlign = 'center';
    ctx.fillStyle = c.muted;
    ctx.font = 'bold 13px system-ui, sans-serif';
    ctx.textBaseline = 'bottom';
    for (const b of this.opts.placed.blocks) {
      if (b.width * z < 40) continue;
      const p = toScreen(v, b.x + b.width / 2, b.y);
      ctx.fillText(b.namespace, p.x, p.y - 3);
    }
    if (z >= NODE_LABEL_ZOOM) {
      ctx.fillStyle = c.fg;
      ctx.font = `${Math.round(11 * Math.min(z, 1.5))}px system-ui, sans-serif`;
      ctx.textBaseline = 'top';
      this.nodes.forEach((n, i) => {
        const x = nxy[2 * i]!;
        const y = nxy[2 * i + 1]!;
        if (!inView(x, y)) return;
        const p = toScreen(v, x, y);
        ctx.fillText(n.name, p.x, p.y + r * z + 3);
      });
    }
    const labelled = z >= DETAIL_ZOOM && visible.length <= EDGE_LABELS_MAX ? visible : [];
    for (const i of se !== undefined && !labelled.includes(se) ? [...labelled, se] : labelled) this.drawEdgeLabel(i, dpr);
  }

  /** The arrowhead at the target and, for waypoint edges, a diamond at the source. */
  private drawEdgeMarks(i: number): void {
    const { ctx } = this;
    const xy = this.scene.edgeXY;
    const [ax, ay, bx, by] = [xy[4 * i]!, xy[4 * i + 1]!, xy[4 * i + 2]!, xy[4 * i + 3]!];
    const len = Math.hypot(bx - ax, by - ay);
    if (len < 2 * NODE_RADIUS) return;
    const ux = (bx - ax) / len;
    const uy = (by - ay) / len;
    const tipX = bx - ux * NODE_RADIUS;
    const tipY = by - uy * NODE_RADIUS;
    const s = 6;
    ctx.fillStyle = this.healthColour(this.edgeHealths[i]!);
    ctx.beginPath();
    ctx.moveTo(tipX, tipY);
    ctx.lineTo(tipX - ux * 2 * s - uy * s, tipY - uy * 2 * s + ux * s);
    ctx.lineTo(tipX - ux * 2 * s + uy * s, tipY - uy * 2 * s - ux * s);
    ctx.fill();
    if (this.edges[i]!.waypoint) {
      const cx = ax + ux * (NODE_RADIUS + s);
      const cy = ay + uy * (NODE_RADIUS + s);
      ctx.fillStyle = this.colours.svc;
      ctx.beginPath();
      ctx.moveTo(cx + ux * s, cy + uy * s);
      ctx.lineTo(cx - uy * s * 0.6, cy + ux * s * 0.6);
      ctx.lineTo(cx - ux * s, cy - uy * s);
      ctx.lineTo(cx + uy * s * 0.6, cy - ux * s * 0.6);
      ctx.fill();
    }
  }

  /** The edge's label (mTLS or plain, the waypoint mark, rate, success) at its middle, on a plate. */
  private drawEdgeLabel(i: number, dpr: number): void {
    const { ctx } = this;
    const xy = this.scene.edgeXY;
    const p = toScreen(this.v, (xy[4 * i]! + xy[4 * i + 2]!) / 2, (xy[4 * i + 1]! + xy[4 * i + 3]!) / 2);
    const text = this.opts.labelOf(this.edges[i]!);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const w = ctx.measureText(text).width + 6;
    ctx.globalAlpha = 0.8;
    ctx.fillStyle = this.colours.bg;
    ctx.fillRect(p.x - w / 2, p.y - 7, w, 14);
    ctx.globalAlpha = 1;
    ctx.fillStyle = this.colours.fg;
    ctx.fillText(text, p.x, p.y);
  }
}

function group(m: Map<string, number[]>, key: string, i: number): void {
  const list = m.get(key);
  if (list) list.push(i);
  else m.set(key, [i]);
}
