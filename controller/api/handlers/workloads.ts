// GET /workloads and GET /workloads/{namespace}/{name}: the workloads as the controller
// compiled them for the data plane (15020 /debug/config's resources), with the policies that
// select each and their status conditions, and its edges from the telemetry window.
import type { Policy, Workload } from '../../../core/config/model.js';
import { policiesFor } from '../../../core/policy/select.js';
import { notFound } from '../api-error.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { inNamespace, namespaceQuery, policiesOf, workloadsOf } from './common.js';
import { policyEntry } from './policies.js';

export function listWorkloads(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const items = inNamespace(workloadsOf(ctx), namespaceQuery(req.query)).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { body: { items } };
}

/** The policies a node agent applies to `w` (selector and namespace scope), with status. */
export function policiesSelecting(ctx: ApiContext, w: Workload, policies: readonly Policy[]) {
  return policiesFor(policies, { namespace: w.namespace, labels: w.labels }).map((p) => policyEntry(ctx, p));
}

export async function getWorkload(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const { namespace, name } = req.params as { namespace: string; name: string };
  const w = workloadsOf(ctx).find((x) => x.namespace === namespace && x.name === name);
  if (!w) throw notFound(`workload ${namespace}/${name} is not in the mesh's config (no such pod, or it is not running)`);
  const graph = await ctx.telemetry.graph({ namespace, windowMs: 5 * 60_000 });
  const id = `${namespace}/${name}`;
  return {
    body: {
      workload: w,
      enrolled: w.protocol === 'HBONE',
      policies: policiesSelecting(ctx, w, policiesOf(ctx)),
      certificate: { expiry: null, note: 'held by the node agent of its node (ambientctl certificates)' },
      edges: {
        source: graph.source,
        inbound: graph.edges.filter((e) => e.destination === id),
        outbound: graph.edges.filter((e) => e.source === id),
      },
    },
  };
}
