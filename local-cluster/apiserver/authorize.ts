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
// The mesh's own ServiceAccounts (every one of the namespace ambient-system, and those its
// manifests label app.kubernetes.io/part-of=ambient in whatever namespace it is installed:
// the controller's, the node agent's) and the waypoints' (a ServiceAccount the controller
// deployed for a Gateway, labelled so: rbac-cache.ts) are authorized by RBAC alone, from
// the Roles, ClusterRoles and bindings stored here (rbac.ts), as on a real cluster: what
// manifests/rbac.yaml grants is all they may do, so the end-to-end tests prove that it
// suffices. Every other ServiceAccount has the rules above, and what RBAC grants it besides.
// Only the admin writes RBAC objects: the local cluster does not implement RBAC's
// escalation check, so a ServiceAccount that could write a binding could grant itself
// anything.
// Denials read as kube-apiserver's RBAC denials do.
import { ADMIN_GROUP } from './admin-token.js';
import { ApiError } from './api-errors.js';
import { EMPTY_RBAC, evaluateRbac, RBAC_GROUP, serviceAccountSubject, type RbacIndex } from './rbac.js';

/** The nodes' ServiceAccount: the local kubelets authenticate with its token. */
export const NODE_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'ambient-node' } as const;

/** The mesh's default namespace: every ServiceAccount of it is authorized by RBAC alone (elsewhere, the labelled ones). */
export const MESH_NAMESPACE = 'ambient-system';

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

/** `by`: the RBAC binding and role that allowed it (absent: the admin, or the built-in rules). */
export type Decision = { allowed: true; by?: string } | { allowed: false; reason: string };

const READ_VERBS: ReadonlySet<AuthVerb> = new Set(['get', 'list', 'watch']);

/** Cluster-scoped writes any ServiceAccount may make. */
// (Any user may ask what they themselves may do: SelfSubjectAccessReview, as system:basic-user allows.)
const OPEN_CLUSTER_WRITES: ReadonlySet<string> = new Set(['authentication.k8s.io/tokenreviews', 'authorization.k8s.io/selfsubjectaccessreviews']);

/** What the RBAC part of a decision reads: the indexed RBAC objects, and which ServiceAccounts are waypoints'. */
export interface RbacView {
  index: RbacIndex;
  isWaypoint(namespace: string, name: string): boolean;
  /** Is it one of the mesh's own ServiceAccounts (labelled so), wherever the mesh is installed? Absent: none outside MESH_NAMESPACE. */
  isMesh?(namespace: string, name: string): boolean;
}

/** No RBAC objects (a ServiceAccount authorized by RBAC alone may then do nothing). */
export const NO_RBAC: RbacView = { index: EMPTY_RBAC, isWaypoint: () => false };

const WRITE_VERBS: ReadonlySet<AuthVerb> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

const isNode = (r: Requester & { kind: 'serviceaccount' }) => r.namespace === NODE_SERVICE_ACCOUNT.namespace && r.name === NODE_SERVICE_ACCOUNT.name;

/** Authorized by RBAC alone: the mesh's ServiceAccounts and the waypoints'. */
export function rbacOnly(r: Requester & { kind: 'serviceaccount' }, rbac: RbacView): boolean {
  return r.namespace === MESH_NAMESPACE || rbac.isMesh?.(r.namespace, r.name) === true || rbac.isWaypoint(r.namespace, r.name);
}

export function authorize(who: Requester, a: RequestAttributes, rbac: RbacView): Decision {
  if (who.kind === 'admin') return { allowed: true };
  if (a.group === RBAC_GROUP && WRITE_VERBS.has(a.verb)) return { allowed: false, reason: 'only the cluster admin writes RBAC objects on the local cluster' };
  const granted = evaluateRbac(rbac.index, serviceAccountSubject(who.namespace, who.name), a);
  if (granted.allowed) return { allowed: true, by: granted.by };
  if (rbacOnly(who, rbac)) return { allowed: false, reason: 'no RBAC rule allows it (the mesh\'s and the waypoints\' ServiceAccounts have RBAC alone)' };
  return builtInRules(who, a);
}

/** The built-in rules of a ServiceAccount that RBAC alone does not govern (the comment at the top). */
function builtInRules(who: Requester & { kind: 'serviceaccount' }, a: RequestAttributes): Decision {
  const own = a.namespace !== undefined && a.namespace === who.namespace;
  if (a.group === '' && a.resource === 'secrets' && !own) {
    return { allowed: false, reason: 'a ServiceAccount may use Secrets of its own namespace only' };
  }
  if (READ_VERBS.has(a.verb)) return { allowed: true };
  if (isNode(who)) return { allowed: true };
  if (a.namespace === undefined && OPEN_CLUSTER_WRITES.has(`${a.group}/${a.resource}`)) return { allowed: true };
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
