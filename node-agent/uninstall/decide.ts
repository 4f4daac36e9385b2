// Whether a stopping node agent is being uninstalled or merely restarted, as a pure
// decision. Uninstalled: its DaemonSet is gone or being deleted (what `ambientctl
// uninstall` and `kubectl delete` do); then the agent takes the mesh off its node (the
// CNI chain and binary, every pod's in-pod rules and listeners, the hand-off socket's
// directory) before it exits. Restarted (a rollout, a deleted or evicted pod, a node
// drain): it changes nothing, so that the pods stay captured for the next agent.
//
// When it cannot tell, it restarts: removing the rules of a mesh that is still installed
// would send the pods' traffic out in plaintext (refused by STRICT peers, unauthorised
// everywhere else) until the next agent enrols them again, while keeping the rules of a
// mesh that is being removed only leaves what `ambientctl uninstall` reports and a second
// run (or the pods' restart) clears. Fail closed.

/** What the API server answered for the agent's DaemonSet at SIGTERM. */
export type DaemonSetProbe =
  | { kind: 'found'; uid: string; deleting: boolean }
  | { kind: 'not-found' }
  | { kind: 'error'; message: string };

/** What the agent's watch on its DaemonSet saw last (before SIGTERM). */
export type DaemonSetWatched = 'present' | 'deleting' | 'deleted' | 'unknown';

export interface StopDecision {
  mode: 'uninstall' | 'restart';
  reason: string;
}

/**
 * `owner`: the DaemonSet that owns the agent's pod (from the pod's ownerReferences at
 * start); undefined when the agent does not run from a DaemonSet, or could not tell.
 */
export function decideStop(owner: { namespace: string; name: string; uid: string } | undefined, probe: DaemonSetProbe, watched: DaemonSetWatched): StopDecision {
  if (owner === undefined) return { mode: 'restart', reason: 'the agent does not know its DaemonSet (not run by one, or its pod could not be read at start): nothing is removed' };
  const ds = `DaemonSet ${owner.namespace}/${owner.name}`;
  switch (probe.kind) {
    case 'not-found':
      return { mode: 'uninstall', reason: `${ds} is gone` };
    case 'found':
      // Another uid: the DaemonSet was deleted and made again; its own agent takes over the pods.
      if (probe.uid !== owner.uid) return { mode: 'restart', reason: `${ds} was replaced (uid ${probe.uid}, the agent's was ${owner.uid}): the new one's agent takes over` };
      if (probe.deleting) return { mode: 'uninstall', reason: `${ds} is being deleted` };
      return { mode: 'restart', reason: `${ds} is still there: a restart` };
    case 'error':
      // The pod's own token stops working once the pod is gone (at once on the local
      // cluster), so what the watch saw before SIGTERM decides then.
      if (watched === 'deleted' || watched === 'deleting') return { mode: 'uninstall', reason: `${ds} was ${watched === 'deleted' ? 'deleted' : 'being deleted'} (seen by the agent's watch; reading it now failed: ${probe.message})` };
      return { mode: 'restart', reason: `cannot read ${ds} (${probe.message}) and the agent's watch saw no deletion: keeping every rule (fail closed)` };
  }
}

/** The DaemonSet that controls a pod, from its ownerReferences. */
export function daemonSetOwner(pod: { metadata?: { namespace?: string; ownerReferences?: Array<{ kind?: string; name?: string; uid?: string; controller?: boolean }> } }): { namespace: string; name: string; uid: string } | undefined {
  const ns = pod.metadata?.namespace;
  const ref = (pod.metadata?.ownerReferences ?? []).find((r) => r.kind === 'DaemonSet' && r.controller === true && r.name && r.uid);
  return ns && ref ? { namespace: ns, name: ref.name!, uid: ref.uid! } : undefined;
}

/** A watch event's effect on what is known of the DaemonSet (ERROR and BOOKMARK change nothing). */
export function watchedAfter(now: DaemonSetWatched, event: { type: string; object?: { metadata?: { uid?: string; deletionTimestamp?: string } } }, uid: string): DaemonSetWatched {
  if (event.object?.metadata?.uid !== uid) return now;
  if (event.type === 'DELETED') return 'deleted';
  if (event.type === 'ADDED' || event.type === 'MODIFIED') return event.object.metadata.deletionTimestamp ? 'deleting' : 'present';
  return now;
}
