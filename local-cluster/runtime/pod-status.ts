// A pod's status as the kubelet reports it, computed from its containers' states (pure).
import type { V1ContainerStatus, V1PodStatus, V1ContainerState } from '@kubernetes/client-node';
import type { ContainerState } from './supervisor.js';

export interface ContainerView {
  name: string;
  image: string;
  state: ContainerState;
  restartCount: number;
  lastTermination?: ContainerState;
  /**
   * Ready as its readiness probe says (running, and the probe succeeded); absent means
   * running is ready (a container without a readiness probe).
   */
  ready?: boolean;
}

function isReady(c: ContainerView): boolean {
  return c.state.state === 'running' && (c.ready ?? true);
}

function k8sState(s: ContainerState): V1ContainerState {
  switch (s.state) {
    case 'waiting':
      return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
    case 'running':
      return { running: { startedAt: s.startedAt } };
    case 'terminated':
      return { terminated: { exitCode: s.exitCode, reason: s.reason, finishedAt: s.finishedAt, ...(s.signal ? { message: `killed by ${s.signal}` } : {}) } };
  }
}

/** `podIPs`: every address of a dual-stack pod, primary (podIP) first. */
export function podStatus(input: { podIP?: string; podIPs?: string[]; hostIP: string; startTime: Date; containers: ContainerView[] }): V1PodStatus {
  const cs: V1ContainerStatus[] = input.containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: '',
    ready: isReady(c),
    started: c.state.state === 'running',
    restartCount: c.restartCount,
    state: k8sState(c.state),
    ...(c.lastTermination ? { lastState: k8sState(c.lastTermination) } : {}),
  }));
  const all = input.containers;
  const running = all.length > 0 && all.every((c) => c.state.state === 'running');
  const terminated = all.length > 0 && all.every((c) => c.state.state === 'terminated');
  let phase = 'Pending';
  if (running) phase = 'Running';
  else if (terminated) {
    const failed = all.some((c) => c.state.state === 'terminated' && c.state.exitCode !== 0);
    phase = failed ? 'Failed' : 'Succeeded';
  } else if (all.length > 0 && !all.some((c) => c.state.state === 'waiting' && c.restartCount === 0 && !c.lastTermination)) {
    // As the kubelet: Pending while a container has yet to start for the first time; a
    // container waiting to restart (crash loop) or one finished beside running ones is Running.
    phase = 'Running';
  }
  const now = new Date();
  // Ready only when every container runs and passes its readiness probe (the kubelet's
  // ContainersNotReady otherwise), so that endpoints and the mesh see a real readiness.
  const unready = all.filter((c) => !isReady(c)).map((c) => c.name);
  const ready = all.length > 0 && unready.length === 0;
  const cond = (type: string, ok: boolean) => ({
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: now,
    ...(!ok && (type === 'Ready' || type === 'ContainersReady') ? { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` } : {}),
  });
  const waiting = all.find((c) => c.state.state === 'waiting');
  return {
    phase,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(input.podIP ? { podIP: input.podIP, podIPs: (input.podIPs ?? [input.podIP]).map((ip) => ({ ip })) } : {}),
    startTime: input.startTime,
    conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', ready), cond('Ready', ready)],
    containerStatuses: cs,
    ...(waiting && waiting.state.state === 'waiting' && !running ? { reason: waiting.state.reason, message: waiting.state.message ?? '' } : {}),
  };
}

/** Status fields that matter for deciding whether to write (timestamps of conditions aside). */
export function statusKey(s: V1PodStatus): string {
  return JSON.stringify({
    phase: s.phase,
    podIP: s.podIP,
    podIPs: s.podIPs?.map((p) => p.ip),
    ready: s.conditions?.map((c) => `${c.type}=${c.status}`),
    cs: s.containerStatuses?.map((c) => [c.name, c.ready, c.restartCount, Object.keys(c.state ?? {})[0], c.state?.waiting?.reason]),
    reason: s.reason,
  });
}
