// GET /graph, GET /flows and GET /flows/stream: answered from the controller's telemetry
// window through the TelemetrySource (../telemetry-source.ts), in the API's shapes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Flow, Graph, List } from '../../../console/api-types.js';
import { ErrorCodes } from '../../../core/errors.js';
import { ApiFailure, badRequest } from '../api-error.js';
import type { ApiContext } from '../context.js';
import { graphAnswer } from '../graph-answer.js';
import { parseGraphWindow } from '../graph-windows.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { namespaceQuery } from './common.js';

export { DEFAULT_GRAPH_WINDOW } from '../graph-windows.js';

export function graphWindow(query: URLSearchParams): { window: string; windowMs: number } {
  return parseGraphWindow(query.get('window'));
}

export async function graph(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const ns = namespaceQuery(req.query);
  const q = { ...(ns ? { namespace: ns } : {}), ...graphWindow(req.query) };
  const body: Graph = await graphAnswer(ctx, q, () => ctx.telemetry.graph(q));
  return { body };
}

export async function flows(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const ns = namespaceQuery(req.query);
  const raw = req.query.get('limit');
  const limit = raw === null || raw === '' ? ctx.limits.defaultFlowsLimit : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > ctx.limits.maxFlowsLimit) throw badRequest(`limit: ${JSON.stringify(raw)} is not an integer from 1 to ${ctx.limits.maxFlowsLimit}`);
  const body: List<Flow> = await ctx.telemetry.flows({ ...(ns ? { namespace: ns } : {}), limit });
  return { body };
}

/** One server-sent event: `event: flow` and the flow as one JSON line. */
export const flowEvent = (f: Flow): string => `event: flow\ndata: ${JSON.stringify(f)}\n\n`;

/** GET /flows/stream: every new flow (touching `namespace` when given) as an `event: flow`,
 * a comment line every flowStreamHeartbeatMs; unsubscribed when the client goes. */
export function flowStream(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const ns = namespaceQuery(req.query);
  let unsubscribe: () => void;
  const pending: Flow[] = [];
  let out: ServerResponse | undefined;
  try {
    unsubscribe = ctx.telemetry.subscribe((f, namespaces) => {
      if (ns !== undefined && !namespaces.includes(ns)) return;
      if (out === undefined) pending.push(f);
      else if (!out.writableEnded) out.write(flowEvent(f));
    });
  } catch (err) {
    if (err instanceof RangeError) throw new ApiFailure(503, ErrorCodes.API_BUSY, `the flow stream has its most subscribers now (${err.message}): retry later, or read GET /api/v1/flows`, { headers: { 'retry-after': '5' } });
    throw err;
  }
  return {
    body: undefined,
    stream: (httpReq: IncomingMessage, res: ServerResponse) => {
      out = res;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'keep-alive' });
      res.write(': flows of the controller\'s telemetry window\n\n');
      for (const f of pending.splice(0)) res.write(flowEvent(f));
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), ctx.limits.flowStreamHeartbeatMs);
      heartbeat.unref();
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        clearInterval(heartbeat);
        unsubscribe();
      };
      res.once('close', end);
      httpReq.once('close', end);
      res.once('error', end);
    },
  };
}
