// GET /graph and GET /flows: answered by the TelemetrySource (../telemetry-source.ts), empty
// until the telemetry window is wired in.
import { parseDurationMs } from '../../../core/config/request-authn.js';
import { badRequest } from '../api-error.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { namespaceQuery } from './common.js';

export const DEFAULT_GRAPH_WINDOW = '5m';

export async function graph(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const ns = namespaceQuery(req.query);
  let windowMs: number;
  try {
    windowMs = parseDurationMs('window', req.query.get('window') || DEFAULT_GRAPH_WINDOW);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  return { body: await ctx.telemetry.graph({ ...(ns ? { namespace: ns } : {}), windowMs }) };
}

export async function flows(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const ns = namespaceQuery(req.query);
  const raw = req.query.get('limit');
  const limit = raw === null || raw === '' ? ctx.limits.defaultFlowsLimit : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > ctx.limits.maxFlowsLimit) throw badRequest(`limit: ${JSON.stringify(raw)} is not an integer from 1 to ${ctx.limits.maxFlowsLimit}`);
  return { body: await ctx.telemetry.flows({ ...(ns ? { namespace: ns } : {}), limit }) };
}
