// The node agent's (and a waypoint's) side of the controller protocol on 15012
// (docs/protocol.md). One HTTP/2 connection over TLS 1.3 to the controller carries the
// config stream and certificate requests. The controller is verified by its certificate
// chain (the mesh's trust bundle) and its SPIFFE ID; we prove who we are with our
// ServiceAccount token, read anew for every request because projected tokens rotate.
//
// The config stream: hello with the versions we hold, then updates; each is handed to the
// application's handler, which applies what it can and returns per-resource errors; we
// ACK (all applied) or NACK (the rest applied, these refused). When the stream ends or
// breaks we reconnect with bounded, jittered exponential backoff and resync through the
// hello: the controller sends only what differs.
import { EventEmitter } from 'node:events';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type net from 'node:net';
import { ErrorCodes, MeshError, type ErrorCode } from '../../core/errors.js';
import type { SpiffeId } from '../../core/identity/spiffe.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import { CONTROLLER_PROTOCOL_DEFAULTS, type ControllerProtocolLimits } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import {
  LineDecoder,
  NDJSON,
  NODE_HEADER,
  PATHS,
  encodeMessage,
  parseServerMessage,
  type ResourceError,
  type ResourceRef,
  type UpdateMessage,
  type VersionedResource,
} from '../../core/config/wire.js';
import { dialHttp2, type DialFailure } from '../../core/http2/connect.js';
import { reconnectDelay } from './backoff.js';
import { checkControllerCertificate, formatControllerName, parseControllerName, type ControllerName } from './controller-name.js';
import { applyToHeld, knownRemoves, screenUpserts } from './held.js';

const { constants: C } = http2;

/** An update as the application sees it: well-formed resources only (malformed ones are refused for it). */
export interface ConfigUpdate {
  version: string;
  /** The first update of a stream: afterwards the client holds exactly the controller's set. */
  full: boolean;
  upserts: VersionedResource[];
  removes: ResourceRef[];
}

/**
 * Applies an update: everything except the resources it returns errors for (those keep
 * their previous state). Throwing refuses every upsert of the update.
 */
export type UpdateHandler = (update: ConfigUpdate) => readonly ResourceError[] | void | Promise<readonly ResourceError[] | void>;

export interface ControllerClientOptions {
  /** `host:port` or an object; the controller's Service, port 15012. */
  address: string | { host: string; port: number };
  /** The mesh's roots (read at every connection, so a rotated bundle is picked up)... */
  trustBundle?: TrustBundle;
  /** ...or roots as PEM. */
  roots?: string[];
  /** The name on the controller's certificate: its DNS name (ambient-controller.ambient-system.svc), or a SPIFFE ID. */
  controllerIdentity: SpiffeId | string;
  /** Our ServiceAccount token; called for every request (a projected token file is re-read). */
  token: () => string | Promise<string>;
  /** The node this agent runs on (the pod's spec.nodeName, through the downward API). */
  node: string;
  onUpdate?: UpdateHandler;
  logger?: Logger;
  limits?: Partial<ControllerProtocolLimits>;
  /** Jitter source (tests). */
  random?: () => number;
  /** Opens the TCP connection to the controller; default a plain connect from this
   * process's network namespace (e.g. connectInNetns to dial from another one). */
  connectTransport?: (address: { host: string; port: number }) => Promise<net.Socket>;
}

export interface IssuedCertificate {
  chain: string[];
  roots: string[];
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface UpdateReport {
  version: string;
  full: boolean;
  applied: number;
  removed: number;
  rejected: ResourceError[];
}

export interface ControllerClientEvents {
  /** The config stream is open (authenticated, answered 200). */
  connected: [];
  update: [report: UpdateReport];
  /** An open config stream ended or broke (a failed attempt to open one is only an 'error'). */
  disconnected: [err?: Error];
  error: [err: Error];
}

/** A failure talking to the controller; `status` is its HTTP answer when it gave one. */
export class ControllerError extends MeshError {
  readonly status: number | undefined;
  constructor(code: ErrorCode, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ControllerError';
    this.status = opts.status;
  }
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes));

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return ErrorCodes.CTRL_UNAUTHENTICATED;
  if (status === 403) return ErrorCodes.CTRL_FORBIDDEN;
  if (status >= 400 && status < 500) return ErrorCodes.CTRL_BAD_REQUEST;
  return ErrorCodes.CTRL_UNAVAILABLE;
}

/** The error an answer other than 200 stands for, from its JSON body `{code, message}`. */
export function errorFromResponse(status: number, body: string): ControllerError {
  let code: ErrorCode = codeForStatus(status);
  let message = body.slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === 'string' && KNOWN_CODES.has(parsed.code)) code = parsed.code as ErrorCode;
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not ours: keep the text
  }
  return new ControllerError(code, `controller answered ${status}: ${message}`, { status });
}

/** A failed dial as the ControllerError a caller sees. */
function controllerDialError(f: DialFailure, where: string): ControllerError {
  switch (f.kind) {
    case 'identity':
      return f.cause instanceof ControllerError ? f.cause : new ControllerError(ErrorCodes.CTRL_PEER_IDENTITY, f.detail);
    case 'timeout':
      return new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `no connection to the controller at ${where}: ${f.detail}`);
    case 'alpn':
      return new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `${where} did not negotiate ALPN h2; is it the controller's port 15012?`);
    default: {
      const hint = f.code === 'ECONNREFUSED' ? ' (nothing listens there: is the controller running?)' : '';
      return new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `connection to the controller at ${where} failed: ${f.detail}${hint}`, { cause: f.cause });
    }
  }
}

function parseAddress(a: ControllerClientOptions['address']): { host: string; port: number } {
  if (typeof a !== 'string') return a;
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(a);
  if (!m) throw new MeshError(ErrorCodes.CTRL_BAD_REQUEST, `controller address ${JSON.stringify(a)} is not host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

interface SessionState {
  active: number;
  usable: boolean;
  idleTimer?: NodeJS.Timeout;
}

export class ControllerClient extends EventEmitter<ControllerClientEvents> {
  readonly limits: ControllerProtocolLimits;
  readonly node: string;
  readonly controllerIdentity: ControllerName;
  readonly #opts: ControllerClientOptions;
  readonly #log: Logger;
  readonly #address: { host: string; port: number };
  readonly #held = new Map<string, string>();
  readonly #sessions = new Map<ClientHttp2Session, SessionState>();
  #session?: ClientHttp2Session;
  #dialing?: Promise<ClientHttp2Session>;
  #stream?: ClientHttp2Stream;
  #loop?: Promise<void>;
  #wake?: () => void;
  #closed = false;
  #applying = false;
  #connected = false;
  #ackedVersion?: string;
  #lastError?: string;

  constructor(opts: ControllerClientOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.limits = { ...CONTROLLER_PROTOCOL_DEFAULTS, ...opts.limits };
    this.node = opts.node;
    this.controllerIdentity = parseControllerName(opts.controllerIdentity);
    this.#address = parseAddress(opts.address);
    if (!opts.trustBundle && !opts.roots?.length) throw new MeshError(ErrorCodes.CA_INVALID, 'ControllerClient needs trustBundle or roots to verify the controller');
  }

  /** `<kind>/<key>` -> version of every resource applied: what the next hello reports. */
  versions(): Record<string, string> {
    return Object.fromEntries(this.#held);
  }

  get status(): { connected: boolean; ackedVersion?: string; resources: number; lastError?: string } {
    return {
      connected: this.#connected,
      resources: this.#held.size,
      ...(this.#ackedVersion ? { ackedVersion: this.#ackedVersion } : {}),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  /** Opens the config stream and keeps it open (reconnecting) until close(). */
  start(): void {
    if (this.#closed) throw new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, 'controller client is closed');
    this.#loop ??= this.#run();
  }

  /** Has a CSR signed; the controller decides whether we may have its identity. */
  async requestCertificate(csrPem: string, opts: { ttlSeconds?: number } = {}): Promise<IssuedCertificate> {
    if (this.#closed) throw new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, 'controller client is closed');
    const body = JSON.stringify({ csr: csrPem, ...(opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {}) });
    const stream = await this.#request(PATHS.certificates, 'application/json');
    const timer = setTimeout(() => stream.close(C.NGHTTP2_CANCEL), this.limits.requestTimeoutMs);
    try {
      stream.end(body);
      const status = await responseStatus(stream, this.limits.requestTimeoutMs);
      const text = await readBounded(stream, this.limits.maxResponseBodyBytes);
      if (status !== 200) throw errorFromResponse(status, text);
      return parseIssued(text);
    } catch (err) {
      if (err instanceof ControllerError) throw err;
      throw new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `certificate request to ${this.#where()} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a traffic report (POST /v1/telemetry, JSON; docs/telemetry.md). Resolves with
   * the controller's answer; rejects (ControllerError) when refused or failed: the caller drops it. */
  async sendTelemetry(body: string): Promise<{ edges: number; flows: number }> {
    if (this.#closed) throw new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, 'controller client is closed');
    const stream = await this.#request(PATHS.telemetry, 'application/json');
    const timer = setTimeout(() => stream.close(C.NGHTTP2_CANCEL), this.limits.requestTimeoutMs);
    try {
      stream.end(body);
      const status = await responseStatus(stream, this.limits.requestTimeoutMs);
      const text = await readBounded(stream, this.limits.maxResponseBodyBytes);
      if (status !== 200) throw errorFromResponse(status, text);
      const v = JSON.parse(text) as { edges?: unknown; flows?: unknown };
      return { edges: Number(v.edges) || 0, flows: Number(v.flows) || 0 };
    } catch (err) {
      if (err instanceof ControllerError) throw err;
      throw new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `telemetry report to ${this.#where()} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reconnecting, ends the config stream and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    const stream = this.#stream;
    if (stream && !stream.destroyed) stream.close(C.NGHTTP2_NO_ERROR);
    const sessions = [...this.#sessions.keys()];
    this.#sessions.clear();
    await Promise.all(
      sessions.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) return resolve();
            // Graceful first; a connection that cannot finish (a dead peer) is torn down.
            // Its 'close' may come late then, so the timer resolves too.
            const t = setTimeout(() => {
              s.destroy();
              resolve();
            }, 1_000);
            s.close(() => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    // The loop ends at its next step; an update handler still running is not waited for
    // (a stuck application must not make close() hang).
    if (!this.#applying) await this.#loop;
  }

  // --- the config stream -------------------------------------------------------------

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      const { updates, error } = await this.#streamOnce();
      const wasConnected = this.#connected;
      this.#connected = false;
      this.#stream = undefined;
      if (this.#closed) break;
      if (error) {
        this.#lastError = error.message;
        this.#log.warn({ err: error.message, code: (error as MeshError).code }, 'controller client: config stream failed');
        if (this.listenerCount('error') > 0) this.emit('error', error);
      }
      if (wasConnected) this.emit('disconnected', error);
      // A stream that carried updates worked: reconnect promptly. Failures back off.
      failures = updates > 0 ? 0 : failures + 1;
      const delay = reconnectDelay(failures, this.limits.reconnectMinMs, this.limits.reconnectMaxMs, this.#opts.random);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** One config stream, from hello to its end: how many updates it carried, and why it ended if not cleanly. */
  async #streamOnce(): Promise<{ updates: number; error?: Error }> {
    let updates = 0;
    let stream: ClientHttp2Stream | undefined;
    try {
      stream = await this.#request(PATHS.config, NDJSON);
      this.#stream = stream;
      if (this.#closed) {
        stream.close(C.NGHTTP2_NO_ERROR);
        return { updates };
      }
      // Sent at once, without waiting for the answer headers: saves a round trip.
      stream.write(encodeMessage({ type: 'hello', node: this.node, versions: this.versions() }));
      const status = await responseStatus(stream, this.limits.requestTimeoutMs);
      if (status !== 200) throw errorFromResponse(status, await readBounded(stream, this.limits.maxResponseBodyBytes));
      this.#connected = true;
      this.#lastError = undefined;
      this.emit('connected');
      const decoder = new LineDecoder(this.limits.maxServerMessageBytes);
      // Reading pauses while an update is applied: HTTP/2 flow control then holds the
      // controller back, which coalesces what it would have sent.
      for await (const chunk of stream) {
        for (const line of decoder.push(chunk as Buffer)) {
          const m = parseServerMessage(line);
          if (m.type === 'error') {
            const code = KNOWN_CODES.has(m.code) ? (m.code as ErrorCode) : ErrorCodes.CTRL_UNAVAILABLE;
            throw new ControllerError(code, `controller closed the config stream: ${m.message}`);
          }
          await this.#apply(stream, m);
          updates++;
        }
      }
      if (!stream.destroyed) stream.end(); // the controller ended the stream (drain, max age): end ours
      return { updates };
    } catch (err) {
      if (stream && !stream.destroyed) stream.close(C.NGHTTP2_CANCEL);
      const error = err instanceof MeshError ? err : new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `config stream to ${this.#where()} broke: ${(err as Error).message}`, { cause: err });
      return { updates, error };
    }
  }

  async #apply(stream: ClientHttp2Stream, m: UpdateMessage): Promise<void> {
    const { valid, errors } = screenUpserts(m.upserts);
    const removes = knownRemoves(m.removes);
    let refused: readonly ResourceError[] = [];
    this.#applying = true;
    try {
      refused = (await this.#opts.onUpdate?.({ version: m.version, full: m.full, upserts: valid, removes })) ?? [];
    } catch (err) {
      refused = valid.map((u) => ({ kind: u.kind, key: u.key, error: `not applied: ${(err as Error).message}` }));
    } finally {
      this.#applying = false;
    }
    if (this.#closed) return;
    errors.push(...refused);
    applyToHeld(this.#held, valid, removes, errors);
    if (!stream.destroyed && stream.writable) {
      stream.write(encodeMessage(errors.length ? { type: 'nack', version: m.version, errors } : { type: 'ack', version: m.version }));
    }
    if (errors.length === 0) this.#ackedVersion = m.version;
    else this.#log.warn({ version: m.version, errors: errors.slice(0, 10) }, 'controller client: resources rejected (NACK)');
    this.emit('update', { version: m.version, full: m.full, applied: valid.length - refused.length, removed: removes.length, rejected: errors });
  }

  // --- the connection ----------------------------------------------------------------

  #where(): string {
    return `${this.#address.host}:${this.#address.port}`;
  }

  async #request(path: string, contentType: string): Promise<ClientHttp2Stream> {
    let token: string;
    try {
      token = (await this.#opts.token()).trim();
    } catch (err) {
      throw new ControllerError(ErrorCodes.CTRL_UNAUTHENTICATED, `cannot read the ServiceAccount token: ${(err as Error).message}`, { cause: err });
    }
    const session = await this.#getSession();
    const st = this.#sessions.get(session)!;
    const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': path, 'content-type': contentType, [NODE_HEADER]: this.node };
    if (token) headers['authorization'] = `Bearer ${token}`;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (err) {
      st.usable = false;
      throw new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `cannot open a stream to ${this.#where()}: ${(err as Error).message}`, { cause: err });
    }
    st.active++;
    this.#armIdle(session, st);
    stream.on('error', () => {}); // surfaced by the reader of the stream
    stream.once('close', () => {
      st.active--;
      this.#armIdle(session, st);
    });
    return stream;
  }

  #getSession(): Promise<ClientHttp2Session> {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed && this.#sessions.get(s)?.usable) return Promise.resolve(s);
    return (this.#dialing ??= this.#dial().finally(() => (this.#dialing = undefined)));
  }

  async #dial(): Promise<ClientHttp2Session> {
    const where = this.#where();
    const l = this.limits;
    const connectTransport = this.#opts.connectTransport;
    const st: SessionState = { active: 0, usable: true };
    const { session } = await dialHttp2({
      address: this.#address,
      ...(connectTransport && { transport: () => connectTransport(this.#address) }),
      roots: this.#opts.trustBundle?.pems() ?? this.#opts.roots ?? [],
      // The controller is named by the name on its certificate, not by the address we dialled.
      verifyPeer: (cert) => {
        try {
          checkControllerCertificate(cert, this.controllerIdentity);
        } catch (err) {
          throw new ControllerError(
            ErrorCodes.CTRL_PEER_IDENTITY,
            `${where} is not the controller: ${(err as Error).message}; check the controller address and its name (${formatControllerName(this.controllerIdentity)})`,
          );
        }
      },
      connectTimeoutMs: l.connectTimeoutMs,
      session: { maxHeaderListPairs: 64, settings: { enablePush: false, maxHeaderListSize: l.maxHeaderListBytes } },
      keepalive: {
        intervalMs: l.pingIntervalMs,
        timeoutMs: l.pingTimeoutMs,
        onTimeout: () => this.#log.warn({ controller: where }, 'controller client: controller did not answer PING; reconnecting'),
      },
      toError: (f) => controllerDialError(f, where),
      onSession: (s) => {
        this.#sessions.set(s, st);
        s.on('goaway', () => {
          // The controller is draining: open streams finish, new ones go to a new connection.
          st.usable = false;
          if (this.#session === s) this.#session = undefined;
        });
        s.once('close', () => {
          st.usable = false;
          clearTimeout(st.idleTimer);
          this.#sessions.delete(s);
          if (this.#session === s) this.#session = undefined;
        });
      },
      onError: (err) => this.#log.debug({ err: err.message }, 'controller client: connection error'),
    });
    this.#session = session;
    this.#armIdle(session, st);
    return session;
  }

  #armIdle(session: ClientHttp2Session, st: SessionState): void {
    clearTimeout(st.idleTimer);
    st.idleTimer = undefined;
    if (st.active > 0 || session.closed) return;
    st.idleTimer = setTimeout(() => {
      st.usable = false;
      if (this.#session === session) this.#session = undefined;
      session.close();
    }, this.limits.idleTimeoutMs);
    st.idleTimer.unref();
  }
}

/** Resolves with the answer's :status; rejects when the stream ends first or takes too long. */
function responseStatus(stream: ClientHttp2Stream, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, status?: number) => {
      clearTimeout(timer);
      stream.off('response', onResponse);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve(status!);
    };
    const onResponse = (h: IncomingHttpHeaders) => done(undefined, Number(h[':status']));
    const onClose = () => done(new Error(`stream closed before an answer (HTTP/2 error ${stream.rstCode})`));
    const onError = (err: Error) => done(err);
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    stream.once('response', onResponse);
    stream.once('close', onClose);
    stream.once('error', onError);
  });
}

async function readBounded(stream: ClientHttp2Stream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`answer larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseIssued(text: string): IssuedCertificate {
  const bad = (why: string) => new ControllerError(ErrorCodes.CTRL_UNAVAILABLE, `controller's certificate answer is malformed: ${why}`);
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad('not JSON');
  }
  const strings = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string');
  if (!strings(v['chain']) || !strings(v['roots']) || typeof v['serial'] !== 'string') throw bad('chain, roots and serial are required');
  const notBefore = new Date(String(v['notBefore']));
  const notAfter = new Date(String(v['notAfter']));
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) throw bad('notBefore and notAfter must be RFC 3339 times');
  return { chain: v['chain'] as string[], roots: v['roots'] as string[], serial: v['serial'], notBefore, notAfter };
}
