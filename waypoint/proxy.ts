// The waypoint's data path, assembled (DESIGN.md section 2: "the waypoint terminates HBONE,
// parses HTTP, applies L7 policy and routing, and opens HBONE to the chosen endpoint under
// its own identity"). Wiring only: each part is its own module.
//
//   HBONE in (core/hbone/server.ts, serveTunnel)
//     -> resolveTarget + authorize (401 for what this waypoint does not serve or allow)
//     -> protocol (listen/tunnel.ts: appProtocol, else sniffed)
//        -> HTTP/1.1 or h2c servers (listen/http-front.ts) -> the chain, per request:
//             route -> timeout -> idle timeout -> rate limit -> retry -> outlier -> forward, which picks
//             the endpoint with the balancer (http/*.ts, resilience/*.ts, balance/picker.ts;
//             chain.ts lists the order)
//           -> pools (upstream/http1-pool.ts, h2-pool.ts) -> HBONE out or TCP (upstream/connect.ts)
//        -> TCP passthrough (upstream/passthrough.ts)
import { ErrorCodes } from '../core/errors.js';
import { HboneClient } from '../core/hbone/client.js';
import { HboneServer, type Decision, type HboneRequest, type ServerCredentials, type TunnelRecord } from '../core/hbone/server.js';
import type { PeerGuard } from '../core/hbone/guard.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { TrustBundle } from '../core/identity/trust-bundle.js';
import type { SpiffeId } from '../core/identity/spiffe.js';
import type { HboneLimits } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import { compose, type Layer, type TunnelTarget, type UpstreamEndpoint } from './http/chain.js';
import { forwardLayer } from './http/forward.js';
import { Mirrors, type MirrorStats } from './http/mirror.js';
import { routeLayer, type RouteFunction } from './http/route.js';
import { timeoutLayer } from './http/timeout.js';
import { idleTimeoutLayer } from './http/idle-timeout.js';
import { EndpointActivity } from './upstream/endpoint-activity.js';
import { TargetPools } from './upstream/target-pool.js';
import type { TunnelProtocol } from './listen/detect.js';
import { HttpFront, type TunnelInfo } from './listen/http-front.js';
import { serveTunnel } from './listen/tunnel.js';
import { WAYPOINT_DEFAULTS, type WaypointLimits } from './limits.js';
import { createConnector } from './upstream/connect.js';
import { H2Pool } from './upstream/h2-pool.js';
import { Http1Pool } from './upstream/http1-pool.js';
import { passthrough } from './upstream/passthrough.js';
import type { TcpTelemetry } from './observe/tcp-telemetry.js';
import type { PoolStats } from './upstream/stats.js';
import type { Registry } from 'prom-client';
import type { RouteRetry } from '../core/config/routes.js';
import type { Retries, TrafficPolicy } from '../core/config/traffic-policy.js';
import { EndpointPicker } from './balance/picker.js';
import type { EndpointLocality } from './balance/inputs.js';
import type { Locality } from './balance/locality.js';
import { ResilienceMetrics, outlierLogFields } from './resilience/metrics.js';
import { OutlierRegistry, outlierLayer } from './resilience/outlier-layer.js';
import type { GlobalRateLimiter } from './resilience/ratelimit-global.js';
import { rateLimitLayer } from './resilience/ratelimit-layer.js';
import { retryLayer } from './resilience/retry-layer.js';
import { retriesFromRouteRetry } from './resilience/retry.js';

/** The HBONE port of mesh endpoints (DESIGN.md section 3). */
export const HBONE_PORT = 15008;

export type ResolvedTarget = TunnelTarget | { refused: string };

export interface WaypointProxyOptions {
  /** The waypoint's own certificate (leaf then intermediates) and key: served on HBONE in. */
  credentials: ServerCredentials;
  trustBundle: TrustBundle;
  trustDomain: string;
  /** The waypoint's identity: what it presents to endpoints (HBONE out). */
  identity: SpiffeId;
  /** Opens tunnels to mesh endpoints. Default: one of the proxy's own, presenting
   * `credentials` for `identity` (closed with the proxy). A given one is the caller's to close. */
  hboneClient?: HboneClient;
  /** What a tunnel's CONNECT target is: a Service port or a workload this waypoint serves, or
   * refused (answered 401 with the reason, before anything else). Called once per tunnel. */
  resolveTarget: (request: HboneRequest) => ResolvedTarget;
  /** Decides a tunnel carried as TCP (its bytes are not HTTP: the request chain never sees
   * them); default allow. */
  authorizeTcp?: (info: TunnelInfo) => { allow: true } | { allow: false; reason: string };
  /** L4 authorization of the tunnel (after resolveTarget); default allow. */
  authorize?: (request: HboneRequest, target: TunnelTarget) => Decision | Promise<Decision>;
  /** Picks what a request does (the route matcher); default: forward to the tunnel's target. */
  route?: RouteFunction;
  /** Layers run before routing, in order (telemetry, authn, authz: chain.ts lists them). */
  beforeRoute?: readonly Layer[];
  /** The candidate (healthy) endpoints of a Service port, balanced by the port's
   * TrafficPolicy (round robin without one). Return the same array while the config is
   * unchanged: the balancer's view is rebuilt only for a new one. */
  endpoints: (service: string, port: number) => readonly UpstreamEndpoint[];
  /** The TrafficPolicy of a Service port (looked up per request: cache it per config
   * snapshot). Absent: no rate limit or outlier layer in the chain; round robin. */
  trafficPolicyFor?: (service: string, port: number) => TrafficPolicy | undefined;
  /** Global rate limits' counters (Redis); absent: a global limit is decided by its failureMode. */
  globalRateLimiter?: GlobalRateLimiter;
  /** Where the resilience metrics go (resilience/metrics.ts); absent: none. */
  registry?: Registry;
  /** Locality preference: an endpoint's node and zone, and the waypoint's own. */
  locate?: (workloadUid: string) => EndpointLocality | undefined;
  local?: Locality;
  /** HBONE port on endpoints; default 15008 (tests point it elsewhere). */
  hbonePort?: number;
  limits?: Partial<WaypointLimits>;
  /** For both HBONE legs. */
  hboneLimits?: Partial<HboneLimits>;
  guard?: PeerGuard;
  logger?: Logger;
  /** Each tunnel, once, when it ends (HBONE record: peer, target, bytes, status). */
  onTunnelEnd?: (record: TunnelRecord) => void;
  /** Istio's TCP metrics (reporter waypoint) and an access-log line for each tunnel
   * carried as TCP (observe/tcp-telemetry.ts); default none. */
  tcpTelemetry?: TcpTelemetry;
  /** Each tunnel's protocol once decided (for metrics later). */
  onTunnelProtocol?: (protocol: TunnelProtocol, info: TunnelInfo) => void;
}

export interface WaypointStats {
  /** Upstream HTTP/1.1 keep-alive pool. */
  http1: PoolStats;
  /** Upstream HTTP/2 sessions. */
  h2: PoolStats;
  /** Requests in the chain now. */
  inflight: number;
  /** HBONE in: connections and tunnels open. */
  hbone: { connections: number; streams: number };
  /** RequestMirror copies (http/mirror.ts) and those in flight now. */
  mirrors: MirrorStats & { active: number };
}

export class WaypointProxy {
  readonly hbone: HboneServer;
  readonly limits: WaypointLimits;
  readonly front: HttpFront;
  readonly #client: HboneClient;
  readonly #ownClient: boolean;
  readonly #http1: Http1Pool;
  readonly #h2: H2Pool;
  readonly #mirrors: Mirrors;
  readonly #outliers: OutlierRegistry | undefined;
  /** The endpoint choice (balancers per Service port). */
  readonly picker: EndpointPicker;
  readonly #targets = new WeakMap<HboneRequest, TunnelTarget>();
  #credentials: ServerCredentials;
  #closing: Promise<void> | undefined;

  constructor(opts: WaypointProxyOptions) {
    const l: WaypointLimits = { ...WAYPOINT_DEFAULTS, ...opts.limits };
    this.limits = l;
    const log = opts.logger ?? silentLogger;
    this.#credentials = opts.credentials;
    this.#ownClient = !opts.hboneClient;
    this.#client =
      opts.hboneClient ??
      new HboneClient({
        credentials: () => this.#credentials,
        trustBundle: opts.trustBundle,
        trustDomain: opts.trustDomain,
        limits: { connectTimeoutMs: l.upstreamConnectTimeoutMs, ...opts.hboneLimits },
        logger: log,
      });
    const connect = createConnector({ hbone: this.#client, identity: opts.identity, hbonePort: opts.hbonePort ?? HBONE_PORT, connectTimeoutMs: l.upstreamConnectTimeoutMs });
    this.#http1 = new Http1Pool({ connect, maxConnectionsPerEndpoint: l.maxConnectionsPerEndpoint, maxIdleConnectionsPerEndpoint: l.maxIdleConnectionsPerEndpoint, idleTimeoutMs: l.upstreamIdleTimeoutMs, maxPendingRequests: l.maxPendingRequestsPerEndpoint, pendingTimeoutMs: l.upstreamPendingTimeoutMs });
    this.#h2 = new H2Pool({ connect, idleTimeoutMs: l.upstreamIdleTimeoutMs, maxHeaderListBytes: l.maxHeaderBytes });
    // Resilience (TrafficPolicy): metrics, outlier detection, the balancers.
    const policyFor = opts.trafficPolicyFor;
    const limiter = opts.globalRateLimiter;
    let outliers: OutlierRegistry | undefined;
    const activity = new EndpointActivity(opts.endpoints);
    const metrics = opts.registry
      ? new ResilienceMetrics({ registry: opts.registry, ejectedNow: () => outliers?.ejectedCounts() ?? [], endpointActive: () => activity.snapshot(), ...(limiter && { redisConnected: () => limiter.state().connected }) })
      : undefined;
    if (policyFor) {
      outliers = new OutlierRegistry({
        policyFor,
        ...(metrics && { metrics }),
        onEvent: (service, e) => (e.type === 'ejection-refused' ? log.warn : log.info).call(log, outlierLogFields(service, e), `waypoint: outlier ${e.type === 'ejected' ? 'ejected' : e.type === 'returned' ? 'returned' : 'ejection refused'} ${e.endpoint}`),
      });
    }
    this.#outliers = outliers;
    const picker = new EndpointPicker({ endpoints: opts.endpoints, ...(policyFor && { policyFor }), ...(outliers && { outliers }), ...(opts.locate && { locate: opts.locate }), ...(opts.local && { local: opts.local }) });
    this.picker = picker;
    this.#mirrors = new Mirrors({ picker, http1: this.#http1, h2: this.#h2, timeoutMs: l.mirrorTimeoutMs, maxConcurrent: l.maxConcurrentMirrors, maxBodyBytes: l.mirrorMaxBodyBytes });
    // An HTTPRoute rule's retry, mapped once per compiled rule (the snapshot keeps it frozen).
    const mapped = new WeakMap<RouteRetry, Retries>();
    const routeRetries = (ctx: { action?: { kind: string; retry?: RouteRetry } }): Retries | undefined => {
      const r = ctx.action?.kind === 'forward' ? ctx.action.retry : undefined;
      if (!r) return undefined;
      let m = mapped.get(r);
      if (!m) mapped.set(r, (m = retriesFromRouteRetry(r)));
      return m;
    };
    const noPolicy = (): undefined => undefined;

    // The request chain, in order (chain.ts lists it).
    const layers: Layer[] = [
      ...(opts.beforeRoute ?? []),
      routeLayer(opts.route),
      timeoutLayer(l.requestTimeoutMs),
      ...(policyFor
        ? [
            idleTimeoutLayer({ policyFor }),
            rateLimitLayer({
              policyFor,
              ...(limiter && { global: limiter }),
              ...(metrics && { metrics }),
              onGlobalFailure: (f) => log.warn(f, 'waypoint: global rate limit unavailable, deciding by failureMode'),
              onGlobalRecovered: (f) => log.info(f, 'waypoint: global rate limit answering again'),
            }),
          ]
        : []),
      retryLayer({ policyFor: policyFor ?? noPolicy, routeRetries, ...(metrics && { metrics }) }),
      ...(outliers ? [outlierLayer(outliers)] : []),
      forwardLayer({ picker, http1: this.#http1, h2: this.#h2, connect, mirrors: this.#mirrors, activity, ...(policyFor && { targets: new TargetPools({ policyFor, defaults: l, maxTargets: l.maxPoolTargets }) }) }),
    ];
    this.front = new HttpFront(compose(layers), l, log, () => this.hbone?.guard);

    this.hbone = new HboneServer({
      credentials: opts.credentials,
      trustBundle: opts.trustBundle,
      trustDomain: opts.trustDomain,
      ...(opts.hboneLimits && { limits: opts.hboneLimits }),
      ...(opts.guard && { guard: opts.guard }),
      logger: log,
      ...(opts.onTunnelEnd && { onTunnelEnd: opts.onTunnelEnd }),
      authorize: async (req) => {
        let target: ResolvedTarget;
        try {
          target = opts.resolveTarget(req);
        } catch (err) {
          target = { refused: `target lookup failed: ${(err as Error).message}` }; // fail closed
        }
        if ('refused' in target) return { allow: false, reason: `${ErrorCodes.WAYPOINT_TARGET_REFUSED}: ${target.refused}` };
        this.#targets.set(req, target);
        return opts.authorize ? opts.authorize(req, target) : { allow: true };
      },
      serveTunnel: (t) => {
        const target = this.#targets.get(t.request);
        if (!target) return t.control.close('no resolved target');
        const info: TunnelInfo = { request: t.request, target };
        void serveTunnel(t, info, {
          front: this.front,
          ...(opts.authorizeTcp && { authorizeTcp: opts.authorizeTcp }),
          sniffMaxBytes: l.sniffMaxBytes,
          sniffTimeoutMs: l.sniffTimeoutMs,
          ...(opts.onTunnelProtocol && { onProtocol: opts.onTunnelProtocol }),
          ...(opts.tcpTelemetry && { tcpTelemetry: opts.tcpTelemetry }),
          passthrough: (stream, i, head, done, conn) =>
            passthrough({ picker, connect }, stream, i.target, head, i.request.forwardedFor ?? i.request.remote, done, conn),
        }).catch((err: Error) => t.control.close(`serving the tunnel failed: ${err.message}`));
      },
    });
  }

  /** Starts the HBONE listener (15008 in a pod). */
  listen(options: { host: string; port: number }): Promise<SocketAddress> {
    return this.hbone.listen(options);
  }

  /** A renewed certificate: new HBONE connections, in and out (with the proxy's own client), use it; open ones keep theirs. */
  setCredentials(credentials: ServerCredentials): void {
    this.#credentials = credentials;
    this.hbone.setCredentials(credentials);
  }

  get stats(): WaypointStats {
    return { http1: { ...this.#http1.stats }, h2: { ...this.#h2.stats }, inflight: this.front.inflight, hbone: this.hbone.stats, mirrors: { ...this.#mirrors.stats, active: this.#mirrors.active } };
  }

  /**
   * Drain, then close: stop accepting (the listener closes, HBONE peers get GOAWAY), let
   * in-flight requests finish (HTTP/2 clients get GOAWAY, HTTP/1.1 answers carry
   * `connection: close`) until `deadlineMs`, then tear down what is left and the upstream pools.
   */
  close(deadlineMs = this.limits.drainTimeoutMs): Promise<void> {
    this.#closing ??= (async () => {
      const hboneDone = this.hbone.drain(deadlineMs);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.front.drain(), new Promise<void>((r) => (timer = setTimeout(r, deadlineMs)))]);
      clearTimeout(timer);
      this.front.destroy();
      this.#outliers?.close();
      this.#h2.close();
      this.#http1.destroy();
      this.#h2.destroy();
      if (this.#ownClient) this.#client.destroy();
      await hboneDone;
    })();
    return this.#closing;
  }
}
