// Incremental translation: the same output as translate() (./translate.ts, which stays the
// reference), kept up to date object by object. The controller's informers tell it which
// objects changed (set()); flush() translates those and what depends on them, and returns
// the resources that changed. One pod changing costs the translation of that pod, of the
// Services whose EndpointSlices name it, and nothing proportional to the cluster.
//
// What depends on what (each object is translated by the same functions translate() calls):
//   - a Pod's Workload: the pod, its namespace's labels, the waypoints (Gateways) of its
//     namespace (and of the namespace its own or its namespace's use-waypoint-namespace
//     label names: those objects are indexed by that namespace), the PeerAuthentications of its namespace and of the root namespace.
//     Workloads are keyed by pod uid; when two pods share one, the first by namespace/name
//     wins (as in translate()), so the pods of one uid are resolved together;
//   - a Service: the Service, its namespace's labels and waypoints, its EndpointSlices, and
//     the Workloads (and pods) those slices name;
//   - a Policy (AuthorizationPolicy) and its status: the policy, the Services and waypoints
//     of its namespace (a targetRefs policy's status names them);
//   - a Namespace's problems: its labels and its waypoints; a Gateway's "its Service does
//     not exist" problem: the Services of its namespace;
//   - a Route (HTTPRoute or GRPCRoute) and its status: the route, the Services it names as
//     parent or backend (by `<namespace>/<name>`; only their key, addresses, ports and
//     waypoint, so endpoint churn does not recompile routes), and the ReferenceGrants of
//     the namespaces its cross-namespace backends are in;
//   - TrafficPolicies and their statuses: each object is compiled alone when it changes (the
//     cached compilation is reused otherwise); all of them are then resolved together
//     (targets, conflicts: ./traffic-policies.ts, cheap) when one changed or when a Service
//     of a namespace holding one changed its key or ports (what targetRefs read).
// Gateways, PeerAuthentications and ReferenceGrants are few: a change to one re-indexes all of them, then
// re-translates only the namespaces (for a PeerAuthentication in the root namespace: every
// pod) whose result can differ.
//
// Pure apart from its own memory: no I/O, no clock. Objects are keyed by the caller
// (`<namespace>/<name>`, as an informer keys them); one key holds one object.
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { canonicalJson } from '../../core/config/diff.js';
import { namespaceModeProblem } from '../../core/config/enrolment.js';
import { compareResources, resourceId, type MeshService, type Resource, type ResourceKind, type Workload } from '../../core/config/model.js';
import { validateResource } from '../../core/config/validate.js';
import { validateTrustDomain } from '../../core/identity/spiffe.js';
import { translateAuthorizationPolicies } from './authorization.js';
import { translateRequestAuthentication } from './request-authentications.js';
import { compileTrafficPolicyObject, translateTrafficPolicies, type CompiledTrafficPolicyObject } from './traffic-policies.js';
import { compareRouteStatuses, compileAndEmit, indexReferenceGrants, routeReferences, type GrantIndex, type ReferenceGrantObject, type RouteObject, type RouteStatus } from './routes.js';
import type { AuthorizationPolicy, ClusterState, Gateway, PeerAuthentication, PolicyStatus, Problem, TranslateOptions, TranslationResult } from './input.js';
import { compareStrings, DEFAULT_CLUSTER_DOMAIN, DEFAULT_ROOT_NAMESPACE, isolated, objectKey, Problems, readMeta, Rejected, SERVICE_NAME_LABEL, type Labels } from './objects.js';
import { indexPeerAuthentications, type MtlsIndex } from './peer-authentication.js';
import { isServiceTranslated, translateService } from './services.js';
import { indexWaypoints, namespaceWaypointProblem, waypointServiceKey, waypointTarget, type Waypoint, type WaypointIndex } from './waypoints.js';
import { isPodLive, translatePod } from './workloads.js';

/** The cluster object kinds translation reads (ClusterState's fields). */
export type ObjectKind = 'namespaces' | 'pods' | 'services' | 'endpointSlices' | 'peerAuthentications' | 'authorizationPolicies' | 'gateways' | 'httpRoutes' | 'grpcRoutes' | 'referenceGrants' | 'requestAuthentications' | 'trafficPolicies';

export const OBJECT_KINDS: readonly ObjectKind[] = ['namespaces', 'pods', 'services', 'endpointSlices', 'peerAuthentications', 'authorizationPolicies', 'gateways', 'httpRoutes', 'grpcRoutes', 'referenceGrants', 'requestAuthentications', 'trafficPolicies'];

type RouteObjectKind = 'httpRoutes' | 'grpcRoutes';
const ROUTE_KIND_OF = { httpRoutes: 'HTTPRoute', grpcRoutes: 'GRPCRoute' } as const;

export interface TranslationDelta {
  /** New or changed resources (by content), sorted by kind then key. */
  upserts: Resource[];
  /** Resources gone, sorted by kind then key. */
  removes: Array<{ kind: ResourceKind; key: string }>;
  /** problems() differs from the last flush. */
  problemsChanged: boolean;
  /** policyStatuses() differs from the last flush. */
  statusesChanged: boolean;
  /** routeStatuses() differs from the last flush. */
  routeStatusesChanged: boolean;
  /** trafficPolicyStatuses() differs from the last flush. */
  trafficPolicyStatusesChanged: boolean;
  /** requestAuthnStatuses() differs from the last flush. */
  requestAuthnStatusesChanged: boolean;
}

/** How many objects were translated since the start (the work translation did). */
export interface TranslationCounts {
  namespaces: number;
  pods: number;
  endpointSlices: number;
  services: number;
  authorizationPolicies: number;
  /** HTTPRoutes and GRPCRoutes compiled. */
  routes: number;
  /** Re-indexings of all Gateways (one per flush that saw a Gateway change). */
  gatewayIndexes: number;
  /** Re-indexings of all PeerAuthentications. */
  peerAuthenticationIndexes: number;
}

interface PodEntry {
  namespace: string;
  /** The pod's translation, before the uid check and validation (undefined: none). */
  workload?: Workload;
  problems: Problem[];
}

interface SliceEntry {
  /** `<namespace>/<service name>` of the Service it belongs to (undefined: none). */
  target?: string;
  uids: string[];
  problems: Problem[];
}

interface ServiceEntry {
  namespace: string;
  /** What translate() would have put in servicesByName (undefined: not emitted). */
  service?: MeshService;
  problems: Problem[];
}

const NO_PROBLEMS: Problem[] = [];

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s) s.add(v);
  else m.set(k, new Set([v]));
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

const sortProblems = (ps: Problem[]): Problem[] => ps.sort((a, b) => compareStrings(a.kind, b.kind) || compareStrings(a.key, b.key) || compareStrings(a.message, b.message));

function namespaceOf(o: { metadata?: { namespace?: unknown } } | undefined): string {
  const ns = o?.metadata?.namespace;
  return typeof ns === 'string' ? ns : '';
}

export class IncrementalTranslation {
  readonly #trustDomain: string;
  readonly #clusterDomain: string;
  readonly #rootNamespace: string;
  readonly counts: TranslationCounts = { namespaces: 0, pods: 0, endpointSlices: 0, services: 0, authorizationPolicies: 0, routes: 0, gatewayIndexes: 0, peerAuthenticationIndexes: 0 };

  // The objects, by kind and key.
  readonly #objects = new Map<ObjectKind, Map<string, unknown>>(OBJECT_KINDS.map((k) => [k, new Map()]));
  // What changed since the last flush, by kind.
  readonly #dirty = new Map<ObjectKind, Set<string>>(OBJECT_KINDS.map((k) => [k, new Set()]));
  /** Namespaces whose Gateways or PeerAuthentications changed since the last flush. */
  readonly #gatewayNamespaces = new Set<string>();
  readonly #mtlsNamespaces = new Set<string>();
  /** Namespaces whose ReferenceGrants changed since the last flush. */
  readonly #grantNamespaces = new Set<string>();
  /** Namespaces, pods and Services whose use-waypoint label names a waypoint in another
   * namespace (use-waypoint-namespace), by that namespace: a waypoint changing there
   * re-binds them. Entries are `<kind>\0<key>`. */
  readonly #waypointUsers = new Map<string, Set<string>>();
  readonly #waypointUse = new Map<string, string>();
  #loaded = false;

  // Indexes of the objects by namespace.
  readonly #podsByNs = new Map<string, Set<string>>();
  readonly #servicesByNs = new Map<string, Set<string>>();
  readonly #policiesByNs = new Map<string, Set<string>>();

  // Derived state.
  readonly #nsLabels = new Map<string, Labels>();
  #waypoints: WaypointIndex = { byKey: new Map() };
  #waypointsByNs = new Map<string, Waypoint[]>();
  #mtls!: MtlsIndex;
  readonly #pods = new Map<string, PodEntry>();
  /** Pod keys by the uid of their translated Workload. */
  readonly #podsByUid = new Map<string, Set<string>>();
  /** The Workload of each uid (the winning pod's), as services read them. */
  readonly #workloads = new Map<string, { workload: Workload; pod: V1Pod; podKey: string }>();
  readonly #slices = new Map<string, SliceEntry>();
  readonly #slicesByService = new Map<string, Set<string>>();
  /** Service keys (`<namespace>/<name>`) whose slices name a pod uid, with a count per slice. */
  readonly #servicesByUid = new Map<string, Map<string, number>>();
  readonly #services = new Map<string, ServiceEntry>();
  /** Problems by the unit that produced them (a namespace, a pod, a uid, a slice, a service, ...). */
  readonly #problems = new Map<string, Problem[]>();
  readonly #statuses = new Map<string, PolicyStatus>();
  /** The Policy resource of each AuthorizationPolicy (by its key). */
  readonly #policyResources = new Map<string, Resource>();
  /** The resources, by resourceId. */
  readonly #resources = new Map<string, Resource>();
  #grants: GrantIndex = indexReferenceGrants([]);
  /** What each route (`<object kind>:<key>`) refers to, and the reverse indexes. */
  readonly #routeRefs = new Map<string, { services: string[]; grantNamespaces: string[] }>();
  readonly #routesByService = new Map<string, Set<string>>();
  readonly #routesByGrantNs = new Map<string, Set<string>>();
  /** The Route resource and status of each route. */
  readonly #routeResources = new Map<string, Resource>();
  readonly #routeStatuses = new Map<string, RouteStatus>();
  /** The RequestAuthn resource of each RequestAuthentication (by object key). */
  readonly #requestAuthnResources = new Map<string, Resource>();
  /** The status of each RequestAuthentication (by object key). */
  readonly #requestAuthnStatuses = new Map<string, PolicyStatus>();
  #sortedRequestAuthnStatuses?: PolicyStatus[];
  #sortedRouteStatuses?: RouteStatus[];
  /** Each TrafficPolicy compiled alone (by object key), the namespaces holding them (with a
   * count), the TrafficPolicy resources last emitted (by resource key), and their statuses. */
  readonly #trafficPolicies = new Map<string, CompiledTrafficPolicyObject>();
  readonly #trafficPolicyNs = new Map<string, Set<string>>();
  #trafficPolicyResources = new Map<string, Resource>();
  #trafficPolicyStatuses: PolicyStatus[] = [];
  #sortedResources?: Resource[];
  #sortedProblems?: Problem[];
  #sortedStatuses?: PolicyStatus[];

  constructor(opts: TranslateOptions) {
    this.#trustDomain = validateTrustDomain(opts.trustDomain);
    this.#clusterDomain = opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    this.#rootNamespace = opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
    // The same checks (and messages) as translate().
    if (!/^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(this.#clusterDomain)) {
      throw new TypeError(`translate: clusterDomain ${JSON.stringify(this.#clusterDomain)} is not a DNS name`);
    }
    if (!/^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(this.#rootNamespace)) throw new TypeError(`translate: rootNamespace ${JSON.stringify(this.#rootNamespace)} is not a namespace name`);
    this.#mtls = this.#indexMtls(new Problems());
  }

  /** Sets every object of `state` (keys: objectKey of each), as the next flush's input. */
  load(state: ClusterState): this {
    for (const kind of OBJECT_KINDS) {
      const list = (state[kind] ?? []) as ReadonlyArray<{ metadata?: { name?: string; namespace?: string } }>;
      for (const o of list) this.set(kind, objectKey(o?.metadata), o);
    }
    return this;
  }

  /** The object of `kind` at `key` is now `obj` (undefined: deleted). */
  set(kind: ObjectKind, key: string, obj: unknown): void {
    const objects = this.#objects.get(kind)!;
    const old = objects.get(key) as { metadata?: { namespace?: unknown } } | undefined;
    if (obj === undefined) objects.delete(key);
    else objects.set(key, obj);
    this.#dirty.get(kind)!.add(key);
    const oldNs = namespaceOf(old);
    const newNs = namespaceOf(obj as typeof old);
    const byNs = kind === 'pods' ? this.#podsByNs : kind === 'services' ? this.#servicesByNs : kind === 'authorizationPolicies' ? this.#policiesByNs : kind === 'trafficPolicies' ? this.#trafficPolicyNs : undefined;
    if (byNs) {
      if (old !== undefined) removeFrom(byNs, oldNs, key);
      if (obj !== undefined) addTo(byNs, newNs, key);
    }
    if (kind === 'namespaces' || kind === 'pods' || kind === 'services') this.#indexWaypointUse(kind, key, obj);
    const changedIn = kind === 'gateways' ? this.#gatewayNamespaces : kind === 'peerAuthentications' ? this.#mtlsNamespaces : kind === 'referenceGrants' ? this.#grantNamespaces : undefined;
    if (changedIn) {
      // An object without a namespace counts as '' (for a PeerAuthentication: every pod).
      if (old !== undefined) changedIn.add(oldNs);
      if (obj !== undefined) changedIn.add(newNs);
    }
  }

  /** Translates what changed since the last flush (everything, the first time). */
  flush(): TranslationDelta {
    const touched = new Map<string, Resource | undefined>();
    let problemsChanged = false;
    let statusesChanged = false;
    let routeStatusesChanged = false;
    let trafficPolicyStatusesChanged = false;
    /** TrafficPolicies are resolved again (one changed, or a Service they may target). */
    let trafficPoliciesRedo = this.#dirty.get('trafficPolicies')!.size > 0;
    let requestAuthnStatusesChanged = false;
    const setProblems = (unit: string, ps: Problem[]) => {
      const old = this.#problems.get(unit) ?? NO_PROBLEMS;
      if (old.length === 0 && ps.length === 0) return;
      if (old.length === ps.length && JSON.stringify(old) === JSON.stringify(ps)) return;
      problemsChanged = true;
      if (ps.length === 0) this.#problems.delete(unit);
      else this.#problems.set(unit, ps);
    };
    const output = (kind: ResourceKind, key: string, r: Resource | undefined) => touched.set(resourceId(kind, key), r);

    const dirty = (k: ObjectKind) => this.#dirty.get(k)!;
    const first = !this.#loaded;
    this.#loaded = true;

    // What to translate.
    const namespaces = new Set<string>(dirty('namespaces'));
    const pods = new Set<string>(dirty('pods'));
    const services = new Set<string>(dirty('services'));
    const policies = new Set<string>(dirty('authorizationPolicies'));
    const routes = new Set<string>([...dirty('httpRoutes')].map((k) => `httpRoutes:${k}`));
    for (const k of dirty('grpcRoutes')) routes.add(`grpcRoutes:${k}`);
    const gatewayChecks = new Set<string>();
    /** Namespaces where everything namespaced is translated again (labels or waypoints changed). */
    const wholeNamespaces = new Set<string>();

    // 1. Namespaces: labels.
    for (const name of dirty('namespaces')) {
      const before = this.#nsLabels.get(name);
      const ns = this.#objects.get('namespaces')!.get(name) as V1Namespace | undefined;
      let labels: Labels | undefined;
      const problems = new Problems();
      if (ns !== undefined) {
        this.counts.namespaces++;
        isolated(problems, 'Namespace', objectKey(ns?.metadata), () => {
          const m = readMeta(ns.metadata, { namespaced: false });
          labels = m.labels;
          const modeProblem = namespaceModeProblem(m.labels);
          if (modeProblem) problems.report('Namespace', m.name, modeProblem);
        });
      }
      setProblems(`ns-read:${name}`, problems.list);
      if (labels) this.#nsLabels.set(name, labels);
      else this.#nsLabels.delete(name);
      if (canonicalJson(before) !== canonicalJson(labels)) wholeNamespaces.add(name);
    }

    // 2. Gateways: re-indexed together; the namespaces whose waypoints differ are redone.
    if (dirty('gateways').size > 0 || first) {
      this.counts.gatewayIndexes++;
      const problems = new Problems();
      const old = this.#waypoints;
      const gateways = [...(this.#objects.get('gateways')!.values() as Iterable<Gateway>)];
      this.#waypoints = indexWaypoints(gateways, this.#clusterDomain, problems);
      setProblems('gateways', problems.list);
      const byNs = new Map<string, Waypoint[]>();
      for (const w of this.#waypoints.byKey.values()) byNs.set(w.namespace, [...(byNs.get(w.namespace) ?? []), w]);
      this.#waypointsByNs = byNs;
      const nsOf = (k: string) => k.slice(0, k.indexOf('/'));
      const changed = new Set<string>();
      for (const k of new Set([...old.byKey.keys(), ...this.#waypoints.byKey.keys()])) {
        if (canonicalJson(old.byKey.get(k)) !== canonicalJson(this.#waypoints.byKey.get(k))) changed.add(nsOf(k));
      }
      for (const ns of changed) {
        wholeNamespaces.add(ns);
        // What binds to a waypoint of this namespace from another (use-waypoint-namespace).
        for (const user of this.#waypointUsers.get(ns) ?? []) {
          const [k, key] = user.split('\0') as [ObjectKind, string];
          if (k === 'namespaces') wholeNamespaces.add(key);
          else if (k === 'pods') pods.add(key);
          else services.add(key);
        }
      }
      for (const ns of this.#gatewayNamespaces) gatewayChecks.add(ns);
      for (const ns of wholeNamespaces) gatewayChecks.add(ns);
    }
    this.#gatewayNamespaces.clear();

    // 3. PeerAuthentications: re-indexed together; the pods they may select are redone.
    if (dirty('peerAuthentications').size > 0) {
      const problems = new Problems();
      this.#mtls = this.#indexMtls(problems);
      setProblems('peer-authentications', problems.list);
      const everyPod = this.#mtlsNamespaces.has(this.#rootNamespace) || this.#mtlsNamespaces.has('');
      if (everyPod) for (const k of this.#objects.get('pods')!.keys()) pods.add(k);
      else for (const ns of this.#mtlsNamespaces) for (const k of this.#podsByNs.get(ns) ?? []) pods.add(k);
    }
    this.#mtlsNamespaces.clear();

    for (const ns of wholeNamespaces) {
      namespaces.add(ns);
      for (const k of this.#podsByNs.get(ns) ?? []) pods.add(k);
      for (const k of this.#servicesByNs.get(ns) ?? []) services.add(k);
      for (const k of this.#policiesByNs.get(ns) ?? []) policies.add(k);
    }

    // 4. Namespaces: the use-waypoint label, against the (new) waypoints.
    for (const name of namespaces) {
      const labels = this.#nsLabels.get(name);
      const why = labels === undefined ? undefined : namespaceWaypointProblem(this.#waypoints, name, labels);
      setProblems(`ns-waypoint:${name}`, why ? [{ kind: 'Namespace', key: name, message: why }] : []);
    }

    // 5. Pods, then the uids they hold (the first pod by key wins a uid).
    const uids = new Set<string>();
    for (const key of pods) {
      const old = this.#pods.get(key);
      if (old?.workload) uids.add(old.workload.uid);
      const entry = this.#translatePod(key);
      if (entry) {
        this.#pods.set(key, entry);
        if (entry.workload) uids.add(entry.workload.uid);
      } else this.#pods.delete(key);
      if (old?.workload) removeFrom(this.#podsByUid, old.workload.uid, key);
      if (entry?.workload) addTo(this.#podsByUid, entry.workload.uid, key);
      setProblems(`pod:${key}`, entry?.problems ?? []);
    }
    for (const uid of uids) {
      const previous = this.#workloads.get(uid);
      const members = [...(this.#podsByUid.get(uid) ?? [])].sort(compareStrings);
      let winner: { workload: Workload; pod: V1Pod; podKey: string } | undefined;
      let resource: Resource | undefined;
      const problems: Problem[] = [];
      for (const key of members) {
        const entry = this.#pods.get(key)!;
        const workload = entry.workload!;
        if (winner) {
          problems.push({ kind: 'Pod', key, message: `metadata.uid ${workload.uid} is also the uid of pod ${winner.workload.namespace}/${winner.workload.name}; left out` });
          continue;
        }
        const checked = validateResource({ kind: 'Workload', key: workload.uid, body: workload });
        if (!checked.ok) {
          problems.push({ kind: 'Pod', key, message: `produced an invalid resource, left out: ${checked.error}` });
          continue;
        }
        resource = checked.resource;
        winner = { workload, pod: this.#objects.get('pods')!.get(key) as V1Pod, podKey: key };
      }
      setProblems(`uid:${uid}`, problems);
      if (winner) this.#workloads.set(uid, winner);
      else this.#workloads.delete(uid);
      output('Workload', uid, resource);
      // The Services naming this uid read its Workload and pod.
      if (previous?.pod !== winner?.pod || previous?.workload !== winner?.workload) {
        for (const svc of this.#servicesByUid.get(uid)?.keys() ?? []) services.add(svc);
      }
    }

    // 6. EndpointSlices.
    for (const key of dirty('endpointSlices')) {
      const old = this.#slices.get(key);
      const slice = this.#objects.get('endpointSlices')!.get(key) as V1EndpointSlice | undefined;
      const entry = slice === undefined ? undefined : this.#indexSlice(slice);
      if (old?.target) {
        services.add(old.target);
        removeFrom(this.#slicesByService, old.target, key);
        for (const uid of old.uids) this.#countService(uid, old.target, -1);
      }
      if (entry?.target) {
        services.add(entry.target);
        addTo(this.#slicesByService, entry.target, key);
        for (const uid of entry.uids) this.#countService(uid, entry.target, +1);
      }
      if (entry) this.#slices.set(key, entry);
      else this.#slices.delete(key);
      setProblems(`slice:${key}`, entry?.problems ?? []);
    }

    // 7. Services.
    for (const key of services) {
      const old = this.#services.get(key);
      const svc = this.#objects.get('services')!.get(key) as V1Service | undefined;
      const entry = svc === undefined || !isServiceTranslated(svc) ? undefined : this.#translateService(key, svc);
      if (entry) this.#services.set(key, entry);
      else this.#services.delete(key);
      setProblems(`svc:${key}`, entry?.problems ?? []);
      // Routes naming this Service read its key, addresses, ports and waypoint.
      const routeView = (svc: MeshService | undefined) => (svc ? canonicalJson([svc.key, svc.vips, svc.ports, svc.waypoint]) : '');
      // TrafficPolicies naming this Service read its key and ports.
      const policyView = (svc: MeshService | undefined) => (svc ? canonicalJson([svc.key, svc.ports]) : '');
      if (policyView(old?.service) !== policyView(entry?.service) && (this.#trafficPolicyNs.has(old?.namespace ?? '') || this.#trafficPolicyNs.has(entry?.namespace ?? ''))) trafficPoliciesRedo = true;
      if (routeView(old?.service) !== routeView(entry?.service)) for (const r of this.#routesByService.get(key) ?? []) routes.add(r);
      const oldKey = old?.service?.key;
      const newKey = entry?.service?.key;
      if (oldKey !== undefined && oldKey !== newKey) output('Service', oldKey, undefined);
      if (newKey !== undefined) output('Service', newKey, { kind: 'Service', key: newKey, body: (entry as ServiceEntry & { emitted: MeshService }).emitted } as Resource);
      // Policies and Gateways of the namespace read which Services exist and their waypoints.
      if (canonicalJson(old?.service ? [old.service.key, old.service.waypoint] : null) !== canonicalJson(entry?.service ? [entry.service.key, entry.service.waypoint] : null)) {
        const ns = old?.namespace ?? entry!.namespace;
        gatewayChecks.add(ns);
        for (const k of this.#policiesByNs.get(ns) ?? []) policies.add(k);
        if (entry && entry.namespace !== ns) {
          gatewayChecks.add(entry.namespace);
          for (const k of this.#policiesByNs.get(entry.namespace) ?? []) policies.add(k);
        }
      }
    }

    // 8. Gateways whose Service does not exist (yet).
    for (const ns of gatewayChecks) {
      const problems: Problem[] = [];
      for (const w of this.#waypointsByNs.get(ns) ?? []) {
        if (w.ref && this.#services.get(`${w.namespace}/${w.name}`)?.service?.key !== waypointServiceKey(w.namespace, w.name, this.#clusterDomain)) {
          problems.push({ kind: 'Gateway', key: `${w.namespace}/${w.name}`, message: `its Service ${w.namespace}/${w.name} does not exist (yet): traffic sent to this waypoint fails until it does` });
        }
      }
      setProblems(`gw-service:${ns}`, problems);
    }

    // 9. AuthorizationPolicies.
    for (const key of policies) {
      const ap = this.#objects.get('authorizationPolicies')!.get(key) as AuthorizationPolicy | undefined;
      const problems = new Problems();
      const emitted: Resource[] = [];
      let statuses: PolicyStatus[] = [];
      if (ap !== undefined) {
        this.counts.authorizationPolicies++;
        const ns = namespaceOf(ap);
        const servicesByName = new Map<string, MeshService>();
        for (const k of this.#servicesByNs.get(ns) ?? []) {
          const s = this.#services.get(k)?.service;
          if (s) servicesByName.set(`${s.namespace}/${s.name}`, s);
        }
        statuses = translateAuthorizationPolicies([ap], {
          rootNamespace: this.#rootNamespace,
          services: servicesByName,
          waypoints: this.#waypoints,
          problems,
          emit: (kind, k, r) => {
            const checked = validateResource(r);
            if (!checked.ok) problems.report(kind, k, `produced an invalid resource, left out: ${checked.error}`);
            else emitted.push(checked.resource);
            return checked.ok;
          },
        });
      }
      setProblems(`ap:${key}`, problems.list);
      const oldPolicy = this.#policyResources.get(key);
      const newPolicy = emitted[0];
      if (oldPolicy !== undefined && oldPolicy.key !== newPolicy?.key) output('Policy', oldPolicy.key, undefined);
      if (newPolicy) {
        output('Policy', newPolicy.key, newPolicy);
        this.#policyResources.set(key, newPolicy);
      } else this.#policyResources.delete(key);
      const status = statuses[0];
      const oldStatus = this.#statuses.get(key);
      if (canonicalJson(oldStatus) !== canonicalJson(status)) statusesChanged = true;
      if (status) this.#statuses.set(key, status);
      else this.#statuses.delete(key);
    }

    // 10. ReferenceGrants: re-indexed together; the routes reading the changed namespaces are redone.
    if (dirty('referenceGrants').size > 0) {
      this.#grants = indexReferenceGrants([...(this.#objects.get('referenceGrants')!.values() as Iterable<ReferenceGrantObject>)]);
      for (const ns of this.#grantNamespaces) for (const r of this.#routesByGrantNs.get(ns) ?? []) routes.add(r);
    }
    this.#grantNamespaces.clear();

    // 11. Routes.
    for (const id of routes) {
      const colon = id.indexOf(':');
      const objectKind = id.slice(0, colon) as RouteObjectKind;
      const key = id.slice(colon + 1);
      const obj = this.#objects.get(objectKind)!.get(key) as RouteObject | undefined;
      const oldRefs = this.#routeRefs.get(id);
      for (const s of oldRefs?.services ?? []) removeFrom(this.#routesByService, s, id);
      for (const n of oldRefs?.grantNamespaces ?? []) removeFrom(this.#routesByGrantNs, n, id);
      const problems = new Problems();
      const emitted: Resource[] = [];
      let status: RouteStatus | undefined;
      if (obj !== undefined) {
        this.counts.routes++;
        const refs = routeReferences(obj);
        this.#routeRefs.set(id, refs);
        for (const s of refs.services) addTo(this.#routesByService, s, id);
        for (const n of refs.grantNamespaces) addTo(this.#routesByGrantNs, n, id);
        status = compileAndEmit(ROUTE_KIND_OF[objectKind], obj, {
          service: (k) => this.#services.get(k)?.service,
          grants: this.#grants,
          problems,
          emit: (kind, k, r) => {
            const checked = validateResource(r);
            if (!checked.ok) problems.report(kind, k, `produced an invalid resource, left out: ${checked.error}`);
            else emitted.push(checked.resource);
            return checked.ok;
          },
        });
      } else this.#routeRefs.delete(id);
      setProblems(`route:${id}`, problems.list);
      const oldRoute = this.#routeResources.get(id);
      const newRoute = emitted[0];
      if (oldRoute !== undefined && oldRoute.key !== newRoute?.key) output('Route', oldRoute.key, undefined);
      if (newRoute) {
        output('Route', newRoute.key, newRoute);
        this.#routeResources.set(id, newRoute);
      } else this.#routeResources.delete(id);
      if (canonicalJson(this.#routeStatuses.get(id)) !== canonicalJson(status)) routeStatusesChanged = true;
      if (status) this.#routeStatuses.set(id, status);
      else this.#routeStatuses.delete(id);
    }

    // 12. RequestAuthentications: each on its own (it reads no other object).
    for (const key of dirty('requestAuthentications')) {
      const ra = this.#objects.get('requestAuthentications')!.get(key);
      const problems = new Problems();
      const emitted: Resource[] = [];
      let status: PolicyStatus | undefined;
      if (ra !== undefined) {
        status = translateRequestAuthentication(ra, problems, (kind, k, r) => {
          const checked = validateResource(r);
          if (!checked.ok) problems.report(kind, k, `produced an invalid resource, left out: ${checked.error}`);
          else emitted.push(checked.resource);
          return checked.ok;
        });
      }
      setProblems(`ra:${key}`, problems.list);
      const oldAuthn = this.#requestAuthnResources.get(key);
      const newAuthn = emitted[0];
      if (oldAuthn !== undefined && oldAuthn.key !== newAuthn?.key) output('RequestAuthn', oldAuthn.key, undefined);
      if (newAuthn) {
        output('RequestAuthn', newAuthn.key, newAuthn);
        this.#requestAuthnResources.set(key, newAuthn);
      } else this.#requestAuthnResources.delete(key);
      if (canonicalJson(this.#requestAuthnStatuses.get(key)) !== canonicalJson(status)) requestAuthnStatusesChanged = true;
      if (status) this.#requestAuthnStatuses.set(key, status);
      else this.#requestAuthnStatuses.delete(key);
    }

    // 13. TrafficPolicies: the changed ones compiled again, then all resolved together.
    if (trafficPoliciesRedo) {
      for (const key of dirty('trafficPolicies')) {
        const tp = this.#objects.get('trafficPolicies')!.get(key);
        if (tp === undefined) this.#trafficPolicies.delete(key);
        else this.#trafficPolicies.set(key, compileTrafficPolicyObject(tp));
      }
      const problems = new Problems();
      const emitted = new Map<string, Resource>();
      const statuses = translateTrafficPolicies([...this.#trafficPolicies.values()], {
        service: (k) => this.#services.get(k)?.service,
        problems,
        emit: (kind, k, r) => {
          const checked = validateResource(r);
          if (!checked.ok) problems.report(kind, k, `produced an invalid resource, left out: ${checked.error}`);
          else emitted.set(checked.resource.key, checked.resource);
          return checked.ok;
        },
      });
      setProblems('traffic-policies', problems.list);
      for (const key of this.#trafficPolicyResources.keys()) if (!emitted.has(key)) output('TrafficPolicy', key, undefined);
      for (const [key, r] of emitted) output('TrafficPolicy', key, r);
      this.#trafficPolicyResources = emitted;
      if (canonicalJson(this.#trafficPolicyStatuses) !== canonicalJson(statuses)) trafficPolicyStatusesChanged = true;
      this.#trafficPolicyStatuses = statuses;
    }

    for (const k of OBJECT_KINDS) this.#dirty.get(k)!.clear();

    // The difference, by content.
    const upserts: Resource[] = [];
    const removes: Array<{ kind: ResourceKind; key: string }> = [];
    for (const [id, r] of touched) {
      const old = this.#resources.get(id);
      if (r === undefined) {
        if (old) {
          this.#resources.delete(id);
          removes.push({ kind: old.kind, key: old.key });
        }
        continue;
      }
      if (old && canonicalJson(old.body) === canonicalJson(r.body)) continue;
      this.#resources.set(id, r);
      upserts.push(r);
    }
    upserts.sort(compareResources);
    removes.sort(compareResources);
    if (upserts.length > 0 || removes.length > 0) this.#sortedResources = undefined;
    if (problemsChanged) this.#sortedProblems = undefined;
    if (statusesChanged) this.#sortedStatuses = undefined;
    if (routeStatusesChanged) this.#sortedRouteStatuses = undefined;
    if (requestAuthnStatusesChanged) this.#sortedRequestAuthnStatuses = undefined;
    return { upserts, removes, problemsChanged, statusesChanged, routeStatusesChanged, trafficPolicyStatusesChanged, requestAuthnStatusesChanged };
  }

  /** Every resource, sorted by kind then key (as translate() returns them). */
  resources(): Resource[] {
    return (this.#sortedResources ??= [...this.#resources.values()].sort(compareResources));
  }

  get size(): number {
    return this.#resources.size;
  }

  /** Every problem, sorted by kind, key, message. */
  problems(): Problem[] {
    return (this.#sortedProblems ??= sortProblems([...this.#problems.values()].flat()));
  }

  /** One status per AuthorizationPolicy, sorted by namespace, name. */
  policyStatuses(): PolicyStatus[] {
    return (this.#sortedStatuses ??= [...this.#statuses.values()].sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name)));
  }

  /** One status per route with a Service parentRef, sorted by kind, namespace, name. */
  routeStatuses(): RouteStatus[] {
    return (this.#sortedRouteStatuses ??= [...this.#routeStatuses.values()].sort(compareRouteStatuses));
  }

  /** One status per TrafficPolicy, sorted by namespace, name. */
  trafficPolicyStatuses(): PolicyStatus[] {
    return this.#trafficPolicyStatuses;
  }

  /** One status per RequestAuthentication, sorted by namespace, name. */
  requestAuthnStatuses(): PolicyStatus[] {
    return (this.#sortedRequestAuthnStatuses ??= [...this.#requestAuthnStatuses.values()].sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name)));
  }

  result(): TranslationResult {
    return { resources: this.resources(), problems: this.problems(), policyStatuses: this.policyStatuses(), routeStatuses: this.routeStatuses(), trafficPolicyStatuses: this.trafficPolicyStatuses(), requestAuthnStatuses: this.requestAuthnStatuses() };
  }

  /** Keeps #waypointUsers: which objects name a waypoint in another namespace. */
  #indexWaypointUse(kind: 'namespaces' | 'pods' | 'services', key: string, obj: unknown): void {
    const id = `${kind}\0${key}`;
    const before = this.#waypointUse.get(id);
    let after: string | undefined;
    const meta = (obj as { metadata?: { name?: unknown; namespace?: unknown; labels?: unknown } } | undefined)?.metadata;
    const labels = meta?.labels;
    if (labels !== null && typeof labels === 'object' && !Array.isArray(labels)) {
      const own = kind === 'namespaces' ? meta?.name : meta?.namespace;
      const safe = Object.fromEntries(Object.entries(labels as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const t = waypointTarget(typeof own === 'string' ? own : '', safe);
      if (t !== undefined && t.namespace !== own) after = t.namespace;
    }
    if (before === after) return;
    if (before !== undefined) removeFrom(this.#waypointUsers, before, id);
    if (after !== undefined) {
      addTo(this.#waypointUsers, after, id);
      this.#waypointUse.set(id, after);
    } else this.#waypointUse.delete(id);
  }

  #indexMtls(problems: Problems): MtlsIndex {
    this.counts.peerAuthenticationIndexes++;
    return indexPeerAuthentications([...(this.#objects.get('peerAuthentications')!.values() as Iterable<PeerAuthentication>)], this.#rootNamespace, problems);
  }

  #translatePod(key: string): PodEntry | undefined {
    const pod = this.#objects.get('pods')!.get(key) as V1Pod | undefined;
    if (pod === undefined || !isPodLive(pod)) return undefined;
    this.counts.pods++;
    const problems = new Problems();
    const k = objectKey(pod?.metadata);
    const workload = isolated(problems, 'Pod', k, () =>
      translatePod(pod, {
        trustDomain: this.#trustDomain,
        namespaceLabels: (ns) => this.#nsLabels.get(ns) ?? {},
        waypoints: this.#waypoints,
        mtlsMode: (ns, labels) => this.#mtls.modeFor(ns, labels),
        mtlsPorts: (ns, labels) => this.#mtls.portModesFor(ns, labels),
        remark: (m) => problems.report('Pod', k, m),
      }),
    );
    return { namespace: namespaceOf(pod), ...(workload ? { workload } : {}), problems: problems.list };
  }

  #indexSlice(slice: V1EndpointSlice): SliceEntry {
    this.counts.endpointSlices++;
    const problems = new Problems();
    const target = isolated(problems, 'EndpointSlice', objectKey(slice?.metadata), () => {
      const { namespace, labels } = readMeta(slice?.metadata);
      const service = labels[SERVICE_NAME_LABEL];
      if (service === undefined) return undefined;
      if (slice.addressType === 'FQDN') return undefined;
      if (!Array.isArray(slice.endpoints)) throw new Rejected('endpoints is not a list');
      return `${namespace}/${service}`;
    });
    const uids = new Set<string>();
    if (target !== undefined) {
      for (const ep of slice.endpoints) {
        const uid: unknown = ep?.targetRef?.uid;
        if (typeof uid === 'string') uids.add(uid);
      }
    }
    return { ...(target !== undefined ? { target } : {}), uids: [...uids], problems: problems.list };
  }

  #countService(uid: string, service: string, by: number): void {
    let m = this.#servicesByUid.get(uid);
    if (!m) this.#servicesByUid.set(uid, (m = new Map()));
    const n = (m.get(service) ?? 0) + by;
    if (n > 0) m.set(service, n);
    else m.delete(service);
    if (m.size === 0) this.#servicesByUid.delete(uid);
  }

  #translateService(key: string, svc: V1Service): ServiceEntry & { emitted?: MeshService } {
    this.counts.services++;
    const problems = new Problems();
    const k = objectKey(svc?.metadata);
    const slices = [...(this.#slicesByService.get(key) ?? [])].map((s) => this.#objects.get('endpointSlices')!.get(s) as V1EndpointSlice);
    const service = isolated(problems, 'Service', k, () =>
      translateService(svc, {
        clusterDomain: this.#clusterDomain,
        namespaceLabels: (ns) => this.#nsLabels.get(ns) ?? {},
        waypoints: this.#waypoints,
        workloads: this.#workloads,
        slices: new Map([[key, slices]]),
        remark: (m) => problems.report('Service', k, m),
      }),
    );
    const entry: ServiceEntry & { emitted?: MeshService } = { namespace: namespaceOf(svc), problems: problems.list };
    if (service) {
      const checked = validateResource({ kind: 'Service', key: service.key, body: service });
      if (!checked.ok) problems.report('Service', k, `produced an invalid resource, left out: ${checked.error}`);
      else {
        entry.service = service;
        entry.emitted = checked.resource.body as MeshService;
      }
    }
    return entry;
  }
}
