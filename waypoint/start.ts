// A waypoint started whole: the program's parts (waypoint.ts: controller client, held
// config, certificate, admin servers) and its data path (proxy.ts) joined to that state:
//   - what a tunnel may reach: only what is bound to this waypoint (state/served.ts);
//   - the request chain: telemetry -> authn -> authz -> route (the Service's HTTPRoutes and
//     GRPCRoutes) -> timeout -> rate limit -> retry -> outlier -> forward, to a healthy
//     endpoint of the chosen Service picked by its TrafficPolicy's balancer (proxy.ts);
//   - the certificate renewed for both HBONE legs.
import { ErrorCodes } from '../core/errors.js';
import { formatSpiffeId } from '../core/identity/spiffe.js';
import { NOOP_TRACER, type Tracer } from '../core/trace/tracer.js';
import type { Logger } from '../core/log.js';
import { MESH_PORTS } from '../core/ports.js';
import { authLayers } from './http/auth-layers.js';
import { authnLayer } from './http/authn.js';
import { authzLayer } from './http/authz.js';
import { decideTcpAtWaypoint, serviceRefOfKey } from './http/authz-decide.js';
import { routeFunction } from './http/route-action.js';
import { telemetryLayer } from './http/telemetry.js';
import { requestSink } from './observe/request-sink.js';
import { RequestMetrics } from './observe/request-metrics.js';
import { tcpTelemetry } from './observe/tcp-telemetry.js';
import { TcpMetrics } from '../node-agent/observe/tcp-metrics.js';
import { WaypointProxy, type ResolvedTarget, type WaypointStats } from './proxy.js';
import { Counter, Gauge, type Registry } from 'prom-client';
import { serviceBackends, servedTarget, workloadBackend } from './state/served.js';
import { startWaypointProgram, type DataPathStarter, type Waypoint, type WaypointOptions } from './waypoint.js';
import type { WaypointSnapshot } from './state/store.js';
import type { UpstreamEndpoint } from './http/chain.js';
import type { TrafficPolicy } from '../core/config/traffic-policy.js';
import { GlobalRateLimiter } from './resilience/ratelimit-global.js';
import { collectEndpointState, snapshotSources } from './observe/endpoint-state-source.js';

/**
 * A lookup remembered for one config snapshot: `compute` runs at most once per key and
 * snapshot (a new snapshot starts afresh), so a request pays a Map lookup, not a scan.
 */
export function perSnapshot<T>(snapshot: () => WaypointSnapshot, compute: (s: WaypointSnapshot, service: string, port: number) => T): (service: string, port: number) => T {
  let of: WaypointSnapshot | undefined;
  let memo = new Map<string, T>();
  return (service, port) => {
    const s = snapshot();
    if (s !== of) {
      of = s;
      memo = new Map();
    }
    const k = `${service}:${port}`;
    let v = memo.get(k);
    if (v === undefined && !memo.has(k)) memo.set(k, (v = compute(s, service, port)));
    return v as T;
  };
}

export interface StartWaypointOptions extends WaypointOptions {
  /** Redis for TrafficPolicy global rate limits (`--redis-address`, REDIS_ADDRESS); absent:
   * a global limit is decided by its failureMode (allow, or 429 for deny). */
  redisAddress?: { host: string; port: number };
  /** Spans of requests, exported when configured (core/trace); default none. */
  tracer?: Tracer;
  /** HBONE port on mesh endpoints (tests); default 15008. */
  endpointHbonePort?: number;
}

/**
 * The upstream pools' counts on /metrics, read from the pools when scraped: how many
 * connections (HTTP/1.1) or sessions (HTTP/2) were opened to endpoints, how many requests
 * went over one that had carried a request before (reuse), and what is open now.
 */
export function exportPoolMetrics(registry: Registry, stats: () => WaypointStats): void {
  const protocols = ['http1', 'h2'] as const;
  const counter = (name: string, help: string, field: 'opened' | 'requests' | 'reused' | 'connectFailures' | 'overflowed') =>
    new Counter({
      name,
      help,
      labelNames: ['protocol'],
      registers: [registry],
      collect() {
        const s = stats();
        this.reset();
        for (const p of protocols) this.inc({ protocol: p }, s[p][field]);
      },
    });
  counter('ambient_waypoint_upstream_connections_opened_total', 'Connections (HTTP/1.1) or sessions (HTTP/2) the waypoint opened to endpoints.', 'opened');
  counter('ambient_waypoint_upstream_requests_total', 'Requests the waypoint sent to endpoints.', 'requests');
  counter('ambient_waypoint_upstream_reused_requests_total', 'Requests sent on a pooled connection or session that had carried one before.', 'reused');
  counter('ambient_waypoint_upstream_connect_failures_total', 'Connections to endpoints that could not be opened.', 'connectFailures');
  counter('ambient_waypoint_upstream_overflows_total', 'Requests answered 503 (response flag UO) because the endpoint had no connection free and its wait queue was full or its wait deadline passed.', 'overflowed');
  new Gauge({
    name: 'ambient_waypoint_upstream_connections_open',
    help: 'Connections (HTTP/1.1) or sessions (HTTP/2) to endpoints open now.',
    labelNames: ['protocol'],
    registers: [registry],
    collect() {
      const s = stats();
      for (const p of protocols) this.set({ protocol: p }, s[p].opened - s[p].closed);
    },
  });
}

export function startWaypoint(opts: StartWaypointOptions): Promise<Waypoint> {
  return startWaypointProgram(opts, waypointDataPath(opts));
}

/** The data path joined to the program's parts (what startWaypoint runs once the first
 * certificate is in; the profiling driver, scripts/bench/waypoint-profile.ts, runs it on
 * parts of its own). */
export function waypointDataPath(opts: StartWaypointOptions): DataPathStarter {
  return async (parts) => {
    const log: Logger = parts.logger;
    const { state, certificates, identity } = parts;
    const snapshot = () => state.snapshot();
    const gateway = { namespace: opts.namespace, name: opts.gateway };
    const cert = certificates.current(identity)!;
    const metrics = new RequestMetrics({ registry: parts.registry });
    const sink = requestSink({ getState: () => snapshot().mesh, accessLog: opts.accessLogger ?? log, metrics, tracer: opts.tracer ?? NOOP_TRACER, ...(parts.telemetry && { telemetry: parts.telemetry }) });
    // TrafficPolicies and endpoints, looked up once per Service port and config snapshot
    // (a snapshot without TrafficPolicies answers "none" without a lookup).
    const policyMemo = perSnapshot<TrafficPolicy | undefined>(snapshot, (s, service, port) => s.trafficPolicyFor(service, port));
    const trafficPolicyFor = (service: string, port: number): TrafficPolicy | undefined => (snapshot().trafficPolicies().length === 0 ? undefined : policyMemo(service, port));
    const endpoints = perSnapshot<readonly UpstreamEndpoint[]>(snapshot, (s, service, port) => serviceBackends(s, service, port).filter((b) => b.healthy));
    const redis = opts.redisAddress;
    const limiter = redis
      ? new GlobalRateLimiter({
          host: redis.host,
          port: redis.port,
          onEvent: (e) => (e.type === 'connected' ? log.info({ redis: `${redis.host}:${redis.port}` }, 'waypoint: global rate limit Redis connected') : log.warn({ redis: `${redis.host}:${redis.port}`, err: e.error }, 'waypoint: global rate limit Redis disconnected, reconnecting')),
        })
      : undefined;
    const tcp = tcpTelemetry({ getState: () => snapshot().mesh, accessLog: opts.accessLogger ?? log, metrics: new TcpMetrics(parts.registry), ...(parts.telemetry && { telemetry: parts.telemetry }), onSinkError: (err) => log.warn({ err: (err as Error).message }, 'waypoint: connection record failed') });
    const proxy = new WaypointProxy({
      credentials: { key: cert.key, cert: cert.cert },
      trustBundle: parts.trustBundle,
      trustDomain: parts.trustDomain,
      identity,
      ...(opts.endpointHbonePort !== undefined && { hbonePort: opts.endpointHbonePort }),
      resolveTarget: (req): ResolvedTarget => {
        const t = servedTarget(snapshot(), parts.self, req.target.host, req.target.port);
        if (t.kind === 'refused') return { refused: t.reason };
        if (t.kind === 'service') {
          return { address: req.target, service: t.service.key, port: t.port.port, ...(t.port.appProtocol !== undefined && { appProtocol: t.port.appProtocol }) };
        }
        const endpoint = workloadBackend(t.workload, t.port)[0];
        return endpoint ? { address: req.target, port: t.port, endpoint } : { refused: `workload ${t.workload.namespace}/${t.workload.name} has no address` };
      },
      authorizeTcp: (info) => {
        if (!state.synced()) return { allow: false, reason: `${ErrorCodes.WAYPOINT_AUTHZ_NO_CONFIG}: no config from the controller yet: denied (fail closed)` };
        const d = decideTcpAtWaypoint(snapshot().mesh.policies(), gateway, {
          sourceIdentity: formatSpiffeId(info.request.peer),
          sourceIp: info.request.remote.host,
          destination: { ip: info.target.address.host, port: info.target.address.port },
          ...(info.target.service !== undefined && { service: serviceRefOfKey(info.target.service) }),
        });
        if (d.allow) return { allow: true };
        log.info({ peer: formatSpiffeId(info.request.peer), target: `${info.target.address.host}:${info.target.address.port}`, policy: d.policy, reason: d.message }, 'waypoint: TCP tunnel denied');
        return { allow: false, reason: `${ErrorCodes.WAYPOINT_AUTHZ_DENIED}: ${d.message}` };
      },
      beforeRoute: [
        telemetryLayer({ tracer: opts.tracer ?? NOOP_TRACER, sink, workloadByIp: (ip) => snapshot().mesh.workloadByIp(ip), onSinkError: (err) => log.warn({ err: (err as Error).message }, 'waypoint: request record failed') }),
        authLayers(
          // The RequestAuthns the controller pushed (compiled RequestAuthentications); the
          // layer applies those attached to this Gateway or the request's Service.
          authnLayer({ gateway, requestAuthns: () => snapshot().requestAuthns() }),
          authzLayer({ gateway, policies: () => (state.synced() ? snapshot().mesh.policies() : undefined) }),
        ),
      ],
      route: routeFunction(() => ({ serviceByKey: (k) => snapshot().mesh.serviceByKey(k), routesFor: (k) => snapshot().routesFor(k) })),
      endpoints,
      trafficPolicyFor,
      ...(limiter && { globalRateLimiter: limiter }),
      registry: parts.registry,
      locate: (uid) => {
        const node = snapshot().mesh.workloadByUid(uid)?.node;
        return node ? { node } : undefined;
      },
      local: { node: opts.node },
      tcpTelemetry: tcp,
      logger: log,
    });
    exportPoolMetrics(parts.registry, () => proxy.stats);
    await proxy.listen({ host: opts.servers?.hbone?.host ?? '0.0.0.0', port: opts.servers?.hbone?.port ?? MESH_PORTS.hbone });
    certificates.on('rotated', (c) => {
      if (formatSpiffeId(c.identity) === formatSpiffeId(identity)) proxy.setCredentials({ key: c.key, cert: c.cert });
    });
    return {
      close: async (drainMs) => {
        await proxy.close(drainMs);
        await limiter?.close();
      },
      dump: () => proxy.stats,
      endpoints: () => collectEndpointState({ picker: proxy.picker, ...snapshotSources(snapshot, parts.self, endpoints), local: { node: opts.node }, waypoint: parts.self }),
    };
  };
}
