// Kubernetes RBAC (rbac.authorization.k8s.io/v1) as a pure decision: given who asks, what
// they ask, and the Roles, ClusterRoles and their bindings, is it allowed, and by which
// binding and role. It follows kube-apiserver's RBAC authorizer: a ClusterRoleBinding
// grants its ClusterRole's rules everywhere (cluster-scoped resources and every
// namespace); a RoleBinding grants its Role's, or a ClusterRole's, rules in its own
// namespace only; a rule matches when its verbs, apiGroups and resources (`pods`,
// `pods/status`; `*` and `*/status` as wildcards) name the request's, and, when it lists
// resourceNames, the request names one of them (so a create, or a list or watch of a whole
// collection, never matches such a rule; a list or watch whose field selector requires
// metadata.name=x names x: request-attributes.ts). A ServiceAccount subject
// without a namespace in a RoleBinding means the binding's namespace, as there.
// Not followed: aggregated ClusterRoles (aggregationRule), and the escalation check on
// writes of RBAC objects (authorize.ts keeps those for the cluster admin).
import type { KObject } from './kinds.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Who asks: a username and its groups (a ServiceAccount's: serviceAccountSubject). */
export interface RbacSubject {
  user: string;
  groups: readonly string[];
}

/** What is asked: the attributes of a resource request, or of a non-resource one (a path). */
export type RbacAttributes =
  | { verb: string; group: string; resource: string; subresource?: string; namespace?: string; name?: string; path?: undefined }
  | { verb: string; path: string };

export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

interface Binding {
  /** `RoleBinding ns/name` or `ClusterRoleBinding name`. */
  what: string;
  /** The RoleBinding's namespace; undefined for a ClusterRoleBinding. */
  namespace?: string;
  roleKind: 'Role' | 'ClusterRole';
  roleName: string;
  subjects: Array<{ kind: string; name: string; namespace?: string }>;
}

/** The RBAC objects, indexed for evaluation (indexRbac). */
export interface RbacIndex {
  roles: ReadonlyMap<string, PolicyRule[]>;
  clusterRoles: ReadonlyMap<string, PolicyRule[]>;
  clusterRoleBindings: readonly Binding[];
  roleBindings: ReadonlyMap<string, readonly Binding[]>;
}

export type RbacDecision = { allowed: true; by: string } | { allowed: false };

export const EMPTY_RBAC: RbacIndex = { roles: new Map(), clusterRoles: new Map(), clusterRoleBindings: [], roleBindings: new Map() };

const SA_PREFIX = 'system:serviceaccount:';

/** A ServiceAccount as RBAC sees it: its username and the groups every ServiceAccount token carries. */
export function serviceAccountSubject(namespace: string, name: string): RbacSubject {
  return { user: `${SA_PREFIX}${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** A role's rules; a malformed rule (not an object) is dropped: it grants nothing. */
export function rulesOf(role: KObject): PolicyRule[] {
  const rules = Array.isArray(role['rules']) ? (role['rules'] as unknown[]) : [];
  return rules
    .filter((r) => typeof r === 'object' && r !== null && !Array.isArray(r))
    .map((r) => {
      const o = rec(r);
      return { verbs: strings(o['verbs']), apiGroups: strings(o['apiGroups']), resources: strings(o['resources']), resourceNames: strings(o['resourceNames']), nonResourceURLs: strings(o['nonResourceURLs']) };
    });
}

function bindingOf(b: KObject, namespace: string | undefined): Binding | undefined {
  const ref = rec(b['roleRef']);
  const roleKind = ref['kind'];
  const roleName = str(ref['name']);
  // A RoleBinding may name a Role or a ClusterRole; a ClusterRoleBinding a ClusterRole only.
  if (!roleName || (roleKind !== 'ClusterRole' && (roleKind !== 'Role' || namespace === undefined))) return undefined;
  if (ref['apiGroup'] !== undefined && ref['apiGroup'] !== RBAC_GROUP) return undefined;
  const subjects = (Array.isArray(b['subjects']) ? (b['subjects'] as unknown[]) : []).flatMap((s) => {
    const o = rec(s);
    const kind = str(o['kind']);
    const name = str(o['name']);
    const ns = str(o['namespace']);
    return kind && name ? [{ kind, name, ...(ns !== undefined ? { namespace: ns } : {}) }] : [];
  });
  const name = b.metadata?.name ?? '';
  return { what: namespace === undefined ? `ClusterRoleBinding "${name}"` : `RoleBinding "${namespace}/${name}"`, ...(namespace !== undefined ? { namespace } : {}), roleKind, roleName, subjects };
}

/** Indexes the stored objects of the four RBAC kinds. */
export function indexRbac(o: { roles: readonly KObject[]; clusterRoles: readonly KObject[]; roleBindings: readonly KObject[]; clusterRoleBindings: readonly KObject[] }): RbacIndex {
  const roles = new Map<string, PolicyRule[]>();
  for (const r of o.roles) roles.set(`${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`, rulesOf(r));
  const clusterRoles = new Map<string, PolicyRule[]>();
  for (const r of o.clusterRoles) clusterRoles.set(r.metadata?.name ?? '', rulesOf(r));
  const clusterRoleBindings = o.clusterRoleBindings.flatMap((b) => bindingOf(b, undefined) ?? []);
  const roleBindings = new Map<string, Binding[]>();
  for (const b of o.roleBindings) {
    const ns = b.metadata?.namespace;
    const binding = ns ? bindingOf(b, ns) : undefined;
    if (!binding) continue;
    const list = roleBindings.get(ns!) ?? [];
    list.push(binding);
    roleBindings.set(ns!, list);
  }
  return { roles, clusterRoles, clusterRoleBindings, roleBindings };
}

function appliesTo(b: Binding, who: RbacSubject): boolean {
  return b.subjects.some((s) => {
    if (s.kind === 'User') return s.name === who.user;
    if (s.kind === 'Group') return who.groups.includes(s.name);
    if (s.kind === 'ServiceAccount') {
      const ns = s.namespace ?? b.namespace;
      return ns !== undefined && who.user === `${SA_PREFIX}${ns}:${s.name}`;
    }
    return false;
  });
}

const has = (list: readonly string[], v: string): boolean => list.includes('*') || list.includes(v);

/** Does one rule allow the request? */
export function ruleAllows(rule: PolicyRule, a: RbacAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (a.path !== undefined) {
    // Non-resource URLs: an exact path, or a prefix ending in `*`.
    return rule.nonResourceURLs.some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  if (!has(rule.apiGroups, a.group)) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = rule.resources.some((r) => r === '*' || r === resource || (a.subresource !== undefined && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  return rule.resourceNames.length === 0 || (a.name !== undefined && rule.resourceNames.includes(a.name));
}

function roleRules(index: RbacIndex, b: Binding): PolicyRule[] {
  return (b.roleKind === 'ClusterRole' ? index.clusterRoles.get(b.roleName) : index.roles.get(`${b.namespace}/${b.roleName}`)) ?? [];
}

/** The RBAC decision: allowed, with the binding and role that allowed it, or not. */
export function evaluateRbac(index: RbacIndex, who: RbacSubject, a: RbacAttributes): RbacDecision {
  const candidates = [...index.clusterRoleBindings, ...(a.path === undefined && a.namespace !== undefined ? (index.roleBindings.get(a.namespace) ?? []) : [])];
  for (const b of candidates) {
    if (!appliesTo(b, who)) continue;
    // A RoleBinding's rules never reach non-resource URLs (as on a real cluster).
    if (a.path !== undefined && b.namespace !== undefined) continue;
    if (roleRules(index, b).some((r) => ruleAllows(r, a))) return { allowed: true, by: `${b.what} of ${b.roleKind} "${b.roleName}"` };
  }
  return { allowed: false };
}

/** Indexes RBAC objects given in any order (a manifest's documents); other kinds are skipped. */
export function indexRbacObjects(objects: readonly KObject[]): RbacIndex {
  const of = (kind: string) => objects.filter((o) => o.kind === kind && (o.apiVersion ?? '').startsWith(`${RBAC_GROUP}/`));
  return indexRbac({ roles: of('Role'), clusterRoles: of('ClusterRole'), roleBindings: of('RoleBinding'), clusterRoleBindings: of('ClusterRoleBinding') });
}

/** Every role bound to `who`, in any namespace: `role` is `ClusterRole "x"` or `Role "ns/x"` (for tools that read RBAC as a whole). */
export function boundRoles(index: RbacIndex, who: RbacSubject): Array<{ binding: string; role: string; rules: PolicyRule[] }> {
  const all = [...index.clusterRoleBindings, ...[...index.roleBindings.values()].flat()];
  return all
    .filter((b) => appliesTo(b, who))
    .map((b) => ({ binding: b.what, role: b.roleKind === 'ClusterRole' ? `ClusterRole "${b.roleName}"` : `Role "${b.namespace}/${b.roleName}"`, rules: roleRules(index, b) }));
}
