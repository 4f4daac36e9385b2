// Checking a caller's ServiceAccount token: a TokenReview against the Kubernetes API (the
// same call kube-rbac-proxy and istiod make), behind a small cache so that a node agent's
// requests do not each cost an API round trip, and a flood of bad tokens costs at most one
// review per token per negative TTL. The cache is bounded in entries and time; tokens are
// kept only as SHA-256 digests.
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import type { ReviewedUser } from './authorize.js';

export type TokenReviewResult = { authenticated: true; user: ReviewedUser } | { authenticated: false; error: string };

export interface TokenReviewer {
  /** Resolves with the review's outcome; rejects (AMB_CTRL_AUTH_UNAVAILABLE) when no review could be made. */
  review(token: string): Promise<TokenReviewResult>;
}

/** TokenReview through @kubernetes/client-node; `audiences` as in TokenReview's spec (none: the API server's own). */
export function kubeTokenReviewer(kc: KubeConfig, opts: { audiences?: string[]; timeoutMs: number }): TokenReviewer {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    async review(token) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const call = api.createTokenReview({
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, ...(opts.audiences?.length ? { audiences: opts.audiences } : {}) },
          },
        });
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
        });
        const review = await Promise.race([call, timeout]);
        const s = review.status;
        if (s?.authenticated) return { authenticated: true, user: (s.user ?? {}) as ReviewedUser };
        return { authenticated: false, error: s?.error || 'the API server did not authenticate the token' };
      } catch (err) {
        throw new MeshError(
          ErrorCodes.CTRL_AUTH_UNAVAILABLE,
          `TokenReview failed: ${(err as Error).message}; can the controller reach the API server, and may it create tokenreviews?`,
          { cause: err },
        );
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface TokenCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  now?: () => number;
}

interface CacheEntry {
  result: TokenReviewResult;
  expiresAt: number;
}

/** The `exp` claim of a JWT, read without verifying it: it can only shorten how long we cache. */
export function jwtExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class CachedTokenReviewer implements TokenReviewer {
  readonly #inner: TokenReviewer;
  readonly #opts: Required<TokenCacheOptions>;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<TokenReviewResult>>();

  constructor(inner: TokenReviewer, opts: TokenCacheOptions) {
    this.#inner = inner;
    this.#opts = { now: Date.now, ...opts };
  }

  get size(): number {
    return this.#entries.size;
  }

  async review(token: string): Promise<TokenReviewResult> {
    const key = createHash('sha256').update(token).digest('hex');
    const now = this.#opts.now();
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      if (hit.expiresAt > now) {
        this.#entries.set(key, hit); // most recently used last
        return hit.result;
      }
    }
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const p = this.#inner
      .review(token)
      .then((result) => {
        const t = this.#opts.now();
        let expiresAt = t + (result.authenticated ? this.#opts.ttlMs : this.#opts.negativeTtlMs);
        const exp = jwtExpiryMs(token);
        if (result.authenticated && exp !== undefined) expiresAt = Math.min(expiresAt, exp);
        if (expiresAt > t) this.#remember(key, { result, expiresAt });
        return result;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  #remember(key: string, entry: CacheEntry): void {
    this.#entries.delete(key);
    while (this.#entries.size >= this.#opts.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    if (this.#opts.maxEntries > 0) this.#entries.set(key, entry);
  }
}
