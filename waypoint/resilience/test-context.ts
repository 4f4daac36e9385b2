// A request context and downstream for the resilience layers' unit tests (no sockets).
import { Readable } from 'node:stream';
import type { RequestContext, RouteAction } from '../http/chain.js';
import type { Downstream } from '../http/downstream.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  aborted?: boolean;
}

export function fakeDownstream(): { ds: Downstream & { headersSent: boolean }; seen: Answer } {
  const seen: Answer = {};
  const ds = {
    headersSent: false,
    respond(status: number, headers: Record<string, string> = {}, body = '') {
      Object.assign(seen, { status, headers, body });
      ds.headersSent = true;
    },
    writeHead(status: number, headers: Record<string, string>) {
      Object.assign(seen, { status, headers });
      ds.headersSent = true;
    },
    body: undefined as never,
    end() {},
    writeContinue() {},
    abort() {
      seen.aborted = true;
    },
  };
  return { ds: ds as unknown as Downstream & { headersSent: boolean }, seen };
}

export function fakeContext(o: Partial<RequestContext> & { action?: RouteAction } = {}): { ctx: RequestContext; seen: Answer } {
  const { ds, seen } = fakeDownstream();
  const ac = new AbortController();
  const ctx: RequestContext = {
    method: 'GET',
    path: '/',
    authority: 'echo',
    scheme: 'http',
    headers: {},
    body: Readable.from([]),
    protocol: 'http1',
    source: { identity: 'spiffe://cluster.local/ns/shop/sa/web', namespace: 'shop', serviceAccount: 'web' },
    target: { address: { host: '10.96.0.1', port: 80 }, service: 'shop/echo.shop.svc.cluster.local', port: 80 },
    startedAt: 0,
    signal: ac.signal,
    abort: (r) => ac.abort(r),
    downstream: ds,
    record: { flags: [] },
    action: { kind: 'forward', service: 'shop/echo.shop.svc.cluster.local', port: 80 },
    ...o,
  };
  return { ctx, seen };
}

export function policy(o: Partial<TrafficPolicy> = {}): TrafficPolicy {
  return {
    key: 'shop/echo',
    name: 'echo',
    namespace: 'shop',
    created: '2026-01-01T00:00:00Z',
    targets: [{ service: 'shop/echo.shop.svc.cluster.local' }],
    loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 },
    ...o,
  };
}
