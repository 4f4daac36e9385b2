// Who carries the enrolled pods' connections: the main thread itself (no workers: tests
// that start an agent in-process, a node with one core) or a pool of data-path workers
// (pool.ts). Enrolment (enrolment/pod-proxy.ts) asks for a pod's data path here and does
// not know which it got.
import { startPodListeners, type DataPathEnv, type PodSpec } from '../proxy/pod-listeners.js';
import type { ConfigChange } from '../state/store.js';
import type { WorkerStats } from './protocol.js';

/** One pod's data path, whoever runs it. */
export interface PodData {
  /** Connections open now. */
  active(): number;
  /** Puts a renewed certificate on the pod's inbound listeners. */
  setCertificate(c: { key: string; cert: string }): void;
  /** Stops accepting (after `drainMs` more of serving with keepAccepting), drains, resets the rest. */
  close(drainMs: number, keepAccepting?: boolean): Promise<void>;
}

export interface DataPlane {
  /** How many workers carry the data path (0: the main thread does). */
  readonly workers: number;
  startPod(spec: PodSpec): Promise<PodData>;
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
    startPod: (spec) => startPodListeners(spec, env),
    // The main thread's own snapshot and bundle are what it serves with.
    configChanged: () => {},
    rootsChanged: () => {},
    stats: async () => [],
    close: async () => {},
  };
}
