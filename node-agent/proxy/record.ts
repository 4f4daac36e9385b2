// One object per proxied connection collects its context as the executor learns it
// (DESIGN.md section 7, "Record each connection's outcome exactly once"), and hands the
// finished record to the sink once, however many paths try to end it.
import type { Address } from './outbound-plan.js';

export type Direction = 'outbound' | 'inbound-hbone' | 'inbound-plaintext';

export interface ConnectionRecord {
  direction: Direction;
  /** 'waypoint': a waypoint's record of a tunnel it carried as TCP (waypoint/observe/tcp-telemetry.ts). */
  reporter: 'source' | 'destination' | 'waypoint';
  /** outbound: hbone | passthrough | reject; inbound: accept | reject. */
  plan: string;
  /** The planner's reason for a passthrough or a reject. */
  reason?: string;
  /** The via of an HBONE plan: 'endpoint' or 'waypoint'. */
  via?: string;
  sourceWorkload?: string;
  sourceIdentity?: string;
  destinationWorkload?: string;
  destinationIdentity?: string;
  service?: string;
  /** The peer address of the connection the agent accepted (the app, or the remote agent). */
  client?: Address;
  /** Where the client meant to go (SO_ORIGINAL_DST or CONNECT :authority). */
  originalDst?: Address;
  /** What the agent connected to: the HBONE peer, or the app / passthrough target. */
  upstream?: Address;
  mtls: boolean;
  /** Bytes from the client side toward the upstream. */
  bytesSent: number;
  /** Bytes from the upstream back to the client. */
  bytesReceived: number;
  startedAt: Date;
  durationMs: number;
  /** Why it ended badly, when it did. */
  error?: string;
  /** The W3C traceparent of the HBONE CONNECT: the one sent (outbound) or received
   * (inbound HBONE); the connection's span continues it (observe/connection-span.ts). */
  traceparent?: string;
  /** The CONNECT's W3C tracestate (inbound HBONE, sent with the traceparent): kept on the span. */
  tracestate?: string;
  /** The authorization decision (inbound, once planInbound accepted): the enforced one,
   * and the dry-run one when a dry-run policy applies (authorize.ts). */
  authz?: AuthzRecord;
}

/** One decision as the record carries it. */
export interface AuthzDecisionRecord {
  decision: 'ALLOW' | 'DENY';
  /** `namespace/name` of the policy that decided; absent when none did. */
  policy?: string;
  rule?: number;
}

export interface AuthzRecord extends AuthzDecisionRecord {
  dryRun?: AuthzDecisionRecord;
}

export type ConnectionSink = (record: ConnectionRecord) => void;

type Context = Omit<ConnectionRecord, 'startedAt' | 'durationMs' | 'bytesSent' | 'bytesReceived' | 'error' | 'mtls'> & { mtls?: boolean };

export class ConnectionTracker {
  readonly startedAt = new Date();
  bytesSent = 0;
  bytesReceived = 0;
  #ctx: Context;
  #done = false;
  readonly #sink: ConnectionSink;
  readonly #onSinkError: (err: unknown) => void;
  readonly #onOpen: ConnectionSink | undefined;
  #opened = false;
  #closedWith: string | undefined;

  /** `onOpen` sees the record so far (no bytes yet) when the connection is established. */
  constructor(ctx: Context, sink: ConnectionSink, onSinkError: (err: unknown) => void = () => {}, onOpen?: ConnectionSink) {
    this.#ctx = { ...ctx };
    this.#sink = sink;
    this.#onSinkError = onSinkError;
    this.#onOpen = onOpen;
  }

  /** The upstream is connected: the connection counts as opened (once; never after it finished). */
  opened(): void {
    if (this.#opened || this.#done) return;
    this.#opened = true;
    if (this.#onOpen === undefined) return;
    try {
      this.#onOpen(this.#snapshot());
    } catch (err) {
      this.#onSinkError(err);
    }
  }

  get finished(): boolean {
    return this.#done;
  }

  /** Adds what was learnt (plan, peer identity, upstream); ignored once finished. */
  set(more: Partial<Context>): void {
    if (this.#done) return;
    // In place (the context is this tracker's own copy): no new object per call.
    const ctx = this.#ctx as Record<string, unknown>;
    for (const k in more) {
      const v = (more as Record<string, unknown>)[k];
      if (v !== undefined) ctx[k] = v;
    }
  }

  /** The agent is closing the connection on purpose (a policy now denies it): `error` is
   * what the record will say, whatever the sockets report while they are torn down. */
  closing(error: string): void {
    if (!this.#done) this.#closedWith ??= error;
  }

  /** Ends the connection's record; only the first call counts. */
  finish(error?: string): void {
    if (this.#done) return;
    this.#done = true;
    const record = this.#snapshot();
    error = this.#closedWith ?? error;
    if (error !== undefined) record.error = error;
    try {
      this.#sink(record);
    } catch (err) {
      this.#onSinkError(err);
    }
  }

  #snapshot(): ConnectionRecord {
    return {
      ...this.#ctx,
      mtls: this.#ctx.mtls ?? false,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      startedAt: this.startedAt,
      durationMs: Date.now() - this.startedAt.getTime(),
    };
  }
}
