// GET /api/v1/internal/replica?parts=edges,flows,agents: this replica's own parts of the
// state, for a peer replica to merge (mesh-wide.ts, replica-parts.ts). Served to the
// controller's own ServiceAccount only (the route's access is 'controller'); not in the
// OpenAPI document. Each part reads the query as the public route it serves does
// (`window`; `namespace`, `limit`, `sinceSeq`).
import { ApiFailure, badRequest } from '../api-error.js';
import { ErrorCodes } from '../../../core/errors.js';
import type { ApiContext } from '../context.js';
import type { ReplicaContext } from '../mesh-wide.js';
import { flowsLimit, PART_NAMES, type PartName, type PartValue } from '../replica-parts.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { namespaceQuery } from './common.js';
import { agentRows } from './mesh.js';
import { graphWindow } from './telemetry.js';
import { waypointStreams } from './waypoints.js';

function replicaOf(ctx: ApiContext): ReplicaContext {
  if (ctx.replica === undefined) throw new ApiFailure(503, ErrorCodes.API_INTERNAL, 'this controller serves no replica parts (it runs without its telemetry window)');
  return ctx.replica;
}

function sinceSeq(query: URLSearchParams): number | undefined {
  const raw = query.get('sinceSeq');
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw badRequest(`sinceSeq: ${JSON.stringify(raw.slice(0, 40))} is not a non-negative integer`);
  return n;
}

/** Each part's reader: what this replica holds for the query. A new part adds its reader here. */
export const OWN_PARTS: { [N in PartName]: (ctx: ApiContext, query: URLSearchParams) => PartValue<N> } = {
  edges: (ctx, q) => replicaOf(ctx).telemetry.edges({ windowMs: graphWindow(q).windowMs }),
  flows: (ctx, q) => {
    const r = replicaOf(ctx);
    const ns = namespaceQuery(q);
    const since = sinceSeq(q);
    const a = r.telemetry.flows({ limit: flowsLimit(q, ctx.limits.maxFlowsLimit), ...(ns !== undefined && { namespace: ns }), ...(since !== undefined && { sinceSeq: since }) });
    return { replica: r.name, lastSeq: a.lastSeq, flows: a.flows };
  },
  agents: (ctx) => agentRows(ctx),
  waypointStreams: (ctx) => waypointStreams(ctx),
  certificates: (ctx) => ctx.heldCertificates(),
};

export function internalReplica(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const asked = (req.query.get('parts') ?? '').split(',').filter((p) => p !== '');
  if (asked.length === 0) throw badRequest(`parts: name at least one of ${PART_NAMES.join(', ')}`);
  const body: Record<string, unknown> = { replica: replicaOf(ctx).name };
  for (const p of asked) {
    if (!(PART_NAMES as string[]).includes(p)) throw badRequest(`parts: ${JSON.stringify(p.slice(0, 40))} is not one of ${PART_NAMES.join(', ')}`);
    body[p] = OWN_PARTS[p as PartName](ctx, req.query);
  }
  return { body };
}
