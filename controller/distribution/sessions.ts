// The connections of the controller protocol: each HTTP/2 session is tracked with its
// open streams, kept alive with PINGs (a vanished peer is noticed and its streams
// released), closed after idleTimeoutMs without a stream, and sent GOAWAY on shutdown.
import http2, { type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from '../../core/log.js';
import { startKeepalive } from '../../core/http2/keepalive.js';

const { constants: C } = http2;

export interface SessionLimits {
  pingIntervalMs: number;
  pingTimeoutMs: number;
  idleTimeoutMs: number;
}

interface SessionState {
  streams: number;
  idleTimer?: NodeJS.Timeout;
}

export class Sessions {
  readonly #limits: SessionLimits;
  readonly #log: Logger;
  readonly #sessions = new Map<Http2Session, SessionState>();

  constructor(limits: SessionLimits, log: Logger) {
    this.#limits = limits;
    this.#log = log;
  }

  /** The sessions open now. */
  list(): Http2Session[] {
    return [...this.#sessions.keys()];
  }

  /** A new connection; when `draining` it is sent GOAWAY at once. */
  add(session: Http2Session, draining: boolean): void {
    const st: SessionState = { streams: 0 };
    this.#sessions.set(session, st);
    session.on('error', (err) => this.#log.debug({ err: err.message }, 'controller: connection error'));
    session.on('close', () => {
      clearTimeout(st.idleTimer);
      this.#sessions.delete(session);
    });
    if (draining) {
      goaway(session);
      return;
    }
    // A peer that vanished is noticed within pingInterval + pingTimeout; its stream is released.
    startKeepalive(session, {
      intervalMs: this.#limits.pingIntervalMs,
      timeoutMs: this.#limits.pingTimeoutMs,
      onTimeout: () => this.#log.info({ remote: session.socket?.remoteAddress }, 'controller: peer did not answer PING; closing its connection'),
    });
    this.#armIdle(session, st);
  }

  /** Counts a stream against its session's idleness until it closes. */
  track(stream: ServerHttp2Stream): void {
    const session = stream.session;
    const st = session ? this.#sessions.get(session) : undefined;
    if (!st) return;
    st.streams++;
    this.#armIdle(session!, st);
    stream.once('close', () => {
      st.streams--;
      this.#armIdle(session!, st);
    });
  }

  /** GOAWAY to every connection; resolves when all have closed (a dead peer may never say so: bound the wait). */
  goawayAll(): Promise<unknown> {
    const sessions = this.list();
    const gone = sessions.map((s) => (s.destroyed ? undefined : new Promise((resolve) => s.once('close', resolve))));
    for (const s of sessions) goaway(s);
    return Promise.all(gone);
  }

  destroyAll(): void {
    for (const s of this.#sessions.keys()) s.destroy();
  }

  #armIdle(session: Http2Session, st: SessionState): void {
    clearTimeout(st.idleTimer);
    st.idleTimer = undefined;
    if (st.streams > 0) return;
    st.idleTimer = setTimeout(() => goaway(session), this.#limits.idleTimeoutMs);
    st.idleTimer.unref();
  }
}

export function goaway(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  try {
    session.goaway(C.NGHTTP2_NO_ERROR);
  } catch {
    // already going away
  }
  session.close();
}
