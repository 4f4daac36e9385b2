// Shared by the waypoint's observe tests: a client in "apps" calling the reviews Service in
// "shop" through the waypoint, and request records between them.
import type { MeshService, Workload } from '../../core/config/model.js';
import type { LabelState } from './request-labels.js';
import type { RequestRecord } from './request-record.js';

function workload(name: string, over: Partial<Workload>): Workload {
  return {
    uid: `uid-${name}`,
    name,
    namespace: 'default',
    serviceAccount: name,
    identity: `spiffe://cluster.local/ns/${over.namespace ?? 'default'}/sa/${over.serviceAccount ?? name}`,
    node: 'node1',
    ips: [],
    protocol: 'HBONE',
    labels: {},
    canonicalName: name,
    canonicalRevision: 'latest',
    mtlsMode: 'PERMISSIVE',
    healthy: true,
    ...over,
  };
}

export const client = workload('sleep-7d9f', { namespace: 'apps', serviceAccount: 'sleep', ips: ['10.244.1.5'], labels: { app: 'sleep', version: 'v1' }, canonicalName: 'sleep', canonicalRevision: 'v1' });
export const backend = workload('reviews-v2-abc', { namespace: 'shop', serviceAccount: 'reviews', ips: ['10.244.2.7'], labels: { app: 'reviews', version: 'v2' }, canonicalName: 'reviews', canonicalRevision: 'v2' });
export const reviews: MeshService = {
  key: 'shop/reviews.shop.svc.cluster.local',
  name: 'reviews',
  namespace: 'shop',
  hostname: 'reviews.shop.svc.cluster.local',
  vips: ['10.96.0.10'],
  ports: [{ port: 9080, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }],
  endpoints: [{ workloadUid: backend.uid, ports: {}, healthy: true }],
};

export function stateOf(workloads: Workload[], services: MeshService[]): LabelState {
  const w = new Map(workloads.map((x) => [x.uid, x]));
  const s = new Map(services.map((x) => [x.key, x]));
  return { workloadByUid: (uid) => w.get(uid), serviceByKey: (key) => s.get(key) };
}

export const state = stateOf([client, backend], [reviews]);

/** A GET from the client to reviews, answered 200 by reviews-v2; `over` says what the case is about. */
export function getReviews(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    startedAt: 1_700_000_000_000,
    durationMs: 12,
    method: 'GET',
    authority: 'reviews.shop.svc.cluster.local:9080',
    path: '/reviews/1?x=2',
    scheme: 'http',
    httpVersion: '1.1',
    protocol: 'http',
    sourceIdentity: client.identity,
    sourceWorkload: client.uid,
    sourceAddress: { ip: '10.244.1.5', port: 40000 },
    destinationService: reviews.key,
    destinationWorkload: backend.uid,
    destinationIdentity: backend.identity,
    upstream: { ip: '10.244.2.7', port: 8080 },
    route: 'shop/HTTPRoute/reviews',
    rule: 'v2',
    status: 200,
    responseFlags: [],
    requestBytes: 0,
    responseBytes: 1500,
    mtls: true,
    ...over,
  };
}
