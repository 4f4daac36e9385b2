// The terminal layer: one upstream exchange for the request, in the downstream's protocol
// (HTTP/1.1 through the keep-alive pool, HTTP/2 and gRPC through a multiplexed session, a
// WebSocket through its own connection and then bytes). Bodies are streamed both ways with
// backpressure, never buffered whole; trailers pass both ways (gRPC's grpc-status and
// grpc-message; request trailers as request-body.ts filters them);
// `Expect: 100-continue` waits for the upstream's 100.
//
// Failures, as Envoy answers them (so that clients and dashboards read them alike):
// no endpoint -> 503 (flag UH); the endpoint cannot be reached -> 503 (UF); the upstream
// reset or closed before its response head -> 503 (UC); after the head went out -> the
// downstream is reset (HTTP/2 RST_STREAM, HTTP/1.1 the connection), never a truncated
// answer that looks complete; timeouts.backendRequest passed -> 504 (UT); the target's
// connectionPool full (upstream/target-pool.ts, or the pools' own queues) -> 503 (UO); the
// client gone before the answer ended -> flag DC (the exchange is abandoned).
//
// A target whose TrafficPolicy has a connectionPool: a permit (target-pool.ts) is taken
// before the endpoint is picked and held for the exchange, and the pools put the request
// on that target's own connections. Bytes relayed either way are reported to the idle
// timeout layer (idle-timeout.ts `touch`); each exchange is counted against its endpoint
// (upstream/endpoint-activity.ts) for ambient_waypoint_endpoint_active_requests.
import http2 from 'node:http2';
import http from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import { MAX_TIMER_MS } from '../../core/duration.js';
import { ErrorCodes } from '../../core/errors.js';
import type { Connector } from '../upstream/connect.js';
import type { H2Pool } from '../upstream/h2-pool.js';
import type { Http1Pool } from '../upstream/http1-pool.js';
import { relay } from '../upstream/relay.js';
import type { EndpointPicker } from '../balance/picker.js';
import { previousTries } from '../resilience/retry-layer.js';
import type { Headers, Layer, RequestContext, UpstreamEndpoint } from './chain.js';
import type { Mirrors } from './mirror.js';
import { touch } from './idle-timeout.js';
import type { EndpointActivity } from '../upstream/endpoint-activity.js';
import { isOverflow, type Permit, type PoolTarget, type TargetPools } from '../upstream/target-pool.js';
import { relayBody } from './body-relay.js';
import { endToEnd, h2RequestHeaders, http1RequestHeaders } from './headers.js';
import { forwardableTrailers, http1Framing, type BodyShape } from './request-body.js';

const { constants: C } = http2;

export interface ForwardOptions {
  /** The candidate endpoints of a Service port (healthy ones). */
  /** Picks an endpoint of a Service port (balance/picker.ts: the port's TrafficPolicy
   * loadBalancer, outlier detection's ejections, round robin without a policy). */
  picker: EndpointPicker;
  http1: Http1Pool;
  h2: H2Pool;
  /** Fresh connections, for WebSockets (a switched connection never returns to a pool). */
  connect: Connector;
  /** RequestMirror: sends the copies of a forwarded request (none: mirrors are not sent). */
  mirrors?: Mirrors;
  /** The connectionPool limits of targets whose TrafficPolicy sets them (none: the pools' waypoint-wide limits). */
  targets?: TargetPools;
  /** Requests in flight per endpoint (the gauge). */
  activity?: EndpointActivity;
}

/** The reason http-front.ts aborts a request with when its client went away. */
const DOWNSTREAM_CLOSED = 'downstream closed';

/** Flag DC when the request was ended because its client went away (Envoy's downstream
 * connection termination), once. */
function markClientGone(ctx: RequestContext): void {
  if (ctx.signal.aborted && ctx.signal.reason === DOWNSTREAM_CLOSED && !ctx.record.flags.includes('DC')) ctx.record.flags.push('DC');
}

function fail(ctx: RequestContext, status: number, flag: string, error: string): void {
  if (ctx.signal.aborted) return; // a deadline (or the client) ended it; its owner answered
  ctx.record.flags.push(flag);
  ctx.record.error ??= error;
  if (ctx.downstream.headersSent) {
    ctx.downstream.abort();
    return;
  }
  ctx.record.status = status;
  ctx.downstream.respond(status, { 'content-type': 'text/plain' }, `${error.replace(/^AMB_[A-Z_]+: /, '')}\n`);
}

/** The request body to the upstream, its bytes added to the record (body-relay.ts), the
 * upstream ended after it unless `end` is false; returns stop(). */
function sendRequestBody(ctx: RequestContext, up: Writable, end = true): () => void {
  ctx.record.requestBytes ??= 0;
  return relayBody(
    ctx.body,
    up,
    (n) => {
      ctx.record.requestBytes! += n;
      touch(ctx);
    },
    end,
  );
}

/** The upstream's response body to the downstream (not ended: trailers may follow), its bytes added to the record. */
function sendResponseBody(ctx: RequestContext, res: Readable): void {
  ctx.record.responseBytes ??= 0;
  touch(ctx); // the answer's head
  relayBody(
    res,
    ctx.downstream.body,
    (n) => {
      ctx.record.responseBytes! += n;
      touch(ctx);
    },
    false,
  );
}

/** `grpc-status` of trailers or headers, when it is a status code (0-16 and beyond: any integer). */
export function grpcStatusOf(h: Readonly<Record<string, unknown>> | undefined): number | undefined {
  const v = h?.['grpc-status'];
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s !== 'string' && typeof s !== 'number') return undefined;
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** The request's trailers once its body ended (node:http's IncomingMessage and node:http2's
 * compatibility request both keep them as `trailers`). */
function trailersOf(body: Readable): Record<string, string | string[] | undefined> | undefined {
  const t = (body as Readable & { trailers?: Record<string, string | string[] | undefined> }).trailers;
  return t !== undefined && Object.keys(t).length > 0 ? t : undefined;
}

/** What the downstream said about the body: its length, and whether there is one at all. */
function bodyShape(ctx: RequestContext): BodyShape {
  const cl = ctx.headers['content-length'];
  const contentLength = Array.isArray(cl) ? cl[0] : cl;
  const b = ctx.body as Readable & { headers?: http.IncomingHttpHeaders; stream?: { endAfterHeaders?: boolean } };
  let mayHaveBody = true;
  // HTTP/1.1: a request has a body only with Content-Length or Transfer-Encoding (RFC 9112 section 6.3).
  if (ctx.protocol === 'http1' && b.headers !== undefined) mayHaveBody = b.headers['transfer-encoding'] !== undefined || b.headers['content-length'] !== undefined;
  // HTTP/2: none when the headers carried END_STREAM.
  else if (ctx.protocol === 'h2' && b.stream !== undefined) mayHaveBody = b.stream.endAfterHeaders !== true;
  return contentLength === undefined ? { mayHaveBody } : { contentLength, mayHaveBody };
}

/** Ends an upstream HTTP/2 request with its trailers, or (none, or ones HTTP/2 refuses) an
 * empty END_STREAM. */
function sendRequestTrailers(s: http2.ClientHttp2Stream, trailers: Headers | undefined): void {
  if (s.destroyed || s.closed) return;
  try {
    s.sendTrailers((trailers ?? {}) as http2.OutgoingHttpHeaders);
  } catch {
    try {
      s.sendTrailers({});
    } catch {
      s.close(C.NGHTTP2_INTERNAL_ERROR);
    }
  }
}

/** A connect failure as `CODE: message` (the connector's MeshError carries the code). */
function connectError(err: Error & { code?: string }): string {
  return `${err.code?.startsWith('AMB_') ? err.code : ErrorCodes.WAYPOINT_UPSTREAM_CONNECT}: ${err.message}`;
}

function responseHeaders(ctx: RequestContext, raw: Readonly<Record<string, string | string[] | number | undefined>>): Headers {
  const headers = endToEnd(raw);
  const a = ctx.action;
  return a?.kind === 'forward' && a.responseHeaders ? a.responseHeaders(headers) : headers;
}

export function forwardLayer(o: ForwardOptions): Layer {
  return async (ctx) => {
    const a = ctx.action ?? { kind: 'forward' as const, port: ctx.target.port, ...(ctx.target.service !== undefined && { service: ctx.target.service }), ...(ctx.target.endpoint && { endpoint: ctx.target.endpoint }) };
    if (a.kind !== 'forward') return;
    // The target's connectionPool: a permit first (it may wait for an HTTP/1.1 connection).
    const oneConnectionEach = ctx.upgrade !== undefined || ctx.protocol !== 'h2';
    const target = a.service !== undefined && !a.endpoint ? o.targets?.get(a.service, a.port) : undefined;
    let permit: Permit | undefined;
    if (target) {
      try {
        permit = await target.acquire(oneConnectionEach, ctx.signal);
      } catch (err) {
        if (!isOverflow(err)) return void markClientGone(ctx);
        (oneConnectionEach ? o.http1 : o.h2).stats.overflowed++;
        fail(ctx, 503, 'UO', `${ErrorCodes.WAYPOINT_UPSTREAM_OVERFLOW}: ${err.message}`);
        return;
      }
    }
    try {
      await exchange(o, ctx, a, target);
    } finally {
      permit?.release();
    }
  };
}

type ForwardAction = Extract<NonNullable<RequestContext['action']>, { kind: 'forward' }>;

/** Picks the endpoint and runs the one upstream exchange. */
async function exchange(o: ForwardOptions, ctx: RequestContext, a: ForwardAction, target: PoolTarget | undefined): Promise<void> {
  let endpoint = a.endpoint;
  let release: (() => void) | undefined;
  if (!endpoint && a.service !== undefined) {
    const p = o.picker.pick(a.service, a.port, { headers: ctx.headers, path: ctx.path, avoid: previousTries(ctx), ...((ctx.source.address ?? ctx.source.tunnelPeer) && { sourceIp: (ctx.source.address ?? ctx.source.tunnelPeer)!.host }) });
    if (p.endpoint) {
      endpoint = p.endpoint;
      release = p.release;
      // A generated hash cookie goes on this answer, so the client sticks from now on.
      if (p.setCookie !== undefined) ctx.action = { ...a, responseHeaders: withSetCookie(a.responseHeaders, p.setCookie) };
    }
  }
  if (!endpoint) {
    fail(ctx, 503, 'UH', `${ErrorCodes.WAYPOINT_NO_ENDPOINT}: no healthy endpoint for ${a.service ?? ctx.target.address.host}:${a.port}`);
    return;
  }
  ctx.record.upstream = `${endpoint.ip}:${endpoint.port}`;
  const ended = a.service !== undefined && o.activity ? o.activity.start(a.service, a.port, endpoint) : undefined;
  const backendMs = a.backendRequestTimeoutMs ?? 0;
  let timer: NodeJS.Timeout | undefined;
  // One attempt's own signal only when it has its own deadline; else the request's is it.
  let attempt: AbortController | undefined;
  const onAbort = () => attempt!.abort();
  if (backendMs > 0) {
    attempt = new AbortController();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    // A Gateway API timeout may be up to 99999h; a longer delay than a timer holds would fire at once.
    timer = setTimeout(() => {
      if (ctx.signal.aborted) return;
      ctx.record.flags.push('UT');
      ctx.record.error ??= `${ErrorCodes.WAYPOINT_TIMEOUT}: backend request timeout ${backendMs} ms`;
      attempt!.abort();
      if (ctx.downstream.headersSent) ctx.downstream.abort();
      else {
        ctx.record.status = 504;
        ctx.downstream.respond(504, { 'content-type': 'text/plain' }, `upstream request timeout (${backendMs} ms)\n`);
      }
    }, Math.min(backendMs, MAX_TIMER_MS));
  }
  const signal = attempt ? attempt.signal : ctx.signal;
  // The copies' tee, attached once the body is piped upstream (never before: it would make
  // the body flow with nobody to take it).
  const tee = o.mirrors?.begin(ctx, a.mirrors);
  try {
    if (ctx.upgrade) await forwardUpgrade(o, ctx, endpoint, signal, target);
    else if (ctx.protocol === 'h2') await forwardH2(o, ctx, endpoint, signal, tee, target);
    else await forwardHttp1(o, ctx, endpoint, signal, tee, target);
  } finally {
    if (attempt) {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
    markClientGone(ctx);
    ended?.();
    release?.();
  }
}

/** The route's response header modifier, then a `set-cookie` added (kept with any the
 * upstream set). */
function withSetCookie(prev: ((h: Headers) => Headers) | undefined, cookie: string): (h: Headers) => Headers {
  return (h) => {
    const out = prev ? prev(h) : h;
    const have = out['set-cookie'];
    return { ...out, 'set-cookie': have === undefined ? [cookie] : [...(Array.isArray(have) ? have : [have]), cookie] };
  };
}

/** Ends `ctx`'s part once the downstream answer is complete or abandoned. */
function forwardHttp1(o: ForwardOptions, ctx: RequestContext, endpoint: UpstreamEndpoint, signal: AbortSignal, tee?: () => void, target?: PoolTarget): Promise<void> {
  return new Promise<void>((resolve) => {
    let settled = false;
    let connected = false;
    let stopRequestBody: (() => void) | undefined;
    const headers = http1RequestHeaders(ctx.headers, ctx.authority) as http.OutgoingHttpHeaders;
    // Chunked whenever the body's length is unknown (never unframed: request-body.ts).
    const framing = http1Framing(bodyShape(ctx));
    if (framing === 'chunked') headers['transfer-encoding'] = 'chunked';
    else delete headers['trailer']; // only chunked carries trailers
    const up = o.http1.request(endpoint, ctx.method, ctx.path, headers, ctx.upstreamTrace, target);
    const finish = () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      up.destroy();
      finish();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    up.once('socket', () => (connected = true));
    up.on('continue', () => ctx.downstream.writeContinue());
    up.on('error', (err: Error & { code?: string }) => {
      if (settled) return;
      // (A request that waited for a connection in vain: the pool's overflow, flag UO; it
      // never reached the endpoint, so outlier detection does not count it there.)
      if (!connected && isOverflow(err)) {
        delete ctx.record.upstream;
        fail(ctx, 503, 'UO', connectError(err));
      } else if (!connected) fail(ctx, 503, 'UF', connectError(err));
      else fail(ctx, 503, 'UC', `${ErrorCodes.WAYPOINT_UPSTREAM_RESET}: upstream ${ctx.record.upstream} closed or reset the connection before its response (${err.code ?? err.message})`);
      stopRequestBody?.();
      finish();
    });
    up.on('response', (res: http.IncomingMessage) => {
      if (settled || signal.aborted) return res.destroy();
      ctx.record.status = res.statusCode ?? 502;
      ctx.downstream.writeHead(ctx.record.status, responseHeaders(ctx, res.headers));
      const headerGrpc = grpcStatusOf(res.headers);
      if (headerGrpc !== undefined) ctx.record.grpcStatus = headerGrpc;
      sendResponseBody(ctx, res);
      res.once('end', () => {
        const trailerGrpc = grpcStatusOf(res.trailers);
        if (trailerGrpc !== undefined) ctx.record.grpcStatus = trailerGrpc;
        ctx.downstream.end(Object.keys(res.trailers).length ? endToEnd(res.trailers) : undefined);
        finish();
      });
      res.once('aborted', () => {
        ctx.record.flags.push('UC');
        ctx.record.error ??= `${ErrorCodes.WAYPOINT_UPSTREAM_RESET}: upstream ${ctx.record.upstream} reset during its response`;
        ctx.downstream.abort();
        finish();
      });
      res.once('error', () => {
        if (settled) return;
        ctx.record.flags.push('UC');
        ctx.downstream.abort();
        finish();
      });
    });
    // Expect: 100-continue: the head goes out now, the body follows the upstream's 100
    // (the client sends it only once the waypoint relays that 100).
    if (ctx.headers['expect'] !== undefined) up.flushHeaders();
    // Ended here, not by the relay: the request's trailers (known at its end) go first.
    stopRequestBody = sendRequestBody(ctx, up, false);
    ctx.body.once('end', () => {
      if (up.destroyed || up.writableEnded) return;
      const trailers = framing === 'chunked' ? forwardableTrailers(trailersOf(ctx.body)) : undefined;
      if (trailers) up.addTrailers(trailers as http.OutgoingHttpHeaders);
      up.end();
    });
    tee?.();
  });
}

function forwardH2(o: ForwardOptions, ctx: RequestContext, endpoint: UpstreamEndpoint, signal: AbortSignal, tee?: () => void, target?: PoolTarget): Promise<void> {
  return new Promise<void>((resolve) => {
    let settled = false;
    let stream: http2.ClientHttp2Stream | undefined;
    let trailers: Headers | undefined;
    let ended = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      if (stream && !stream.destroyed) stream.close(C.NGHTTP2_CANCEL);
      finish();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const headers = h2RequestHeaders(ctx.headers, ctx.method, ctx.path, ctx.authority, ctx.scheme) as http2.OutgoingHttpHeaders;
    // A body may end with trailers: the stream waits for them (sendTrailers below).
    const mayHaveBody = bodyShape(ctx).mayHaveBody;
    o.h2.request(endpoint, headers, ctx.upstreamTrace, { waitForTrailers: mayHaveBody, ...(target && { target }) }).then(
      (s) => {
        stream = s;
        if (settled) return void s.close(C.NGHTTP2_CANCEL);
        s.on('error', () => {}); // seen as the stream's close code below
        if (mayHaveBody) s.once('wantTrailers', () => sendRequestTrailers(s, forwardableTrailers(trailersOf(ctx.body))));
        s.on('response', (h) => {
          if (settled) return;
          const status = Number(h[':status']);
          ctx.record.status = status;
          ctx.downstream.writeHead(status, responseHeaders(ctx, h));
          const headerGrpc = grpcStatusOf(h);
          if (headerGrpc !== undefined) ctx.record.grpcStatus = headerGrpc;
          sendResponseBody(ctx, s);
        });
        s.on('trailers', (t) => {
          trailers = endToEnd(t);
          const trailerGrpc = grpcStatusOf(t);
          if (trailerGrpc !== undefined) ctx.record.grpcStatus = trailerGrpc;
        });
        s.once('end', () => (ended = true));
        s.once('close', () => {
          if (settled) return;
          if (ended && s.rstCode === C.NGHTTP2_NO_ERROR) {
            // A response of headers alone (gRPC trailers-only) still gets its head out.
            if (!ctx.downstream.headersSent) return void (fail(ctx, 503, 'UC', `${ErrorCodes.WAYPOINT_UPSTREAM_RESET}: upstream ${ctx.record.upstream} ended the stream without a response`), finish());
            ctx.downstream.end(trailers);
          } else {
            fail(ctx, 503, 'UC', `${ErrorCodes.WAYPOINT_UPSTREAM_RESET}: upstream ${ctx.record.upstream} reset the stream (HTTP/2 error ${s.rstCode})`);
          }
          finish();
        });
        sendRequestBody(ctx, s);
        tee?.();
      },
      (err: Error) => {
        // (The target's sessions being dialled had maxPendingRequests waiting: UO, and the
        // request never reached the endpoint.)
        if (isOverflow(err)) delete ctx.record.upstream;
        fail(ctx, 503, isOverflow(err) ? 'UO' : 'UF', connectError(err));
        finish();
      },
    );
  });
}

/**
 * HTTP/1.1 Upgrade (WebSocket): the request goes on a fresh connection; a 101 switches
 * both sides to a byte relay (the answer head goes back as the upstream wrote it, with its
 * Connection/Upgrade); any other answer is relayed and the connection closed.
 */
async function forwardUpgrade(o: ForwardOptions, ctx: RequestContext, endpoint: UpstreamEndpoint, signal: AbortSignal, target?: PoolTarget): Promise<void> {
  const client = ctx.downstream.socket!;
  let transport: Duplex;
  try {
    transport = await o.connect(endpoint, target ? { ...ctx.upstreamTrace, connectTimeoutMs: target.limits.connectTimeoutMs } : ctx.upstreamTrace);
  } catch (err) {
    fail(ctx, 503, 'UF', connectError(err as Error));
    return;
  }
  if (signal.aborted) return void transport.destroy();
  return new Promise<void>((resolve) => {
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      transport.destroy();
      finish();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const headers = { ...http1RequestHeaders(ctx.headers, ctx.authority), connection: 'Upgrade', upgrade: ctx.upgrade! } as http.OutgoingHttpHeaders;
    const up = http.request({ method: ctx.method, path: ctx.path, headers, setHost: false, createConnection: () => transport as never });
    up.on('error', (err: Error & { code?: string }) => {
      if (settled) return;
      fail(ctx, 503, 'UC', `${ErrorCodes.WAYPOINT_UPSTREAM_RESET}: upstream ${ctx.record.upstream} closed before answering the upgrade (${err.code ?? err.message})`);
      finish();
    });
    up.on('upgrade', (res: http.IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      if (settled) return void upSocket.destroy();
      ctx.record.status = 101;
      const head: Headers = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) head[k] = v;
      ctx.downstream.writeHead(101, head);
      if (upHead.length) client.write(upHead);
      if (ctx.upgradeHead?.length) upSocket.write(ctx.upgradeHead);
      signal.removeEventListener('abort', onAbort);
      // Switched: the exchange is over for the chain (timeouts no longer apply); the relay
      // lives until either side ends it.
      relay(client, upSocket, { forward: 0, backward: 0 }, () => {});
      finish();
    });
    up.on('response', (res: http.IncomingMessage) => {
      if (settled) return res.destroy();
      ctx.record.status = res.statusCode ?? 502;
      ctx.downstream.writeHead(ctx.record.status, responseHeaders(ctx, res.headers));
      res.pipe(client);
      res.once('end', finish);
      res.once('aborted', () => {
        ctx.downstream.abort();
        finish();
      });
    });
    up.end();
  });
}
