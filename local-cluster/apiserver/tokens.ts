// Service-account tokens: JWTs with Kubernetes' claims (as TokenRequest issues them),
// signed with HMAC-SHA256 under a key the cluster keeps in Redis. Pure: key and clock are
// arguments. A real cluster signs with RS256/ES256 so that anyone can verify against its
// JWKS; here only the API server verifies (TokenReview), so a shared secret is enough.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface BoundRef {
  name: string;
  uid: string;
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: BoundRef;
    pod?: BoundRef;
  };
}

export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export function signToken(claims: ServiceAccountClaims, key: Buffer): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  return `${header}.${payload}.${b64url(sig)}`;
}

export type TokenCheck = { ok: true; claims: ServiceAccountClaims } | { ok: false; error: string };

/** Checks form, signature and time (exp, nbf, with `leewaySeconds`); the caller checks audience and existence. */
export function verifyToken(token: string, key: Buffer, nowSeconds: number, leewaySeconds = 0): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, error: 'token is not a JWT' };
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: ServiceAccountClaims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as ServiceAccountClaims;
  } catch {
    return { ok: false, error: 'token is malformed' };
  }
  if (header.alg !== 'HS256') return { ok: false, error: `unexpected signing algorithm ${String(header.alg)}` };
  const want = createHmac('sha256', key).update(`${h}.${p}`).digest();
  const got = Buffer.from(s, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, error: 'invalid signature' };
  if (typeof claims.exp !== 'number' || nowSeconds > claims.exp + leewaySeconds) return { ok: false, error: 'token has expired' };
  if (typeof claims.nbf === 'number' && nowSeconds + leewaySeconds < claims.nbf) return { ok: false, error: 'token is not valid yet' };
  const sa = claims['kubernetes.io'];
  if (!sa?.namespace || !sa.serviceaccount?.name || !sa.serviceaccount.uid) return { ok: false, error: 'token lacks kubernetes.io claims' };
  if (claims.sub !== `${SERVICE_ACCOUNT_PREFIX}${sa.namespace}:${sa.serviceaccount.name}`) return { ok: false, error: 'token subject does not match its service account' };
  return { ok: true, claims };
}

/** The audiences both sides accept: TokenReview's status.audiences. Empty: the token is not for this reviewer. */
export function audienceIntersection(tokenAud: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((a) => tokenAud.includes(a));
}

/** The user a valid token authenticates as, in TokenReview's shape. */
export function userInfoFor(claims: ServiceAccountClaims): { username: string; uid: string; groups: string[]; extra: Record<string, string[]> } {
  const k = claims['kubernetes.io'];
  const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
  if (k.pod) {
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
  }
  return {
    username: claims.sub,
    uid: k.serviceaccount.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
    extra,
  };
}
