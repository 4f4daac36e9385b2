// GET /rollouts and POST /rollouts/{namespace}/{name}/{pause,resume,abort}: Rollouts are not
// in the controller's informers (the rollout driver reads them on each pass), so they are
// listed through the Kubernetes API; the actions send the same merge patches as
// `ambientctl rollout` (core/kube/rollout-actions.ts), after the caller's review allowed it.
import { PatchStrategy } from '@kubernetes/client-node';
import { rolloutActionPatch, rolloutsPath, type RolloutAction } from '../../../core/kube/rollout-actions.js';
import type { List, Rollout } from '../../../console/api-types.js';
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

/** A Rollout as the API answers it (console/api-types.d.ts: Rollout): the object's metadata, spec and status. */
export function rolloutView(r: RolloutObject): Rollout {
  return {
    metadata: { namespace: r.metadata?.namespace ?? '', name: r.metadata?.name ?? '', ...(r.metadata?.generation !== undefined && { generation: r.metadata.generation }) },
    spec: (r.spec ?? {}) as unknown as Rollout['spec'],
    ...(r.status !== undefined && { status: r.status as Rollout['status'] }),
  };
}

export async function listRollouts(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const items = (await listRolloutObjects(ctx, namespaceQuery(req.query))).map(rolloutView).sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
  const body: List<Rollout> = { items };
  return { body };
}

export function rolloutAction(action: RolloutAction): Handler {
  return async (req, ctx) => {
    const { namespace, name } = req.params as { namespace: string; name: string };
    const patch = rolloutActionPatch(action);
    const obj = await kube<RolloutObject>(ctx, 'PATCH', rolloutsPath(namespace, name), patch, PatchStrategy.MergePatch);
    req.audit({ verb: 'patch', object: `rollouts.ambient.dev/${namespace}/${name}`, detail: { action, patch } });
    // The Rollout after the change (the console shows it; the CLI prints its own line).
    const body: Rollout = rolloutView(obj);
    return { body };
  };
}
