// The leader-only loop the controller's writers share (AuthorizationPolicy status, route
// status, the waypoint deployer): run a pass, then wait. A pass runs every `resyncMs` (to
// repair what someone else changed), at once when `kick()` says the inputs changed, again
// at once while it reports work left, and after failures with a doubling backoff that
// changes do not cut short (a failing API server is not hammered by every translation).
import type { Logger } from '../core/log.js';

export interface PassResult {
  failed: number;
  left: number;
}

export interface PassLoopTimings {
  resyncMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export class PassLoop<R extends PassResult> {
  readonly #timings: () => PassLoopTimings;
  readonly #pass: (signal: AbortSignal) => Promise<R>;
  readonly #onResult: (r: R) => void;
  readonly #log: Logger;
  readonly #what: string;
  #wake?: () => void;
  #dirty = false;

  constructor(o: { timings: () => PassLoopTimings; pass: (signal: AbortSignal) => Promise<R>; onResult?: (r: R) => void; logger: Logger; what: string }) {
    this.#timings = o.timings;
    this.#pass = o.pass;
    this.#onResult = o.onResult ?? (() => {});
    this.#log = o.logger;
    this.#what = o.what;
  }

  /** The inputs changed: a pass runs at once unless the loop is backing off. */
  kick(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Runs until `signal` aborts (leadership lost, or shutdown). */
  async run(signal: AbortSignal): Promise<void> {
    const l = this.#timings();
    let delay = l.retryMinMs;
    try {
      while (!signal.aborted) {
        this.#dirty = false;
        let wait = l.resyncMs;
        try {
          const r = await this.#pass(signal);
          if (r.failed > 0) {
            wait = delay;
            delay = Math.min(delay * 2, l.retryMaxMs);
          } else {
            delay = l.retryMinMs;
            if (r.left > 0) wait = 0;
          }
          this.#onResult(r);
        } catch (err) {
          this.#log.warn({ err: (err as Error).message }, `controller: ${this.#what} pass failed; retrying`);
          wait = delay;
          delay = Math.min(delay * 2, l.retryMaxMs);
        }
        if (signal.aborted) break;
        // A change wakes the loop at once, unless it is backing off after failures.
        if (this.#dirty && wait >= l.resyncMs) continue;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            if (this.#wake === wake) this.#wake = undefined;
            resolve();
          };
          const t = setTimeout(done, wait);
          const wake = wait < l.resyncMs && wait > 0 ? undefined : done;
          this.#wake = wake;
          signal.addEventListener('abort', done);
        });
      }
    } finally {
      this.#wake = undefined;
    }
  }
}

/** `p`, or a rejection when it has not settled within `ms` (a write the API server never
 * answers must not hold a pass forever). `what` prefixes the message; an abort of `signal`
 * drops the timer. */
export function answerWithin<T>(p: Promise<T>, ms: number, what?: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      reject(new Error(`${what ? `${what}: ` : ''}no answer within ${ms} ms`));
    }, ms);
    t.unref();
    // Removed once settled: a loop's signal lives as long as the leadership, and a listener
    // left per call would pile up over its passes.
    const stop = () => clearTimeout(t);
    signal?.addEventListener('abort', stop, { once: true });
    const settle = () => (clearTimeout(t), signal?.removeEventListener('abort', stop));
    p.then(
      (v) => (settle(), resolve(v)),
      (e: unknown) => (settle(), reject(e)),
    );
  });
}
