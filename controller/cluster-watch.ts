// The controller's view of the cluster: one informer per kind that translation reads, and
// on any change (debounced, with an upper bound so steady churn still gets through) the
// caches are read as one ClusterState, translated, and handed to the distribution server.
// Nothing is pushed before every informer has loaded its first list: a half-loaded cache
// would tell every agent that most of the mesh is gone.
//
// The pods scheduled to each node also decide which policies that node's agent holds
// (distribution/scope.ts): when they are placed, moved or relabelled while the translated
// resources stay the same (a pending pod has no Workload yet), the sink is asked to
// rescope, so the policies reach the node before the pod's first connection.
import type { KubeConfig, KubernetesObject, V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Resource } from '../core/config/model.js';
import { watchResource, type ResourceRef, type Watched } from '../core/kube/informer.js';
import { CONTROLLER_DEFAULTS } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { PodRef, ServiceAccountRef } from './distribution/authorize.js';
import { WAYPOINT_GATEWAY_CLASS } from './translate/objects.js';
import { translate, type AuthorizationPolicy, type ClusterState, type Gateway, type PeerAuthentication, type PolicyStatus, type Problem, type TranslationResult } from './translate/translate.js';

export const WATCHED_KINDS = {
  namespaces: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces' },
  pods: { apiVersion: 'v1', kind: 'Pod', plural: 'pods' },
  services: { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  endpointSlices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices' },
  peerAuthentications: { apiVersion: 'ambient.dev/v1', kind: 'PeerAuthentication', plural: 'peerauthentications' },
  authorizationPolicies: { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', plural: 'authorizationpolicies' },
  gateways: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', plural: 'gateways' },
} as const satisfies Record<string, ResourceRef>;

type Kind = keyof typeof WATCHED_KINDS;

/** Where translated config goes (a ControllerServer). Returns the config version. */
export interface ConfigSink {
  setResources(resources: readonly Resource[]): number;
  /** Recompute what each client holds from the same resources (the pods' placement changed); returns the new version. */
  rescope?(): number;
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

/**
 * What the policy scope reads of the pods, as one comparable string: node, namespace and
 * labels of every scheduled, unfinished pod, sorted (pods with the same placement count once).
 */
export function placementKey(pods: readonly V1Pod[]): string {
  const seen = new Set<string>();
  for (const p of pods) {
    if (!isScheduled(p)) continue;
    const labels = Object.entries(p.metadata?.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    seen.add(JSON.stringify([p.spec!.nodeName, p.metadata?.namespace ?? '', labels]));
  }
  return [...seen].sort().join('\n');
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
  onTranslated?: (r: { version: number; changed: boolean; resources: number; problems: readonly Problem[]; policyStatuses: readonly PolicyStatus[] }) => void;
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
  #problems: Problem[] = [];
  #latest?: TranslationResult;
  #logged = new Set<string>();
  #timer?: NodeJS.Timeout;
  #pendingSince?: number;
  #stopped = false;
  #syncedPromise?: Promise<void>;
  #version = 0;
  /** placementKey() of the pods the clients' scope was last computed from. */
  #placement?: string;

  constructor(opts: ClusterWatchOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#debounceMs = opts.debounceMs ?? CONTROLLER_DEFAULTS.translateDebounceMs;
    this.#maxDelayMs = opts.maxDelayMs ?? CONTROLLER_DEFAULTS.translateMaxDelayMs;
  }

  /** Starts every informer; resolves once all are synced and the first config was handed over. */
  start(): Promise<void> {
    if (this.#syncedPromise) return this.#syncedPromise;
    for (const [kind, ref] of Object.entries(WATCHED_KINDS) as Array<[Kind, ResourceRef]>) {
      this.#informers.set(kind, watchResource(this.#opts.kubeConfig, ref, { logger: this.#log, onChange: () => this.#changed() }));
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
    return this.#problems;
  }

  /** The latest translation that reached the sink (undefined: none yet). */
  get latest(): TranslationResult | undefined {
    return this.#latest;
  }

  /** The AuthorizationPolicies in the cache (with their status), for the status writer. */
  authorizationPolicies(): AuthorizationPolicy[] {
    return this.#list<AuthorizationPolicy>('authorizationPolicies');
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
    };
  }

  /** The pods scheduled on `node` and not finished, from the cache (ControllerServer's pod lister); waits for the first sync. */
  async podsOnNode(node: string): Promise<PodRef[]> {
    await this.start();
    return this.#list<V1Pod>('pods')
      .filter((p) => p.spec?.nodeName === node && isScheduled(p))
      .map((p) => ({
        namespace: p.metadata?.namespace ?? '',
        name: p.metadata?.name ?? '',
        ...(p.metadata?.uid ? { uid: p.metadata.uid } : {}),
        serviceAccount: p.spec?.serviceAccountName || 'default',
      }));
  }

  /** The cached pods scheduled to `node` and not finished, with namespace and labels (the policy scope's input). */
  scheduledPods(node: string): ScheduledPodRef[] {
    return this.#list<V1Pod>('pods')
      .filter((p) => p.spec?.nodeName === node && isScheduled(p))
      .map((p) => ({ namespace: p.metadata?.namespace ?? '', labels: p.metadata?.labels ?? {} }));
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

  #changed(): void {
    if (!this.#synced || this.#stopped) return;
    const now = Date.now();
    this.#pendingSince ??= now;
    if (this.#timer) clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#pendingSince + this.#maxDelayMs - now));
    this.#timer = setTimeout(() => this.#translateNow(), wait);
  }

  #translateNow(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pendingSince = undefined;
    if (this.#stopped) return;
    let result;
    const state = this.state();
    const placement = placementKey(state.pods);
    try {
      result = translate(state, {
        trustDomain: this.#opts.trustDomain,
        ...(this.#opts.clusterDomain ? { clusterDomain: this.#opts.clusterDomain } : {}),
        ...(this.#opts.rootNamespace ? { rootNamespace: this.#opts.rootNamespace } : {}),
      });
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'controller: translation failed; config not changed');
      return;
    }
    this.#reportProblems(result.problems);
    let version: number;
    try {
      version = this.#opts.sink.setResources(result.resources);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'controller: the translated config was refused; config not changed');
      return;
    }
    let changed = version !== this.#version;
    if (changed || !this.#opts.sink.rescope) this.#placement = placement;
    else if (placement !== this.#placement) {
      // Same resources, pods placed differently: what each node agent should hold may differ
      // (every client's scope was computed from the placement before). Not recorded when it
      // fails, so the next translation tries again.
      try {
        version = this.#opts.sink.rescope();
        changed = version !== this.#version;
        this.#placement = placement;
        this.#log.debug({ version }, 'controller: pods placed or relabelled; policy scope recomputed');
      } catch (err) {
        this.#log.error({ err: (err as Error).message }, 'controller: recomputing the policy scope failed; retried on the next change');
      }
    }
    this.#version = version;
    this.#latest = result;
    this.#firstConfig = true;
    if (changed) this.#log.info({ version, resources: result.resources.length, problems: result.problems.length }, 'controller: config computed');
    this.#opts.onTranslated?.({ version, changed, resources: result.resources.length, problems: result.problems, policyStatuses: result.policyStatuses });
  }

  /** Logs each problem once, when it appears; one that goes away and comes back is logged again. */
  #reportProblems(problems: Problem[]): void {
    this.#problems = problems;
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
