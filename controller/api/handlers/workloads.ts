// GET /workloads and GET /workloads/{namespace}/{name}: the workloads as the controller
// compiled them for the data plane (15020 /debug/config's resources), with the policies that
// select each and their status conditions, the certificate its node's agent holds for it,
// and its edges from the telemetry window. Answers
// in the API's shapes (console/api-types.d.ts: Workload, WorkloadDetail).
import type { List, PolicyRef, Workload as ApiWorkload, WorkloadDetail } from '../../../console/api-types.js';
import type { Policy, Workload } from '../../../core/config/model.js';
import { policiesFor } from '../../../core/policy/select.js';
import { notFound } from '../api-error.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { inNamespace, namespaceQuery, policiesOf, waypointName, workloadsOf } from './common.js';
import { meshHeldCertificates, workloadCertificate } from './certificates.js';
import { policyEntry } from './policies.js';
import { DEFAULT_GRAPH_WINDOW } from './telemetry.js';

export function workloadView(w: Workload): ApiWorkload {
  return {
    namespace: w.namespace,
    name: w.name,
    identity: w.identity,
    node: w.node,
    ips: [...w.ips],
    enrolled: w.protocol === 'HBONE',
    waypoint: waypointName(w.waypoint),
    labels: { ...w.labels },
  };
}

export function listWorkloads(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const items = inNamespace(workloadsOf(ctx), namespaceQuery(req.query))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
    .map(workloadView);
  const body: List<ApiWorkload> = { items };
  return { body };
}

/** The policies a node agent applies to `w` (selector and namespace scope), with status. */
export function policiesSelecting(ctx: ApiContext, w: Workload, policies: readonly Policy[]): PolicyRef[] {
  return policiesFor(policies, { namespace: w.namespace, labels: w.labels }).map((p) => {
    const e = policyEntry(ctx, p);
    return { namespace: e.namespace, name: e.name, kind: e.kind, conditions: e.conditions };
  });
}

export async function getWorkload(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const { namespace, name } = req.params as { namespace: string; name: string };
  const w = workloadsOf(ctx).find((x) => x.namespace === namespace && x.name === name);
  if (!w) throw notFound(`workload ${namespace}/${name} is not in the mesh's config (no such pod, or it is not running)`);
  const graph = await ctx.telemetry.graph({ namespace, window: DEFAULT_GRAPH_WINDOW, windowMs: 5 * 60_000 });
  // Graph nodes are workloads by their canonical (Deployment) name; a pod's edges are its workload's.
  const ids = new Set([`workload:${namespace}/${name}`, `workload:${namespace}/${w.canonicalName}`]);
  const body: WorkloadDetail = {
    ...workloadView(w),
    certificate: workloadCertificate(w, (await meshHeldCertificates(ctx)).value),
    policies: policiesSelecting(ctx, w, policiesOf(ctx)),
    inbound: graph.edges.filter((e) => ids.has(e.target)),
    outbound: graph.edges.filter((e) => ids.has(e.source)),
  };
  return { body };
}
