// What the API's handlers read and act through: the controller's own state (the same
// builders that serve /debug/status and /debug/config on 15020, the informers' cached
// cluster), its Kubernetes credentials for the writes a caller was authorized for, and the
// waypoints' endpoint health. startController fills it; tests may fill it by hand.
import type { KubeAccess } from '../../core/kube/access.js';
import type { Resource } from '../../core/config/model.js';
import type { ControllerStatus } from '../distribution/server.js';
import type { ClusterState, PolicyStatus, Problem, RouteStatus } from '../translate/input.js';
import type { ApiLimits } from './limits.js';
import type { TelemetrySource } from './telemetry-source.js';
import type { IssuedCertificate } from '../distribution/issued-certificates.js';

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
  debugStatus(): DebugStatus;
  debugConfig(): DebugConfig;
  /** The informers' cached cluster. */
  state(): ClusterState;
  isLeader(): boolean;
  /** The mesh's CA: roots, the signing certificate, the controller's serving certificate, where the CA came from. */
  certificates(): { roots: CertificateInfo[]; signing: CertificateInfo; serving?: CertificateInfo; source?: unknown };
  /** The workload certificates this replica's CA issued (distribution/issued-certificates.ts); absent: none kept. */
  issuedCertificates?(): IssuedCertificate[];
  /** The controller's own credentials: used only after the caller's SubjectAccessReview allowed the same verb on the same object. */
  kube: KubeAccess;
  /** GET /debug/endpoints of a waypoint pod (its IP, port 15020), bounded in time and size. */
  waypointEndpoints(ip: string): Promise<unknown>;
  telemetry: TelemetrySource;
  limits: ApiLimits;
}
