// The waypoint's request chain (DESIGN.md section 7, "Composable L7 layers"; undici's
// interceptors, linkerd's stacks): every request is one RequestContext passed through a
// list of layers, each `(ctx, next) => Promise<void>`, the last one forwarding. A layer
// may answer by itself (ctx.downstream.respond), change the context for the layers after
// it, or wrap `next` (a timeout races it, a retry calls it again, metrics time it).
//
// The order, in one list (proxy.ts builds it):
//
//     metrics/access log  (later: one record per request, written when it ends)
//     trace               (later: traceparent in, span out)
//     authn / authz       (later: JWT, then core/policy on the L7 attributes; 403 here)
//     route               (route.ts: picks the rule, applies request filters, or answers)
//     timeout             (timeout.ts: the route's `timeouts.request`, 504)
//     idle timeout        (idle-timeout.ts: the target's TrafficPolicy `timeouts.idle`, 504)
//     rate limit          (resilience/ratelimit-layer.ts: the target's TrafficPolicy, 429)
//     retry               (resilience/retry-layer.ts: calls next again on a retriable failure)
//     outlier             (resilience/outlier-layer.ts: counts each try against its endpoint)
//     balancer            (balance/picker.ts, called by forward.ts: the policy's algorithm,
//                          ejections, previous tries; round robin without a policy)
//     forward             (forward.ts: the target's connectionPool permit, upstream/target-pool.ts,
//                          then the upstream exchange, bodies streamed both ways)
//
// The resilience layers are in the chain when the waypoint is given TrafficPolicies
// (proxy.ts `trafficPolicyFor`); each passes a request whose target has no policy
// (nor, for retry, a route `retry`) straight on.
//
// Each future concern is one file exporting a Layer, inserted at its place in that list.
import type { Readable } from 'node:stream';
import type { SocketAddress } from '../../core/hbone/wire.js';
import type { TunnelProtocol } from '../listen/detect.js';
import type { Downstream } from './downstream.js';
import type { RouteRetry } from '../../core/config/routes.js';

/** Request headers without pseudo-headers; names lower-case. */
export type Headers = Record<string, string | string[] | undefined>;

/** The upstream a request goes to. */
export interface UpstreamEndpoint {
  /** The endpoint's address (a pod IP). */
  ip: string;
  /** The port on the endpoint (the Service port's targetPort, resolved). */
  port: number;
  /** Enrolled in the mesh: reached over HBONE under the waypoint's identity; else plain TCP. */
  mesh: boolean;
  /** The SPIFFE identity the endpoint must present (mesh endpoints). */
  identity: string;
  /** For records and logs. */
  workloadUid?: string;
}

/** Where the tunnel was going: its CONNECT target and what it resolved to. */
export interface TunnelTarget {
  /** The CONNECT `:authority` (a Service VIP:port or a pod IP:port). */
  address: SocketAddress;
  /** The Service's resource key when a Service VIP was called. */
  service?: string;
  /** The Service port (or the pod port when a workload was called directly). */
  port: number;
  /** The Service port's appProtocol, when set. */
  appProtocol?: string;
  /** A workload called directly (pod IP:port): the only endpoint. */
  endpoint?: UpstreamEndpoint;
}

/** What the route layer decided. `forward` goes to a Service port's endpoints (or one
 * endpoint); `respond` is answered by the waypoint itself (a redirect, a 500 for an
 * unresolved backend, a 404 when nothing matched). */
export type RouteAction =
  | {
      kind: 'forward';
      /** The backend Service key and port; or `endpoint` for a workload called directly. */
      service?: string;
      port: number;
      endpoint?: UpstreamEndpoint;
      /** `<namespace>/<kind>/<name>` of the deciding route, and its rule's name, for records. */
      route?: string;
      rule?: string;
      /** timeouts.request (ms, 0 = none): the whole exchange; 504 when it passes. */
      requestTimeoutMs?: number;
      /** timeouts.backendRequest (ms, 0 = none): one upstream attempt; 504 when it passes. */
      backendRequestTimeoutMs?: number;
      /** ResponseHeaderModifier: given the upstream response's headers, returns what goes downstream. */
      responseHeaders?: (headers: Headers) => Headers;
      /** RequestMirror: Service ports that get a copy of the request, fire and forget (mirror.ts). */
      mirrors?: Array<{ service: string; port: number }>;
      /** The HTTPRoute rule's `retry` (compiled); the retry layer applies it when the target's
       * TrafficPolicy has no `retries`. */
      retry?: RouteRetry;
    }
  | {
      kind: 'respond';
      status: number;
      headers?: Record<string, string>;
      body?: string;
      route?: string;
      rule?: string;
    };

/** What one request leaves behind, for metrics and the access log (written later by a
 * metrics layer, exactly once, when the request ends). */
export interface RequestRecord {
  status?: number;
  /** `ip:port` of the endpoint that served it. */
  upstream?: string;
  route?: string;
  rule?: string;
  /** Why the waypoint answered or aborted by itself (an error code or a short reason). */
  error?: string;
  /** Envoy-style response flags: UF upstream connect failure, NR no route/endpoint, UT upstream timeout, UC upstream reset, DC downstream closed. */
  flags: string[];
  endedAt?: number;
  /** Request body bytes sent upstream (counted where the forward layer pipes the body). */
  requestBytes?: number;
  /** Response body bytes sent downstream (the upstream's body as piped, or the waypoint's own answer). */
  responseBytes?: number;
  /** gRPC status of the answer: `grpc-status` from the response trailers, else from its headers (trailers-only). */
  grpcStatus?: number;
  /** The authorization layer's decision (set by auth-layers.ts when it decided). */
  authz?: import('../observe/request-record.js').RequestAuthzRecord;
}

export interface RequestContext {
  method: string;
  /** Path and query, as sent. The route layer may rewrite it (URLRewrite). */
  path: string;
  /** Host header / :authority. The route layer may rewrite it. */
  authority: string;
  /** 'http' (the tunnel carries cleartext HTTP; mTLS is HBONE's). */
  scheme: string;
  /** Request headers (hop-by-hop ones removed); the route layer may change them. */
  headers: Headers;
  /** The request body, streamed (never buffered whole). */
  body: Readable;
  protocol: Exclude<TunnelProtocol, 'tcp'>;
  /** The verified peer of the HBONE tunnel (who sent it); the original client's address (the CONNECT's `forwarded`, else the tunnel's TCP peer: for records only, a mesh peer can write it); the tunnel's TCP peer (for policy). */
  source: { identity: string; namespace: string; serviceAccount: string; address?: SocketAddress; tunnelPeer?: SocketAddress; /** The tunnel's CONNECT `traceparent` (the source agent's connection span): the trace a request without its own continues. */ connectTraceparent?: string };
  target: TunnelTarget;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** Set by the route layer. */
  action?: RouteAction;
  /** HTTP/1.1 `Upgrade` (WebSocket) requests: the protocol asked for. */
  upgrade?: string;
  /** Upgrade requests: bytes the client sent after its request head (for after the switch). */
  upgradeHead?: Buffer;
  /** The waypoint's span context for the upstream HBONE CONNECT (set by the telemetry layer
   * when tracing is on): a connection opened for this request carries it, so the
   * destination agent's connection span is the waypoint span's child. */
  upstreamTrace?: ConnectTrace;
  /** Aborted when the downstream goes away or a deadline passes: upstream work stops. */
  signal: AbortSignal;
  abort(reason: string): void;
  downstream: Downstream;
  record: RequestRecord;
}

/** Trace context put on an upstream HBONE CONNECT (W3C traceparent and tracestate). */
export interface ConnectTrace {
  traceparent: string;
  tracestate?: string;
}

export type Next = () => Promise<void>;
export type Layer = (ctx: RequestContext, next: Next) => Promise<void>;

/** Composes layers into one handler; a layer that does not call `next` ends the chain
 * there (a layer may call it more than once: a retry). */
export function compose(layers: readonly Layer[]): (ctx: RequestContext) => Promise<void> {
  const run = (ctx: RequestContext, i: number): Promise<void> => {
    const layer = layers[i];
    return layer ? layer(ctx, () => run(ctx, i + 1)) : Promise.resolve();
  };
  return (ctx) => run(ctx, 0);
}
