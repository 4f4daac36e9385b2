// Checking a caller's ServiceAccount token: a TokenReview against the Kubernetes API (the
// same call kube-rbac-proxy and istiod make), behind a small cache so that a node agent's
// requests do not each cost an API round trip, and a flood of bad tokens costs at most one
// review per token per negative TTL. The cache is bounded in entries and time; tokens are
// kept only as SHA-256 digests.
//
// The review asks for the controller's own audience (spec.audiences) and the answer must
// name it (status.audiences): a pod's ordinary API token, or an agent's token meant for
// the controller replayed elsewhere, do not cross over. Before any review a token must
// look like a JWT for that audience (screenToken): garbage costs no API call.
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import type { ReviewedUser } from './authorize.js';

export type TokenReviewResult =
  | { authenticated: true; user: ReviewedUser; /** status.audiences: those of the asked ones the token is valid for. */ audiences?: string[] }
  | { authenticated: false; error: string };

export interface TokenReviewer {
  /**
   * Resolves with the review's outcome; rejects (AMB_CTRL_AUTH_UNAVAILABLE) when no review
   * could be made. `admit` is called just before a review is really made (not for an
   * answer from a cache): it throws to refuse spending one (a rate limit).
   */
  review(token: string, admit?: () => void): Promise<TokenReviewResult>;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Does `token` look like a JWT issued for one of `audiences` (read without verifying: the
 * TokenReview verifies)? Three base64url parts, at most `maxBytes`, a JSON payload whose
 * `aud` (a string or a list) names one of them. A refusal says why, for the caller.
 */
export function screenToken(token: string, o: { maxBytes: number; audiences: readonly string[] }): { ok: true } | { ok: false; reason: string } {
  if (token.length > o.maxBytes) return { ok: false, reason: `the bearer token is longer than ${o.maxBytes} bytes` };
  if (!JWT.test(token)) return { ok: false, reason: 'the bearer token is not a JWT (three base64url parts)' };
  let aud: unknown;
  try {
    aud = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { aud?: unknown }).aud;
  } catch {
    return { ok: false, reason: 'the bearer token is not a JWT (its payload is not JSON)' };
  }
  const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  if (!list.some((a) => o.audiences.includes(a))) {
    return {
      ok: false,
      reason: `the token is not for the controller: its audiences ${JSON.stringify(list.slice(0, 5)).slice(0, 200)} do not include ${JSON.stringify(o.audiences)} (mount a projected ServiceAccount token with audience ${o.audiences[0]})`,
    };
  }
  return { ok: true };
}

/** Did the review confirm one of `audiences` (status.audiences)? An API server that ignores spec.audiences says nothing: refused. */
export function reviewedForAudience(result: TokenReviewResult, audiences: readonly string[]): boolean {
  return result.authenticated && (result.audiences ?? []).some((a) => audiences.includes(a));
}

/** TokenReview through @kubernetes/client-node; `audiences` as in TokenReview's spec (none: the API server's own). */
export function kubeTokenReviewer(kc: KubeConfig, opts: { audiences?: string[]; timeoutMs: number }): TokenReviewer {
  const api = kc.makeApiClient(AuthenticationV1Api);
  return {
    async review(token, admit) {
      admit?.();
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
        if (s?.authenticated) return { authenticated: true, user: (s.user ?? {}) as ReviewedUser, audiences: Array.isArray(s.audiences) ? s.audiences.map(String) : [] };
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

  async review(token: string, admit?: () => void): Promise<TokenReviewResult> {
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
    admit?.();
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
