// Who carries the enrolled pods' connections: the main thread itself (no workers: tests
// that start an agent in-process, a node with one core) or a pool of data-path workers
// (pool.ts). Enrolment (enrolment/pod-proxy.ts) asks for a pod's data path here and does
// not know which it got.
import { startPodListeners, type DataPathEnv, type PodSpec } from '../proxy/pod-listeners.js';
import type { ConfigChange } from '../state/store.js';
import { closeFds } from '../handover/channel.js';
import type { HeldSocket } from '../handover/plan.js';
import type { WorkerStats } from './protocol.js';

/** One pod's data path, whoever runs it. */
export interface PodData {
  /** Connections open now. */
  active(): number;
  /** Puts a renewed certificate on the pod's inbound listeners. */
  setCertificate(c: { key: string; cert: string }): void;
  /** Stops accepting (after `drainMs` more of serving with keepAccepting), drains, resets the rest. */
  close(drainMs: number, keepAccepting?: boolean): Promise<void>;
  /** Its listening sockets (every worker's), for the next agent (handover/). */
  sockets(): Promise<HeldSocket[]>;
}

export interface DataPlane {
  /** How many workers carry the data path (0: the main thread does). */
  readonly workers: number;
  /** `adopt`: listening sockets handed over by the agent this one replaces, by
   * `host port` (handover/plan.ts adoptKey), one per worker that served it there. */
  startPod(spec: PodSpec, adopt?: Record<string, number[]>): Promise<PodData>;
  /** The main thread applied a config change / the roots changed: workers get them too. */
  configChanged(change: ConfigChange): void;
  rootsChanged(pems: string[]): void;
  /** Each worker's view (none without workers). */
  stats(): Promise<WorkerStats[]>;
  close(): Promise<void>;
}

/** The data path on the calling thread. */
export function inlineDataPlane(env: DataPathEnv): DataPlane {
  return {
    workers: 0,
    async startPod(spec, adopt) {
      const first: Record<string, number> = {};
      const extra: number[] = [];
      for (const [k, fds] of Object.entries(adopt ?? {})) {
        if (fds[0] !== undefined) first[k] = fds[0];
        extra.push(...fds.slice(1));
      }
      // One thread serves: further descriptors of the same socket (an old agent's other
      // workers; workerCountAfterHandover avoids it) would only hold ports open.
      closeFds(extra);
      const listeners = await startPodListeners(Object.keys(first).length > 0 ? { ...spec, adopt: first } : spec, env);
      return { ...listeners, sockets: async () => listeners.sockets() };
    },
    // The main thread's own snapshot and bundle are what it serves with.
    configChanged: () => {},
    rootsChanged: () => {},
    stats: async () => [],
    close: async () => {},
  };
}
