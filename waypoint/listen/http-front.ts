// The HTTP servers inside tunnels: one node:http server (HTTP/1.1) and one node:http2
// server (h2c prior knowledge), never listening themselves; each tunnel whose bytes are
// HTTP is handed to one of them as a connection (`emit('connection', stream)`). Every
// request becomes a RequestContext and runs the chain. node:http answers what does not
// parse (400, 431) itself, on that connection only.
//
// Drain: no new connections; idle HTTP/1.1 connections are ended, busy ones get
// `connection: close` on their answer; HTTP/2 connections get GOAWAY and finish their
// streams. drain() resolves when no request is in flight.
import { normaliseTarget } from '../http/request-target.js';
import http from 'node:http';
import http2 from 'node:http2';
import { Readable, type Duplex } from 'node:stream';
import type { PeerGuard } from '../../core/hbone/guard.js';
import type { HboneRequest } from '../../core/hbone/server.js';
import { addressKey } from '../../core/hbone/wire.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import { ErrorCodes } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { RequestContext, TunnelTarget } from '../http/chain.js';
import { H2Downstream, Http1Downstream, UpgradeDownstream, type Downstream } from '../http/downstream.js';
import { requestHeadersFromClient, websocketUpgrade } from '../http/headers.js';
import type { WaypointLimits } from '../limits.js';
import { protocolFromAppProtocol } from './detect.js';
import { headStart, headState, type HeadState } from './head-timer.js';
import { h2cUpgradeSettings, hpackLiterals, requestFrames, rewritePreface, SWITCHING_TO_H2C, upgradedRequestFields } from './h2c-upgrade.js';

/** The `length` bytes of a body that follow a request head node:http did not read past
 * (an Upgrade request): `head` first, then the connection's bytes, with backpressure. */
function fixedLengthBody(socket: Duplex, head: Buffer, length: number): Readable {
  let left = Number.isSafeInteger(length) && length > 0 ? length : 0;
  const out = new Readable({ read: () => void (left > 0 && socket.resume()) });
  if (left === 0) {
    out.push(null);
    return out;
  }
  const take = (c: Buffer) => {
    const piece = c.length > left ? c.subarray(0, left) : c;
    left -= piece.length;
    const more = out.push(piece);
    if (left === 0) {
      socket.off('data', take);
      socket.off('end', early);
      socket.pause();
      out.push(null);
    } else if (!more) socket.pause();
  };
  const early = () => out.destroy(new Error('the client ended before its body'));
  if (head.length) take(head);
  if (left > 0) {
    socket.on('data', take);
    socket.once('end', early);
  }
  return out;
}

/** What a tunnel is: who opened it and where it was going. */
export interface TunnelInfo {
  request: HboneRequest;
  target: TunnelTarget;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

interface Connection {
  active: number;
  socket: Duplex;
  /** The request whose head came last (its body may still be arriving). */
  current?: http.IncomingMessage;
  /** Running from the first byte of a request head until the head is complete. */
  headTimer?: NodeJS.Timeout;
  /** Running while the current request's body is being read; refreshed by each chunk. */
  bodyTimer?: NodeJS.Timeout;
  /** What the body timer does for the current request (set while its body is expected). */
  bodyIdle?: () => void;
  /** Stops the head timer for good (the connection was switched by an Upgrade). */
  stopHeadTimer: () => void;
}

const noop = () => {};

function stopBody(conn: Connection): void {
  clearTimeout(conn.bodyTimer);
  conn.bodyTimer = undefined;
  conn.bodyIdle = undefined;
}

/** Whether a request head announces a body (node:http reads it after the head). */
function announcesBody(h: http.IncomingHttpHeaders): boolean {
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

export class HttpFront {
  readonly h1: http.Server;
  readonly h2: http2.Http2Server;
  readonly #handler: Handler;
  readonly #log: Logger;
  readonly #info = new WeakMap<object, TunnelInfo>();
  readonly #sources = new WeakMap<TunnelInfo, RequestContext['source']>();
  readonly #h1Connections = new Map<Duplex, Connection>();
  readonly #h2Sessions = new Set<http2.ServerHttp2Session>();
  /** The tunnel being handed to the HTTP/2 server (its 'session' event is synchronous). */
  #handing: TunnelInfo | undefined;
  #inflight = 0;
  #draining = false;
  #idle: Array<() => void> = [];
  readonly #headersTimeoutMs: number;
  readonly #bodyIdleMs: number;
  /** The HBONE listener's penalty box: inner HTTP/2 streams reset before their answer count
   * against the tunnel's peer there, so a new tunnel (or HBONE connection) starts no count afresh. */
  readonly #guard: (() => PeerGuard | undefined) | undefined;

  constructor(handler: Handler, limits: WaypointLimits, logger: Logger = silentLogger, guard?: () => PeerGuard | undefined) {
    this.#handler = handler;
    this.#log = logger;
    this.#guard = guard;
    this.#headersTimeoutMs = limits.headersTimeoutMs;
    this.#bodyIdleMs = limits.requestBodyIdleTimeoutMs;
    this.h1 = http.createServer({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: 0, headersTimeout: limits.headersTimeoutMs, keepAliveTimeout: limits.downstreamKeepAliveTimeoutMs });
    const onH1 = (req: http.IncomingMessage, res: http.ServerResponse) => this.#http1(req, res);
    this.h1.on('request', onH1);
    // With a listener, node:http leaves `100 Continue` to us: it is the upstream's to give.
    this.h1.on('checkContinue', onH1);
    this.h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    // node:http's own answer to what does not parse is only written to a net.Socket: ours
    // are tunnel streams, answered here (that connection only; the process goes on).
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      this.#log.debug({ err: err.message, code: err.code }, 'waypoint: malformed HTTP/1.1 request');
      if (!socket.writable || (err.code === 'ECONNRESET' && !socket.readable)) return void socket.destroy();
      const status = clientErrorStatus(err.code);
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    this.h2 = http2.createServer({
      maxSessionMemory: 64,
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes, enablePush: false },
    });
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      if (this.#handing) this.#info.set(session, this.#handing);
      this.#h2Sessions.add(session);
      session.on('error', noop);
      session.once('close', () => {
        this.#h2Sessions.delete(session);
        this.#maybeIdle();
      });
      if (this.#draining) this.#goaway(session);
    });
    this.h2.on('sessionError', noop);
    const onH2 = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => this.#http2(req, res);
    this.h2.on('request', onH2);
    this.h2.on('checkContinue', onH2);
  }

  get inflight(): number {
    return this.#inflight;
  }

  serveHttp1(stream: Duplex, info: TunnelInfo): void {
    this.#info.set(stream, info);
    // node:http checks headersTimeout from a timer it starts on the server's 'listening'
    // event, and these servers never listen: the slowloris guard is this connection's own
    // (head-timer.ts decides). Armed by the first byte of a request head, cleared when
    // the head is complete ('request'); a head not complete within headersTimeoutMs is
    // answered 408 and the connection closed, as node:http does.
    let before: HeadState | undefined;
    const beforeData = () => (before = headState(conn.current));
    const afterData = () => {
      // A request body with no byte for requestBodyIdleTimeoutMs ends the request: a client
      // stalling uploads cannot hold the endpoint's pooled connections.
      if (conn.bodyIdle) {
        if (conn.current && !conn.current.complete) {
          if (conn.bodyTimer) conn.bodyTimer.refresh();
          else conn.bodyTimer = setTimeout(conn.bodyIdle, this.#bodyIdleMs);
        } else stopBody(conn);
      }
      // (A chunk that ended a body and may hold the start of a next head arms nothing: the
      // next byte of that head does, or node's keepAliveTimeout closes the idle connection.)
      if (headStart(before!, headState(conn.current)) !== 'started') return;
      conn.headTimer ??= setTimeout(() => this.#headTimedOut(conn), this.#headersTimeoutMs);
    };
    const conn: Connection = {
      active: 0,
      socket: stream,
      stopHeadTimer: () => {
        stopBody(conn);
        clearTimeout(conn.headTimer);
        conn.headTimer = undefined;
        stream.off('data', beforeData);
        stream.off('data', afterData);
      },
    };
    this.#h1Connections.set(stream, conn);
    stream.once('close', () => {
      conn.stopHeadTimer();
      this.#h1Connections.delete(stream);
      this.#maybeIdle();
    });
    // Around node:http's own listener: what a chunk did to the request being read.
    stream.on('data', beforeData);
    this.h1.emit('connection', stream);
    stream.on('data', afterData);
    stream.resume();
  }

  /** No byte of the request body for requestBodyIdleTimeoutMs: 408 if nothing was answered yet, else a reset. */
  #bodyTimedOut(conn: Connection, ctx: RequestContext, res: http.ServerResponse): void {
    stopBody(conn);
    const socket = conn.socket;
    ctx.record.error ??= `${ErrorCodes.WAYPOINT_REQUEST_BODY_TIMEOUT}: no request body byte for ${this.#bodyIdleMs} ms`;
    this.#log.debug({ timeoutMs: this.#bodyIdleMs }, 'waypoint: request body idle; ending the request');
    if (res.headersSent || !socket.writable) {
      ctx.abort('request body idle');
      return void socket.destroy();
    }
    ctx.record.status = 408;
    // The rest of the body is never read: the connection closes after the answer.
    res.shouldKeepAlive = false;
    ctx.downstream.respond(408, { 'content-type': 'text/plain', connection: 'close' }, 'request body timed out\n');
    ctx.abort('request body idle');
    res.once('finish', () => socket.end());
    setTimeout(() => socket.destroy(), this.#headersTimeoutMs).unref();
  }

  /** A request head not complete within headersTimeoutMs (slowloris). */
  #headTimedOut(conn: Connection): void {
    conn.headTimer = undefined;
    const socket = conn.socket;
    this.#log.debug({ timeoutMs: this.#headersTimeoutMs }, 'waypoint: request head not complete in time; closing the connection');
    // An answer still being written on the connection cannot be followed by a 408.
    if (conn.active > 0 || !socket.writable) return void socket.destroy();
    socket.end(`HTTP/1.1 408 ${http.STATUS_CODES[408]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    // A client that never closes its side does not keep the tunnel.
    setTimeout(() => socket.destroy(), this.#headersTimeoutMs).unref();
  }

  serveH2(stream: Duplex, info: TunnelInfo): void {
    this.#handing = info;
    try {
      this.h2.emit('connection', stream);
    } finally {
      this.#handing = undefined;
    }
  }

  /**
   * Stops taking requests on idle connections and tells busy ones to close; resolves when
   * nothing is in flight and every connection has closed (so the last answers were
   * delivered, not cut off by a teardown).
   */
  drain(): Promise<void> {
    this.#draining = true;
    for (const session of this.#h2Sessions) this.#goaway(session);
    for (const conn of this.#h1Connections.values()) if (conn.active === 0) conn.socket.end();
    const done = new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#maybeIdle();
    return done;
  }

  #maybeIdle(): void {
    if (!this.#draining || this.#inflight > 0 || this.#h1Connections.size > 0 || this.#h2Sessions.size > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Everything torn down (after the drain's deadline). */
  destroy(): void {
    for (const session of this.#h2Sessions) session.destroy();
    for (const conn of this.#h1Connections.values()) conn.socket.destroy();
    this.h1.close();
    this.h2.close();
  }

  #goaway(session: http2.ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    session.goaway(http2.constants.NGHTTP2_NO_ERROR);
    session.close();
  }

  /** Who sent the tunnel's requests: the same for each of them, built once per tunnel. */
  #source(info: TunnelInfo): RequestContext['source'] {
    let source = this.#sources.get(info);
    if (source === undefined) {
      const peer = info.request.peer;
      source = { identity: formatSpiffeId(peer), namespace: peer.namespace, serviceAccount: peer.serviceAccount, address: info.request.forwardedFor ?? info.request.remote, tunnelPeer: info.request.remote };
      if (info.request.traceparent !== undefined) source.connectTraceparent = info.request.traceparent;
      Object.freeze(source);
      this.#sources.set(info, source);
    }
    return source;
  }

  #context(info: TunnelInfo, fields: Pick<RequestContext, 'method' | 'path' | 'authority' | 'scheme' | 'headers' | 'body' | 'protocol'>, downstream: Downstream): RequestContext {
    const ac = new AbortController();
    // Normalised once, for every layer and the backend alike (request-target.ts).
    const target = normaliseTarget(fields.path, fields.authority);
    return {
      method: fields.method,
      path: target.path,
      authority: target.authority,
      scheme: fields.scheme,
      headers: fields.headers,
      body: fields.body,
      protocol: fields.protocol,
      source: this.#source(info),
      target: info.target,
      startedAt: performance.now(),
      signal: ac.signal,
      abort: (reason) => ac.abort(reason),
      downstream,
      record: { flags: [] },
    };
  }

  #run(ctx: RequestContext, conn: Connection | undefined, finished: () => boolean): void {
    this.#inflight++;
    if (conn) conn.active++;
    this.#handler(ctx)
      .catch((err: Error) => {
        this.#log.error({ err: err.message }, 'waypoint: request chain failed');
        ctx.record.error ??= `chain failed: ${err.message}`;
        if (!ctx.downstream.headersSent) ctx.downstream.respond(500, { 'content-type': 'text/plain' }, 'internal error\n');
        else ctx.downstream.abort();
      })
      .finally(() => {
        // A chain that ended without answering (a layer bug) must not leave the client waiting.
        if (!ctx.upgrade && !finished() && !ctx.downstream.headersSent) ctx.downstream.respond(500, { 'content-type': 'text/plain' }, 'no answer\n');
        ctx.record.endedAt = performance.now();
        if (conn) {
          conn.active--;
          if (this.#draining && conn.active === 0) setImmediate(() => conn.socket.end());
        }
        this.#inflight--;
        this.#maybeIdle();
      });
  }

  #http1(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.on('error', noop);
    res.on('error', noop);
    const conn = this.#h1Connections.get(req.socket);
    if (conn) {
      conn.current = req;
      clearTimeout(conn.headTimer);
      conn.headTimer = undefined;
    }
    const info = this.#info.get(req.socket);
    if (!info) return void res.writeHead(500).end();
    const ctx = this.#context(
      info,
      { method: req.method ?? 'GET', path: req.url ?? '/', authority: req.headers.host ?? '', scheme: 'http', headers: requestHeadersFromClient(req.headers), body: req, protocol: 'http1' },
      new Http1Downstream(res, () => this.#draining),
    );
    res.once('close', () => {
      if (conn?.current === req) stopBody(conn);
      if (!res.writableFinished) ctx.abort('downstream closed');
    });
    if (conn && this.#bodyIdleMs > 0 && !req.complete && announcesBody(req.headers)) {
      stopBody(conn);
      conn.bodyIdle = () => this.#bodyTimedOut(conn, ctx, res);
      // A client that waits for `100 Continue` sends nothing before it: its first byte arms the timer.
      if (req.headers.expect === undefined) conn.bodyTimer = setTimeout(conn.bodyIdle, this.#bodyIdleMs);
    }
    this.#run(ctx, conn, () => res.writableEnded);
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', noop);
    // Its head is complete, and what follows is no longer HTTP/1.1 request heads.
    this.#h1Connections.get(socket)?.stopHeadTimer();
    const info = this.#info.get(socket);
    if (!info) return void socket.destroy();
    // h2c (RFC 7540 section 3.2): a request without a body becomes stream 1 of an HTTP/2
    // connection (h2c-upgrade.ts); while draining, it is answered over HTTP/1.1 instead.
    // Only on ports declared HTTP/2 (appProtocol http2, grpc, kubernetes.io/h2c): the
    // upstream speaks the client's protocol, and an `http` port's application may speak
    // HTTP/1.1 alone; elsewhere the Upgrade is declined and the request served as HTTP/1.1.
    const h2cSettings = this.#draining || protocolFromAppProtocol(info.target.appProtocol) !== 'h2' ? undefined : h2cUpgradeSettings(req.headers);
    if (h2cSettings !== undefined) return this.#switchToH2c(req, socket, head, info, h2cSettings);
    const ws = websocketUpgrade(req.headers);
    // node:http leaves an Upgrade request's body unread: a request that is not switched
    // gets it here (its Content-Length's worth), so it goes upstream whole, never as a
    // head announcing a body that does not follow on a pooled connection.
    let body: Readable;
    if (!ws && req.headers['transfer-encoding'] !== undefined) {
      new UpgradeDownstream(socket).respond(400, { 'content-type': 'text/plain' }, 'an Upgrade request with a chunked body is not served\n');
      return;
    } else if (!ws && req.headers['content-length'] !== undefined) body = fixedLengthBody(socket, head, Number(req.headers['content-length']));
    else body = Readable.from([]);
    // The head, as on node:http's requests: the forward layer reads from it whether a body comes.
    Object.assign(body, { headers: req.headers });
    const ctx = this.#context(
      info,
      { method: req.method ?? 'GET', path: req.url ?? '/', authority: req.headers.host ?? '', scheme: 'http', headers: requestHeadersFromClient(req.headers), body, protocol: 'http1' },
      new UpgradeDownstream(socket),
    );
    // WebSocket is switched (and h2c above); any other Upgrade is answered over HTTP/1.1
    // as if it were not asked for, and the connection closes.
    if (ws) {
      ctx.upgrade = 'websocket';
      ctx.upgradeHead = head;
    }
    socket.once('close', () => ctx.abort('downstream closed'));
    this.#run(ctx, undefined, () => socket.writableEnded);
  }

  /** Answers 101 and serves the connection as HTTP/2 with the request as its stream 1. */
  #switchToH2c(req: http.IncomingMessage, socket: Duplex, head: Buffer, info: TunnelInfo, settings: Buffer): void {
    // From here on an HTTP/2 connection (drained with GOAWAY, not as an idle HTTP/1.1 one).
    this.#h1Connections.delete(socket);
    const frames = requestFrames(hpackLiterals(upgradedRequestFields(req.method ?? 'GET', req.url ?? '/', req.rawHeaders)));
    socket.write(Buffer.from(SWITCHING_TO_H2C, 'latin1'));
    let buf = head;
    const timer = setTimeout(() => socket.destroy(), this.#headersTimeoutMs);
    const onData = (c: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, c]) : c;
      step();
    };
    const onEnd = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const step = () => {
      const r = rewritePreface(buf, settings, frames);
      if (r.kind === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      if (r.kind === 'bad') {
        this.#log.debug({ reason: r.reason }, 'waypoint: h2c upgrade not followed by HTTP/2');
        return void socket.destroy();
      }
      socket.pause();
      socket.unshift(r.bytes);
      this.serveH2(socket, info);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    if (buf.length) step();
    if (!socket.destroyed) socket.resume();
  }

  #http2(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    req.on('error', noop);
    res.on('error', noop);
    const session = req.stream.session!;
    const info = this.#info.get(session);
    if (!info) return void req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    // A stream reset before its answer, by the client (rapid reset, CVE-2023-44487, inside
    // the tunnel): scored against the tunnel's peer in the HBONE listener's penalty box;
    // a peer over its budget has this session closed and its new tunnels refused there.
    req.stream.once('close', () => {
      const rst = req.stream.rstCode;
      if (res.headersSent || rst === undefined || rst === http2.constants.NGHTTP2_NO_ERROR || session.destroyed) return;
      const guard = this.#guard?.();
      if (!guard) return;
      const p = guard.record({ address: addressKey(info.request.remote.host), identity: formatSpiffeId(info.request.peer) }, 'earlyReset');
      if (p && !session.closed && !session.destroyed) {
        session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy();
      }
    });
    // Decided on the next turn, as the HBONE listener decides a CONNECT: a flood sends
    // HEADERS and RST_STREAM in one read and nghttp2 hands us both before that turn, so a
    // stream reset at once costs neither the chain (authorization) nor an upstream stream.
    setImmediate(() => {
      if (req.stream.destroyed || req.stream.closed || session.destroyed) return;
      // Frames reach the inner session through the tunnel in chunks: a RST_STREAM in the
      // tunnel's next chunk arrives one turn later. One more turn covers it.
      setImmediate(() => {
        if (req.stream.destroyed || req.stream.closed || session.destroyed) return;
        this.#http2Serve(req, res, info);
      });
    });
  }

  #http2Serve(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, info: TunnelInfo): void {
    const h = req.headers;
    const ctx = this.#context(
      info,
      {
        method: req.method,
        path: (h[':path'] as string | undefined) ?? '/',
        authority: (h[':authority'] as string | undefined) ?? (h['host'] as string | undefined) ?? '',
        scheme: (h[':scheme'] as string | undefined) ?? 'http',
        headers: requestHeadersFromClient(h),
        body: req as unknown as Readable,
        protocol: 'h2',
      },
      new H2Downstream(res),
    );
    req.stream.once('close', () => {
      if (!res.writableEnded || req.stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) ctx.abort('downstream closed');
    });
    this.#run(ctx, undefined, () => res.writableEnded);
  }
}
