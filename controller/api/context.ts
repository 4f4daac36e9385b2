// What the API's handlers read and act through: the controller's own state (the same
// builders that serve /debug/status and /debug/config on 15020, the informers' cached
// cluster), its Kubernetes credentials for the writes a caller was authorized for, and the
// waypoints' endpoint health. startController fills it; tests may fill it by hand.
import type { KubeAccess } from '../../core/kube/access.js';
import type { Resource } from '../../core/config/model.js';
import type { ControllerStatus } from '../distribution/server.js';
import type { ClusterState, PolicyStatus, Problem, RouteStatus } from '../translate/input.js';
import type { ApiLimits } from './limits.js';
import type { ReplicaContext } from './mesh-wide.js';
import type { HeldCertificatesSnapshot } from '../telemetry/certificates.js';
import type { PrometheusGraphSource } from './prometheus-source.js';
import type { TelemetrySource } from './telemetry-source.js';

/** The body of 15020 /debug/status (controller.ts builds it once for both). */
export interface DebugStatus extends ControllerStatus {
  synced: boolean;
  leader: boolean;
  leaderElection: { lease: string; identity: string; holder: string | null };
  problems: readonly Problem[];
  [more: string]: unknown;
}

/** The body of 15020 /debug/config. */
export interface DebugConfig {
  version: string;
  trustDomain: string;
  rootNamespace: string;
  resources: readonly Resource[];
  policyStatuses: readonly PolicyStatus[];
  requestAuthnStatuses: readonly PolicyStatus[];
  routeStatuses: readonly RouteStatus[];
  trafficPolicyStatuses: readonly PolicyStatus[];
  problems: readonly Problem[];
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
}

export interface ApiContext {
  trustDomain: string;
  rootNamespace: string;
  /** The controller's namespace (its pods, Lease, CA Secret). */
  controllerNamespace: string;
  /** The controller's ServiceAccount (default ambient-controller): the only caller of the internal routes. */
  controllerServiceAccount?: string;
  /** This replica and its peers (mesh-wide.ts); absent: this replica alone (tests of the API). */
  replica?: ReplicaContext;
  debugStatus(): DebugStatus;
  debugConfig(): DebugConfig;
  /** The informers' cached cluster. */
  state(): ClusterState;
  isLeader(): boolean;
  /** The mesh's CA: roots, the signing certificate, the controller's serving certificate, where the CA came from. */
  certificates(): { roots: CertificateInfo[]; signing: CertificateInfo; serving?: CertificateInfo; source?: unknown };
  /** The workload certificates the data plane holds, as agents and waypoints last listed
   * them: this replica's store (controller/telemetry/certificates.ts), or several
   * replicas' snapshots merged (the controller's `api.heldCertificates` option). */
  heldCertificates(): HeldCertificatesSnapshot;
  /** The controller's own credentials: used only after the caller's SubjectAccessReview allowed the same verb on the same object. */
  kube: KubeAccess;
  /** GET /debug/endpoints of a waypoint pod (its IP, port 15020), bounded in time and size. */
  waypointEndpoints(ip: string): Promise<unknown>;
  telemetry: TelemetrySource;
  /** How far back `telemetry` reaches (ms); default TELEMETRY_WINDOW_DEFAULTS.retentionMs. Longer graphs come from `prometheus`. */
  telemetryRetentionMs?: number;
  /** --prometheus-url: where GET /graph reads windows longer than the telemetry window (absent: those are refused). */
  prometheus?: PrometheusGraphSource;
  limits: ApiLimits;
}
