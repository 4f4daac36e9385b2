// Who is calling: the bearer token of `Authorization: Bearer <token>` (the kubeconfig's
// credentials), checked with a TokenReview for the API server's own audience, through the
// controller's TokenReview client and its bounded cache (controller/distribution/
// token-review.ts: tokens kept as SHA-256 digests only). No token, a malformed header or a
// token the review does not authenticate: 401. No review possible: 503.
import { createHash } from 'node:crypto';
import { ErrorCodes, isMeshError } from '../../core/errors.js';
import type { TokenReviewer } from '../distribution/token-review.js';
import { ApiFailure } from './api-error.js';
import type { ApiUser } from './types.js';

export type BearerResult = { ok: true; token: string } | { ok: false; reason: string };

/** The token of an Authorization header, pure. */
export function bearerToken(header: string | undefined, maxBytes: number): BearerResult {
  if (header === undefined || header === '') return { ok: false, reason: 'no credentials: send Authorization: Bearer <token> (your kubeconfig\'s token; ambientctl dashboard adds it)' };
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  if (!m) return { ok: false, reason: 'the Authorization header is not "Bearer <token>"' };
  if (m[1]!.length > maxBytes) return { ok: false, reason: `the bearer token is longer than ${maxBytes} bytes` };
  return { ok: true, token: m[1]! };
}

export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

export interface Authenticated {
  user: ApiUser;
  /** SHA-256 of the token: the access cache's key, never the token itself. */
  tokenHash: string;
}

export async function authenticate(reviewer: TokenReviewer, header: string | undefined, maxTokenBytes: number): Promise<Authenticated> {
  const b = bearerToken(header, maxTokenBytes);
  if (!b.ok) throw new ApiFailure(401, ErrorCodes.API_UNAUTHENTICATED, b.reason, { headers: { 'www-authenticate': 'Bearer' } });
  let result;
  try {
    result = await reviewer.review(b.token);
  } catch (err) {
    const why = isMeshError(err) ? err.message : (err as Error).message;
    throw new ApiFailure(503, ErrorCodes.API_AUTH_UNAVAILABLE, `the token could not be checked: ${why}`, { cause: err });
  }
  if (!result.authenticated) {
    throw new ApiFailure(401, ErrorCodes.API_UNAUTHENTICATED, `the Kubernetes API server did not authenticate the token: ${result.error}`, { headers: { 'www-authenticate': 'Bearer' } });
  }
  const u = result.user as { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  if (!u.username) throw new ApiFailure(401, ErrorCodes.API_UNAUTHENTICATED, 'the TokenReview named no user');
  return {
    user: { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: Array.isArray(u.groups) ? u.groups : [], ...(u.extra ? { extra: u.extra } : {}) },
    tokenHash: tokenDigest(b.token),
  };
}
