// Is the controller ready, are the node agents ready, and if not, why: pure functions over
// the objects as the API server returns them (a Deployment or DaemonSet, its pods, the
// nodes). `ambientctl install` and `upgrade` wait on these; `ambientctl check` can print
// them. The rules are those of `kubectl rollout status`: the workload's controller has seen
// the latest generation, every replica runs the latest template, and every one is ready.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export interface Readiness {
  ready: boolean;
  /** One line: `2 of 2 updated replicas ready`, `1 of 2 nodes have an updated ready agent`. */
  summary: string;
  /** Why not ready, one line per pod or node that is not (empty when ready). */
  problems: string[];
}

/** Why one pod is not ready: its phase, its failing conditions and its containers' states; undefined when it is ready. */
export function podProblem(pod: Any): string | undefined {
  const name = `pod ${pod?.metadata?.name ?? '?'}${pod?.spec?.nodeName ? ` on ${pod.spec.nodeName}` : ''}`;
  const st = pod?.status ?? {};
  const conditions: Any[] = st.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  if (st.phase === 'Running' && ready?.status === 'True') return undefined;
  const parts: string[] = [`phase ${st.phase ?? 'unknown'}`];
  if (pod?.metadata?.deletionTimestamp) parts.push('terminating');
  if (st.reason || st.message) parts.push([st.reason, st.message].filter(Boolean).join(': '));
  for (const c of conditions) {
    if (c.status === 'True') continue;
    parts.push(`${c.type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`);
  }
  for (const cs of [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])] as Any[]) {
    const s = cs.state ?? {};
    if (s.waiting) parts.push(`container ${cs.name} waiting: ${[s.waiting.reason, s.waiting.message].filter(Boolean).join(': ') || 'no reason given'}`);
    else if (s.terminated) parts.push(`container ${cs.name} terminated: ${s.terminated.reason ?? 'exit'} (exit code ${s.terminated.exitCode ?? '?'})`);
    else if (s.running && !cs.ready) parts.push(`container ${cs.name} running, not ready (readiness probe)`);
    if (cs.restartCount > 0) parts.push(`container ${cs.name} restarted ${cs.restartCount} times${cs.lastState?.terminated ? `, last: ${cs.lastState.terminated.reason ?? 'exit'} (exit code ${cs.lastState.terminated.exitCode ?? '?'})` : ''}`);
  }
  return `${name}: ${parts.join('; ')}`;
}

const generationSeen = (o: Any) => (o?.status?.observedGeneration ?? 0) >= (o?.metadata?.generation ?? 0);

/** The reasons of the pods that are not ready, at most `max` lines (the rest counted). */
function podProblems(pods: readonly Any[], max = 5): string[] {
  const lines = pods.map(podProblem).filter((l): l is string => l !== undefined);
  return lines.length > max ? [...lines.slice(0, max), `... and ${lines.length - max} more pods not ready`] : lines;
}

/** A Deployment rolled out and ready: every wanted replica updated and ready, no old one left. */
export function deploymentReadiness(d: Any | undefined, pods: readonly Any[]): Readiness {
  if (!d) return { ready: false, summary: 'not found', problems: ['the Deployment does not exist'] };
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  const updated = st.updatedReplicas ?? 0;
  const readyCount = st.readyReplicas ?? 0;
  const total = st.replicas ?? 0;
  if (!generationSeen(d)) return { ready: false, summary: `waiting for the deployment controller to see generation ${d.metadata?.generation}`, problems: [] };
  const summary = `${Math.min(updated, readyCount)} of ${want} updated replicas ready`;
  const problems: string[] = [];
  if (updated < want) problems.push(`${updated} of ${want} replicas run the latest template`);
  if (total > updated) problems.push(`${total - updated} old replicas pending termination`);
  const ready = updated >= want && total <= updated && readyCount >= want && (st.availableReplicas ?? readyCount) >= want;
  if (!ready) problems.push(...podProblems(pods));
  return { ready, summary, problems: ready ? [] : problems };
}

/**
 * A DaemonSet rolled out and ready on every node it should run on: as many updated, ready
 * pods as nodes scheduled; a node without a pod of it is named.
 */
export function daemonSetReadiness(ds: Any | undefined, pods: readonly Any[], nodes: readonly Any[]): Readiness {
  if (!ds) return { ready: false, summary: 'not found', problems: ['the DaemonSet does not exist'] };
  const st = ds.status ?? {};
  if (!generationSeen(ds)) return { ready: false, summary: `waiting for the daemon set controller to see generation ${ds.metadata?.generation}`, problems: [] };
  const desired = st.desiredNumberScheduled ?? 0;
  const updated = st.updatedNumberScheduled ?? 0;
  const readyCount = st.numberReady ?? 0;
  const summary = `${Math.min(updated, readyCount)} of ${desired} nodes have an updated, ready agent`;
  const problems: string[] = [];
  if (desired === 0) problems.push(nodes.length === 0 ? 'the cluster has no nodes' : 'no node is scheduled for the DaemonSet (node selector or taints?)');
  if (updated < desired) problems.push(`${desired - updated} of ${desired} nodes still run an older agent`);
  const onNodes = new Set(pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.nodeName));
  for (const n of nodes) if (!onNodes.has(n.metadata?.name)) problems.push(`node ${n.metadata?.name}: no agent pod`);
  const ready = desired > 0 && updated >= desired && readyCount >= desired && (st.numberAvailable ?? readyCount) >= desired && (st.numberMisscheduled ?? 0) === 0;
  if (!ready) problems.push(...podProblems(pods));
  return { ready, summary, problems: ready ? [] : problems };
}

/** A CustomResourceDefinition is served once its Established condition is True. */
export function crdEstablished(crd: Any | undefined): boolean {
  return !!crd?.status?.conditions?.some((c: Any) => c.type === 'Established' && c.status === 'True');
}
