// Who may do what on the local API server, as a pure decision (kube-apiserver's
// authorizer, cut down to what makes the mesh's security tests meaningful). The
// requester is the cluster admin (the admin kubeconfig's bearer token, a user in group
// system:masters; or, on an API server started without one, as the tests' in-process
// servers are, a loopback peer) or a ServiceAccount (a bearer token). The admin may do
// everything. A ServiceAccount:
//
// - never touches Secrets outside its own namespace, for any verb, nor lists or watches
//   Secrets at the cluster scope: a pod's token cannot read ambient-system/ambient-ca;
// - writes (create, update, patch, delete) only inside its own namespace: otherwise a
//   pod could mint a token for another namespace's ServiceAccount (TokenRequest), or
//   create a pod there that runs as it, and read that namespace's Secrets after all;
// - reads everything else, and may create TokenReviews (the controller checks agents'
//   tokens with them), as the mesh's components need.
//
// The nodes' own ServiceAccount (kube-system/ambient-node, the local kubelets'
// credential) acts for every pod: it writes across namespaces (pod status, the pods'
// TokenRequests, its Node), like Kubernetes' Node authorizer, but reads no Secrets
// outside kube-system either (the local kubelet mounts none).
//
// The mesh controller's ServiceAccount (ambient-system/ambient-controller) writes the
// `status` subresource of the mesh's own kinds (ambient.dev) and of Gateway API kinds in
// every namespace (the AuthorizationPolicy status conditions; waypoint Gateways' status
// later), and nothing else outside its namespace: never another subresource, and of specs
// only those of what it deploys for waypoints (as its RBAC would grant on a real cluster,
// like istiod's): ServiceAccounts, Services and Deployments in every namespace, and the
// cluster-scoped GatewayClass (with its status); and, for the rollout driver, HTTPRoutes
// (create and patch only: it sets their backend weights, never deletes one); for its API, a
// Rollout's spec (patch only: pause, resume, abort, each after the caller's own
// SubjectAccessReview allowed it). It alone (and the
// admin) may create SubjectAccessReviews: its API asks them for each caller, and the answers
// tell who may do what, which no other ServiceAccount needs to learn.
// Denials read as kube-apiserver's RBAC denials do.
import { ADMIN_GROUP } from './admin-token.js';
import { ApiError } from './api-errors.js';

/** The nodes' ServiceAccount: the local kubelets authenticate with its token. */
export const NODE_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'ambient-node' } as const;

/** The mesh controller's ServiceAccount: its namespace is the controller's namespace in the local cluster. */
export const CONTROLLER_SERVICE_ACCOUNT = { namespace: 'ambient-system', name: 'ambient-controller' } as const;

/** API groups whose `status` subresource the controller writes in every namespace. */
const CONTROLLER_STATUS_GROUPS: ReadonlySet<string> = new Set(['ambient.dev', 'gateway.networking.k8s.io']);

/** What the controller deploys for waypoints in every namespace (`group/resource`), main resource only. */
const CONTROLLER_DEPLOYS: ReadonlySet<string> = new Set(['/serviceaccounts', '/services', 'apps/deployments']);
/** What the rollout driver writes in every namespace: the HTTPRoutes whose weights it sets (create, patch). */
const CONTROLLER_ROUTE_WRITES: ReadonlySet<string> = new Set(['gateway.networking.k8s.io/httproutes']);
/** Cluster-scoped kinds the controller writes (it creates the ambient-waypoint GatewayClass). */
const CONTROLLER_CLUSTER_WRITES: ReadonlySet<string> = new Set(['gateway.networking.k8s.io/gatewayclasses']);
/** What the controller's API patches for a caller whose SubjectAccessReview allowed it: a Rollout's spec (pause, resume, abort). */
const CONTROLLER_API_PATCHES: ReadonlySet<string> = new Set(['ambient.dev/rollouts']);
/** Cluster-scoped reviews the controller alone creates (its API authorizes each caller with one). */
const CONTROLLER_REVIEWS: ReadonlySet<string> = new Set(['authorization.k8s.io/subjectaccessreviews']);

const SA_PREFIX = 'system:serviceaccount:';

/** The admin: a user in group system:masters (username set), or a trusted loopback peer (none). */
export type Requester = { kind: 'admin'; username?: string } | { kind: 'serviceaccount'; username: string; namespace: string; name: string };

/** Who an authenticated user is to the authorizer: the admin (group system:masters), a ServiceAccount, or nobody it has rules for. */
export function requesterFor(user: { username: string; groups?: readonly string[] }): Requester | undefined {
  if (user.groups?.includes(ADMIN_GROUP)) return { kind: 'admin', username: user.username };
  return serviceAccountRequester(user.username);
}

/** The requester a token's username names, or undefined when it is not a ServiceAccount's. */
export function serviceAccountRequester(username: string): Requester | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const [namespace, name, ...rest] = username.slice(SA_PREFIX.length).split(':');
  if (!namespace || !name || rest.length > 0) return undefined;
  return { kind: 'serviceaccount', username, namespace, name };
}

export type AuthVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface RequestAttributes {
  verb: AuthVerb;
  /** API group ('' for core). */
  group: string;
  /** Lower-case plural, e.g. secrets. */
  resource: string;
  subresource?: string;
  /** Absent: cluster scope (a cluster-scoped kind, or a list across namespaces). */
  namespace?: string;
  name?: string;
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

const READ_VERBS: ReadonlySet<AuthVerb> = new Set(['get', 'list', 'watch']);

/** Cluster-scoped writes any ServiceAccount may make. */
// (Any user may ask what they themselves may do: SelfSubjectAccessReview, as system:basic-user allows.)
const OPEN_CLUSTER_WRITES: ReadonlySet<string> = new Set(['authentication.k8s.io/tokenreviews', 'authorization.k8s.io/selfsubjectaccessreviews']);

const isNode = (r: Requester & { kind: 'serviceaccount' }) => r.namespace === NODE_SERVICE_ACCOUNT.namespace && r.name === NODE_SERVICE_ACCOUNT.name;
const isController = (r: Requester & { kind: 'serviceaccount' }) => r.namespace === CONTROLLER_SERVICE_ACCOUNT.namespace && r.name === CONTROLLER_SERVICE_ACCOUNT.name;

export function authorize(who: Requester, a: RequestAttributes): Decision {
  if (who.kind === 'admin') return { allowed: true };
  const own = a.namespace !== undefined && a.namespace === who.namespace;
  if (a.group === '' && a.resource === 'secrets' && !own) {
    return { allowed: false, reason: 'a ServiceAccount may use Secrets of its own namespace only' };
  }
  if (READ_VERBS.has(a.verb)) return { allowed: true };
  if (isNode(who)) return { allowed: true };
  if (a.namespace === undefined && OPEN_CLUSTER_WRITES.has(`${a.group}/${a.resource}`)) return { allowed: true };
  if (isController(who) && a.namespace !== undefined && a.subresource === 'status' && (a.verb === 'patch' || a.verb === 'update') && CONTROLLER_STATUS_GROUPS.has(a.group)) {
    return { allowed: true };
  }
  if (isController(who) && a.namespace !== undefined && a.subresource === undefined && CONTROLLER_DEPLOYS.has(`${a.group}/${a.resource}`)) return { allowed: true };
  if (isController(who) && a.namespace !== undefined && a.subresource === undefined && (a.verb === 'create' || a.verb === 'patch') && CONTROLLER_ROUTE_WRITES.has(`${a.group}/${a.resource}`)) return { allowed: true };
  if (isController(who) && a.namespace !== undefined && a.subresource === undefined && a.verb === 'patch' && CONTROLLER_API_PATCHES.has(`${a.group}/${a.resource}`)) return { allowed: true };
  if (isController(who) && a.namespace === undefined && a.verb === 'create' && a.subresource === undefined && CONTROLLER_REVIEWS.has(`${a.group}/${a.resource}`)) return { allowed: true };
  if (isController(who) && a.namespace === undefined && (a.subresource === undefined || a.subresource === 'status') && CONTROLLER_CLUSTER_WRITES.has(`${a.group}/${a.resource}`)) return { allowed: true };
  if (!own) return { allowed: false, reason: 'a ServiceAccount may write in its own namespace only' };
  return { allowed: true };
}

/** The 403 kube-apiserver's RBAC authorizer answers, for a denied request. */
export function forbiddenFor(who: Requester, a: RequestAttributes): ApiError {
  const user = who.kind === 'admin' ? (who.username ?? 'admin') : who.username;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace !== undefined ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const subject = a.name !== undefined ? `${a.group ? `${a.resource}.${a.group}` : a.resource} "${a.name}"` : a.group ? `${a.resource}.${a.group}` : a.resource;
  const message = `${subject} is forbidden: User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}`;
  return new ApiError(403, 'Forbidden', message, { ...(a.name !== undefined ? { name: a.name } : {}), ...(a.group ? { group: a.group } : {}), kind: a.resource });
}
