// The answer side of a request, one interface for HTTP/1.1 (node:http's ServerResponse),
// HTTP/2 (node:http2's compatibility response, with its stream for resets) and an
// HTTP/1.1 Upgrade request (a raw socket: node:http hands those over before any response
// object exists). Layers answer through it without knowing which one it is.
import http2 from 'node:http2';
import type http from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import type { Headers } from './chain.js';

const { constants: C } = http2;

export interface Downstream {
  readonly headersSent: boolean;
  /** A whole answer from the waypoint itself (an error, a redirect). */
  respond(status: number, headers?: Record<string, string>, body?: string): void;
  /** Starts a streamed answer; the body goes to `body`, then `end`. */
  writeHead(status: number, headers: Headers): void;
  readonly body: Writable;
  /** Ends the answer, with trailers when there are any (HTTP/2; HTTP/1.1 chunked). */
  end(trailers?: Headers): void;
  /** `100 Continue` (the upstream sent it: the client may send its body). */
  writeContinue(): void;
  /** The answer cannot complete (upstream reset, deadline after the head went out):
   * HTTP/2 RST_STREAM, HTTP/1.1 the connection (tunnel) reset. */
  abort(): void;
  /** Upgrade requests only: the client's connection, to be given the upstream's 101 and then bytes. */
  readonly socket?: Duplex;
}

/** Resets the tunnel stream an HTTP/1.1 connection runs on (CONNECT_ERROR: what a TCP reset
 * is on HBONE, RFC 9113 section 8.5), or destroys a plain socket. */
export function resetConnection(socket: Duplex): void {
  const s = socket as Duplex & { close?: (code: number) => void; rstCode?: number; resetAndDestroy?: () => void };
  if (typeof s.close === 'function' && 'rstCode' in s) {
    if (!s.destroyed) s.close(C.NGHTTP2_CONNECT_ERROR);
  } else if (typeof s.resetAndDestroy === 'function' && !s.destroyed && !s.writableEnded) s.resetAndDestroy();
  else s.destroy();
}

function flat(headers: Headers): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v;
  return out;
}

/** HTTP/1.1 through node:http. */
export class Http1Downstream implements Downstream {
  constructor(
    readonly res: http.ServerResponse,
    private readonly draining: () => boolean,
  ) {}
  get headersSent() {
    return this.res.headersSent;
  }
  get body(): Writable {
    return this.res;
  }
  respond(status: number, headers: Record<string, string> = {}, body = ''): void {
    if (this.res.headersSent) return this.abort();
    const payload = Buffer.from(body);
    if (this.draining()) this.res.shouldKeepAlive = false;
    this.res.writeHead(status, { ...headers, 'content-length': payload.length });
    this.res.end(payload);
  }
  writeHead(status: number, headers: Headers): void {
    if (this.draining()) this.res.shouldKeepAlive = false;
    this.res.writeHead(status, flat(headers));
  }
  end(trailers?: Headers): void {
    if (trailers && Object.keys(trailers).length) this.res.addTrailers(flat(trailers) as Record<string, string>);
    this.res.end();
  }
  writeContinue(): void {
    if (!this.res.headersSent) this.res.writeContinue();
  }
  abort(): void {
    resetConnection(this.res.socket ?? (this.res.req.socket as Duplex));
    this.res.destroy();
  }
}

/** HTTP/2 through node:http2's compatibility API. */
export class H2Downstream implements Downstream {
  constructor(readonly res: http2.Http2ServerResponse) {}
  get headersSent() {
    return this.res.headersSent;
  }
  get body(): Writable {
    return this.res as unknown as Writable;
  }
  respond(status: number, headers: Record<string, string> = {}, body = ''): void {
    if (this.res.headersSent) return this.abort();
    const payload = Buffer.from(body);
    this.res.writeHead(status, { ...headers, 'content-length': String(payload.length) });
    this.res.end(payload);
  }
  writeHead(status: number, headers: Headers): void {
    this.res.writeHead(status, flat(headers));
  }
  end(trailers?: Headers): void {
    if (trailers && Object.keys(trailers).length) this.res.addTrailers(flat(trailers));
    this.res.end();
  }
  writeContinue(): void {
    if (!this.res.headersSent) this.res.writeContinue();
  }
  abort(): void {
    const stream = this.res.stream;
    if (!stream.destroyed && !stream.closed) stream.close(C.NGHTTP2_INTERNAL_ERROR);
  }
}

const REASONS: Record<number, string> = { 101: 'Switching Protocols', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function headBlock(status: number, headers: Headers, reason?: string): string {
  let head = `HTTP/1.1 ${status} ${reason ?? REASONS[status] ?? 'Status'}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      // Values come from an upstream that node:http parsed; CR/LF cannot be in them. Checked anyway.
      if (/[\r\n]/.test(k) || /[\r\n]/.test(one)) continue;
      head += `${k}: ${one}\r\n`;
    }
  }
  return `${head}\r\n`;
}

/**
 * An HTTP/1.1 Upgrade request's client connection: answers are written as raw HTTP/1.1
 * (a refusal closes the connection, as there is no keep-alive after an Upgrade request
 * that was not switched); a 101 leaves the socket to the byte relay.
 */
export class UpgradeDownstream implements Downstream {
  #sent = false;
  constructor(readonly socket: Duplex) {}
  get headersSent() {
    return this.#sent;
  }
  get body(): Writable {
    return this.socket;
  }
  respond(status: number, headers: Record<string, string> = {}, body = ''): void {
    if (this.#sent) return this.abort();
    const payload = Buffer.from(body);
    this.#sent = true;
    this.socket.end(Buffer.concat([Buffer.from(headBlock(status, { ...headers, 'content-length': String(payload.length), connection: 'close' }), 'latin1'), payload]));
  }
  /** A 101 (the relay follows) or a streamed refusal (connection: close, body until end). */
  writeHead(status: number, headers: Headers, reason?: string): void {
    this.#sent = true;
    this.socket.write(headBlock(status, status === 101 ? headers : { ...headers, connection: 'close' }, reason), 'latin1');
  }
  end(): void {
    this.socket.end();
  }
  writeContinue(): void {}
  abort(): void {
    resetConnection(this.socket);
  }
}
