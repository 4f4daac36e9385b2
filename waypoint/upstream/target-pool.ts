// The per-target side of a TrafficPolicy's `connectionPool` (pool-limits.ts decides): one
// PoolTarget per Service port whose policy has a connectionPool, holding its counts and
// the FIFO queue of requests waiting for an HTTP/1.1 connection. The forward layer takes a
// permit before its upstream exchange and gives it back after; the pools read the limits
// (idle and connect timeouts, requests per connection) and keep `open` (HTTP/1.1
// connections of the target, idle ones too). A target without such a policy has no
// PoolTarget: the pools' waypoint-wide limits (waypoint/limits.ts) apply, as before.
import type { TrafficPolicy, ConnectionPool } from '../../core/config/traffic-policy.js';
import { ErrorCodes } from '../../core/errors.js';
import { admit, mayStart, overflowMessage, poolLimitsOf, type OverflowReason, type PoolDefaults, type PoolLimits, type TargetCounts } from './pool-limits.js';

export interface OverflowError extends Error {
  code: typeof ErrorCodes.WAYPOINT_UPSTREAM_OVERFLOW;
  reason: OverflowReason;
}

export function overflowError(message: string, reason: OverflowReason): OverflowError {
  return Object.assign(new Error(message), { code: ErrorCodes.WAYPOINT_UPSTREAM_OVERFLOW, reason }) as OverflowError;
}

export function isOverflow(err: unknown): err is OverflowError {
  return (err as { code?: string } | undefined)?.code === ErrorCodes.WAYPOINT_UPSTREAM_OVERFLOW;
}

/** Held by one request while it is in flight to the target; release() once (more calls are no-ops). */
export interface Permit {
  release(): void;
}

interface Waiter {
  resolve: (p: Permit) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal;
  onAbort: () => void;
}

export class PoolTarget {
  readonly counts: TargetCounts = { active: 0, busy: 0, pending: 0 };
  /** HTTP/1.1 connections of the target open now, idle ones too (http1-pool.ts keeps it). */
  open = 0;
  readonly #waiters: Waiter[] = [];

  constructor(
    /** `<service key>:<port>`: also the pools' key prefix, so connections are per target. */
    readonly id: string,
    public limits: PoolLimits,
  ) {}

  /** A permit for one request; rejects with an OverflowError (503, flag UO) when the
   * target is full, or with the signal's reason when the request ends while waiting.
   * `oneConnectionEach`: HTTP/1.1 (and upgrades): the request holds a connection. */
  acquire(oneConnectionEach: boolean, signal: AbortSignal): Promise<Permit> {
    const a = admit(this.counts, this.limits, oneConnectionEach);
    if (a.kind === 'overflow') return Promise.reject(overflowError(overflowMessage(a.reason, this.id, this.limits), a.reason));
    if (a.kind === 'go') return Promise.resolve(this.#grant(oneConnectionEach));
    if (signal.aborted) return Promise.reject(new Error(`request ended while waiting for a connection to ${this.id}`));
    this.counts.pending++;
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        signal,
        timer: setTimeout(() => this.#drop(w, overflowError(overflowMessage('pending-timeout', this.id, this.limits), 'pending-timeout')), this.limits.pendingTimeoutMs),
        onAbort: () => this.#drop(w, new Error(`request ended while waiting for a connection to ${this.id}`)),
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.#waiters.push(w);
    });
  }

  /** New limits (the policy changed): waiting requests that now fit start. */
  update(limits: PoolLimits): void {
    this.limits = limits;
    this.#drain();
  }

  /** Nothing in flight or waiting: the target may be forgotten. */
  get quiet(): boolean {
    return this.counts.active === 0 && this.counts.pending === 0;
  }

  #grant(oneConnectionEach: boolean): Permit {
    this.counts.active++;
    if (oneConnectionEach) this.counts.busy++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.counts.active--;
        if (oneConnectionEach) this.counts.busy--;
        this.#drain();
      },
    };
  }

  #unwait(w: Waiter): boolean {
    const i = this.#waiters.indexOf(w);
    if (i < 0) return false;
    this.#waiters.splice(i, 1);
    this.counts.pending--;
    clearTimeout(w.timer);
    w.signal.removeEventListener('abort', w.onAbort);
    return true;
  }

  #drop(w: Waiter, err: Error): void {
    if (this.#unwait(w)) w.reject(err);
  }

  #drain(): void {
    while (this.#waiters.length > 0 && mayStart(this.counts, this.limits)) {
      const w = this.#waiters[0]!;
      this.#unwait(w);
      w.resolve(this.#grant(true));
    }
  }
}

export interface TargetPoolsOptions {
  policyFor?: (service: string, port: number) => TrafficPolicy | undefined;
  defaults: PoolDefaults;
  /** Targets kept at most; beyond, the quiet ones are forgotten (WAYPOINT_DEFAULTS.maxPoolTargets). */
  maxTargets: number;
}

/** The PoolTargets of the Service ports whose TrafficPolicy has a connectionPool. */
export class TargetPools {
  readonly #targets = new Map<string, { target: PoolTarget; cfg: ConnectionPool }>();

  constructor(private readonly o: TargetPoolsOptions) {}

  /** The target's pool state, made or reconfigured from its policy; undefined: no
   * connectionPool in its policy (the waypoint-wide limits apply). */
  get(service: string, port: number): PoolTarget | undefined {
    const id = `${service}:${port}`;
    const cfg = this.o.policyFor?.(service, port)?.connectionPool;
    const e = this.#targets.get(id);
    if (!cfg) {
      if (e) this.#targets.delete(id); // its in-flight permits still release into it
      return undefined;
    }
    if (e) {
      if (e.cfg !== cfg) {
        e.cfg = cfg;
        e.target.update(poolLimitsOf(cfg, this.o.defaults));
      }
      return e.target;
    }
    if (this.#targets.size >= this.o.maxTargets) for (const [k, v] of this.#targets) if (v.target.quiet) this.#targets.delete(k);
    const target = new PoolTarget(id, poolLimitsOf(cfg, this.o.defaults));
    this.#targets.set(id, { target, cfg });
    return target;
  }

  get size(): number {
    return this.#targets.size;
  }
}
