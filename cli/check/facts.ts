// What `ambientctl check` decides on: facts gathered from the API server and the
// controller's API (gather.ts), each either known or the error that kept it unknown, so
// every check is a pure function of them.

/** A fact, or why it could not be learned (the message of the request's failure). */
export type Fact<T> = { ok: true; value: T } | { ok: false; error: string };

export const known = <T>(value: T): Fact<T> => ({ ok: true, value });
export const unknown = <T = never>(error: string): Fact<T> => ({ ok: false, error });

/** The namespace the mesh installs into (its controller, node agents, CA). */
export const MESH_NAMESPACE = 'ambient-system';
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

export interface DeploymentFact {
  /** spec.replicas (1 when unset). */
  desired: number;
  ready: number;
  updated: number;
  available: number;
  /** The rollout's own words when it is stuck (the Progressing condition's message). */
  message?: string;
}

export interface DaemonSetFact {
  desired: number;
  ready: number;
  updated: number;
  available: number;
}

export interface AgentPodFact {
  name: string;
  node: string;
  ready: boolean;
  /** Why not ready (a container's waiting reason or the Ready condition's message). */
  reason?: string;
}

export interface CrdFact {
  /** `plural.group`. */
  name: string;
  group: string;
  kind: string;
  established: boolean;
  /** The Established condition's message when it is not. */
  message?: string;
}
