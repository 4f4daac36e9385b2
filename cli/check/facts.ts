// What `ambientctl check` decides on: facts gathered from the API server and the
// controller's API (gather.ts), each either known or the error that kept it unknown, so
// every check is a pure function of them.

import { DEFAULT_MESH_NAMESPACE, meshNamespace } from '../mesh-namespace.js';

/** A fact, or why it could not be learned (the message of the request's failure). */
export type Fact<T> = { ok: true; value: T } | { ok: false; error: string };

export const known = <T>(value: T): Fact<T> => ({ ok: true, value });
export const unknown = <T = never>(error: string): Fact<T> => ({ ok: false, error });

/** The namespace the mesh installs into by default (its controller, node agents, CA); this run's is meshNamespace() (--mesh-namespace). */
export const MESH_NAMESPACE = DEFAULT_MESH_NAMESPACE;
export { meshNamespace };
export const CONTROLLER_DEPLOYMENT = 'ambient-controller';
export const AGENT_DAEMONSET = 'ambient-node-agent';
/** The group of the mesh's own kinds (AuthorizationPolicy, ..., each a CRD). */
export const MESH_GROUP = 'ambient.dev';
/** The GatewayClass the controller creates for waypoints. */
export const WAYPOINT_GATEWAY_CLASS = 'ambient-waypoint';

/** `kubectl version`'s server part (GET /version). */
export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion?: string;
}

/** A kind install creates, as discovery names it. */
export interface InstallKind {
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural (discovery's name). */
  resource: string;
  namespaced: boolean;
}

/** The API server's answer to a SelfSubjectAccessReview for the current user. */
export interface AccessAnswer {
  verb: string;
  kind: InstallKind;
  /** The namespace asked about (the mesh's, for namespaced kinds). */
  namespace?: string;
  answer: Fact<{ allowed: boolean; reason?: string }>;
}

export interface NodeFact {
  name: string;
  /** status.nodeInfo.operatingSystem, else the kubernetes.io/os label; '' when neither. */
  os: string;
}

/** An object as the API server returns it (a Deployment, DaemonSet, Pod, Node or CRD): the
 * readiness rules (cli/install/readiness.ts) read them as they are. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeObject = any;

/** A node's OS: status.nodeInfo.operatingSystem, else the kubernetes.io/os label; '' when neither. */
export function nodeOs(n: KubeObject): string {
  return String(n?.status?.nodeInfo?.operatingSystem ?? n?.metadata?.labels?.['kubernetes.io/os'] ?? '').toLowerCase();
}
