// A waypoint started whole: the program's parts (waypoint.ts: controller client, held
// config, certificate, admin servers) and its data path (proxy.ts) joined to that state:
//   - what a tunnel may reach: only what is bound to this waypoint (state/served.ts);
//   - the request chain: telemetry -> authn -> authz -> route (the Service's HTTPRoutes and
//     GRPCRoutes) -> timeout -> forward, to the healthy endpoints of the chosen Service;
//   - the certificate renewed for both HBONE legs.
import { formatSpiffeId } from '../core/identity/spiffe.js';
import { NOOP_TRACER, type Tracer } from '../core/trace/tracer.js';
import type { Logger } from '../core/log.js';
import { MESH_PORTS } from '../core/ports.js';
import { authLayers } from './http/auth-layers.js';
import { authnLayer } from './http/authn.js';
import { authzLayer } from './http/authz.js';
import { routeFunction } from './http/route-action.js';
import { telemetryLayer } from './http/telemetry.js';
import { requestSink } from './observe/request-sink.js';
import { RequestMetrics } from './observe/request-metrics.js';
import { WaypointProxy, type ResolvedTarget } from './proxy.js';
import { serviceBackends, servedTarget, workloadBackend } from './state/served.js';
import { startWaypointProgram, type Waypoint, type WaypointOptions } from './waypoint.js';

export interface StartWaypointOptions extends WaypointOptions {
  /** Spans of requests, exported when configured (core/trace); default none. */
  tracer?: Tracer;
  /** HBONE port on mesh endpoints (tests); default 15008. */
  endpointHbonePort?: number;
}

export function startWaypoint(opts: StartWaypointOptions): Promise<Waypoint> {
  return startWaypointProgram(opts, async (parts) => {
    const log: Logger = parts.logger;
    const { state, certificates, identity } = parts;
    const snapshot = () => state.snapshot();
    const gateway = { namespace: opts.namespace, name: opts.gateway };
    const cert = certificates.current(identity)!;
    const metrics = new RequestMetrics({ registry: parts.registry });
    const sink = requestSink({ getState: () => snapshot().mesh, accessLog: opts.accessLogger ?? log, metrics, tracer: opts.tracer ?? NOOP_TRACER });
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
      endpoints: (service, port) => serviceBackends(snapshot(), service, port).filter((b) => b.healthy),
      logger: log,
    });
    await proxy.listen({ host: opts.servers?.hbone?.host ?? '0.0.0.0', port: opts.servers?.hbone?.port ?? MESH_PORTS.hbone });
    certificates.on('rotated', (c) => {
      if (formatSpiffeId(c.identity) === formatSpiffeId(identity)) proxy.setCredentials({ key: c.key, cert: c.cert });
    });
    return {
      close: (drainMs) => proxy.close(drainMs),
      dump: () => proxy.stats,
    };
  });
}
