// GET /rollouts and POST /rollouts/{namespace}/{name}/{pause,resume,abort}: Rollouts are not
// in the controller's informers (the rollout driver reads them on each pass), so they are
// listed through the Kubernetes API; the actions send the same merge patches as
// `ambientctl rollout` (core/kube/rollout-actions.ts), after the caller's review allowed it.
import { PatchStrategy } from '@kubernetes/client-node';
import { ROLLOUT_ACTIONS, rolloutActionPatch, rolloutsPath, type RolloutAction } from '../../../core/kube/rollout-actions.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest, Handler } from '../types.js';
import { namespaceQuery } from './common.js';
import { kube } from './kube.js';

export interface RolloutObject {
  metadata?: { name?: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export async function listRolloutObjects(ctx: ApiContext, namespace: string | undefined): Promise<RolloutObject[]> {
  const path = namespace === undefined ? '/apis/ambient.dev/v1/rollouts' : rolloutsPath(namespace);
  return (await kube<{ items?: RolloutObject[] }>(ctx, 'GET', path)).items ?? [];
}

const view = (r: RolloutObject) => ({ namespace: r.metadata?.namespace ?? '', name: r.metadata?.name ?? '', spec: r.spec ?? {}, status: r.status ?? {} });

export async function listRollouts(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const items = (await listRolloutObjects(ctx, namespaceQuery(req.query))).map(view).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { body: { items } };
}

export function rolloutAction(action: RolloutAction): Handler {
  return async (req, ctx) => {
    const { namespace, name } = req.params as { namespace: string; name: string };
    const patch = rolloutActionPatch(action);
    const obj = await kube<RolloutObject>(ctx, 'PATCH', rolloutsPath(namespace, name), patch, PatchStrategy.MergePatch);
    req.audit({ verb: 'patch', object: `rollouts.ambient.dev/${namespace}/${name}`, detail: { action, patch } });
    return { body: { result: `rollout.ambient.dev/${name} ${ROLLOUT_ACTIONS[action].done}`, rollout: view(obj) } };
  };
}
