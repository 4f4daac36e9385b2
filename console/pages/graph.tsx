// /graph: the traffic graph on a canvas (cytoscape), workloads and services grouped by
// namespace, edges coloured by health, dashed when not mTLS, `mTLS` (a lock in the text
// views) and a waypoint mark in their labels; filters ?namespace= and ?window=; a click on a node or an edge shows its
// details; beside it the same nodes and the busiest edges as text. Graphs of more than
// LARGE_GRAPH_EDGES edges are drawn by the console's own canvas renderer (straight lines,
// labels only when zoomed in), so 1,000 nodes and 5,000 edges stay responsive. Dragging
// anywhere (on a node too) pans: nodes are placed, not moved.
import type cytoscape from 'cytoscape';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Graph, GraphEdge, GraphNode } from '../api-types.js';
import { api } from '../api.js';
import { Lock, Page, useApi, useInterval } from '../components.js';
import { bytes, edgeHealth, ms, nodeHref, nodeName, pct, rate } from '../format.js';
import { CanvasGraph } from '../graph-canvas.js';
import { layoutByNamespace, type Placed } from '../graph-layout.js';
import { MAX_ZOOM, MIN_ZOOM } from '../graph-view.js';
import { sourceNote, windowOptions } from '../graph-windows.js';
import { setQuery, type Location } from '../router.js';
import { EdgesTable } from './edges-table.js';

/** Above this many edges the graph is drawn by the console's own canvas renderer (console/graph-canvas.ts), not cytoscape. */
export const LARGE_GRAPH_EDGES = 400;
/** The busiest edges listed as text beside the canvas. */
export const EDGE_LIST_MAX = 100;
/** How often a graph of at most LARGE_GRAPH_EDGES edges reloads (larger ones reload on Refresh). */
export const GRAPH_REFRESH_MS = 10_000;
/** A graph read from Prometheus (hours) changes slowly and costs Prometheus queries: reloaded less often. */
export const PROMETHEUS_REFRESH_MS = 60_000;

/** The view (zoom and pan) of the graph last drawn for a filter, kept across reloads. */
interface View {
  key: string;
  zoom: number;
  pan: { x: number; y: number };
}

type Selected = { kind: 'node'; node: GraphNode } | { kind: 'edge'; edge: GraphEdge } | undefined;

function edgeRate(e: GraphEdge): number {
  return e.requestsPerSecond ?? e.connectionsPerSecond;
}

function edgeLabel(e: GraphEdge): string {
  return `${e.mtls ? 'mTLS' : '⚠ plain'}${e.waypoint ? ' ◆L7' : ''} ${rate(edgeRate(e))}${e.successRate !== null ? ` ${pct(e.successRate, 0)}` : ''}`;
}

function themeColours() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { fg: v('--fg'), bg: v('--bg'), muted: v('--muted'), ok: v('--ok'), warn: v('--warn'), bad: v('--bad'), svc: v('--accent'), panel: v('--panel'), border: v('--border') };
}

function graphStyle(): cytoscape.StylesheetJson {
  const c = themeColours();
  return [
    {
      selector: 'node',
      style: {
        'background-color': c.ok,
        label: 'data(name)',
        color: c.fg,
        'font-size': 11,
        'min-zoomed-font-size': 9,
        'text-valign': 'bottom',
        'text-margin-y': 3,
        width: 22,
        height: 22,
      },
    },
    { selector: 'node[kind = "service"]', style: { shape: 'round-rectangle', 'border-width': 3, 'border-color': c.svc } },
    { selector: 'node[health = "degraded"]', style: { 'background-color': c.warn } },
    { selector: 'node[health = "failing"]', style: { 'background-color': c.bad } },
    { selector: 'node[health = "idle"]', style: { 'background-color': c.muted } },
    {
      selector: ':parent',
      style: {
        'background-color': c.panel,
        'background-opacity': 0.6,
        'border-color': c.border,
        'border-width': 1,
        label: 'data(name)',
        'text-valign': 'top',
        'text-halign': 'center',
        'font-size': 14,
        'font-weight': 'bold',
        color: c.muted,
        padding: '24px',
        shape: 'round-rectangle',
      },
    },
    {
      selector: 'edge',
      style: {
        width: 2,
        'line-color': c.ok,
        'curve-style': 'bezier',
        'target-arrow-shape': 'triangle',
        'target-arrow-color': c.ok,
        label: 'data(label)',
        'font-size': 9,
        color: c.fg,
        'text-background-color': c.bg,
        'text-background-opacity': 0.8,
        'text-rotation': 'autorotate',
      },
    },
    { selector: 'edge[health = "degraded"]', style: { 'line-color': c.warn, 'target-arrow-color': c.warn } },
    { selector: 'edge[health = "failing"]', style: { 'line-color': c.bad, 'target-arrow-color': c.bad } },
    { selector: 'edge[health = "idle"]', style: { 'line-color': c.muted, 'target-arrow-color': c.muted } },
    { selector: 'edge[?plain]', style: { 'line-style': 'dashed' } },
    { selector: 'edge[?waypoint]', style: { 'source-arrow-shape': 'diamond', 'source-arrow-color': c.svc } },
    { selector: ':selected', style: { 'overlay-color': c.svc, 'overlay-opacity': 0.35, 'overlay-padding': 6 } },
    { selector: 'edge:selected', style: { label: 'data(label)', 'font-size': 11, color: c.fg, width: 4, opacity: 1, 'z-index': 10 } },
  ];
}

function elements(g: Graph, { positions, namespaces }: Placed): cytoscape.ElementDefinition[] {
  const out: cytoscape.ElementDefinition[] = namespaces.map((ns) => ({ group: 'nodes', data: { id: `ns:${ns}`, name: ns }, selectable: false, pannable: true }));
  for (const n of g.nodes) {
    out.push({ group: 'nodes', data: { id: n.id, name: n.name, kind: n.kind, health: n.health, parent: `ns:${n.namespace}` }, position: positions.get(n.id)!, pannable: true });
  }
  const ids = new Set(g.nodes.map((n) => n.id));
  for (const e of g.edges) {
    if (!ids.has(e.source) || !ids.has(e.target)) continue;
    out.push({ group: 'edges', pannable: true, data: { id: `e:${e.id}`, source: e.source, target: e.target, health: edgeHealth(e.successRate), plain: !e.mtls, waypoint: e.waypoint, label: edgeLabel(e) } });
  }
  return out;
}

/** The container's hook for tests and tools: where the large graph's renderer drew an element. */
interface CanvasHost extends HTMLDivElement {
  graphView?: CanvasGraph;
}

function Canvas(props: { graph: Graph; viewKey: string; view: { current: View | undefined }; selectedId: string | undefined; onSelect: (s: Selected) => void }) {
  const { graph, viewKey, view, onSelect } = props;
  const ref = useRef<HTMLDivElement>(null);
  // What the selection effect highlights in: cytoscape's selection, or the large graph's.
  const selectRef = useRef<((id: string | undefined) => void) | undefined>(undefined);
  // The selection now, for a renderer that starts after the selection effect ran.
  const selectedId = useRef(props.selectedId);
  selectedId.current = props.selectedId;
  useEffect(() => {
    const el = ref.current! as CanvasHost;
    const large = graph.edges.length > LARGE_GRAPH_EDGES;
    const started = performance.now();
    const nodesById = new Map(graph.nodes.map((n) => [n.id, n]));
    const edgesById = new Map(graph.edges.map((e) => [`e:${e.id}`, e]));
    const kept = view.current && view.current.key === viewKey ? view.current : undefined;
    el.dataset['ready'] = '';
    el.dataset['nodes'] = String(graph.nodes.length);
    el.dataset['renderer'] = large ? 'canvas' : 'cytoscape';
    const showView = (zoom: number, p: { x: number; y: number }) => {
      el.dataset['pan'] = `${Math.round(p.x)},${Math.round(p.y)}`;
      el.dataset['zoom'] = zoom.toFixed(3);
    };
    const firstFrame = () => {
      el.dataset['ready'] = '1';
      el.dataset['renderMs'] = String(Math.round(performance.now() - started));
    };
    const tapped = (id: string | undefined) => {
      const n = id === undefined ? undefined : nodesById.get(id);
      const e = id === undefined ? undefined : edgesById.get(id);
      onSelect(n ? { kind: 'node', node: n } : e ? { kind: 'edge', edge: e } : undefined);
    };
    const layoutStarted = performance.now();
    const placed = layoutByNamespace(graph.nodes);
    el.dataset['layoutMs'] = String(Math.round(performance.now() - layoutStarted));
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    let restyle: () => void;
    let keep: () => View | undefined;
    let destroy: () => void;
    if (large) {
      // cytoscape spent seconds on the first frame of 5,000 edges: large graphs get a plain canvas.
      const g = new CanvasGraph(el, { graph, placed, colours: themeColours(), view: kept, labelOf: edgeLabel, onTap: tapped, onView: (v) => showView(v.zoom, v.pan), onFirstFrame: firstFrame });
      el.graphView = g;
      el.dataset['edges'] = String(g.edgeCount);
      selectRef.current = (id) => g.select(id);
      g.select(selectedId.current);
      restyle = () => g.restyle(themeColours());
      keep = () => ({ key: viewKey, ...g.view() });
      destroy = () => {
        delete el.graphView;
        g.destroy();
      };
    } else {
      // cytoscape (most of this page's code) is loaded only for the graphs it draws.
      let cy: cytoscape.Core | undefined;
      let gone = false;
      import('cytoscape').then(
        ({ default: cytoscape }) => {
          if (gone) return;
          const c = cytoscape({
            container: el,
            elements: elements(graph, placed),
            style: graphStyle(),
            layout: { name: 'preset', fit: !kept, padding: 30 },
            minZoom: MIN_ZOOM,
            maxZoom: MAX_ZOOM,
            boxSelectionEnabled: false,
            autoungrabify: true,
          });
          cy = c;
          if (kept) c.viewport({ zoom: kept.zoom, pan: kept.pan });
          el.dataset['edges'] = String(c.edges().length);
          showView(c.zoom(), c.pan());
          c.on('viewport', () => showView(c.zoom(), c.pan()));
          c.one('render', firstFrame);
          c.on('tap', 'node, edge', (ev) => tapped(ev.target.id()));
          c.on('tap', (ev) => {
            if (ev.target === c) onSelect(undefined);
          });
          selectRef.current = (id) => {
            c.$(':selected').unselect();
            if (id) c.getElementById(id).select();
          };
          selectRef.current(selectedId.current);
        },
        (e: Error) => {
          if (!gone) el.textContent = `The graph did not load: ${e.message}`;
        },
      );
      restyle = () => cy?.style(graphStyle());
      keep = () => (cy ? { key: viewKey, zoom: cy.zoom(), pan: { ...cy.pan() } } : view.current);
      destroy = () => {
        gone = true;
        cy?.destroy();
      };
    }
    mq.addEventListener('change', restyle);
    return () => {
      view.current = keep();
      selectRef.current = undefined;
      mq.removeEventListener('change', restyle);
      destroy();
    };
  }, [graph]);
  // What is selected (on the canvas, or from the text beside it) is highlighted on the canvas,
  // in the same frame as its details appear (a layout effect: a plain one runs after the paint).
  useLayoutEffect(() => {
    selectRef.current?.(props.selectedId);
  }, [props.selectedId, graph]);
  return <div ref={ref} class="graph-canvas" data-testid="graph-canvas" role="img" aria-label={`Traffic graph: ${graph.nodes.length} nodes, ${graph.edges.length} edges; the same as text beside it`} />;
}

function Details({ sel, graph }: { sel: Selected; graph: Graph }) {
  if (!sel) return <p class="muted">Click a node or an edge for its details.</p>;
  if (sel.kind === 'node') {
    const n = sel.node;
    const inbound = graph.edges.filter((e) => e.target === n.id).length;
    const outbound = graph.edges.filter((e) => e.source === n.id).length;
    return (
      <dl class="facts details" aria-label="Selected node">
        <dt>{n.kind === 'service' ? 'Service' : 'Workload'}</dt>
        <dd>
          <a href={nodeHref(n.id)}>
            {n.namespace}/{n.name}
          </a>
        </dd>
        <dt>Health</dt>
        <dd>{n.health}</dd>
        <dt>Edges</dt>
        <dd>
          {inbound} in, {outbound} out
        </dd>
      </dl>
    );
  }
  const e = sel.edge;
  return (
    <dl class="facts details" aria-label="Selected edge">
      <dt>From</dt>
      <dd>
        <a href={nodeHref(e.source)}>{nodeName(e.source)}</a>
        <div class="mono small">{e.sourceIdentity}</div>
      </dd>
      <dt>To</dt>
      <dd>
        <a href={nodeHref(e.target)}>{nodeName(e.target)}</a> port {e.port}/{e.protocol}
      </dd>
      <dt>Encryption</dt>
      <dd>{e.mtls ? <span class="ok"><Lock /> mutual TLS (HBONE)</span> : <span class="bad">⚠ plaintext</span>}</dd>
      <dt>Path</dt>
      <dd>{e.waypoint ? '◆ through a waypoint (L7)' : 'direct (L4)'}</dd>
      <dt>Rate</dt>
      <dd>{e.requestsPerSecond !== null ? `${rate(e.requestsPerSecond)} requests, ` : ''}{rate(e.connectionsPerSecond)} connections</dd>
      <dt>Success</dt>
      <dd>{pct(e.successRate, 2)}</dd>
      <dt>p99 latency</dt>
      <dd>{ms(e.p99LatencyMs)}</dd>
      <dt>Bytes</dt>
      <dd>
        {bytes(e.bytesSent)} sent, {bytes(e.bytesReceived)} received
      </dd>
      <dt>Status classes</dt>
      <dd>{Object.entries(e.statusClasses).map(([k, v]) => `${k}: ${v}`).join(', ') || '-'}</dd>
      <dt>Denied</dt>
      <dd>{e.denied}</dd>
    </dl>
  );
}

export function GraphPage({ loc }: { loc: Location }) {
  const ns = loc.query.get('namespace') ?? '';
  const win = loc.query.get('window') ?? '5m';
  const g = useApi((s) => api.graph(ns || undefined, win, s), [ns, win]);
  const [sel, setSel] = useState<Selected>();
  const [known, setKnown] = useState<string[]>([]);
  const view = useRef<View | undefined>(undefined);
  // The windows the API last said it answers: kept while a window it refuses shows its error.
  const [windows, setWindows] = useState<string[] | undefined>(undefined);
  useInterval(g.reload, g.data?.source === 'prometheus' ? PROMETHEUS_REFRESH_MS : GRAPH_REFRESH_MS, !!g.data && g.data.edges.length <= LARGE_GRAPH_EDGES);
  useEffect(() => {
    const d = g.data;
    if (!d) return;
    if (d.windows) setWindows(d.windows);
    setKnown((k) => [...new Set([...k, ...d.nodes.map((n) => n.namespace)])].sort());
    // A reload keeps the selection when the element is still there (with its new numbers).
    setSel((cur) => {
      if (cur?.kind === 'node') {
        const node = d.nodes.find((n) => n.id === cur.node.id);
        return node && { kind: 'node', node };
      }
      if (cur?.kind === 'edge') {
        const edge = d.edges.find((e) => e.id === cur.edge.id);
        return edge && { kind: 'edge', edge };
      }
      return undefined;
    });
  }, [g.data]);
  const byNs = useMemo(() => {
    const m = new Map<string, GraphNode[]>();
    for (const n of g.data?.nodes ?? []) (m.get(n.namespace) ?? m.set(n.namespace, []).get(n.namespace)!).push(n);
    return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [g.data]);
  const busiest = useMemo(() => [...(g.data?.edges ?? [])].sort((a, b) => edgeRate(b) - edgeRate(a)).slice(0, EDGE_LIST_MAX), [g.data]);
  return (
    <Page
      title="Traffic graph"
      loaded={g}
      actions={
        <>
          <label class="filter">
            Namespace{' '}
            <select name="namespace" value={ns} onChange={(e) => setQuery({ namespace: (e.target as HTMLSelectElement).value })}>
              <option value="">all namespaces</option>
              {[...new Set([...known, ...(ns ? [ns] : [])])].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label class="filter">
            Window{' '}
            <select name="window" value={win} onChange={(e) => setQuery({ window: (e.target as HTMLSelectElement).value })}>
              {windowOptions(windows, win).map((w) => (
                <option key={w} value={w}>
                  {w}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={g.reload}>
            Refresh
          </button>
        </>
      }
    >
      {g.data && (
        <div class="graph-layout">
          <div class="graph-main">
            <Canvas graph={g.data} viewKey={`${ns}|${win}`} view={view} selectedId={sel ? (sel.kind === 'node' ? sel.node.id : `e:${sel.edge.id}`) : undefined} onSelect={setSel} />
            <p class="legend muted">
              ● workload ▢ service · green ≥99% success, amber ≥95%, red below, grey idle · <Lock /> mTLS (label “mTLS”), dashed “⚠ plain” plaintext · ◆L7 through a waypoint · window {g.data.window} <span data-testid="graph-source">{sourceNote(g.data.source)}</span>, {g.data.nodes.length} nodes, {g.data.edges.length} edges
            </p>
          </div>
          <aside class="graph-side">
            <h2>Details</h2>
            <Details sel={sel} graph={g.data} />
            <details class="node-list" open={g.data.nodes.length <= 60}>
              <summary>Nodes as text ({g.data.nodes.length})</summary>
              {byNs.map(([namespace, nodes]) => (
                <section key={namespace}>
                  <h3>{namespace}</h3>
                  <ul>
                    {nodes.map((n) => (
                      <li key={n.id}>
                        <a href={nodeHref(n.id)}>{n.name}</a> <span class="muted">{n.kind}, {n.health}</span>
                      </li>
                    ))}
                  </ul>
                </section>
              ))}
            </details>
          </aside>
          <div class="graph-edges">
            <EdgesTable edges={busiest} caption={`Busiest edges (${busiest.length} of ${g.data.edges.length})`} onSelect={(e) => setSel({ kind: 'edge', edge: e })} />
          </div>
        </div>
      )}
    </Page>
  );
}
