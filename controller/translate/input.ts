// What translation reads and returns. Cluster objects are typed with
// @kubernetes/client-node's models, but read as untrusted: a field may be missing or of
// the wrong type (a hand-written manifest on the local API server, a CRD without a strict
// schema), and such an object is rejected alone with a Problem, never with a throw.
import type { V1EndpointSlice, V1Namespace, V1ObjectMeta, V1Pod, V1Service, V1ServiceAccount } from '@kubernetes/client-node';
import type { Resource } from '../../core/config/model.js';
import type { PeerAuthenticationObject } from '../../core/config/peer-authentication.js';
import type { ReferenceGrantObject, RouteObject, RouteStatus } from './routes.js';
import type { TrafficPolicyObject } from './traffic-policies.js';

export type { ReferenceGrantObject, RouteObject, RouteStatus } from './routes.js';
export type { TrafficPolicyObject } from './traffic-policies.js';

/** PeerAuthentication.ambient.dev/v1 (Istio's security.istio.io/v1 schema), as core/config reads it. */
export type PeerAuthentication = PeerAuthenticationObject;

/** Gateway.gateway.networking.k8s.io/v1, the fields a waypoint uses. */
export interface Gateway {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: {
    gatewayClassName?: string;
    /** `allowedRoutes` of the HBONE listener says which namespaces may use the waypoint (./waypoints.ts); read defensively. */
    listeners?: Array<{ name?: string; port?: number; protocol?: string; allowedRoutes?: unknown }>;
  };
}

/** AuthorizationPolicy.ambient.dev/v1 (Istio's security.istio.io/v1 schema), compiled by core/policy/compile.ts. */
export interface AuthorizationPolicy {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: unknown;
}

export interface ClusterState {
  namespaces: readonly V1Namespace[];
  pods: readonly V1Pod[];
  services: readonly V1Service[];
  endpointSlices: readonly V1EndpointSlice[];
  /** Not read: a pod's identity comes from its spec, and the API server only admits pods
   * whose ServiceAccount exists. Accepted so callers can pass a full snapshot. */
  serviceAccounts?: readonly V1ServiceAccount[];
  peerAuthentications: readonly PeerAuthentication[];
  /** Compiled to Policy resources; each gets a PolicyStatus. */
  authorizationPolicies?: readonly AuthorizationPolicy[];
  gateways?: readonly Gateway[];
  /** HTTPRoutes and GRPCRoutes (gateway.networking.k8s.io/v1) compiled to Route resources; each with a Service parent gets a RouteStatus. */
  httpRoutes?: readonly RouteObject[];
  grpcRoutes?: readonly RouteObject[];
  /** ReferenceGrants (gateway.networking.k8s.io/v1beta1): which cross-namespace backendRefs are allowed. */
  referenceGrants?: readonly ReferenceGrantObject[];
  /** RequestAuthentication.ambient.dev/v1 (Istio's schema), compiled to RequestAuthn resources for waypoints. */
  requestAuthentications?: readonly RequestAuthentication[];
  /** TrafficPolicy.ambient.dev/v1, compiled to TrafficPolicy resources for waypoints; each gets a status (./traffic-policies.ts). */
  trafficPolicies?: readonly TrafficPolicyObject[];
}

/** RequestAuthentication.ambient.dev/v1 as read from the API server (core/config/request-authn.ts reads the rest). */
export interface RequestAuthentication {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: unknown;
}

export interface TranslateOptions {
  trustDomain: string;
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** Where mesh-wide policy lives. Default `ambient-system`. */
  rootNamespace?: string;
}

/** An object that could not be translated (or only in part), and why. */
export interface Problem {
  /** The cluster object's kind: Pod, Service, Namespace, PeerAuthentication, ... */
  kind: string;
  /** `<namespace>/<name>`, or the name of a cluster-scoped object. */
  key: string;
  message: string;
}

/** One condition of an object's `status.conditions` (metav1.Condition without the
 * timestamps and generation, which the status writer adds). */
export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, as metav1.Condition requires. */
  reason: string;
  message: string;
}

/** The status translation computed for one AuthorizationPolicy (controller/translate/authorization.ts
 * documents the condition types and reasons). */
export interface PolicyStatus {
  namespace: string;
  name: string;
  /** metadata.generation of the object that was compiled (0 when it has none): written as
   * each condition's observedGeneration. */
  generation: number;
  conditions: StatusCondition[];
}

export interface TranslationResult {
  /** Sorted by kind (Workload, Service, Policy), then key. */
  resources: Resource[];
  /** Sorted by kind, key, message. */
  problems: Problem[];
  /** One per AuthorizationPolicy whose name and namespace could be read, sorted by namespace, name. */
  policyStatuses: PolicyStatus[];
  /** One per HTTPRoute/GRPCRoute with a Service parentRef, sorted by kind, namespace, name (controller/translate/routes.ts). */
  routeStatuses: RouteStatus[];
  /** One per TrafficPolicy whose name and namespace could be read, sorted by namespace, name
   * (conditions Accepted and Conflicted: controller/translate/traffic-policies.ts). */
  trafficPolicyStatuses: PolicyStatus[];
  /** One per RequestAuthentication whose name and namespace could be read, sorted by namespace, name (controller/translate/request-authentications.ts). */
  requestAuthnStatuses: PolicyStatus[];
}
