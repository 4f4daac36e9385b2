// A pod's status as the kubelet reports it, computed from its containers' states (pure).
import type { V1ContainerStatus, V1PodStatus, V1ContainerState } from '@kubernetes/client-node';
import type { ContainerState } from './supervisor.js';

export interface ContainerView {
  name: string;
  image: string;
  state: ContainerState;
  restartCount: number;
  lastTermination?: ContainerState;
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

export function podStatus(input: { podIP?: string; hostIP: string; startTime: Date; containers: ContainerView[] }): V1PodStatus {
  const cs: V1ContainerStatus[] = input.containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: '',
    ready: c.state.state === 'running',
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
  const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now });
  const ready = running;
  const waiting = all.find((c) => c.state.state === 'waiting');
  return {
    phase,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(input.podIP ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {}),
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
    ready: s.conditions?.map((c) => `${c.type}=${c.status}`),
    cs: s.containerStatuses?.map((c) => [c.name, c.ready, c.restartCount, Object.keys(c.state ?? {})[0], c.state?.waiting?.reason]),
    reason: s.reason,
  });
}
