// The DaemonSet controller's decision, as a pure function: one pod of the current
// template on every ready node; pods on nodes that are gone are deleted; a template
// change replaces the pods one node at a time (RollingUpdate, maxUnavailable 1).
import type { V1DaemonSet, V1Pod } from '@kubernetes/client-node';
import { isPodReady } from './deployments.js';
import { podTemplateHash } from './template-hash.js';

/** DaemonSets label their pods with the template revision under this name (Kubernetes' own). */
export const REVISION_HASH_LABEL = 'controller-revision-hash';

/** The template's revision: a stable hash of its canonical form (see template-hash.ts). */
export function daemonSetHash(ds: V1DaemonSet): string {
  return podTemplateHash(ds.spec?.template);
}

export interface DaemonSetPlan {
  create: V1Pod[];
  delete: string[];
  status: {
    desiredNumberScheduled: number;
    currentNumberScheduled: number;
    numberReady: number;
    updatedNumberScheduled: number;
    numberMisscheduled: number;
    observedGeneration?: number;
  };
}

export function planDaemonSet(ds: V1DaemonSet, owned: readonly V1Pod[], nodes: readonly string[]): DaemonSetPlan {
  const hash = daemonSetHash(ds);
  const live = owned.filter((p) => !p.metadata?.deletionTimestamp);
  const onNode = new Map<string, V1Pod[]>();
  for (const p of live) {
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, [...(onNode.get(n) ?? []), p]);
  }
  const create: V1Pod[] = [];
  const del: string[] = [];
  let misscheduled = 0;
  for (const [node, pods] of onNode) {
    if (!nodes.includes(node)) {
      misscheduled += pods.length;
      del.push(...pods.map((p) => p.metadata!.name!));
    }
  }
  // One node replaced at a time: only when every other pod is ready.
  const unready = live.filter((p) => !isPodReady(p)).length;
  let replaceBudget = unready === 0 ? 1 : 0;
  for (const node of [...nodes].sort()) {
    const pods = onNode.get(node) ?? [];
    const current = pods.filter((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] === hash);
    const old = pods.filter((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] !== hash);
    if (current.length > 1) del.push(...current.slice(1).map((p) => p.metadata!.name!));
    if (current.length === 0 && old.length === 0) create.push(podFor(ds, hash, node));
    else if (current.length === 0 && replaceBudget > 0) {
      replaceBudget--;
      del.push(...old.map((p) => p.metadata!.name!));
    } else if (current.length > 0) del.push(...old.map((p) => p.metadata!.name!));
  }
  const scheduled = live.filter((p) => nodes.includes(p.spec?.nodeName ?? ''));
  return {
    create,
    delete: [...new Set(del)],
    status: {
      desiredNumberScheduled: nodes.length,
      currentNumberScheduled: new Set(scheduled.map((p) => p.spec!.nodeName)).size,
      numberReady: scheduled.filter(isPodReady).length,
      updatedNumberScheduled: scheduled.filter((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] === hash).length,
      numberMisscheduled: misscheduled,
      ...(ds.metadata?.generation !== undefined ? { observedGeneration: ds.metadata.generation } : {}),
    },
  };
}

function podFor(ds: V1DaemonSet, hash: string, node: string): V1Pod {
  const tpl = ds.spec?.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ds.metadata!.name}-`,
      namespace: ds.metadata!.namespace!,
      labels: { ...(tpl.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
      ...(tpl.metadata?.annotations ? { annotations: { ...tpl.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata!.name!, uid: ds.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...structuredClone(tpl.spec ?? { containers: [] }), nodeName: node },
  };
}
