// GET /graph's answer: from the controller's telemetry window, or from Prometheus for a
// window longer than it (graph-windows.ts decides), saying which (`source`) and which
// windows may be asked for (`windows`).
import type { Graph } from '../../console/api-types.js';
import { TELEMETRY_WINDOW_DEFAULTS } from '../telemetry/limits.js';
import type { ApiContext } from './context.js';
import { graphSourceFor, graphWindows } from './graph-windows.js';
import type { GraphQuery, GraphSnapshot } from './telemetry-source.js';

export async function graphAnswer(ctx: ApiContext, q: GraphQuery & { window: string }, fromWindow: () => GraphSnapshot | Promise<GraphSnapshot>): Promise<Graph> {
  const o = { retentionMs: ctx.telemetryRetentionMs ?? TELEMETRY_WINDOW_DEFAULTS.retentionMs, prometheus: ctx.prometheus !== undefined };
  const source = graphSourceFor(q, o);
  const g = source === 'prometheus' ? await ctx.prometheus!.graph(q) : await fromWindow();
  return { ...g, source, windows: graphWindows(o) };
}
