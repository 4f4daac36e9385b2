// GET /policies: every compiled AuthorizationPolicy with the status conditions the
// controller computed for it (those it writes to the object), whether it is a dry run and
// what its dry run would have denied (the telemetry window's would-deny flows); and the
// TrafficPolicies and RequestAuthentications by their statuses. One list (`items`) in the
// API's shape (console/api-types.d.ts: Policy).
import type { Condition, List, Policy as ApiPolicy } from '../../../console/api-types.js';
import type { Policy } from '../../../core/config/model.js';
import type { PolicyStatus } from '../../translate/input.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { ENGINE } from '../../../core/policy/explain/engine.js';
import { inNamespace, namespaceQuery, policiesOf, workloadsOf } from './common.js';

/** Dry-run findings listed per policy at most. */
export const MAX_FINDINGS_PER_POLICY = 20;

function conditionsOf(statuses: readonly PolicyStatus[], namespace: string, name: string): Condition[] {
  return (statuses.find((s) => s.namespace === namespace && s.name === name)?.conditions ?? []) as unknown as Condition[];
}

/** The workloads (`namespace/name`) a workload-scoped policy selects, with the node agents' own selection. */
function selectedBy(ctx: ApiContext, p: Policy): string[] {
  return workloadsOf(ctx)
    .filter((w) => ENGINE.policiesFor([p], { namespace: w.namespace, labels: w.labels }).length > 0)
    .map((w) => `${w.namespace}/${w.name}`)
    .sort();
}

export function policyEntry(ctx: ApiContext, p: Policy, findings: readonly string[] = []): ApiPolicy {
  return {
    kind: 'AuthorizationPolicy',
    namespace: p.namespace,
    name: p.name,
    action: p.action,
    dryRun: p.dryRun === true,
    conditions: conditionsOf(ctx.debugConfig().policyStatuses, p.namespace, p.name),
    findings: [...findings],
  };
}

/** What each dry-run policy would have denied, from the window's recent flows (one sentence each). */
async function dryRunFindings(ctx: ApiContext, ns: string | undefined): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const f of (await ctx.telemetry.flows({ ...(ns ? { namespace: ns } : {}), limit: ctx.limits.maxFlowsLimit })).items) {
    if (f.verdict !== 'dry-run-deny' || f.policy === null) continue;
    const list = out.get(f.policy) ?? [];
    if (list.length >= MAX_FINDINGS_PER_POLICY) continue;
    const from = f.source.identity ?? (f.source.workload ? `${f.source.namespace}/${f.source.workload}` : 'an unknown source');
    const to = f.destination.service ?? (f.destination.workload ? `${f.destination.namespace}/${f.destination.workload}` : 'an unknown destination');
    list.push(`${f.time}: would deny ${f.protocol} from ${from} to ${to}:${f.destination.port}`);
    out.set(f.policy, list);
  }
  return out;
}

export async function listPolicies(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const ns = namespaceQuery(req.query);
  const cfg = ctx.debugConfig();
  const findings = await dryRunFindings(ctx, ns);
  const statusEntries = (kind: string, list: readonly PolicyStatus[]): ApiPolicy[] =>
    inNamespace(list, ns).map((s) => ({ kind, namespace: s.namespace, name: s.name, action: null, dryRun: false, conditions: s.conditions as unknown as Condition[], findings: [] }));
  const body: List<ApiPolicy> = {
    items: [
      ...inNamespace(policiesOf(ctx), ns).map((p) => ({
        ...policyEntry(ctx, p, findings.get(`${p.namespace}/${p.name}`)),
        ...(p.scope === 'targets' ? { targets: (p.targetRefs ?? []).map((r) => `${r.kind}/${r.name}`) } : { selects: selectedBy(ctx, p) }),
      })),
      ...statusEntries('TrafficPolicy', cfg.trafficPolicyStatuses),
      ...statusEntries('RequestAuthentication', cfg.requestAuthnStatuses),
    ],
  };
  return { body };
}
