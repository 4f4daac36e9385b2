// The controller's view of the cluster: one informer per kind that translation reads. Each
// informer event names the object that changed; on a change (debounced, with an upper
// bound so steady churn still gets through) those objects are handed to the incremental
// translation (translate/incremental.ts), which translates them and what depends on them,
// and the resources that changed go to the distribution server (applyChanges), which
// sends each client what changed for it. One pod changing costs that pod, not the cluster.
// The first translation (and one after the sink refused a change) reads every object and
// hands the whole set over (setResources). Nothing is pushed before every informer has
// loaded its first list: a half-loaded cache would tell every agent that most of the mesh
// is gone.
//
// The pods scheduled to each node also decide which policies that node's agent holds
// (distribution/scope.ts). They are indexed by node as the informer reports them (for the
// scope and for authenticating callers: the pods of a node without a scan of all pods);
// the nodes whose placement (namespace and labels of its scheduled pods) differs at a
// translation are handed to the sink with the change, or alone (rescope) when the
// translated resources stay the same (a pending pod has no Workload yet), so the policies
// reach the node before the pod's first connection.
import type { KubeConfig, KubernetesObject, V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Resource, ResourceKind } from '../core/config/model.js';
import { watchResource, type ResourceRef, type Watched } from '../core/kube/informer.js';
import { CONTROLLER_DEFAULTS } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { PodRef, ServiceAccountRef } from './distribution/authorize.js';
import { WAYPOINT_GATEWAY_CLASS } from './translate/objects.js';
import { IncrementalTranslation, type ObjectKind } from './translate/incremental.js';
import type { AuthorizationPolicy, ClusterState, Gateway, PeerAuthentication, PolicyStatus, Problem, ReferenceGrantObject, RequestAuthentication, RouteObject, RouteStatus, TrafficPolicyObject, TranslationResult } from './translate/translate.js';

export const WATCHED_KINDS = {
  namespaces: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces' },
  pods: { apiVersion: 'v1', kind: 'Pod', plural: 'pods' },
  services: { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  endpointSlices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices' },
  peerAuthentications: { apiVersion: 'ambient.dev/v1', kind: 'PeerAuthentication', plural: 'peerauthentications' },
  authorizationPolicies: { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', plural: 'authorizationpolicies' },
  gateways: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', plural: 'gateways' },
  httpRoutes: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes' },
  grpcRoutes: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', plural: 'grpcroutes' },
  referenceGrants: { apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', plural: 'referencegrants' },
  requestAuthentications: { apiVersion: 'ambient.dev/v1', kind: 'RequestAuthentication', plural: 'requestauthentications' },
  trafficPolicies: { apiVersion: 'ambient.dev/v1', kind: 'TrafficPolicy', plural: 'trafficpolicies' },
} as const satisfies Record<string, ResourceRef>;

type Kind = keyof typeof WATCHED_KINDS & ObjectKind;

/** Where translated config goes (a ControllerServer). Returns the config version. */
export interface ConfigSink {
  /** The whole set (the first translation, or after a refused change). */
  setResources(resources: readonly Resource[]): number;
  /** What changed: new or changed resources, removed ones, and the nodes whose scheduled pods changed. */
  applyChanges?(upserts: readonly Resource[], removes: ReadonlyArray<{ kind: ResourceKind; key: string }>, placed?: Iterable<string>): number;
  /** Recompute what each client (of `nodes`; default all) holds from the same resources (the pods' placement changed); returns the new version. */
  rescope?(nodes?: Iterable<string>): number;
}

/** A pod's namespace and labels, for the policy scope of the node it is scheduled to. */
export interface ScheduledPodRef {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

/** Scheduled to a node and not finished: the node agent may serve it (or already does). */
function isScheduled(p: V1Pod): boolean {
  return !!p.spec?.nodeName && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

/** What the policy scope reads of one pod: node, namespace and labels; undefined when it is not scheduled (or finished). */
export function placementOf(p: V1Pod): string | undefined {
  if (!isScheduled(p)) return undefined;
  const labels = Object.entries(p.metadata?.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([p.spec!.nodeName, p.metadata?.namespace ?? '', labels]);
}

/**
 * What the policy scope reads of the pods, as one comparable string: node, namespace and
 * labels of every scheduled, unfinished pod, sorted (pods with the same placement count once).
 */
export function placementKey(pods: readonly V1Pod[]): string {
  const seen = new Set<string>();
  for (const p of pods) {
    const k = placementOf(p);
    if (k !== undefined) seen.add(k);
  }
  return [...seen].sort().join('\n');
}

/** An informer's key for an object: `<namespace>/<name>`, or the name of a cluster-scoped one. */
function keyOf(o: KubernetesObject): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata?.name ?? ''}` : (o.metadata?.name ?? '');
}

interface Placed {
  node: string;
  placement: string;
  ref: PodRef;
  scoped: ScheduledPodRef;
}

export interface ClusterWatchOptions {
  kubeConfig: KubeConfig;
  sink: ConfigSink;
  trustDomain: string;
  clusterDomain?: string;
  rootNamespace?: string;
  /** Quiet time after a change before translating; default CONTROLLER_DEFAULTS.translateDebounceMs. */
  debounceMs?: number;
  /** A change waits at most this long, however busy the cluster; default CONTROLLER_DEFAULTS.translateMaxDelayMs. */
  maxDelayMs?: number;
  logger?: Logger;
  /** After each translation that reached the sink. */
  onTranslated?: (r: { version: number; changed: boolean; resources: number; problems: readonly Problem[]; policyStatuses: readonly PolicyStatus[]; routeStatuses: readonly RouteStatus[]; trafficPolicyStatuses: readonly PolicyStatus[]; requestAuthnStatuses: readonly PolicyStatus[] }) => void;
}

const problemId = (p: Problem) => JSON.stringify([p.kind, p.key, p.message]);

export class ClusterWatch {
  readonly #opts: ClusterWatchOptions;
  readonly #log: Logger;
  readonly #informers = new Map<Kind, Watched<KubernetesObject>>();
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  #synced = false;
  #firstConfig = false;
  #translation?: IncrementalTranslation;
  /** The next translation reads every object and hands the whole set over. */
  #resync = true;
  /** Objects changed since the last translation, by kind. */
  readonly #pending = new Map<Kind, Set<string>>();
  #logged = new Set<string>();
  #timer?: NodeJS.Timeout;
  #pendingSince?: number;
  #stopped = false;
  #syncedPromise?: Promise<void>;
  #version = 0;
  /** Scheduled, unfinished pods by key, and by node. */
  readonly #placed = new Map<string, Placed>();
  readonly #byNode = new Map<string, Map<string, Placed>>();
  /** Nodes whose pods moved since the last translation, with their placement signature then. */
  readonly #placedBefore = new Map<string, string>();

  constructor(opts: ClusterWatchOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#debounceMs = opts.debounceMs ?? CONTROLLER_DEFAULTS.translateDebounceMs;
    this.#maxDelayMs = opts.maxDelayMs ?? CONTROLLER_DEFAULTS.translateMaxDelayMs;
  }

  /** Starts every informer; resolves once all are synced and the first config was handed over. */
  start(): Promise<void> {
    if (this.#syncedPromise) return this.#syncedPromise;
    for (const kind of Object.keys(WATCHED_KINDS) as Kind[]) {
      // Indexed, not destructured from Object.entries: the RBAC test reads which kinds from here.
      const ref: ResourceRef = WATCHED_KINDS[kind];
      this.#pending.set(kind, new Set());
      this.#informers.set(kind, watchResource(this.#opts.kubeConfig, ref, { logger: this.#log, onChange: (type, obj) => this.#changed(kind, type, obj) }));
    }
    return (this.#syncedPromise = (async () => {
      await Promise.all([...this.#informers.values()].map((i) => i.synced));
      if (this.#stopped) return;
      this.#synced = true;
      this.#log.info('controller: informers synced');
      this.#translateNow();
    })());
  }

  /** Every informer loaded its first list. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Synced and the first config was computed and handed over. */
  get ready(): boolean {
    return this.#firstConfig;
  }

  /** The problems of the latest translation. */
  get problems(): readonly Problem[] {
    return this.#translation?.problems() ?? [];
  }

  /** The latest translation that reached the sink (undefined: none yet). */
  get latest(): TranslationResult | undefined {
    return this.#firstConfig ? this.#translation?.result() : undefined;
  }

  /** How many objects translation has translated so far (its work). */
  get translated(): IncrementalTranslation['counts'] | undefined {
    return this.#translation?.counts;
  }

  /** The AuthorizationPolicies in the cache (with their status), for the status writer. */
  authorizationPolicies(): AuthorizationPolicy[] {
    return this.#list<AuthorizationPolicy>('authorizationPolicies');
  }

  /** The TrafficPolicies in the cache (with their status), for their status writer. */
  trafficPolicies(): TrafficPolicyObject[] {
    return this.#list<TrafficPolicyObject>('trafficPolicies');
  }

  /** The RequestAuthentications in the cache (with their status), for their status writer. */
  requestAuthentications(): RequestAuthentication[] {
    return this.#list<RequestAuthentication>('requestAuthentications');
  }

  /** The HTTPRoutes and GRPCRoutes in the cache (with their status), for the route status writer. */
  routes(kind: 'HTTPRoute' | 'GRPCRoute'): RouteObject[] {
    return this.#list<RouteObject>(kind === 'HTTPRoute' ? 'httpRoutes' : 'grpcRoutes');
  }

  /** The config version the latest translation produced (0: none yet). */
  get version(): number {
    return this.#version;
  }

  #list<T>(kind: Kind): T[] {
    return (this.#informers.get(kind)?.list() ?? []) as unknown as T[];
  }

  /** The cached cluster, as translate() reads it. */
  state(): ClusterState {
    return {
      namespaces: this.#list<V1Namespace>('namespaces'),
      pods: this.#list<V1Pod>('pods'),
      services: this.#list<V1Service>('services'),
      endpointSlices: this.#list<V1EndpointSlice>('endpointSlices'),
      peerAuthentications: this.#list<PeerAuthentication>('peerAuthentications'),
      authorizationPolicies: this.#list<AuthorizationPolicy>('authorizationPolicies'),
      gateways: this.#list<Gateway>('gateways'),
      httpRoutes: this.#list<RouteObject>('httpRoutes'),
      grpcRoutes: this.#list<RouteObject>('grpcRoutes'),
      referenceGrants: this.#list<ReferenceGrantObject>('referenceGrants'),
      requestAuthentications: this.#list<RequestAuthentication>('requestAuthentications'),
      trafficPolicies: this.#list<TrafficPolicyObject>('trafficPolicies'),
    };
  }

  /** The pods scheduled on `node` and not finished, from the cache (ControllerServer's pod lister); waits for the first sync. */
  async podsOnNode(node: string): Promise<PodRef[]> {
    await this.start();
    return [...(this.#byNode.get(node)?.values() ?? [])].map((p) => p.ref);
  }

  /** The cached pods scheduled to `node` and not finished, with namespace and labels (the policy scope's input). */
  scheduledPods(node: string): ScheduledPodRef[] {
    return [...(this.#byNode.get(node)?.values() ?? [])].map((p) => p.scoped);
  }

  /**
   * Is `sa` a waypoint's ServiceAccount? Yes when a Gateway of class ambient-waypoint with
   * the same name exists in its namespace: a waypoint's Deployment runs as a ServiceAccount
   * named after its Gateway (as Istio's waypoints do). Whoever may create that Gateway in
   * the namespace may run a waypoint there anyway.
   */
  isWaypointServiceAccount(sa: ServiceAccountRef): boolean {
    return this.#list<Gateway>('gateways').some(
      (g) => g.metadata?.namespace === sa.namespace && g.metadata?.name === sa.name && g.spec?.gatewayClassName === WAYPOINT_GATEWAY_CLASS && !g.metadata?.deletionTimestamp,
    );
  }

  #changed(kind: Kind, type: 'add' | 'update' | 'delete', obj: KubernetesObject): void {
    const key = keyOf(obj);
    if (kind === 'pods') this.#place(key, type === 'delete' ? undefined : (obj as V1Pod));
    if (!this.#synced || this.#stopped) return;
    this.#pending.get(kind)!.add(key);
    const now = Date.now();
    this.#pendingSince ??= now;
    if (this.#timer) clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#pendingSince + this.#maxDelayMs - now));
    this.#timer = setTimeout(() => this.#translateNow(), wait);
  }

  /** The placement signature of a node: its pods' distinct placements, sorted. */
  #signature(node: string): string {
    return [...new Set([...(this.#byNode.get(node)?.values() ?? [])].map((p) => p.placement))].sort().join('\n');
  }

  /** Indexes a pod by node as the informer reports it (undefined: gone). */
  #place(key: string, pod: V1Pod | undefined): void {
    const prev = this.#placed.get(key);
    const placement = pod ? placementOf(pod) : undefined;
    const same = prev !== undefined && pod !== undefined && prev.placement === placement && prev.ref.uid === pod.metadata?.uid && prev.ref.serviceAccount === (pod.spec?.serviceAccountName || 'default');
    if (same || (prev === undefined && placement === undefined)) return;
    const node = placement !== undefined ? pod!.spec!.nodeName! : undefined;
    for (const n of [prev?.node, node]) if (n !== undefined && !this.#placedBefore.has(n)) this.#placedBefore.set(n, this.#signature(n));
    if (prev) {
      const m = this.#byNode.get(prev.node)!;
      m.delete(key);
      if (m.size === 0) this.#byNode.delete(prev.node);
      this.#placed.delete(key);
    }
    if (placement === undefined || node === undefined) return;
    const namespace = pod!.metadata?.namespace ?? '';
    const labels = pod!.metadata?.labels ?? {};
    const p: Placed = {
      node,
      placement,
      ref: { namespace, name: pod!.metadata?.name ?? '', ...(pod!.metadata?.uid ? { uid: pod!.metadata.uid } : {}), serviceAccount: pod!.spec?.serviceAccountName || 'default' },
      scoped: { namespace, labels },
    };
    this.#placed.set(key, p);
    let m = this.#byNode.get(node);
    if (!m) this.#byNode.set(node, (m = new Map()));
    m.set(key, p);
  }

  /** The nodes whose placement signature differs from the last translation's. */
  #movedNodes(): string[] {
    const out: string[] = [];
    for (const [node, before] of this.#placedBefore) if (this.#signature(node) !== before) out.push(node);
    this.#placedBefore.clear();
    return out;
  }

  #translateNow(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pendingSince = undefined;
    if (this.#stopped) return;
    const sink = this.#opts.sink;
    const full = this.#resync || !this.#translation;
    let delta;
    let t: IncrementalTranslation;
    try {
      if (full) {
        t = new IncrementalTranslation({
          trustDomain: this.#opts.trustDomain,
          ...(this.#opts.clusterDomain ? { clusterDomain: this.#opts.clusterDomain } : {}),
          ...(this.#opts.rootNamespace ? { rootNamespace: this.#opts.rootNamespace } : {}),
        });
        for (const [kind, informer] of this.#informers) for (const o of informer.list()) t.set(kind, keyOf(o), o);
      } else {
        t = this.#translation!;
        for (const [kind, keys] of this.#pending) {
          const informer = this.#informers.get(kind)!;
          for (const key of keys) {
            const slash = key.indexOf('/');
            t.set(kind, key, slash < 0 ? informer.get(key) : informer.get(key.slice(slash + 1), key.slice(0, slash)));
          }
        }
      }
      for (const keys of this.#pending.values()) keys.clear();
      delta = t.flush();
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'controller: translation failed; config not changed');
      this.#resync = true;
      return;
    }
    this.#translation = t;
    if (full || delta.problemsChanged) this.#reportProblems(t.problems());
    const moved = this.#movedNodes();
    let version = this.#version;
    try {
      if (full) {
        version = sink.setResources(t.resources());
        if (version === this.#version && moved.length > 0 && sink.rescope) version = sink.rescope(moved);
      } else if (delta.upserts.length > 0 || delta.removes.length > 0 || moved.length > 0) {
        if (sink.applyChanges) version = sink.applyChanges(delta.upserts, delta.removes, moved);
        else {
          version = sink.setResources(t.resources());
          if (version === this.#version && moved.length > 0 && sink.rescope) version = sink.rescope(moved);
        }
      }
      this.#resync = false;
    } catch (err) {
      // Next time: everything again (what the sink holds is not known).
      this.#resync = true;
      this.#log.error({ err: (err as Error).message }, 'controller: the translated config was refused; config not changed');
      return;
    }
    const changed = version !== this.#version;
    if (changed && !full && delta.upserts.length === 0 && delta.removes.length === 0) this.#log.debug({ version, nodes: moved.length }, 'controller: pods placed or relabelled; policy scope recomputed');
    this.#version = version;
    this.#firstConfig = true;
    if (changed) this.#log.info({ version, resources: t.size, upserted: delta.upserts.length, removed: delta.removes.length, problems: t.problems().length }, 'controller: config computed');
    this.#opts.onTranslated?.({ version, changed, resources: t.size, problems: t.problems(), policyStatuses: t.policyStatuses(), routeStatuses: t.routeStatuses(), trafficPolicyStatuses: t.trafficPolicyStatuses(), requestAuthnStatuses: t.requestAuthnStatuses() });
  }

  /** Logs each problem once, when it appears; one that goes away and comes back is logged again. */
  #reportProblems(problems: readonly Problem[]): void {
    const now = new Set<string>();
    for (const p of problems) {
      const id = problemId(p);
      now.add(id);
      if (!this.#logged.has(id)) this.#log.warn({ kind: p.kind, key: p.key, problem: p.message }, 'controller: translation problem');
    }
    for (const id of this.#logged) {
      if (!now.has(id)) {
        const [kind, key] = JSON.parse(id) as [string, string];
        this.#log.info({ kind, key }, 'controller: translation problem resolved');
      }
    }
    this.#logged = now;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.all([...this.#informers.values()].map((i) => i.stop().catch(() => {})));
  }
}
