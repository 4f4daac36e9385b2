// A waypoint started whole: the program's parts (waypoint.ts: controller client, held
// config, certificate, admin servers) and its data path (proxy.ts) joined to that state:
//   - what a tunnel may reach: only what is bound to this waypoint (state/served.ts);
//   - the request chain: telemetry -> authn -> authz -> route (the Service's HTTPRoutes and
//     GRPCRoutes) -> timeout -> forward, to the healthy endpoints of the chosen Service;
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
import { serviceBackends, servedTarget, workloadBackend, type Backend } from './state/served.js';
import type { WaypointSnapshot } from './state/store.js';
import { startWaypointProgram, type DataPathStarter, type Waypoint, type WaypointOptions } from './waypoint.js';

export interface StartWaypointOptions extends WaypointOptions {
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
  const counter = (name: string, help: string, field: 'opened' | 'requests' | 'reused' | 'connectFailures') =>
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
    // The healthy backends of a Service port, computed once per config snapshot (the
    // snapshot is immutable; an update brings a new one and the next request sees it).
    let backendsOf: { snapshot: WaypointSnapshot; byPort: Map<string, Backend[]> } | undefined;
    const healthyBackends = (snap: WaypointSnapshot, service: string, port: number): Backend[] => {
      if (backendsOf?.snapshot !== snap) backendsOf = { snapshot: snap, byPort: new Map() };
      const key = `${service}:${port}`;
      let list = backendsOf.byPort.get(key);
      if (list === undefined) {
        list = Object.freeze(serviceBackends(snap, service, port).filter((b) => b.healthy)) as Backend[];
        backendsOf.byPort.set(key, list);
      }
      return list;
    };
    const sink = requestSink({ getState: () => snapshot().mesh, accessLog: opts.accessLogger ?? log, metrics, tracer: opts.tracer ?? NOOP_TRACER });
    const tcp = tcpTelemetry({ getState: () => snapshot().mesh, accessLog: opts.accessLogger ?? log, metrics: new TcpMetrics(parts.registry), onSinkError: (err) => log.warn({ err: (err as Error).message }, 'waypoint: connection record failed') });
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
      endpoints: (service, port) => healthyBackends(snapshot(), service, port),
      tcpTelemetry: tcp,
      logger: log,
    });
    exportPoolMetrics(parts.registry, () => proxy.stats);
    await proxy.listen({ host: opts.servers?.hbone?.host ?? '0.0.0.0', port: opts.servers?.hbone?.port ?? MESH_PORTS.hbone });
    certificates.on('rotated', (c) => {
      if (formatSpiffeId(c.identity) === formatSpiffeId(identity)) proxy.setCredentials({ key: c.key, cert: c.cert });
    });
    return {
      close: (drainMs) => proxy.close(drainMs),
      dump: () => proxy.stats,
    };
  };
}
