// The DaemonSet controller's decision, as a pure function: one pod of the current
// template on every ready node; pods on nodes that are gone are deleted; a template
// change replaces the pods as Kubernetes' RollingUpdate does: with maxSurge 0, at most
// maxUnavailable (default 1) nodes at a time lose their pod before the new one starts;
// with maxSurge > 0, the new pod starts beside the old one on up to maxSurge nodes at a
// time, and the old one is deleted (gracefully) only once the new one is Ready (the node
// agent's upgrade without dropping connections, docs/operations.md).
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
  const { maxSurge, maxUnavailable } = rollingLimits(ds, nodes.length);
  const sorted = [...nodes].sort();
  const split = (node: string) => {
    const pods = onNode.get(node) ?? [];
    return {
      current: pods.filter((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] === hash),
      old: pods.filter((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] !== hash),
    };
  };
  const names = (ps: V1Pod[]) => ps.map((p) => p.metadata!.name!);
  // Surge: nodes whose new pod is starting beside the old one count against maxSurge.
  let surgeBudget = maxSurge - sorted.filter((n) => {
    const { current, old } = split(n);
    return old.length > 0 && current.length > 0 && !current.some(isPodReady);
  }).length;
  // Without surge: nodes replaced while every pod but maxUnavailable is ready.
  const unready = live.filter((p) => !isPodReady(p)).length;
  let replaceBudget = Math.max(0, maxUnavailable - unready);
  for (const node of sorted) {
    const { current, old } = split(node);
    if (current.length > 1) del.push(...names(current.slice(1)));
    if (current.length === 0 && old.length === 0) create.push(podFor(ds, hash, node));
    else if (current.length === 0) {
      if (maxSurge > 0) {
        // The old pod keeps the node served until the new one is Ready.
        if (surgeBudget > 0) {
          surgeBudget--;
          create.push(podFor(ds, hash, node));
        }
      } else if (replaceBudget > 0) {
        replaceBudget--;
        del.push(...names(old));
      }
    } else if (maxSurge === 0 || current.some(isPodReady)) del.push(...names(old));
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

/** An int-or-percent of the node count, as Kubernetes scales it (percentages round up). */
function scaled(v: number | string | undefined, total: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return Math.max(0, Math.floor(v));
  const m = /^(\d+)%$/.exec(v);
  if (m) return Math.ceil((Number(m[1]) * total) / 100);
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** maxSurge (default 0) and maxUnavailable (default 1; at least 1 when maxSurge is 0, as Kubernetes requires). */
export function rollingLimits(ds: V1DaemonSet, nodes: number): { maxSurge: number; maxUnavailable: number } {
  const ru = ds.spec?.updateStrategy?.rollingUpdate as { maxSurge?: number | string; maxUnavailable?: number | string } | undefined;
  const maxSurge = scaled(ru?.maxSurge, nodes, 0);
  const maxUnavailable = scaled(ru?.maxUnavailable, nodes, 1);
  return { maxSurge, maxUnavailable: maxSurge === 0 ? Math.max(1, maxUnavailable) : maxUnavailable };
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
