// Incremental translation: after any sequence of object changes its result is exactly
// translate()'s on the same objects (translate() is the reference), its delta is exactly the
// difference, and a change costs the translation of the changed object and of what reads
// it, counted by the translator itself (never timed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { resourceId, type Resource } from '../../core/config/model.js';
import { IncrementalTranslation, OBJECT_KINDS, type ObjectKind, type TranslationCounts } from './incremental.js';
import type { AuthorizationPolicy, ClusterState, Gateway, PeerAuthentication, ReferenceGrantObject, RequestAuthentication, RouteObject, TrafficPolicyObject } from './input.js';
import { endpointSlice, namespace, peerAuthentication, pod, referenceGrant, route, service, TD, waypointGateway } from './fixtures.js';
import { translate } from './translate.js';

type Obj = { metadata?: { name?: string; namespace?: string } };
const keyOf = (o: Obj) => (o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata!.name!);

/** A mutable cluster: objects by kind and key, as an informer holds them. */
class Cluster {
  readonly objects = new Map<ObjectKind, Map<string, unknown>>(OBJECT_KINDS.map((k) => [k, new Map()]));
  readonly tr = new IncrementalTranslation({ trustDomain: TD });
  put(kind: ObjectKind, o: Obj): void {
    this.objects.get(kind)!.set(keyOf(o), o);
    this.tr.set(kind, keyOf(o), o);
  }
  del(kind: ObjectKind, key: string): void {
    this.objects.get(kind)!.delete(key);
    this.tr.set(kind, key, undefined);
  }
  state(): ClusterState {
    const list = <T>(k: ObjectKind) => [...this.objects.get(k)!.values()] as T[];
    return {
      namespaces: list<V1Namespace>('namespaces'),
      pods: list<V1Pod>('pods'),
      services: list<V1Service>('services'),
      endpointSlices: list<V1EndpointSlice>('endpointSlices'),
      peerAuthentications: list<PeerAuthentication>('peerAuthentications'),
      authorizationPolicies: list<AuthorizationPolicy>('authorizationPolicies'),
      gateways: list<Gateway>('gateways'),
      httpRoutes: list<RouteObject>('httpRoutes'),
      grpcRoutes: list<RouteObject>('grpcRoutes'),
      referenceGrants: list<ReferenceGrantObject>('referenceGrants'),
      requestAuthentications: list<RequestAuthentication>('requestAuthentications'),
      trafficPolicies: list<TrafficPolicyObject>('trafficPolicies'),
    };
  }
}

function ap(name: string, ns: string, spec: unknown): AuthorizationPolicy {
  return { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: ns, generation: 1 }, spec };
}

/** Flushes and checks the result against translate() and the delta against the previous resources. */
function check(c: Cluster, step: string): void {
  const before = new Map(c.tr.resources().map((r) => [resourceId(r.kind, r.key), JSON.stringify(r.body)]));
  const delta = c.tr.flush();
  const want = translate(c.state(), { trustDomain: TD });
  const got = c.tr.result();
  assert.deepEqual(got.resources, want.resources, `${step}: resources`);
  assert.deepEqual(got.problems, want.problems, `${step}: problems`);
  assert.deepEqual(got.policyStatuses, want.policyStatuses, `${step}: policy statuses`);
  assert.deepEqual(got.routeStatuses, want.routeStatuses, `${step}: route statuses`);
  assert.deepEqual(got.trafficPolicyStatuses, want.trafficPolicyStatuses, `${step}: traffic policy statuses`);
  assert.deepEqual(got.requestAuthnStatuses, want.requestAuthnStatuses, `${step}: request authentication statuses`);
  const after = new Map(before);
  for (const r of delta.removes) after.delete(resourceId(r.kind, r.key));
  for (const r of delta.upserts) after.set(resourceId(r.kind, r.key), JSON.stringify(r.body));
  assert.deepEqual(after, new Map(want.resources.map((r) => [resourceId(r.kind, r.key), JSON.stringify(r.body)])), `${step}: the delta leads to the result`);
  for (const r of delta.upserts) assert.notEqual(before.get(resourceId(r.kind, r.key)), JSON.stringify(r.body), `${step}: ${r.kind} ${r.key} sent unchanged`);
}

/** A seeded generator: the same sequence on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('incremental_translation_matches_translate_after_every_random_change', () => {
  const c = new Cluster();
  const rand = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const NS = ['shop', 'bank', 'ambient-system'];
  const APPS = ['web', 'db', 'api'];
  for (const ns of NS) c.put('namespaces', namespace(ns));
  for (let i = 0; i < 12; i++) {
    const ns = NS[i % 3]!;
    c.put('pods', pod(`p${i}`, { ns, labels: { app: APPS[i % 3]! }, ports: [{ name: 'http', containerPort: 8000 + i }] }));
  }
  c.put('services', service('web', { ns: 'shop', ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
  check(c, 'load');

  const actions: Array<() => string> = [
    () => {
      const i = Math.floor(rand() * 16);
      const ns = pick(NS);
      const o: Parameters<typeof pod>[1] = { ns, labels: { app: pick(APPS), v: String(Math.floor(rand() * 3)) }, ports: [{ name: 'http', containerPort: 8000 + i }] };
      if (rand() < 0.15) o.uid = 'shared-uid'; // two pods with one uid: the first by key wins
      if (rand() < 0.1) o.phase = 'Succeeded';
      if (rand() < 0.1) {
        o.labels!['ambient.dev/use-waypoint'] = pick(['wp', 'none', 'missing']);
        if (rand() < 0.5) o.labels!['ambient.dev/use-waypoint-namespace'] = pick(NS);
      }
      if (rand() < 0.1) o.labels!['gateway.networking.k8s.io/gateway-name'] = 'wp';
      if (rand() < 0.05) o.ips = ['not-an-ip'];
      c.put('pods', pod(`p${i}`, o));
      return `pod ${ns}/p${i}`;
    },
    () => {
      const ns = pick(NS);
      const keys = [...c.objects.get('pods')!.keys()].filter((k) => k.startsWith(`${ns}/`));
      if (keys.length === 0) return 'no pod to delete';
      const k = pick(keys);
      c.del('pods', k);
      return `delete pod ${k}`;
    },
    () => {
      const ns = pick(NS);
      const labels: Record<string, string> = {};
      if (rand() < 0.5) labels['ambient.dev/dataplane-mode'] = pick(['ambient', 'none', 'bogus']);
      if (rand() < 0.5) labels['team'] = pick(['a', 'b']);
      if (rand() < 0.4) {
        labels['ambient.dev/use-waypoint'] = pick(['wp', 'none', 'missing']);
        if (rand() < 0.5) labels['ambient.dev/use-waypoint-namespace'] = pick(NS);
      }
      if (rand() < 0.1) c.del('namespaces', ns);
      else c.put('namespaces', namespace(ns, labels));
      return `namespace ${ns} ${JSON.stringify(labels)}`;
    },
    () => {
      const ns = pick(NS);
      if (rand() < 0.3) {
        c.del('gateways', `${ns}/wp`);
        return `delete gateway ${ns}/wp`;
      }
      const o: Parameters<typeof waypointGateway>[2] = { waypointFor: pick(['service', 'workload', 'all', 'bogus']) };
      if (rand() < 0.2) o.listeners = [{ name: 'x', port: 80, protocol: 'HTTP' }];
      // Who may use it: unset (Same), All, a selector on the namespaces' team label, or malformed.
      const allowed = pick<unknown>([undefined, { from: 'Same' }, { from: 'All' }, { from: 'Selector', selector: { matchLabels: { team: pick(['a', 'b']) } } }, { from: 'Selector', selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] } }, { from: 'Selector' }, { from: 'Everyone' }]);
      if (allowed !== undefined) o.allowedNamespaces = allowed;
      c.put('gateways', waypointGateway('wp', ns, o));
      return `gateway ${ns}/wp`;
    },
    () => {
      const ns = pick(NS);
      const name = pick(['web', 'wp', 'db']);
      if (rand() < 0.25) {
        c.del('services', `${ns}/${name}`);
        return `delete service ${ns}/${name}`;
      }
      const labels: Record<string, string> = rand() < 0.3 ? { 'ambient.dev/use-waypoint': pick(['wp', 'none', 'missing']) } : {};
      if (labels['ambient.dev/use-waypoint'] !== undefined && rand() < 0.5) labels['ambient.dev/use-waypoint-namespace'] = pick(NS);
      const o: Parameters<typeof service>[1] = { ns, labels, clusterIP: `10.96.0.${1 + Math.floor(rand() * 20)}`, ports: [{ name: 'http', port: 80, targetPort: pick([8080, 'http']) }] };
      if (rand() < 0.1) o.clusterIP = 'bogus';
      if (rand() < 0.1) o.type = 'ExternalName';
      c.put('services', service(name, o));
      return `service ${ns}/${name}`;
    },
    () => {
      const ns = pick(NS);
      const svc = pick(['web', 'wp', 'db']);
      const podKeys = [...c.objects.get('pods')!.values()] as V1Pod[];
      const eps = podKeys.filter(() => rand() < 0.4).map((p) => ({ uid: p.metadata!.uid!, ready: rand() < 0.8 }));
      if (rand() < 0.2) {
        c.del('endpointSlices', `${ns}/${svc}-${pick(['a', 'b'])}`);
        return `delete slice of ${ns}/${svc}`;
      }
      c.put('endpointSlices', endpointSlice(svc, eps, { ns, name: `${svc}-${pick(['a', 'b'])}` }));
      return `slice of ${ns}/${svc} (${eps.length})`;
    },
    () => {
      const ns = pick(NS);
      const name = pick(['pa1', 'pa2']);
      if (rand() < 0.2) {
        c.del('peerAuthentications', `${ns}/${name}`);
        return `delete peer authentication ${ns}/${name}`;
      }
      const o: Parameters<typeof peerAuthentication>[3] = rand() < 0.5 ? { selector: { app: pick(APPS) } } : {};
      if (o.selector && rand() < 0.5) o.portLevelMtls = { '8001': { mode: pick(['STRICT', 'PERMISSIVE']) } };
      c.put('peerAuthentications', peerAuthentication(name, ns, pick(['STRICT', 'PERMISSIVE', 'UNSET', 'DISABLE', 'strict']), o));
      return `peer authentication ${ns}/${name}`;
    },
    () => {
      const ns = pick(NS);
      const name = pick(['ap1', 'ap2']);
      if (rand() < 0.2) {
        c.del('authorizationPolicies', `${ns}/${name}`);
        return `delete authorization policy ${ns}/${name}`;
      }
      const spec = pick<unknown>([
        { selector: { matchLabels: { app: pick(APPS) } }, action: 'DENY', rules: [{ from: [{ source: { principals: ['x'] } }] }] },
        { targetRefs: [{ kind: 'Service', name: pick(['web', 'wp', 'db']) }], rules: [{ to: [{ operation: { methods: ['GET'] } }] }] },
        { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }] },
        { action: 'ALLOW', rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] },
        {},
      ]);
      c.put('authorizationPolicies', ap(name, ns, spec));
      return `authorization policy ${ns}/${name}`;
    },
    () => {
      const ns = pick(NS);
      const kind = rand() < 0.7 ? 'httpRoutes' : 'grpcRoutes';
      const name = pick(['r1', 'r2']);
      if (rand() < 0.2) {
        c.del(kind, `${ns}/${name}`);
        return `delete ${kind} ${ns}/${name}`;
      }
      const backendNs = pick([undefined, ...NS]);
      const spec = pick<unknown>([
        { parentRefs: [{ group: '', kind: 'Service', name: pick(['web', 'db']), ...(rand() < 0.3 ? { namespace: pick(NS) } : {}), ...(rand() < 0.3 ? { port: pick([80, 81]) } : {}) }], rules: [{ backendRefs: [{ name: pick(['web', 'db', 'wp']), port: 80, ...(backendNs ? { namespace: backendNs } : {}) }] }] },
        { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'db', namespace: pick(NS), port: 80 } } }] }, { matches: [{ path: { value: 'bad' } }] }] },
        { parentRefs: [{ name: 'some-gateway' }] },
        { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], hostnames: ['Bad Host'] },
      ]);
      c.put(kind, route(name, spec, { ns, kind: kind === 'httpRoutes' ? 'HTTPRoute' : 'GRPCRoute', generation: 1 + Math.floor(rand() * 3) }));
      return `${kind} ${ns}/${name}`;
    },
    () => {
      const ns = pick(NS);
      if (rand() < 0.3) {
        c.del('referenceGrants', `${ns}/g`);
        return `delete grant ${ns}/g`;
      }
      c.put('referenceGrants', referenceGrant('g', ns, pick(NS), { fromKind: pick(['HTTPRoute', 'GRPCRoute']), ...(rand() < 0.5 ? { toName: pick(['web', 'db']) } : {}) }));
      return `grant ${ns}/g`;
    },
    () => {
      const ns = pick(NS);
      const name = pick(['ra1', 'ra2']);
      if (rand() < 0.2) {
        c.del('requestAuthentications', `${ns}/${name}`);
        return `delete request authentication ${ns}/${name}`;
      }
      const spec = pick<unknown>([
        { targetRefs: [{ group: '', kind: 'Service', name: pick(['web', 'db']) }], jwtRules: [{ issuer: pick(['a', 'b']), jwksUri: 'https://keys.example/jwks' }] },
        { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }], jwtRules: [{ issuer: 'a', jwksUri: 'http://keys.example/jwks' }] },
        { jwtRules: [{ issuer: 'a', jwksUri: 'https://keys.example/jwks' }] },
        { targetRefs: [{ group: '', kind: 'Service', name: 'web' }], jwtRules: [{ issuer: 'a', jwksUri: 'ftp://x' }] },
        { bogus: true },
      ]);
      c.put('requestAuthentications', { apiVersion: 'ambient.dev/v1', kind: 'RequestAuthentication', metadata: { name, namespace: ns, generation: 1 + Math.floor(rand() * 3) }, spec } as RequestAuthentication);
      return `request authentication ${ns}/${name}`;
    },
  ];
  for (let step = 0; step < 400; step++) {
    const n = 1 + Math.floor(rand() * 3); // several changes may land in one flush
    const did: string[] = [];
    for (let j = 0; j < n; j++) did.push(pick(actions)());
    check(c, `step ${step}: ${did.join('; ')}`);
  }
});

/** 1000 pods in 10 namespaces, 100 Services each with one slice of its 10 pods. */
function bigCluster(): Cluster {
  const c = new Cluster();
  for (let n = 0; n < 10; n++) c.put('namespaces', namespace(`ns${n}`, { 'ambient.dev/dataplane-mode': 'ambient' }));
  for (let s = 0; s < 100; s++) {
    const ns = `ns${s % 10}`;
    c.put('services', service(`svc${s}`, { ns, clusterIP: `10.96.${Math.floor(s / 200)}.${(s % 200) + 1}`, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
    const uids: Array<{ uid: string }> = [];
    for (let p = 0; p < 10; p++) {
      const name = `pod-${s}-${p}`;
      c.put('pods', pod(name, { ns, labels: { app: `svc${s}` }, node: `node${p % 5}`, ports: [{ name: 'http', containerPort: 8080 }] }));
      uids.push({ uid: `uid-${ns}-${name}` });
    }
    c.put('endpointSlices', endpointSlice(`svc${s}`, uids, { ns }));
  }
  check(c, 'load');
  return c;
}

function countsSince(c: Cluster, before: TranslationCounts): Record<string, number> {
  const now = c.tr.counts;
  return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - before[k as keyof TranslationCounts]]).filter(([, v]) => v !== 0));
}

test('a_pod_label_change_among_1000_translates_that_pod_and_its_service_only', () => {
  const c = bigCluster();
  const before = { ...c.tr.counts };
  const p = c.objects.get('pods')!.get('ns3/pod-13-4') as V1Pod;
  c.put('pods', { ...p, metadata: { ...p.metadata, labels: { app: 'svc13', version: 'v2' } } } as Obj);
  const delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), { pods: 1, services: 1 });
  assert.deepEqual(delta.upserts.map((r) => resourceId(r.kind, r.key)), ['Workload/uid-ns3-pod-13-4'], 'the Service did not change: only the Workload is pushed');
  assert.deepEqual(delta.removes, []);
  assert.deepEqual((delta.upserts[0] as Resource<'Workload'>).body.labels, { app: 'svc13', version: 'v2' });
});

test('a_pod_added_among_1000_translates_one_pod_and_no_service_until_a_slice_names_it', () => {
  const c = bigCluster();
  let before = { ...c.tr.counts };
  c.put('pods', pod('new', { ns: 'ns5', labels: { app: 'svc15' }, ports: [{ name: 'http', containerPort: 8080 }] }));
  let delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), { pods: 1 });
  assert.deepEqual(delta.upserts.map((r) => resourceId(r.kind, r.key)), ['Workload/uid-ns5-new']);
  // The EndpointSlice controller adds it to its Service: that slice and that Service only.
  before = { ...c.tr.counts };
  const uids = Array.from({ length: 10 }, (_, p) => ({ uid: `uid-ns5-pod-15-${p}` }));
  c.put('endpointSlices', endpointSlice('svc15', [...uids, { uid: 'uid-ns5-new' }], { ns: 'ns5' }));
  delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), { endpointSlices: 1, services: 1 });
  assert.deepEqual(delta.upserts.map((r) => resourceId(r.kind, r.key)), ['Service/ns5/svc15.ns5.svc.cluster.local']);
  check(c, 'after');
});

test('a_service_added_among_1000_pods_translates_that_service_only', () => {
  const c = bigCluster();
  const before = { ...c.tr.counts };
  c.put('services', service('extra', { ns: 'ns1', clusterIP: '10.96.9.9' }));
  const delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), { services: 1 });
  assert.deepEqual(delta.upserts.map((r) => resourceId(r.kind, r.key)), ['Service/ns1/extra.ns1.svc.cluster.local']);
});

test('a_namespace_label_change_translates_that_namespaces_pods_and_services_only', () => {
  const c = bigCluster();
  const before = { ...c.tr.counts };
  c.put('namespaces', namespace('ns7'));
  const delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), { namespaces: 1, pods: 100, services: 10 });
  assert.equal(delta.upserts.length, 100, 'the 100 Workloads of ns7 left the mesh (protocol TCP); its Services are unchanged');
  assert.ok(delta.upserts.every((r) => r.kind === 'Workload' && (r.body as { namespace: string }).namespace === 'ns7'));
  check(c, 'after');
});

test('a_waypoint_gateway_change_translates_only_its_namespace', () => {
  const c = bigCluster();
  const before = { ...c.tr.counts };
  c.put('gateways', waypointGateway('wp', 'ns2'));
  c.tr.flush();
  assert.deepEqual(countsSince(c, before), { gatewayIndexes: 1, pods: 100, services: 10 });
  check(c, 'after');
});

test('a_peer_authentication_in_a_namespace_translates_its_pods_and_in_the_root_namespace_every_pod', () => {
  const c = bigCluster();
  let before = { ...c.tr.counts };
  c.put('peerAuthentications', peerAuthentication('strict', 'ns4', 'STRICT'));
  let delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), { peerAuthenticationIndexes: 1, pods: 100, services: 10 });
  assert.equal(delta.upserts.length, 100);
  before = { ...c.tr.counts };
  c.put('peerAuthentications', peerAuthentication('mesh', 'ambient-system', 'STRICT'));
  delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), { peerAuthenticationIndexes: 1, pods: 1000, services: 100 });
  assert.equal(delta.upserts.length, 900, 'ns4 was STRICT already');
  check(c, 'after');
});

test('nothing_changed_translates_nothing_and_pushes_nothing', () => {
  const c = bigCluster();
  const before = { ...c.tr.counts };
  const delta = c.tr.flush();
  assert.deepEqual(countsSince(c, before), {});
  assert.deepEqual(delta, { upserts: [], removes: [], problemsChanged: false, statusesChanged: false, routeStatusesChanged: false, trafficPolicyStatusesChanged: false, requestAuthnStatusesChanged: false });
});

test('a_route_compiles_when_its_service_appears_and_leaves_when_it_goes', () => {
  const c = new Cluster();
  c.put('namespaces', namespace('shop'));
  c.put('httpRoutes', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }, { ns: 'shop' }));
  check(c, 'route before its Service');
  assert.equal(c.tr.resources().some((r) => r.kind === 'Route'), false);
  assert.equal(c.tr.routeStatuses()[0]?.parents[0]?.conditions[0]?.reason, 'NoMatchingParent');
  c.put('services', service('web', { ns: 'shop' }));
  check(c, 'Service appears');
  assert.deepEqual(c.tr.resources().filter((r) => r.kind === 'Route').map((r) => r.key), ['shop/HTTPRoute/r']);
  c.del('services', 'shop/web');
  check(c, 'Service gone');
  assert.equal(c.tr.resources().some((r) => r.kind === 'Route'), false);
});

test('a_grant_appearing_resolves_the_cross_namespace_backend', () => {
  const c = new Cluster();
  for (const ns of ['shop', 'data']) c.put('namespaces', namespace(ns));
  c.put('services', service('web', { ns: 'shop' }));
  c.put('services', service('db', { ns: 'data', clusterIP: '10.96.0.11' }));
  c.put('httpRoutes', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ backendRefs: [{ name: 'db', namespace: 'data', port: 80 }] }] }, { ns: 'shop' }));
  check(c, 'no grant');
  const refs = () => c.tr.routeStatuses()[0]?.parents[0]?.conditions.find((x) => x.type === 'ResolvedRefs');
  assert.equal(refs()?.reason, 'RefNotPermitted');
  c.put('referenceGrants', referenceGrant('g', 'data', 'shop'));
  const delta = c.tr.flush();
  assert.equal(delta.routeStatusesChanged, true);
  assert.equal(refs()?.status, 'True');
  c.del('referenceGrants', 'data/g');
  check(c, 'grant gone');
  assert.equal(refs()?.reason, 'RefNotPermitted');
});

test('endpoint_churn_does_not_recompile_routes', () => {
  const c = bigCluster();
  c.put('httpRoutes', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'svc13' }], rules: [{ backendRefs: [{ name: 'svc13', port: 80 }] }] }, { ns: 'ns3' }));
  check(c, 'route');
  const before = { ...c.tr.counts };
  c.put('endpointSlices', endpointSlice('svc13', [{ uid: 'uid-ns3-pod-13-0' }], { ns: 'ns3' }));
  c.tr.flush();
  assert.deepEqual(countsSince(c, before), { endpointSlices: 1, services: 1 });
  const before2 = { ...c.tr.counts };
  c.put('services', service('svc13', { ns: 'ns3', clusterIP: '10.96.0.14', ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'admin', port: 9000 }] }));
  c.tr.flush();
  assert.deepEqual(countsSince(c, before2), { services: 1, routes: 1 });
});

test('a_waypoint_changing_in_another_namespace_rebinds_what_names_it_with_use_waypoint_namespace', () => {
  const c = new Cluster();
  c.put('namespaces', namespace('shop'));
  c.put('namespaces', namespace('bank', { 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra' }));
  c.put('namespaces', namespace('infra'));
  c.put('namespaces', namespace('quiet'));
  c.put('pods', pod('web', { ns: 'shop', labels: { app: 'web', 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra' } }));
  c.put('pods', pod('teller', { ns: 'bank', labels: { app: 'teller' } }));
  c.put('pods', pod('other', { ns: 'quiet', labels: { app: 'other' } }));
  c.put('services', service('web', { ns: 'shop', labels: { 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra' } }));
  c.put('services', service('teller', { ns: 'bank' }));
  c.put('services', service('other', { ns: 'quiet' }));
  c.put('services', service('shared', { ns: 'infra', clusterIP: '10.96.0.50' }));
  check(c, 'load without the waypoint');
  const waypointOf = (kind: 'Workload' | 'Service', name: string) =>
    (c.tr.resources().find((r) => r.kind === kind && (r.body as { name?: string }).name === name)?.body as { waypoint?: unknown } | undefined)?.waypoint;
  assert.equal(waypointOf('Service', 'web'), undefined);

  const counts = { ...c.tr.counts };
  c.put('gateways', waypointGateway('shared', 'infra', { waypointFor: 'all', allowedNamespaces: { from: 'All' } }));
  check(c, 'the waypoint appears in infra');
  assert.deepEqual(waypointOf('Service', 'web'), { service: 'infra/shared.infra.svc.cluster.local', port: 15008 });
  assert.deepEqual(waypointOf('Workload', 'web'), { service: 'infra/shared.infra.svc.cluster.local', port: 15008 });
  assert.deepEqual(waypointOf('Service', 'teller'), { service: 'infra/shared.infra.svc.cluster.local', port: 15008 });
  // Only what names infra's waypoints (and infra itself) was translated again, not the quiet namespace.
  const quietPods = c.tr.counts.pods - counts.pods;
  assert.ok(quietPods <= 2, `pods translated: ${quietPods} (web and teller)`);

  c.put('gateways', waypointGateway('shared', 'infra', { waypointFor: 'service', allowedNamespaces: { from: 'All' } }));
  check(c, 'the waypoint takes service traffic only');
  assert.equal(waypointOf('Workload', 'web'), undefined);
  c.del('gateways', 'infra/shared');
  check(c, 'the waypoint is deleted');
  assert.equal(waypointOf('Service', 'web'), undefined);
  c.put('services', service('web', { ns: 'shop' }));
  c.put('gateways', waypointGateway('shared', 'infra', { waypointFor: 'all', allowedNamespaces: { from: 'All' } }));
  check(c, 'the Service no longer names it');
  assert.equal(waypointOf('Service', 'web'), undefined);
});

function trafficPolicy(name: string, spec: unknown, created: string): TrafficPolicyObject {
  return { apiVersion: 'ambient.dev/v1', kind: 'TrafficPolicy', metadata: { name, namespace: 'shop', generation: 1, creationTimestamp: created as unknown as Date }, spec };
}

test('incremental_traffic_policies_follow_policies_and_the_ports_of_their_services', () => {
  const c = new Cluster();
  c.put('namespaces', namespace('shop'));
  c.put('services', service('echo', { ns: 'shop', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
  c.put('trafficPolicies', trafficPolicy('grpc', { targetRefs: [{ kind: 'Service', name: 'echo', sectionName: 'grpc' }] }, '2026-01-01T00:00:00Z'));
  check(c, 'a sectionName naming no port');
  assert.equal(c.tr.trafficPolicyStatuses()[0]?.conditions[0]?.reason, 'Invalid');
  c.put('services', service('echo', { ns: 'shop', ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'grpc', port: 9090, targetPort: 9090 }] }));
  const delta = c.tr.flush();
  assert.equal(delta.trafficPolicyStatusesChanged, true);
  assert.deepEqual(delta.upserts.filter((r) => r.kind === 'TrafficPolicy').map((r) => r.key), ['shop/grpc']);
  check(c, 'the port appears');
  c.put('trafficPolicies', trafficPolicy('older', { targetRefs: [{ kind: 'Service', name: 'echo', sectionName: 'grpc' }] }, '2025-01-01T00:00:00Z'));
  check(c, 'an older policy takes the port');
  assert.equal(c.tr.trafficPolicyStatuses().find((s) => s.name === 'grpc')?.conditions.find((x) => x.type === 'Conflicted')?.status, 'True');
  c.del('trafficPolicies', 'shop/older');
  check(c, 'the older one is deleted');
  c.put('trafficPolicies', trafficPolicy('grpc', { targetRefs: [{ kind: 'Service', name: 'echo' }], retries: { attempts: 'x' } }, '2026-01-01T00:00:00Z'));
  check(c, 'the policy becomes malformed');
  c.del('services', 'shop/echo');
  check(c, 'the Service is deleted');
  c.put('services', service('other', { ns: 'default' }));
  assert.equal(c.tr.flush().trafficPolicyStatusesChanged, false, 'a Service of another namespace does not resolve them again');
});

test('a_waypoint_consent_change_or_a_namespace_label_change_rebinds_what_names_it_from_another_namespace', () => {
  const c = new Cluster();
  c.put('namespaces', namespace('shop', { team: 'web' }));
  c.put('namespaces', namespace('bank', { 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra', team: 'money' }));
  c.put('namespaces', namespace('infra'));
  c.put('pods', pod('teller', { ns: 'bank', labels: { app: 'teller' } }));
  c.put('services', service('web', { ns: 'shop', labels: { 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra' } }));
  c.put('services', service('teller', { ns: 'bank' }));
  c.put('services', service('shared', { ns: 'infra', clusterIP: '10.96.0.50' }));
  c.put('gateways', waypointGateway('shared', 'infra', { waypointFor: 'all' }));
  check(c, 'default Same: nobody outside infra');
  const waypointOf = (kind: 'Workload' | 'Service', name: string) =>
    (c.tr.resources().find((r) => r.kind === kind && (r.body as { name?: string }).name === name)?.body as { waypoint?: unknown } | undefined)?.waypoint;
  const SHARED = { service: 'infra/shared.infra.svc.cluster.local', port: 15008 };
  const problemKeys = () => c.tr.problems().filter((p) => /does not allow namespace/.test(p.message)).map((p) => `${p.kind} ${p.key}`);
  assert.equal(waypointOf('Service', 'web'), undefined);
  assert.equal(waypointOf('Service', 'teller'), undefined);
  assert.deepEqual(problemKeys(), ['Namespace bank', 'Service shop/web']);

  c.put('gateways', waypointGateway('shared', 'infra', { waypointFor: 'all', allowedNamespaces: { from: 'Selector', selector: { matchLabels: { team: 'web' } } } }));
  check(c, 'the owner allows team=web');
  assert.deepEqual(waypointOf('Service', 'web'), SHARED);
  assert.equal(waypointOf('Service', 'teller'), undefined);
  assert.deepEqual(problemKeys(), ['Namespace bank']);

  const before = { ...c.tr.counts };
  c.put('namespaces', namespace('bank', { 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra', team: 'web' }));
  check(c, 'bank is relabelled team=web');
  assert.deepEqual(waypointOf('Service', 'teller'), SHARED);
  assert.deepEqual(waypointOf('Workload', 'teller'), SHARED);
  assert.deepEqual(problemKeys(), []);
  assert.deepEqual(countsSince(c, before), { namespaces: 1, pods: 1, services: 1 }, 'only bank was translated again');

  c.put('namespaces', namespace('shop', { team: 'other' }));
  check(c, 'shop is relabelled away from the selector');
  assert.equal(waypointOf('Service', 'web'), undefined);
  assert.deepEqual(problemKeys(), ['Service shop/web']);

  c.put('gateways', waypointGateway('shared', 'infra', { waypointFor: 'all', allowedNamespaces: { from: 'All' } }));
  check(c, 'the owner allows all');
  assert.deepEqual(waypointOf('Service', 'web'), SHARED);

  c.put('gateways', waypointGateway('shared', 'infra', { waypointFor: 'all', allowedNamespaces: { from: 'Selector' } }));
  check(c, 'a malformed consent falls back to Same');
  assert.equal(waypointOf('Service', 'web'), undefined);
  assert.equal(waypointOf('Service', 'teller'), undefined);
  assert.ok(c.tr.problems().some((p) => p.kind === 'Gateway' && p.key === 'infra/shared' && /selector is not set/.test(p.message)));
});
