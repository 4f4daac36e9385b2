// Small readers shared by the handlers: the namespace filter, the compiled resources of a
// kind, and status lookups, all from what the controller already holds.
import type { MeshService, Policy, Resource, ResourceKind, WaypointRef, Workload } from '../../../core/config/model.js';
import type { Route } from '../../../core/config/routes.js';
import type { ApiContext } from '../context.js';
import { badRequest } from '../api-error.js';

const DNS1123_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The `namespace` query parameter: absent or empty means all; anything else must be a namespace name. */
export function namespaceQuery(query: URLSearchParams): string | undefined {
  const ns = query.get('namespace');
  if (ns === null || ns === '') return undefined;
  if (!DNS1123_LABEL.test(ns)) throw badRequest(`query parameter namespace: ${JSON.stringify(ns.slice(0, 100))} is not a namespace name`);
  return ns;
}

/** The `node` query parameter: absent or empty means every node; anything else must be a node name (DNS-1123 subdomain). */
export function nodeQuery(query: URLSearchParams): string | undefined {
  const node = query.get('node');
  if (node === null || node === '') return undefined;
  if (node.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(node)) throw badRequest(`query parameter node: ${JSON.stringify(node.slice(0, 100))} is not a node name`);
  return node;
}

export function inNamespace<T extends { namespace: string }>(items: readonly T[], ns: string | undefined): T[] {
  return ns === undefined ? [...items] : items.filter((i) => i.namespace === ns);
}

function bodies<T>(resources: readonly Resource[], kind: ResourceKind): T[] {
  return resources.filter((r) => r.kind === kind).map((r) => r.body as unknown as T);
}

export const workloadsOf = (ctx: ApiContext) => bodies<Workload>(ctx.debugConfig().resources, 'Workload');
export const servicesOf = (ctx: ApiContext) => bodies<MeshService>(ctx.debugConfig().resources, 'Service');
export const policiesOf = (ctx: ApiContext) => bodies<Policy>(ctx.debugConfig().resources, 'Policy');
export const routesOf = (ctx: ApiContext) => bodies<Route>(ctx.debugConfig().resources, 'Route');

/** `<namespace>/<hostname>` -> the Service's name (`echo.apps.svc.cluster.local` -> `echo`). */
export function serviceNameOfKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1).split('.')[0]! };
}

/** `namespace/name` of the waypoint a reference names (its Service is named after the Gateway); null when none. */
export const waypointName = (ref: WaypointRef | undefined): string | null => {
  if (ref === undefined) return null;
  const s = serviceNameOfKey(ref.service);
  return `${s.namespace}/${s.name}`;
};
