// GET /policies: every compiled AuthorizationPolicy with the status conditions the
// controller computed for it (those it writes to the object), whether it is a dry run and
// what was rejected; and the TrafficPolicies and RequestAuthentications by their statuses.
import type { Policy } from '../../../core/config/model.js';
import type { PolicyStatus } from '../../translate/input.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { inNamespace, namespaceQuery, policiesOf } from './common.js';

function conditionsOf(statuses: readonly PolicyStatus[], namespace: string, name: string) {
  return statuses.find((s) => s.namespace === namespace && s.name === name)?.conditions ?? [];
}

export function policyEntry(ctx: ApiContext, p: Policy) {
  return {
    kind: 'AuthorizationPolicy',
    namespace: p.namespace,
    name: p.name,
    action: p.action,
    scope: p.scope,
    ...(p.selector ? { selector: p.selector } : {}),
    ...(p.targetRefs ? { targetRefs: p.targetRefs } : {}),
    dryRun: p.dryRun === true,
    ...(p.rejected ? { rejected: p.rejected } : {}),
    rules: p.rules.length,
    conditions: conditionsOf(ctx.debugConfig().policyStatuses, p.namespace, p.name),
  };
}

export function listPolicies(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const ns = namespaceQuery(req.query);
  const cfg = ctx.debugConfig();
  const statusEntries = (kind: string, list: readonly PolicyStatus[]) => inNamespace(list, ns).map((s) => ({ kind, namespace: s.namespace, name: s.name, conditions: s.conditions }));
  return {
    body: {
      authorizationPolicies: inNamespace(policiesOf(ctx), ns).map((p) => policyEntry(ctx, p)),
      trafficPolicies: statusEntries('TrafficPolicy', cfg.trafficPolicyStatuses),
      requestAuthentications: statusEntries('RequestAuthentication', cfg.requestAuthnStatuses),
    },
  };
}
