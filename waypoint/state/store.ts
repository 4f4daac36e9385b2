// The waypoint's held config and its single writer (DESIGN.md section 7, "One writer for
// state"): the resources the controller pushed, and one read-only snapshot that every
// request reads. Only `apply` changes them, by swapping the snapshot in one assignment: a
// request in flight keeps the snapshot it was routed with (a route update never changes a
// request half-way), every new request reads the newest.
//
// Workloads, Services and Policies are indexed exactly as the node agent indexes them
// (the same snapshot builder: VIP and IP lookups must agree between the two proxies);
// Routes are indexed here by the Services their parents name; RequestAuthns are held as a
// list (the authn layer picks those attached to the request's Service or Gateway);
// TrafficPolicies are held in key order and looked up per Service port
// (trafficPolicyFor: the policy naming that port, else the one naming the whole Service).
import { resourceId, type Resource } from '../../core/config/model.js';
import type { RequestAuthn } from '../../core/config/request-authn.js';
import type { Route } from '../../core/config/routes.js';
import { trafficPolicyFor } from '../../core/config/traffic-policy-compile.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { ResourceRef } from '../../core/config/wire.js';
import { buildState, type ProxyState } from '../../node-agent/state/snapshot.js';

export interface WaypointSnapshot {
  /** Workloads, Services and Policies, indexed as the node agent indexes them. */
  readonly mesh: ProxyState;
  /** The Routes with a parent naming this Service (by resource key), in key order. */
  routesFor(serviceKey: string): readonly Route[];
  routes(): readonly Route[];
  /** The RequestAuthns (compiled RequestAuthentications), in key order; the authn layer picks
   * those attached to the request's Service or this waypoint's Gateway. */
  requestAuthns(): readonly RequestAuthn[];
  /** The TrafficPolicies (compiled), in key order. */
  trafficPolicies(): readonly TrafficPolicy[];
  /** The policy for `port` of the Service `serviceKey`: the one naming that port
   * (sectionName), else the one naming the whole Service; undefined: none (the layers are
   * off, balancing is round robin). */
  trafficPolicyFor(serviceKey: string, port: number): TrafficPolicy | undefined;
}

export interface WaypointChange {
  version?: string;
  upserts: readonly Resource[];
  removes: readonly ResourceRef[];
}

const EMPTY: readonly Route[] = Object.freeze([]);

export function buildSnapshot(resources: readonly Resource[]): WaypointSnapshot {
  const mesh: Resource[] = [];
  const routes: Route[] = [];
  const requestAuthns: RequestAuthn[] = [];
  const trafficPolicies: TrafficPolicy[] = [];
  for (const r of resources) {
    if (r.kind === 'Route') routes.push(r.body as Route);
    else if (r.kind === 'RequestAuthn') requestAuthns.push(r.body as RequestAuthn);
    else if (r.kind === 'TrafficPolicy') trafficPolicies.push(r.body as TrafficPolicy);
    else mesh.push(r);
  }
  trafficPolicies.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const policiesByService = new Map<string, TrafficPolicy[]>();
  for (const tp of trafficPolicies) {
    deepFreeze(tp);
    for (const service of new Set(tp.targets.map((t) => t.service))) {
      let list = policiesByService.get(service);
      if (!list) policiesByService.set(service, (list = []));
      list.push(tp);
    }
  }
  Object.freeze(trafficPolicies);
  requestAuthns.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const ra of requestAuthns) deepFreeze(ra);
  Object.freeze(requestAuthns);
  routes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const byService = new Map<string, Route[]>();
  for (const route of routes) {
    deepFreeze(route);
    for (const service of new Set(route.parents.map((p) => p.service))) {
      let list = byService.get(service);
      if (!list) byService.set(service, (list = []));
      list.push(route);
    }
  }
  for (const list of byService.values()) Object.freeze(list);
  Object.freeze(routes);
  return Object.freeze({
    mesh: buildState(mesh),
    routesFor: (serviceKey: string) => byService.get(serviceKey) ?? EMPTY,
    routes: () => routes,
    requestAuthns: () => requestAuthns,
    trafficPolicies: () => trafficPolicies,
    trafficPolicyFor: (serviceKey: string, port: number) => trafficPolicyFor(policiesByService.get(serviceKey) ?? [], serviceKey, port),
  });
}

export class WaypointState {
  readonly #held = new Map<string, Resource>();
  #snapshot: WaypointSnapshot = buildSnapshot([]);
  #synced = false;
  #version = '';
  readonly #listeners: Array<(s: WaypointSnapshot) => void> = [];

  snapshot(): WaypointSnapshot {
    return this.#snapshot;
  }

  /** The controller's version of the config held ('' before the first). */
  version(): string {
    return this.#version;
  }

  /** A first config has been applied. */
  synced(): boolean {
    return this.#synced;
  }

  size(): number {
    return this.#held.size;
  }

  onChange(listener: (s: WaypointSnapshot) => void): void {
    this.#listeners.push(listener);
  }

  /** The one writer: applies a validated change and swaps the snapshot in. */
  apply(u: WaypointChange): WaypointSnapshot {
    for (const r of u.upserts) this.#held.set(resourceId(r.kind, r.key), { kind: r.kind, key: r.key, body: r.body } as Resource);
    for (const r of u.removes) this.#held.delete(resourceId(r.kind, r.key));
    if (u.version !== undefined) this.#version = u.version;
    this.#snapshot = buildSnapshot([...this.#held.values()]);
    this.#synced = true;
    for (const l of this.#listeners) l(this.#snapshot);
    return this.#snapshot;
  }
}

function deepFreeze(x: unknown): void {
  if (x === null || typeof x !== 'object' || Object.isFrozen(x)) return;
  Object.freeze(x);
  for (const v of Object.values(x)) deepFreeze(v);
}
