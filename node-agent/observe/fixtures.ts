// Shared by the observe tests: a client in "apps" calling the reviews Service in "shop",
// and connection records between them.
import { endpoint, service, stateOf, tcpPort, workload } from '../proxy/fixtures.js';
import type { ConnectionRecord } from '../proxy/record.js';

export const client = workload('sleep', {
  namespace: 'apps',
  ips: ['10.244.1.5'],
  labels: { app: 'sleep', version: 'v1' },
  canonicalName: 'sleep',
  canonicalRevision: 'v1',
});
export const server = workload('reviews-v2-abc', {
  namespace: 'shop',
  serviceAccount: 'reviews',
  ips: ['10.244.2.7'],
  labels: { app: 'reviews' },
  canonicalName: 'reviews',
  canonicalRevision: 'v2',
});
export const reviews = service('reviews', { namespace: 'shop', vips: ['10.96.0.10'], ports: [tcpPort(9080, 8080)], endpoints: [endpoint(server)] });
export const state = stateOf([client, server, reviews]);

/** A record with neutral defaults; `over` says what the case is about. */
export function connectionRecord(over: Partial<ConnectionRecord>): ConnectionRecord {
  return {
    direction: 'outbound',
    reporter: 'source',
    plan: 'hbone',
    mtls: false,
    bytesSent: 0,
    bytesReceived: 0,
    startedAt: new Date(0),
    durationMs: 12,
    ...over,
  };
}

/** The source agent's record of client -> reviews over HBONE. */
export function outboundToReviews(over: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return connectionRecord({
    plan: 'hbone',
    via: 'endpoint',
    sourceWorkload: client.uid,
    sourceIdentity: client.identity,
    destinationWorkload: server.uid,
    destinationIdentity: server.identity,
    service: reviews.key,
    client: { ip: '10.244.1.5', port: 40000 },
    originalDst: { ip: '10.96.0.10', port: 9080 },
    upstream: { ip: '10.244.2.7', port: 15008 },
    mtls: true,
    bytesSent: 100,
    bytesReceived: 2048,
    ...over,
  });
}
