// Translation (DESIGN.md "Configuration model"): cluster objects in, mesh resources out, a
// pure function with no I/O. An object that cannot be translated is left out alone and
// said so in `problems`; nothing one object holds can stop the others. The output is in
// a fixed order (kind, then key) and every body is built in a fixed field order, so the
// distribution layer can diff two versions cheaply (core/config/diff.ts).
//
// Every resource is checked with the same validator the node agents run
// (core/config/validate.ts) before it is emitted: the controller never sends what an
// agent would NACK, and a translation bug shows up here as a Problem, not as a NACK storm.
//
// AuthorizationPolicies are compiled to Policy resources (./authorization.ts); each gets a
// PolicyStatus (Accepted, Enforced) that the leader writes to the object. HTTPRoutes and
// GRPCRoutes attached to Services are compiled to Route resources (./routes.ts); each gets
// a RouteStatus (status.parents[]: Accepted, ResolvedRefs) written by the leader too.
// RequestAuthentications are compiled to RequestAuthn resources (./request-authentications.ts),
// a bad one reported as a Problem; each gets a status (Accepted, and Enforced when it
// selects workloads) that the leader writes to the object, as for AuthorizationPolicies.
// TrafficPolicies are compiled to TrafficPolicy resources (./traffic-policies.ts); each
// gets a status (Accepted, Conflicted) written by the leader.
//
// The controller runs this translation incrementally (./incremental.ts: the changed
// objects and what depends on them, with the same per-object functions); translate() is
// the reference whose output the incremental one must equal, and its tests compare them.
import type { V1Pod } from '@kubernetes/client-node';
import { compareResources, type MeshService, type Resource, type Workload } from '../../core/config/model.js';
import { validateResource } from '../../core/config/validate.js';
import { validateTrustDomain } from '../../core/identity/spiffe.js';
import { namespaceModeProblem } from '../../core/config/enrolment.js';
import type { ClusterState, PolicyStatus, TranslateOptions, TranslationResult } from './input.js';
import { compareStrings, DEFAULT_CLUSTER_DOMAIN, DEFAULT_ROOT_NAMESPACE, isolated, objectKey, Problems, readMeta, type Labels } from './objects.js';
import { translateAuthorizationPolicies } from './authorization.js';
import { indexPeerAuthentications } from './peer-authentication.js';
import { translateRequestAuthentication } from './request-authentications.js';
import { indexReferenceGrants, translateRoutes } from './routes.js';
import { compileTrafficPolicyObject, translateTrafficPolicies } from './traffic-policies.js';
import { indexSlices, isServiceTranslated, translateService } from './services.js';
import { indexWaypoints, namespaceWaypointProblem, waypointServiceKey } from './waypoints.js';
import { isPodLive, translatePod } from './workloads.js';

export type { AuthorizationPolicy, ClusterState, Gateway, PeerAuthentication, PolicyStatus, Problem, ReferenceGrantObject, RequestAuthentication, RouteObject, RouteStatus, StatusCondition, TrafficPolicyObject, TranslateOptions, TranslationResult } from './input.js';

const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Sorts objects by namespace/name so that "first one wins" rules do not depend on input order. */
function byKey<T extends { metadata?: { name?: string; namespace?: string } }>(objs: readonly T[]): T[] {
  return [...objs].sort((a, b) => compareStrings(objectKey(a?.metadata), objectKey(b?.metadata)));
}

export function translate(input: ClusterState, opts: TranslateOptions): TranslationResult {
  const trustDomain = validateTrustDomain(opts.trustDomain);
  const clusterDomain = opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const rootNamespace = opts.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  if (!DNS1123_SUBDOMAIN.test(clusterDomain)) throw new TypeError(`translate: clusterDomain ${JSON.stringify(clusterDomain)} is not a DNS name`);
  if (!DNS1123_LABEL.test(rootNamespace)) throw new TypeError(`translate: rootNamespace ${JSON.stringify(rootNamespace)} is not a namespace name`);

  const problems = new Problems();
  const resources: Resource[] = [];
  const emit = (kind: string, key: string, r: Resource): boolean => {
    const checked = validateResource(r);
    if (!checked.ok) problems.report(kind, key, `produced an invalid resource, left out: ${checked.error}`);
    else resources.push(checked.resource);
    return checked.ok;
  };

  const namespaceLabels = new Map<string, Labels>();
  for (const ns of input.namespaces) {
    const key = objectKey(ns?.metadata);
    isolated(problems, 'Namespace', key, () => {
      const { name, labels } = readMeta(ns.metadata, { namespaced: false });
      namespaceLabels.set(name, labels);
      const modeProblem = namespaceModeProblem(labels);
      if (modeProblem) problems.report('Namespace', name, modeProblem);
    });
  }
  const labelsOf = (ns: string): Labels => namespaceLabels.get(ns) ?? {};

  const waypoints = indexWaypoints(input.gateways ?? [], clusterDomain, problems);
  // A namespace-wide use-waypoint label that names nothing usable: said once, on the Namespace.
  for (const [ns, labels] of namespaceLabels) {
    const why = namespaceWaypointProblem(waypoints, ns, labels);
    if (why) problems.report('Namespace', ns, why);
  }
  const mtls = indexPeerAuthentications(input.peerAuthentications, rootNamespace, problems);

  const workloads = new Map<string, { workload: Workload; pod: V1Pod }>();
  for (const pod of byKey(input.pods)) {
    if (!isPodLive(pod)) continue;
    const key = objectKey(pod?.metadata);
    const workload = isolated(problems, 'Pod', key, () =>
      translatePod(pod, {
        trustDomain,
        namespaceLabels: labelsOf,
        waypoints,
        mtlsMode: (ns, labels) => mtls.modeFor(ns, labels),
        mtlsPorts: (ns, labels) => mtls.portModesFor(ns, labels),
        remark: (m) => problems.report('Pod', key, m),
      }),
    );
    if (!workload) continue;
    const other = workloads.get(workload.uid);
    if (other) {
      problems.report('Pod', key, `metadata.uid ${workload.uid} is also the uid of pod ${other.workload.namespace}/${other.workload.name}; left out`);
      continue;
    }
    if (emit('Pod', key, { kind: 'Workload', key: workload.uid, body: workload })) workloads.set(workload.uid, { workload, pod });
  }

  const slices = indexSlices(input.endpointSlices, problems);
  const serviceKeys = new Set<string>();
  const servicesByName = new Map<string, MeshService>();
  for (const svc of byKey(input.services)) {
    if (!isServiceTranslated(svc)) continue;
    const key = objectKey(svc?.metadata);
    const service = isolated(problems, 'Service', key, () =>
      translateService(svc, { clusterDomain, namespaceLabels: labelsOf, waypoints, workloads, slices, remark: (m) => problems.report('Service', key, m) }),
    );
    if (service && emit('Service', key, { kind: 'Service', key: service.key, body: service })) {
      serviceKeys.add(service.key);
      servicesByName.set(`${service.namespace}/${service.name}`, service);
    }
  }

  for (const w of waypoints.byKey.values()) {
    if (w.ref && !serviceKeys.has(waypointServiceKey(w.namespace, w.name, clusterDomain))) {
      problems.report('Gateway', `${w.namespace}/${w.name}`, `its Service ${w.namespace}/${w.name} does not exist (yet): traffic sent to this waypoint fails until it does`);
    }
  }

  const policyStatuses = translateAuthorizationPolicies(byKey(input.authorizationPolicies ?? []), { rootNamespace, services: servicesByName, waypoints, problems, emit });

  const routeStatuses = translateRoutes(byKey(input.httpRoutes ?? []), byKey(input.grpcRoutes ?? []), {
    service: (k) => servicesByName.get(k),
    grants: indexReferenceGrants(input.referenceGrants ?? []),
    problems,
    emit,
  });

  // RequestAuthentications: each on its own (it reads no other object), for waypoints; each with its status.
  const requestAuthnStatuses: PolicyStatus[] = [];
  for (const ra of byKey(input.requestAuthentications ?? [])) {
    const status = translateRequestAuthentication(ra, problems, emit);
    if (status) requestAuthnStatuses.push(status);
  }
  requestAuthnStatuses.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));

  // TrafficPolicies: each compiled alone, then resolved together (targets, conflicts).
  const trafficPolicyStatuses = translateTrafficPolicies((input.trafficPolicies ?? []).map(compileTrafficPolicyObject), { service: (k) => servicesByName.get(k), problems, emit });

  resources.sort(compareResources);
  return { resources, problems: problems.sorted(), policyStatuses, routeStatuses, trafficPolicyStatuses, requestAuthnStatuses };
}
