// Who a caller of the controller protocol is, and what it may have: pure functions over
// data (a TokenReview's user, the pods on a node), no I/O, so that every rule has a small
// named test. The server does the I/O around them (TokenReview, the pod lister) and turns
// a refusal into an HTTP status.
//
// The rules (DESIGN.md "Identity", "Controller protocol"):
// - a node agent is the configured ServiceAccount (default ambient-system/ambient-node-agent)
//   with a token bound to one of its pods; that pod must run on the node it claims, so a
//   stolen or replayed token cannot claim another node;
// - a waypoint is a ServiceAccount the controller recognises as one (a Gateway of class
//   ambient-waypoint names it; see ControllerServerOptions.isWaypoint);
// - nobody else is served: an ordinary pod's ServiceAccount gets neither config nor
//   certificates (config describes the whole mesh; certificates are the node agent's job);
// - a node agent may have certificates only for identities (namespace + service account)
//   with a pod on its own node (Istio's ztunnel rule: a compromised node exposes the
//   identities of its own pods, not the mesh's), and never for an identity of the
//   control-plane namespace (the controller's, the agents'): those are not workloads,
//   even when a pod running as one sits on the node;
// - a waypoint may have only its own identity.
import { ErrorCodes, type ErrorCode } from '../../core/errors.js';
import { formatSpiffeId, spiffeId, type SpiffeId } from '../../core/identity/spiffe.js';

/** A pod as the server's pod lister reports it. */
export interface PodRef {
  namespace: string;
  name: string;
  uid?: string;
  serviceAccount: string;
}

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** The namespace of the controller and the node agents: its identities are never signed for callers. */
export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'ambient-system';

export const NODE_AGENT_SERVICE_ACCOUNT_NAME = 'ambient-node-agent';

/** The node agents' ServiceAccount when none is configured: ambient-node-agent in the controller's namespace (both are installed together). */
export const defaultNodeAgentServiceAccount = (controlPlaneNamespace: string = DEFAULT_CONTROL_PLANE_NAMESPACE): ServiceAccountRef => ({ namespace: controlPlaneNamespace, name: NODE_AGENT_SERVICE_ACCOUNT_NAME });

export const DEFAULT_NODE_AGENT_SERVICE_ACCOUNT: ServiceAccountRef = defaultNodeAgentServiceAccount();

/** Is this ServiceAccount a waypoint's? */
export type WaypointCheck = (sa: ServiceAccountRef) => boolean;

/** The user a TokenReview authenticated (status.user). */
export interface ReviewedUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface Caller {
  role: 'node-agent' | 'waypoint';
  /** The caller's own identity (its ServiceAccount's SPIFFE ID). */
  identity: SpiffeId;
  /** The node it claims (`x-ambient-node`), verified against its pod when the token is bound to one. */
  node: string;
  /** The pod the token is bound to, when it is. */
  pod?: { name: string; uid?: string };
  /** The node the API server says the bound pod runs on (Kubernetes 1.30+ puts it in the token). */
  tokenNode?: string;
}

export type Refusal = { ok: false; status: 401 | 403; code: ErrorCode; reason: string };
export type Decision = { ok: true } | { ok: false; reason: string };

const SA_PREFIX = 'system:serviceaccount:';
const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A node name as Kubernetes allows it (a DNS-1123 subdomain). */
export function isNodeName(s: string): boolean {
  return s.length > 0 && s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

function first(extra: Record<string, string[]> | undefined, key: string): string | undefined {
  const v = extra?.[key];
  return Array.isArray(v) && typeof v[0] === 'string' && v[0] !== '' ? v[0] : undefined;
}

/** Turns an authenticated TokenReview user and the claimed node into a Caller. */
export function callerFromReview(
  user: ReviewedUser,
  claimedNode: string,
  cfg: { trustDomain: string; nodeAgentServiceAccount: ServiceAccountRef; isWaypoint?: WaypointCheck },
): { ok: true; caller: Caller } | Refusal {
  const name = user.username ?? '';
  const parts = name.startsWith(SA_PREFIX) ? name.slice(SA_PREFIX.length).split(':') : [];
  if (parts.length !== 2) {
    return { ok: false, status: 403, code: ErrorCodes.CTRL_FORBIDDEN, reason: `${JSON.stringify(name)} is not a ServiceAccount; the controller serves only ServiceAccount tokens` };
  }
  let identity: SpiffeId;
  try {
    identity = spiffeId(parts[0]!, parts[1]!, cfg.trustDomain);
  } catch (err) {
    return { ok: false, status: 403, code: ErrorCodes.CTRL_FORBIDDEN, reason: `ServiceAccount ${parts.join('/')} has no valid identity: ${(err as Error).message}` };
  }
  const na = cfg.nodeAgentServiceAccount;
  const sa = { namespace: identity.namespace, name: identity.serviceAccount };
  let role: Caller['role'];
  if (sa.namespace === na.namespace && sa.name === na.name) role = 'node-agent';
  else if (cfg.isWaypoint?.(sa)) role = 'waypoint';
  else {
    return {
      ok: false,
      status: 403,
      code: ErrorCodes.CTRL_FORBIDDEN,
      reason: `ServiceAccount ${sa.namespace}/${sa.name} is neither the node agents' (${na.namespace}/${na.name}) nor a waypoint's; the controller serves only node agents and waypoints`,
    };
  }
  const caller: Caller = { role, identity, node: claimedNode };
  const podName = first(user.extra, EXTRA_POD_NAME);
  if (podName) {
    const uid = first(user.extra, EXTRA_POD_UID);
    caller.pod = uid ? { name: podName, uid } : { name: podName };
  }
  const tokenNode = first(user.extra, EXTRA_NODE_NAME);
  if (tokenNode) caller.tokenNode = tokenNode;
  return { ok: true, caller };
}

/**
 * Does the caller run on the node it claims? When the token is bound to a pod, that pod
 * must be among `podsOnNode` (the claimed node's pods); a node agent's token must be
 * bound, else nothing ties it to a node. A workload's unbound token (a waypoint deployed
 * with a legacy token) is accepted: it only ever gets its own identity.
 */
export function verifyCallerNode(caller: Caller, podsOnNode: readonly PodRef[]): { ok: true } | Refusal {
  const who = formatSpiffeId(caller.identity);
  if (caller.tokenNode && caller.tokenNode !== caller.node) {
    return { ok: false, status: 403, code: ErrorCodes.CTRL_NODE_MISMATCH, reason: `${who} claims node ${caller.node} but its token was issued on node ${caller.tokenNode}` };
  }
  if (!caller.pod) {
    if (caller.role === 'node-agent') {
      return {
        ok: false,
        status: 403,
        code: ErrorCodes.CTRL_FORBIDDEN,
        reason: `node agent token (${who}) is not bound to a pod, so its node cannot be verified; mount a projected ServiceAccount token`,
      };
    }
    return { ok: true };
  }
  const pod = caller.pod;
  const found = podsOnNode.some(
    (p) => p.namespace === caller.identity.namespace && p.name === pod.name && (!pod.uid || !p.uid || p.uid === pod.uid),
  );
  if (!found) {
    return {
      ok: false,
      status: 403,
      code: ErrorCodes.CTRL_NODE_MISMATCH,
      reason: `${who} claims node ${caller.node} but its pod ${caller.identity.namespace}/${pod.name} is not on that node`,
    };
  }
  return { ok: true };
}

/**
 * May `caller` have a certificate for `requested`? Never for an identity of the
 * control-plane namespace. A node agent: when a pod of that namespace and service account
 * is on its node. A waypoint: only its own identity.
 */
export function authorizeCsr(
  caller: Caller,
  requested: SpiffeId,
  podsOnNode: readonly PodRef[],
  controlPlaneNamespace: string = DEFAULT_CONTROL_PLANE_NAMESPACE,
): Decision {
  const want = formatSpiffeId(requested);
  if (requested.trustDomain !== caller.identity.trustDomain) {
    return { ok: false, reason: `${want} is outside trust domain ${caller.identity.trustDomain}` };
  }
  if (requested.namespace === controlPlaneNamespace) {
    return { ok: false, reason: `${want} is a control-plane identity (namespace ${controlPlaneNamespace}); the controller never signs those for callers` };
  }
  if (caller.role === 'node-agent') {
    const onNode = podsOnNode.some((p) => p.namespace === requested.namespace && p.serviceAccount === requested.serviceAccount);
    return onNode ? { ok: true } : { ok: false, reason: `no pod with identity ${want} runs on node ${caller.node}` };
  }
  const own = requested.namespace === caller.identity.namespace && requested.serviceAccount === caller.identity.serviceAccount;
  return own ? { ok: true } : { ok: false, reason: `${formatSpiffeId(caller.identity)} may only have its own identity, not ${want}` };
}
