// The retry layer (chain.ts: after `timeout`, above the balancer and `forward`): runs the
// layers below it once per try, as the target's TrafficPolicy `retries` (or the route's
// HTTPRoute `retry`, mapped by retriesFromHttpRoute) say (retry.ts decides).
//
// How a try is held back: each try answers into a TryDownstream instead of the client's.
// When the try's answer head (or the waypoint's own 503/504 for a connect failure, reset
// or per-try timeout) arrives, the decision is taken at once: retry, and the answer is
// read and dropped; or not, and it goes to the client as it streams (never buffered), so
// the last try's answer, and any answer that is not retried, reaches the client unchanged.
// A retriable failure that is answered because the tries ran out carries the flag URX;
// one the retry budget refused, UO (Envoy's retry overflow). The request body is replayed from a bounded buffer (replay-body.ts).
// Per try: the record's status, flags and upstream start afresh (so the outlier layer
// below counts each try against its own endpoint), the per-try timeout is the forward
// layer's backendRequest timeout, and RequestMirror copies go with the first try only.
// Upgrades (WebSocket) are never retried.
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import { Writable as WritableStream } from 'node:stream';
import type { Retries, TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { Headers, Layer, RequestContext } from '../http/chain.js';
import type { Downstream } from '../http/downstream.js';
import { RESILIENCE_DEFAULTS } from './limits.js';
import type { ResilienceMetrics } from './metrics.js';
import { serviceHost } from './ratelimit-layer.js';
import { ReplayableBody } from './replay-body.js';
import { RetryBudget, decideRetry, tryTimeoutMs, type RetryDecision, type TryOutcome } from './retry.js';

export interface RetryLayerOptions {
  /** The TrafficPolicy of a Service port (`service`: its resource key), if any. */
  policyFor: (service: string, port: number) => TrafficPolicy | undefined;
  /** The route's own retry (HTTPRoute `retry`, mapped), used when no policy has retries. */
  routeRetries?: (ctx: RequestContext) => Retries | undefined;
  metrics?: ResilienceMetrics;
  /** Monotonic ms (performance.now, as ctx.startedAt). */
  now?: () => number;
  random?: () => number;
  /** The backoff wait (tests pass one that does not wait). Rejects when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  maxBufferedBodyBytes?: number;
}

/** The outcome of a try the waypoint answered itself (forward.ts's failures), from the
 * flags the try recorded; undefined: not a failure of the upstream (no endpoint: UH). */
export function ownAnswerOutcome(flags: readonly string[]): TryOutcome | undefined {
  if (flags.includes('UF')) return { kind: 'connect-failure' };
  if (flags.includes('UC')) return { kind: 'reset' };
  if (flags.includes('UT')) return { kind: 'timeout' };
  return undefined;
}

function grpcStatusOf(h: Headers): number | undefined {
  const v = h['grpc-status'];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

const discard = (): Writable =>
  new WritableStream({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

/** One try's view of the client's answer: holds it back when the try is retried. */
export class TryDownstream implements Downstream {
  private held = false;
  private sink: Writable | undefined;
  answered = false;

  constructor(
    private readonly real: Downstream,
    /** True: this answer is retried (held back). */
    private readonly decide: (o: TryOutcome) => boolean,
    /** The try's flags so far (for the waypoint's own answers). */
    private readonly tryFlags: () => string[],
    /** True once the request itself was ended from above (a request timeout): then
     * everything goes to the client as it is. */
    private readonly bypass: () => boolean,
  ) {}

  get retried(): boolean {
    return this.held;
  }
  get headersSent(): boolean {
    return this.bypass() ? this.real.headersSent : this.held || this.real.headersSent;
  }
  get body(): Writable {
    if (!this.held) return this.real.body;
    return (this.sink ??= discard());
  }
  get socket() {
    return this.real.socket;
  }
  respond(status: number, headers?: Record<string, string>, body?: string): void {
    if (this.bypass() || this.real.headersSent) return this.real.respond(status, headers, body);
    if (this.held) return;
    this.answered = true;
    const outcome = ownAnswerOutcome(this.tryFlags());
    if (outcome && this.decide(outcome)) {
      this.held = true;
      return;
    }
    this.real.respond(status, headers, body);
  }
  writeHead(status: number, headers: Headers): void {
    if (this.bypass()) return this.real.writeHead(status, headers);
    this.answered = true;
    const grpcStatus = grpcStatusOf(headers);
    const outcome: TryOutcome = grpcStatus === undefined ? { kind: 'response', status } : { kind: 'response', status, grpcStatus };
    if (this.decide(outcome)) {
      this.held = true;
      return;
    }
    this.real.writeHead(status, headers);
  }
  end(trailers?: Headers): void {
    if (this.held && !this.bypass()) return;
    this.real.end(trailers);
  }
  writeContinue(): void {
    if (!this.held) this.real.writeContinue();
  }
  abort(): void {
    if (this.held && !this.bypass()) return;
    this.real.abort();
  }
}

const tried = new WeakMap<RequestContext, string[]>();

/** The endpoints (`ip:port`) earlier tries of this request went to, oldest first: for the
 * balancer to prefer another one on a retry (Istio's default `previous_hosts` retry
 * predicate); empty on the first try. */
export function previousTries(ctx: RequestContext): readonly string[] {
  return tried.get(ctx) ?? [];
}

export function retryLayer(o: RetryLayerOptions): Layer {
  const now = o.now ?? (() => performance.now());
  const random = o.random ?? Math.random;
  const sleep = o.sleep ?? ((ms: number, signal: AbortSignal) => sleepFor(ms, undefined, { signal }).then(() => undefined));
  const maxBody = o.maxBufferedBodyBytes ?? RESILIENCE_DEFAULTS.retryMaxBufferedBodyBytes;
  const budgets = new Map<string, { budget: RetryBudget; cfg: Retries['budget'] }>();

  const budgetFor = (id: string, cfg: Retries['budget']): RetryBudget => {
    let e = budgets.get(id);
    if (!e || e.cfg !== cfg) {
      if (!e && budgets.size >= RESILIENCE_DEFAULTS.retryMaxBudgets) budgets.clear();
      const budget = new RetryBudget(cfg);
      // Requests in flight carry over to a new budget of the same target.
      if (e) for (let i = 0; i < e.budget.state().activeRequests; i++) budget.requestStarted();
      e = { budget, cfg };
      budgets.set(id, e);
    }
    return e.budget;
  };

  return async (ctx, next) => {
    const a = ctx.action;
    if (a?.kind !== 'forward' || ctx.upgrade) return next();
    const retries = (a.service !== undefined ? o.policyFor(a.service, a.port)?.retries : undefined) ?? o.routeRetries?.(ctx);
    if (!retries) return next();
    const target = a.service !== undefined ? `${a.service}:${a.port}` : `${a.endpoint?.ip}:${a.port}`;
    const host = a.service !== undefined ? serviceHost(a.service) : target;
    const budget = budgetFor(target, retries.budget);
    const real = ctx.downstream;
    const body = new ReplayableBody(ctx.body, maxBody);
    const baseFlags = [...ctx.record.flags];
    const deadline = a.requestTimeoutMs && a.requestTimeoutMs > 0 ? ctx.startedAt + a.requestTimeoutMs : undefined;
    let tries = 0;
    let retrying = false;

    budget.requestStarted();
    try {
      for (;;) {
        tries++;
        let decision: RetryDecision | undefined;
        const tryFlagsFrom = ctx.record.flags.length;
        const remaining = deadline === undefined ? undefined : deadline - now();
        const perTry = tryTimeoutMs(retries.perTryTimeoutMs, a.backendRequestTimeoutMs, remaining);
        ctx.action = { ...a, ...(perTry !== undefined && { backendRequestTimeoutMs: Math.max(1, perTry) }), ...(tries > 1 && { mirrors: undefined }) };
        ctx.body = body.next();
        const ds = new TryDownstream(
          real,
          (outcome) => {
            const rem = deadline === undefined ? undefined : deadline - now();
            decision = decideRetry({ retries, method: ctx.method, outcome, tries, bodyReplayable: body.replayable, budgetAllows: budget.canRetry(now()), random, ...(rem !== undefined && { remainingMs: rem }) });
            return decision.retry;
          },
          () => ctx.record.flags.slice(tryFlagsFrom),
          () => ctx.signal.aborted,
        );
        ctx.downstream = ds;
        try {
          await next();
        } finally {
          ctx.downstream = real;
          if (retrying) {
            budget.retryEnded();
            retrying = false;
          }
        }
        const d = decision as RetryDecision | undefined;
        if (!d || !d.retry || !ds.retried || ctx.signal.aborted) {
          if (d && !d.retry && d.reason !== undefined) {
            o.metrics?.retriesRefused.inc({ destination_service: host, why: d.why });
            if (d.flag) ctx.record.flags.push(d.flag);
          }
          return;
        }
        o.metrics?.retries.inc({ destination_service: host, reason: d.reason });
        if (ctx.record.upstream !== undefined) {
          const list = tried.get(ctx) ?? [];
          list.push(ctx.record.upstream);
          tried.set(ctx, list);
        }
        try {
          if (d.delayMs > 0) await sleep(d.delayMs, ctx.signal);
        } catch {
          // The request was ended from above during the backoff; its owner answers (a client
          // that went away: flag DC, as forward.ts flags it during an exchange).
          if (ctx.signal.reason === 'downstream closed' && !ctx.record.flags.includes('DC')) ctx.record.flags.push('DC');
          return;
        }
        if (ctx.signal.aborted) return;
        // The next try starts afresh in the record.
        ctx.record.flags = [...baseFlags];
        delete ctx.record.status;
        delete ctx.record.upstream;
        delete ctx.record.error;
        delete ctx.record.grpcStatus;
        budget.retryStarted(now());
        retrying = true;
      }
    } finally {
      budget.requestEnded();
      ctx.action = a;
    }
  };
}
