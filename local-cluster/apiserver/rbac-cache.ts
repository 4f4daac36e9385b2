// The RBAC objects (and which ServiceAccounts are the mesh's and the waypoints') held in memory, so that authorizing
// a request reads no Redis: loaded once at start, then kept current from every committed
// event (store.ts hands each one over in commit order; this process is the only writer of
// its Redis prefix, so no change is missed). The index is rebuilt on the first decision
// after a change, not on every event.
import { KINDS, resourceKey, type KObject, type KindInfo } from './kinds.js';
import { indexRbac, RBAC_GROUP, type RbacIndex } from './rbac.js';
import type { RbacView } from './authorize.js';
import type { ObjectStore, StoredEvent } from './store.js';

/** The labels the controller puts on every object of a waypoint (waypoint-plan.ts), its ServiceAccount too. */
export const WAYPOINT_SA_LABELS = { managedBy: ['ambient.dev/managed-by', 'ambient-controller'], gateway: 'gateway.networking.k8s.io/gateway-name' } as const;

/** The label manifests/ puts on the mesh's own ServiceAccounts (the controller's, the node agent's), in whatever namespace it is installed. */
export const MESH_SA_LABEL = ['app.kubernetes.io/part-of', 'ambient'] as const;

const RBAC_KINDS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'] as const;
type RbacKind = (typeof RBAC_KINDS)[number];

const kindInfo = (group: string, kind: string): KindInfo => {
  const k = KINDS.find((x) => x.group === group && x.kind === kind);
  if (!k) throw new Error(`the API server serves no ${kind}.${group || 'core'}`);
  return k;
};

/** Is this ServiceAccount a waypoint's (labelled by the controller that deployed it)? */
export function isWaypointServiceAccount(sa: KObject): boolean {
  const labels = sa.metadata?.labels ?? {};
  return labels[WAYPOINT_SA_LABELS.managedBy[0]] === WAYPOINT_SA_LABELS.managedBy[1] && !!labels[WAYPOINT_SA_LABELS.gateway];
}

/** Is this ServiceAccount one of the mesh's own (labelled so by its manifests)? */
export function isMeshServiceAccount(sa: KObject): boolean {
  return sa.metadata?.labels?.[MESH_SA_LABEL[0]] === MESH_SA_LABEL[1];
}

export class RbacCache implements RbacView {
  readonly #kinds = new Map<string, RbacKind>(RBAC_KINDS.map((k) => [resourceKey(kindInfo(RBAC_GROUP, k)), k]));
  readonly #saKey = resourceKey(kindInfo('', 'ServiceAccount'));
  readonly #objects = new Map<RbacKind, Map<string, KObject>>(RBAC_KINDS.map((k) => [k, new Map()]));
  readonly #waypointSas = new Set<string>();
  readonly #meshSas = new Set<string>();
  #index: RbacIndex | undefined;

  /** Reads every RBAC object and ServiceAccount once (at start, before serving). */
  async load(store: ObjectStore): Promise<void> {
    for (const kind of RBAC_KINDS) {
      for (const { object } of (await store.list(kindInfo(RBAC_GROUP, kind))).items) this.#put(kind, 'ADDED', object);
    }
    for (const { object } of (await store.list(kindInfo('', 'ServiceAccount'))).items) this.#putSa('ADDED', object);
    this.#index = undefined;
  }

  /** Every committed event passes here; those of other kinds are ignored. */
  apply(ev: StoredEvent): void {
    const kind = this.#kinds.get(ev.resource);
    if (kind) {
      this.#put(kind, ev.type, ev.object);
      this.#index = undefined;
    } else if (ev.resource === this.#saKey) this.#putSa(ev.type, ev.object);
  }

  get index(): RbacIndex {
    if (!this.#index) {
      const all = (k: RbacKind) => [...this.#objects.get(k)!.values()];
      this.#index = indexRbac({ roles: all('Role'), clusterRoles: all('ClusterRole'), roleBindings: all('RoleBinding'), clusterRoleBindings: all('ClusterRoleBinding') });
    }
    return this.#index;
  }

  isWaypoint(namespace: string, name: string): boolean {
    return this.#waypointSas.has(`${namespace}/${name}`);
  }

  isMesh(namespace: string, name: string): boolean {
    return this.#meshSas.has(`${namespace}/${name}`);
  }

  #put(kind: RbacKind, type: StoredEvent['type'], o: KObject): void {
    const key = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    if (type === 'DELETED') this.#objects.get(kind)!.delete(key);
    else this.#objects.get(kind)!.set(key, o);
  }

  #putSa(type: StoredEvent['type'], o: KObject): void {
    const key = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    if (type !== 'DELETED' && isWaypointServiceAccount(o)) this.#waypointSas.add(key);
    else this.#waypointSas.delete(key);
    if (type !== 'DELETED' && isMeshServiceAccount(o)) this.#meshSas.add(key);
    else this.#meshSas.delete(key);
  }
}
