// May the caller do this: a SubjectAccessReview (authorization.k8s.io/v1) for the user
// TokenReview named, with the route's attributes (the verb on the underlying object), made
// with the controller's credentials. Answers are kept briefly, keyed by the token's digest
// and the attributes (bounded in entries; denials kept shorter), so a console polling a page
// does not cost one review per request. Denied: 403 naming the verb, resource and namespace.
// No answer: 503, never allowed.
import { createHash } from 'node:crypto';
import { ErrorCodes } from '../../core/errors.js';
import type { KubeAccess } from '../../core/kube/access.js';
import { kubeRequest } from '../../core/kube/rest.js';
import { describeAccess, type AccessAttributes } from './access.js';
import { ApiFailure } from './api-error.js';
import type { ApiUser } from './types.js';

export interface AccessDecision {
  allowed: boolean;
  reason?: string;
}

export interface AccessReviewer {
  review(user: ApiUser, tokenHash: string, a: AccessAttributes): Promise<AccessDecision>;
}

/** The SubjectAccessReview body for a user and attributes, pure. */
export function subjectAccessReview(user: ApiUser, a: AccessAttributes): Record<string, unknown> {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: user.username,
      groups: user.groups,
      ...(user.uid ? { uid: user.uid } : {}),
      ...(user.extra ? { extra: user.extra } : {}),
      resourceAttributes: {
        verb: a.verb,
        group: a.group,
        resource: a.resource,
        ...(a.namespace !== undefined ? { namespace: a.namespace } : {}),
        ...(a.name !== undefined ? { name: a.name } : {}),
      },
    },
  };
}

/** SubjectAccessReviews through the Kubernetes API with the controller's credentials. */
export function kubeAccessReviewer(kube: KubeAccess, timeoutMs: number): AccessReviewer {
  return {
    async review(user, _tokenHash, a) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const answer = await Promise.race([
          kubeRequest<{ status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string } }>(kube, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', subjectAccessReview(user, a)),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
        ]);
        const s = answer?.status ?? {};
        return { allowed: s.allowed === true && s.denied !== true, ...(s.reason || s.evaluationError ? { reason: s.reason || s.evaluationError } : {}) };
      } catch (err) {
        throw new ApiFailure(503, ErrorCodes.API_AUTH_UNAVAILABLE, `SubjectAccessReview failed: ${(err as Error).message}; may the controller create subjectaccessreviews?`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface AccessCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  now?: () => number;
}

/** A bounded, short-lived cache in front of an AccessReviewer (least recently used evicted first). */
export class CachedAccessReviewer implements AccessReviewer {
  readonly #inner: AccessReviewer;
  readonly #o: Required<AccessCacheOptions>;
  readonly #entries = new Map<string, { decision: AccessDecision; expiresAt: number }>();

  constructor(inner: AccessReviewer, o: AccessCacheOptions) {
    this.#inner = inner;
    this.#o = { now: Date.now, ...o };
  }

  get size(): number {
    return this.#entries.size;
  }

  static key(tokenHash: string, a: AccessAttributes): string {
    return createHash('sha256').update(JSON.stringify([tokenHash, a.verb, a.group, a.resource, a.namespace ?? null, a.name ?? null])).digest('hex');
  }

  async review(user: ApiUser, tokenHash: string, a: AccessAttributes): Promise<AccessDecision> {
    const key = CachedAccessReviewer.key(tokenHash, a);
    const now = this.#o.now();
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      if (hit.expiresAt > now) {
        this.#entries.set(key, hit);
        return hit.decision;
      }
    }
    const decision = await this.#inner.review(user, tokenHash, a);
    const ttl = decision.allowed ? this.#o.ttlMs : this.#o.negativeTtlMs;
    if (ttl > 0 && this.#o.maxEntries > 0) {
      while (this.#entries.size >= this.#o.maxEntries) {
        const oldest = this.#entries.keys().next();
        if (oldest.done) break;
        this.#entries.delete(oldest.value);
      }
      this.#entries.set(key, { decision, expiresAt: this.#o.now() + ttl });
    }
    return decision;
  }
}

/** The 403 for a denied review: who, and the verb, resource and namespace they lack. */
export function forbidden(user: ApiUser, a: AccessAttributes, reason?: string): ApiFailure {
  return new ApiFailure(403, ErrorCodes.API_FORBIDDEN, `user ${JSON.stringify(user.username)} may not ${describeAccess(a)}${reason ? ` (${reason})` : ''}`);
}

/** The internal routes' rule, pure: the caller must be the controller's own ServiceAccount
 * (`system:serviceaccount:<namespace>:<name>`), whatever else it may do in the cluster. */
export function controllerOnly(user: ApiUser, namespace: string, serviceAccount: string): ApiFailure | undefined {
  const want = `system:serviceaccount:${namespace}:${serviceAccount}`;
  if (user.username === want) return undefined;
  return new ApiFailure(403, ErrorCodes.API_FORBIDDEN, `user ${JSON.stringify(user.username)} may not call an internal route: only the controller's ServiceAccount ${namespace}/${serviceAccount} may`);
}

export async function requireAccess(reviewer: AccessReviewer, user: ApiUser, tokenHash: string, a: AccessAttributes): Promise<void> {
  const d = await reviewer.review(user, tokenHash, a);
  if (!d.allowed) throw forbidden(user, a, d.reason);
}
