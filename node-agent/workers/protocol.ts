// The messages between the node agent's main thread and its data-path workers
// (DESIGN.md section 10). The main thread stays the single writer: it forwards every
// config update, root change and certificate in order, and tells each worker which pods
// to serve; a worker holds a read-only copy and reports what its connections did, which
// the main thread feeds to the one metrics registry, access log and observed-edges table,
// so they read as they would with one thread. Plain data only (structured clone).
import type { Resource } from '../../core/config/model.js';
import type { ResourceRef } from '../../core/config/wire.js';
import type { ConnectionRefuseReason, StreamRejectReason } from '../../core/hbone/metrics.js';
import type { Penalty } from '../../core/hbone/penalty-box.js';
import type { AuthzDecisionInput } from '../observe/labels.js';
import type { EdgeObservation } from '../observe/edges.js';
import type { HeldSocket } from '../handover/plan.js';
import type { PodSpec } from '../proxy/pod-listeners.js';
import type { ConnectionRecord } from '../proxy/record.js';

export type { PodSpec };

export interface WorkerInit {
  index: number;
  node: string;
  trustDomain: string;
  mark: number;
  roots: string[];
  /** The config as the main thread holds it now, and its version. */
  resources: Resource[];
  version: string;
  /** Open the pods' listeners with SO_REUSEPORT (more than one worker). */
  reusePort: boolean;
  /** HBONE penalties in force now (imposed by the other workers). */
  penalties: Penalty[];
}

export type ToWorker =
  | { t: 'config'; version?: string; upserts: Resource[]; removes: ResourceRef[] }
  | { t: 'roots'; pems: string[] }
  | { t: 'cert'; identity: string; key: string; cert: string }
  | { t: 'pod-start'; id: number; spec: PodSpec }
  | { t: 'pod-close'; id: number; uid: string; drainMs: number; keepAccepting: boolean }
  | { t: 'stats'; id: number }
  /** The pod's listening sockets in this worker, for the next agent (handover/). */
  | { t: 'pod-sockets'; id: number; uid: string }
  | { t: 'crash' }
  | { t: 'penalty'; penalty: Penalty }
  | { t: 'close'; id: number };

/** A decision, reduced to what the metrics and the observed edges need. */
export interface DecisionReport {
  metric: AuthzDecisionInput;
  edge?: EdgeObservation;
}

export type HboneCount = { metric: 'rejectedStreams'; reason: StreamRejectReason } | { metric: 'refusedConnections'; reason: ConnectionRefuseReason };

/** What one worker's connections did since its last report (sent at most once per turn). */
export interface WorkerEvents {
  t: 'events';
  opened: ConnectionRecord[];
  ended: ConnectionRecord[];
  decisions: DecisionReport[];
  hbone: HboneCount[];
  /** Penalties this worker's HBONE guard imposed: the pool hands them to the others. */
  penalties: Penalty[];
}

export interface WorkerStats {
  index: number;
  /** The config version this worker serves. */
  version: string;
  /** Open connections, by pod uid. */
  active: Record<string, number>;
  /** Connections this worker carried to their end since it started. */
  finished: number;
  /** Inbound connections its authorization enforcer tracks. */
  tracked: number;
}

export type FromWorker =
  | WorkerEvents
  | { t: 'active'; active: Record<string, number> }
  | { t: 'reply'; id: number; error?: string; stats?: WorkerStats; sockets?: HeldSocket[] };
