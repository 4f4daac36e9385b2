// The Deployment controller's decision, as a pure function: given a Deployment, the pods
// it owns and the nodes, which pods to create and which to delete, and the status to
// report. Rolling update: pods of the current template are created first; pods of an
// older template are deleted as the new ones become ready.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { pickNode } from './scheduler.js';
import { podTemplateHash } from './template-hash.js';

export const TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** The template's revision: a stable hash of its canonical form (see template-hash.ts). */
export function templateHash(d: V1Deployment): string {
  return podTemplateHash(d.spec?.template);
}

export function isPodReady(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export interface DeploymentPlan {
  create: V1Pod[];
  delete: string[];
  status: { replicas: number; readyReplicas: number; availableReplicas: number; updatedReplicas: number; observedGeneration?: number };
}

/** Deletion order when scaling down: not scheduled, not running, not ready, then newest. */
function deletionRank(p: V1Pod): [number, number] {
  const state = !p.spec?.nodeName ? 0 : p.status?.phase !== 'Running' ? 1 : !isPodReady(p) ? 2 : 3;
  return [state, -new Date(p.metadata?.creationTimestamp ?? 0).getTime()];
}

function byDeletionOrder(a: V1Pod, b: V1Pod): number {
  const [sa, ta] = deletionRank(a);
  const [sb, tb] = deletionRank(b);
  return sa - sb || ta - tb;
}

export function planDeployment(d: V1Deployment, owned: readonly V1Pod[], nodes: readonly string[], load: Map<string, number>): DeploymentPlan {
  const replicas = d.spec?.replicas ?? 1;
  const hash = templateHash(d);
  const live = owned.filter((p) => !p.metadata?.deletionTimestamp);
  const current = live.filter((p) => p.metadata?.labels?.[TEMPLATE_HASH_LABEL] === hash);
  const old = live.filter((p) => p.metadata?.labels?.[TEMPLATE_HASH_LABEL] !== hash);
  const create: V1Pod[] = [];
  const del: string[] = [];

  if (current.length > replicas) {
    del.push(...[...current].sort(byDeletionOrder).slice(0, current.length - replicas).map((p) => p.metadata!.name!));
  }
  for (let i = current.length; i < replicas && nodes.length > 0; i++) {
    const node = pickNode(nodes, load)!;
    load.set(node, (load.get(node) ?? 0) + 1);
    create.push(podFromTemplate(d, hash, node));
  }
  // Old pods go once enough new ones are ready to keep `replicas` serving.
  const readyNew = current.filter(isPodReady).length;
  const readyOld = old.filter(isPodReady).length;
  const removable = Math.max(0, readyNew + readyOld - replicas);
  const oldSorted = [...old].sort(byDeletionOrder);
  const notReadyOld = oldSorted.filter((p) => !isPodReady(p));
  del.push(...notReadyOld.map((p) => p.metadata!.name!));
  del.push(...oldSorted.filter(isPodReady).slice(0, Math.min(removable, readyOld)).map((p) => p.metadata!.name!));

  const ready = live.filter(isPodReady).length;
  return {
    create,
    delete: del,
    status: {
      replicas: live.length,
      readyReplicas: ready,
      availableReplicas: ready,
      updatedReplicas: current.length,
      ...(d.metadata?.generation !== undefined ? { observedGeneration: d.metadata.generation } : {}),
    },
  };
}

function podFromTemplate(d: V1Deployment, hash: string, node: string): V1Pod {
  const tpl = d.spec?.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${d.metadata!.name}-${hash}-`,
      namespace: d.metadata!.namespace!,
      labels: { ...(tpl.metadata?.labels ?? {}), [TEMPLATE_HASH_LABEL]: hash },
      ...(tpl.metadata?.annotations ? { annotations: { ...tpl.metadata.annotations } } : {}),
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata!.name!, uid: d.metadata!.uid!, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: { ...structuredClone(tpl.spec ?? { containers: [] }), nodeName: node },
  };
}
