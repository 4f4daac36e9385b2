// Which resources each client of the config stream gets (a ScopeFunction). Pure.
//
// A node agent gets every Workload and Service (it routes to any of them) and only the
// Policy resources that select at least one workload on its node or pod scheduled there: a
// policy of scope 'global' (root namespace) whose selector matches one, or of scope
// 'namespace' whose namespace holds one its selector matches (no selector: any), by the
// node agent's own rule (core/policy/select.ts policyAppliesTo). Policies attached with
// targetRefs (scope 'targets') are for waypoints and never reach a node agent (as istiod
// never sends them to ztunnel). Route resources (compiled HTTPRoutes and GRPCRoutes) and
// TrafficPolicies never reach a node agent either: it does not route, balance nor retry by HTTP.
//
// A waypoint (its ServiceAccount is named after its Gateway, as Istio names them) gets every
// Workload and Service (a route may send to any Service; telemetry names any client), and
// only the Routes, Policies, RequestAuthns and TrafficPolicies of what it serves: Routes and
// TrafficPolicies with a parent (target) Service bound to it, and policies attached (targetRefs) to its Gateway or to a Service bound to it
// (waypointNeeds). So a waypoint sees no other team's routes, paths, principals or JWT
// issuers, as the issue asks ("only what its Services need").
//
// Pods scheduled to the node count, not only Workload resources: a Workload exists only
// once its pod has an IP (after the CNI ADD), but the node agent serves a pod the CNI plugin
// announces at once; were its namespace's policies sent only with its Workload, the pod
// would be served without them (allowed by default) until that push. Counting the pods
// the scheduler placed (spec.nodeName set, not finished; the controller's pod cache)
// sends them as soon as the pod is bound to the node, before its sandbox exists.
//
// Policies follow pods: the config stream recomputes what each client should hold on every
// change of the resource set (ConfigStreams.setResources flushes every client), and when
// pods are placed or relabelled without the resources changing (a pending pod has no
// Workload yet), ClusterWatch asks the config stream to rescope; a policy leaves a node
// when no workload or scheduled pod there is selected by it any more.
//
// The result is computed once per (resource set, node) and shared by that node's streams:
// the set is the config stream's snapshot array, the same object until the next version
// (a rescope bumps the version, so a new placement is never hidden by this cache).
//
// The controller uses the incremental form, PolicyScopeIndex: the same rule, kept per node
// from the table's changes (Workloads indexed by node, Policies by id), so that a change
// costs the nodes it touches: a Workload changing recomputes the policy set of its node
// (old and new), a pod placed or relabelled that of its node (invalidate), and only a
// Policy changing recomputes every node's (each one: policies x subjects on that node).
import { isNodeAgentKind, type MeshService, type Policy, type PolicyTargetRef, type Resource, type Workload } from '../../core/config/model.js';
import type { RequestAuthn } from '../../core/config/request-authn.js';
import type { Route } from '../../core/config/routes.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { VersionedResource } from '../../core/config/wire.js';
import { policyAppliesTo } from '../../core/policy/select.js';
import type { PolicySubject } from '../../core/policy/types.js';
import type { Caller } from './authorize.js';
import type { ScopeFunction } from './config-stream.js';
import type { TableChange } from './resync.js';

/** A pod scheduled to a node (spec.nodeName set, not finished), as the scope reads it. */
export type ScheduledPod = PolicySubject;

/** The pods scheduled to `node`, read when a node's scope is computed (the controller's pod cache). */
export type ScheduledPods = (node: string) => readonly ScheduledPod[];

/**
 * The resources a node agent on `node` should hold, in input order: every Workload and
 * Service (never a Route), and the policies selecting a Workload on `node` or one of `scheduled` (the pods
 * scheduled to `node`).
 */
export function nodeAgentResources(node: string, resources: readonly VersionedResource[], scheduled: readonly ScheduledPod[] = []): VersionedResource[] {
  const local: PolicySubject[] = [...scheduled];
  for (const r of resources) if (r.kind === 'Workload' && (r.body as Workload).node === node) local.push(r.body as Workload);
  return resources.filter((r) => isNodeAgentKind(r.kind) && (r.kind !== 'Policy' || local.some((s) => policyAppliesTo(r.body as Policy, s))));
}

/** The ScopeFunction for ControllerServer: node agents get their node's policies, waypoints everything. */
export function createPolicyScope(scheduledPods?: ScheduledPods): ScopeFunction {
  const cache = new WeakMap<readonly VersionedResource[], Map<string, readonly VersionedResource[]>>();
  return (node: string, resources: readonly VersionedResource[], caller: Caller) => {
    if (caller.role !== 'node-agent') return waypointResources(waypointOf(caller), resources);
    let perNode = cache.get(resources);
    if (!perNode) cache.set(resources, (perNode = new Map()));
    let out = perNode.get(node);
    if (!out) perNode.set(node, (out = nodeAgentResources(node, resources, scheduledPods?.(node) ?? [])));
    return out;
  };
}

/**
 * nodeAgentResources' policy rule, kept up to date from the config table's changes: the
 * ids of the Policy resources a node agent on a node gets, computed per node when asked
 * and kept until a change touches that node (or any Policy changes).
 */
export class PolicyScopeIndex {
  readonly #scheduledPods: ScheduledPods | undefined;
  /** Workload bodies by node, then by resource id. */
  readonly #workloads = new Map<string, Map<string, Workload>>();
  readonly #policies = new Map<string, Policy>();
  readonly #byNode = new Map<string, ReadonlySet<string>>();
  /** How many times a node's policy set was computed (the work a change cost). */
  computed = 0;

  constructor(scheduledPods?: ScheduledPods) {
    this.#scheduledPods = scheduledPods;
  }

  /** The table changed so (ResourceTable.replace/apply's changes). */
  observe(changes: readonly TableChange[]): void {
    let policies = false;
    for (const c of changes) {
      for (const [entry, add] of [[c.before, false], [c.after, true]] as const) {
        if (!entry) continue;
        const r = entry.resource;
        if (r.kind === 'Workload') {
          const node = (r.body as Workload).node;
          let m = this.#workloads.get(node);
          if (add) {
            if (!m) this.#workloads.set(node, (m = new Map()));
            m.set(c.id, r.body as Workload);
          } else {
            m?.delete(c.id);
            if (m?.size === 0) this.#workloads.delete(node);
          }
          this.#byNode.delete(node);
        } else if (r.kind === 'Policy') {
          policies = true;
          if (add) this.#policies.set(c.id, r.body as Policy);
          else this.#policies.delete(c.id);
        }
      }
    }
    if (policies) this.#byNode.clear();
  }

  /** The pods scheduled to these nodes (all: undefined) changed: their sets are recomputed when next asked. */
  invalidate(nodes?: Iterable<string>): void {
    if (nodes === undefined) this.#byNode.clear();
    else for (const n of nodes) this.#byNode.delete(n);
  }

  /** The ids of the Policy resources a node agent on `node` gets; the same Set object until it changes. */
  policiesFor(node: string): ReadonlySet<string> {
    let out = this.#byNode.get(node);
    if (out) return out;
    this.computed++;
    const set = new Set<string>();
    if (this.#policies.size > 0) {
      const local: PolicySubject[] = [...(this.#scheduledPods?.(node) ?? []), ...(this.#workloads.get(node)?.values() ?? [])];
      for (const [id, p] of this.#policies) if (local.some((s) => policyAppliesTo(p, s))) set.add(id);
    }
    this.#byNode.set(node, (out = set));
    return out;
  }
}

/** A waypoint as the config stream knows it: its Gateway (named after its ServiceAccount). */
export interface WaypointScope {
  namespace: string;
  gateway: string;
}

/** Services by `<namespace>/<name>`, for targetRefs (which name Services by name). */
export type ServicesByName = (namespace: string, name: string) => MeshService | undefined;

/** Whether the Service is bound to this waypoint (its WaypointRef names the waypoint's Service,
 * `<ns>/<gateway>.<ns>.svc.<cluster domain>`, whatever the domain). */
function boundTo(w: WaypointScope, s: MeshService | undefined): boolean {
  return s?.waypoint?.service.startsWith(`${w.namespace}/${w.gateway}.${w.namespace}.svc.`) === true;
}

function targetsWaypoint(w: WaypointScope, namespace: string, refs: readonly PolicyTargetRef[] | undefined, byName: ServicesByName): boolean {
  return (refs ?? []).some((t) => (t.kind === 'Gateway' ? namespace === w.namespace && t.name === w.gateway : boundTo(w, byName(namespace, t.name))));
}

/** Whether the waypoint `w` needs resource `r` (see the header). Pure. */
export function waypointNeeds(w: WaypointScope, r: Pick<Resource, 'kind' | 'body'>, byKey: (key: string) => MeshService | undefined, byName: ServicesByName): boolean {
  switch (r.kind) {
    case 'Workload':
    case 'Service':
      return true;
    case 'Route':
      return (r.body as Route).parents.some((p) => boundTo(w, byKey(p.service)));
    case 'Policy': {
      const p = r.body as Policy;
      return p.scope === 'targets' && targetsWaypoint(w, p.namespace, p.targetRefs, byName);
    }
    case 'RequestAuthn': {
      const a = r.body as RequestAuthn;
      return a.scope === 'targets' && targetsWaypoint(w, a.namespace, a.targetRefs, byName);
    }
    case 'TrafficPolicy':
      return (r.body as TrafficPolicy).targets.some((t) => boundTo(w, byKey(t.service)));
    default:
      return false;
  }
}

/** The resources of `resources` a waypoint needs, in input order. */
export function waypointResources<T extends Pick<Resource, 'kind' | 'body'>>(w: WaypointScope, resources: readonly T[]): T[] {
  const byKey = new Map<string, MeshService>();
  const byName = new Map<string, MeshService>();
  for (const r of resources) {
    if (r.kind !== 'Service') continue;
    const s = r.body as MeshService;
    byKey.set(s.key, s);
    byName.set(`${s.namespace}/${s.name}`, s);
  }
  return resources.filter((r) => waypointNeeds(w, r, (k) => byKey.get(k), (ns, n) => byName.get(`${ns}/${n}`)));
}

/** The waypoint a caller is, by its identity. */
export function waypointOf(caller: Caller): WaypointScope {
  return { namespace: caller.identity.namespace, gateway: caller.identity.serviceAccount };
}
