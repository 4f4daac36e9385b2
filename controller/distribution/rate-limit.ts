// Token buckets by key (a caller, a source address), pure apart from the clock it is
// given: `take(key)` spends one token or says how long until one is there. The map of
// buckets is bounded; the least recently used bucket is forgotten first (a forgotten
// caller starts again with a full bucket, which is what a new caller gets anyway).

export interface BucketLimits {
  /** Bucket size: requests allowed at once. */
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
  /** Keys remembered at most. */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

export class KeyedRateLimiter {
  readonly #l: BucketLimits;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limits: BucketLimits, now: () => number = () => performance.now()) {
    this.#l = limits;
    this.#now = now;
  }

  get size(): number {
    return this.#buckets.size;
  }

  take(key: string): Take {
    const now = this.#now();
    const l = this.#l;
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key);
      b.tokens = Math.min(l.burst, b.tokens + ((now - b.at) / 1000) * l.perSecond);
      b.at = now;
    } else {
      b = { tokens: l.burst, at: now };
      while (this.#buckets.size >= l.maxKeys && this.#buckets.size > 0) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    this.#buckets.set(key, b); // most recently used last
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    const retryAfterMs = l.perSecond > 0 ? Math.ceil(((1 - b.tokens) / l.perSecond) * 1000) : Number.POSITIVE_INFINITY;
    return { ok: false, retryAfterMs };
  }
}
