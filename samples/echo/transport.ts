// HTTP/1.1 and cleartext HTTP/2 (h2c) on one port, on Node 20.
//
// Node 20's `http2.createServer({ allowHTTP1: true })` only falls back to HTTP/1.1 on TLS
// servers (ALPN); on a cleartext server the option is ignored and an HTTP/1.1 request is a
// protocol error. Nor does Node implement the HTTP/1.1 `Upgrade: h2c` dance. So a plain TCP
// server looks at the first bytes of each connection and hands it on:
//
// - the HTTP/2 connection preface ("PRI * HTTP/2.0...")  -> the HTTP/2 server (prior knowledge)
// - an HTTP/1.1 request asking `Upgrade: h2c` (RFC 7540 section 3.2, no body)
//                                                       -> "101 Switching Protocols", then the
//   HTTP/2 server, which receives the upgraded request as stream 1 (see UpgradeBridge)
// - anything else                                       -> the HTTP/1.1 server
import net from 'node:net';
import http from 'node:http';
import http2 from 'node:http2';
import { Duplex } from 'node:stream';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Largest HTTP/1.1 header block looked at for `Upgrade: h2c`; bigger ones go to HTTP/1.1. */
const MAX_SNIFF_BYTES = 16 * 1024;
/** A connection that sends no complete request head in this time is closed. */
const SNIFF_TIMEOUT_MS = 60_000;
/** HTTP/2's default SETTINGS_MAX_FRAME_SIZE: the synthetic HEADERS frame must fit in one frame. */
const MAX_FRAME = 16_384;

export interface Peer {
  address: string | undefined;
  port: number | undefined;
}

type Phase = 'sniffing' | 'http1' | 'http2';

interface Conn {
  socket: net.Socket;
  phase: Phase;
  /** HTTP/1.1 requests whose responses are not finished. */
  inflight: number;
  session?: http2.Http2Session;
}

/** Routes connections accepted by `server` to `h1` or `h2`; tracks them for a graceful stop. */
export class ProtocolMux {
  readonly server: net.Server;
  private readonly conns = new Map<net.Socket, Conn>();
  private readonly sessionPeers = new WeakMap<http2.Http2Session, Peer>();
  private nextSession?: { peer: Peer; conn: Conn };
  private stopping = false;
  private onEmpty?: () => void;

  constructor(
    private readonly h1: http.Server,
    private readonly h2: http2.Http2Server,
  ) {
    // Http2Server emits 'session' synchronously while handling 'connection'.
    h2.on('session', (session) => {
      const next = this.nextSession;
      this.nextSession = undefined;
      if (!next) return;
      this.sessionPeers.set(session, next.peer);
      next.conn.session = session;
      if (this.stopping) session.close();
    });
    // Half-open, as Node's own HTTP server: a client that sends FIN right after its request
    // still gets the answer (with httpAllowHalfOpen, see main.ts).
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  /** The client of an HTTP/2 session (also for upgraded connections, whose socket is wrapped). */
  peerOf(session: http2.Http2Session | undefined): Peer | undefined {
    return session ? this.sessionPeers.get(session) : undefined;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Call when an HTTP/1.1 request starts; the returned function when its response ends. */
  http1RequestStarted(socket: net.Socket): () => void {
    const conn = this.conns.get(socket);
    if (!conn) return () => {};
    conn.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      conn.inflight--;
      if (this.stopping && conn.inflight === 0) socket.destroySoon();
    };
  }

  /**
   * Stops accepting, lets in-flight requests finish (HTTP/2 sessions get GOAWAY, idle
   * HTTP/1.1 connections are closed, busy ones after their response) and resolves when no
   * connection is left.
   */
  stop(): Promise<void> {
    this.stopping = true;
    this.server.close();
    for (const conn of this.conns.values()) {
      if (conn.phase === 'sniffing') conn.socket.destroy();
      else if (conn.phase === 'http2') conn.session?.close();
      else if (conn.inflight === 0) conn.socket.destroySoon();
    }
    return new Promise((resolve) => {
      this.onEmpty = resolve;
      this.checkEmpty();
    });
  }

  private checkEmpty(): void {
    if (this.stopping && this.conns.size === 0) this.onEmpty?.();
  }

  private accept(socket: net.Socket): void {
    const conn: Conn = { socket, phase: 'sniffing', inflight: 0 };
    this.conns.set(socket, conn);
    socket.on('close', () => {
      this.conns.delete(socket);
      this.checkEmpty();
    });
    socket.on('error', () => {});
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const peer: Peer = { address: socket.remoteAddress, port: socket.remotePort };
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
    socket.once('close', () => clearTimeout(timer));
    const onEnd = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const decision = classify(seen);
      if (decision === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      if (decision === 'http2') {
        conn.phase = 'http2';
        // As on Node's own HTTP/2 server: the client's FIN closes the connection.
        socket.allowHalfOpen = false;
        // Http2Session reads what is already buffered in the socket on its first tick.
        socket.unshift(seen);
        socket.pause();
        this.nextSession = { peer, conn };
        this.h2.emit('connection', socket);
        return;
      }
      const upgrade = decision === 'http1' ? undefined : h2cUpgrade(seen);
      if (upgrade) {
        conn.phase = 'http2';
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
        this.nextSession = { peer, conn };
        this.h2.emit('connection', new UpgradeBridge(socket, upgrade));
        return;
      }
      conn.phase = 'http1';
      // No 'data' listener now, so the unshifted bytes wait for the HTTP/1.1 parser's.
      socket.unshift(seen);
      this.h1.emit('connection', socket);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
  }
}

/**
 * 'http2' for the connection preface, 'head' for a complete HTTP/1.x request head that may
 * ask for an upgrade, 'http1' for anything else, 'more' while undecided.
 */
function classify(seen: Buffer): 'http2' | 'http1' | 'head' | 'more' {
  const n = Math.min(seen.length, PREFACE.length);
  if (seen.subarray(0, n).equals(PREFACE.subarray(0, n))) return n === PREFACE.length ? 'http2' : 'more';
  const end = seen.indexOf('\r\n\r\n', 0, 'latin1');
  if (end >= 0) return 'head';
  return seen.length > MAX_SNIFF_BYTES ? 'http1' : 'more';
}

/**
 * When `seen` is one HTTP/1.1 request head that asks to upgrade to h2c (RFC 7540 section
 * 3.2: `Upgrade: h2c`, `Connection: Upgrade, HTTP2-Settings`, exactly one HTTP2-Settings,
 * no body, nothing pipelined behind it), returns the request as an HTTP/2 HEADERS frame
 * for stream 1. Otherwise undefined: the request is served over HTTP/1.1.
 */
export function h2cUpgrade(seen: Buffer): Buffer | undefined {
  const end = seen.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0 || end + 4 !== seen.length) return undefined;
  const lines = seen.subarray(0, end).toString('latin1').split('\r\n');
  const start = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.1$/.exec(lines[0] ?? '');
  if (!start) return undefined;
  const method = start[1]!;
  const target = start[2]!;
  if (method === 'CONNECT') return undefined;
  const fields: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return undefined; // obsolete line folding or garbage: leave it to the HTTP/1.1 parser
    fields.push([m[1]!.toLowerCase(), m[2]!]);
  }
  const all = (name: string) => fields.filter(([k]) => k === name).map(([, v]) => v);
  const tokens = (name: string) => all(name).flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase());
  if (!tokens('upgrade').includes('h2c')) return undefined;
  const connection = tokens('connection');
  if (!connection.includes('upgrade') || !connection.includes('http2-settings')) return undefined;
  const settings = all('http2-settings');
  if (settings.length !== 1 || !/^[A-Za-z0-9_-]*=*$/.test(settings[0]!)) return undefined;
  if (all('transfer-encoding').length > 0) return undefined;
  const length = all('content-length');
  if (length.some((v) => v !== '0')) return undefined;

  let authority = all('host')[0];
  let path = target;
  if (!target.startsWith('/') && !(target === '*' && method === 'OPTIONS')) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'http:') return undefined;
    authority = url.host;
    path = url.pathname + url.search;
  }
  const hop = new Set(['host', 'connection', 'upgrade', 'http2-settings', 'keep-alive', 'proxy-connection', 'transfer-encoding', ...connection]);
  const block: Buffer[] = [];
  const add = (name: string, value: string) => block.push(Buffer.from([0]), hpackString(name), hpackString(value));
  add(':method', method);
  add(':scheme', 'http');
  if (authority !== undefined) add(':authority', authority);
  add(':path', path);
  for (const [name, value] of fields) {
    if (hop.has(name)) continue;
    if (name === 'te' && value.toLowerCase() !== 'trailers') continue;
    add(name, value);
  }
  const payload = Buffer.concat(block);
  if (payload.length > MAX_FRAME) return undefined;
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = 0x1; // HEADERS
  header[4] = 0x4 | 0x1; // END_HEADERS | END_STREAM
  header.writeUInt32BE(1, 5); // stream 1: the upgraded request
  return Buffer.concat([header, payload]);
}

/** An HPACK string literal, not Huffman-coded (RFC 7541 section 5.2). */
function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInt(bytes.length), bytes]);
}

/** An HPACK integer with a 7-bit prefix and the high bit clear (RFC 7541 section 5.1). */
function hpackInt(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  let rest = n - 127;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/**
 * The byte stream an HTTP/2 server would have seen had the upgraded request arrived over
 * HTTP/2: the client's preface and first SETTINGS frame, then the request as a HEADERS frame
 * on stream 1, then everything else the client sends. Literal header fields without
 * indexing leave the HPACK dynamic table untouched, so the client's own header blocks still
 * decode. The server's output goes to the socket unchanged.
 */
class UpgradeBridge extends Duplex {
  private pending: Buffer | undefined = Buffer.alloc(0);

  constructor(
    private readonly socket: net.Socket,
    private readonly stream1: Buffer,
  ) {
    super({ allowHalfOpen: true });
    socket.on('data', (chunk: Buffer) => this.fromClient(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
  }

  private fromClient(chunk: Buffer): void {
    let out = chunk;
    if (this.pending) {
      const seen = Buffer.concat([this.pending, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      if (!seen.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        this.socket.destroy();
        return;
      }
      const headerEnd = PREFACE.length + 9;
      if (seen.length < headerEnd) {
        this.pending = seen;
        return;
      }
      if (seen[PREFACE.length + 3] !== 0x4) {
        this.socket.destroy(); // the preface must be followed by SETTINGS
        return;
      }
      const settingsEnd = headerEnd + seen.readUIntBE(PREFACE.length, 3);
      if (seen.length < settingsEnd) {
        this.pending = seen;
        return;
      }
      this.pending = undefined;
      out = Buffer.concat([seen.subarray(0, settingsEnd), this.stream1, seen.subarray(settingsEnd)]);
    }
    if (!this.push(out)) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
