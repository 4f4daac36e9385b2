// TokenRequest (POST serviceaccounts/<name>/token) and TokenReview (POST tokenreviews),
// as kube-apiserver answers them, so that the controller can check a node agent's token
// exactly as it would on a real cluster. A token stays valid only while its ServiceAccount
// and, when bound, its Pod still exist with the uids it names. The cluster admin's token
// (admin-token.ts), when the server has one, is reviewed and authenticated here too, as
// kube-apiserver does with a static token: valid for the API server's own audience only.
import { randomUUID } from 'node:crypto';
import { badRequest, conflict, invalid } from './api-errors.js';
import { isPlainObject } from './json-values.js';
import { KINDS, type KObject, type KindInfo } from './kinds.js';
import { TOKEN_ISSUER } from './limits.js';
import { formatTime } from './object-lifecycle.js';
import type { Resources } from './resources.js';
import { ADMIN_USER, isAdminToken } from './admin-token.js';
import { SERVICE_ACCOUNT_PREFIX, audienceIntersection, signToken, userInfoFor, verifyToken, type ServiceAccountClaims } from './tokens.js';

const SA = KINDS.find((k) => k.kind === 'ServiceAccount')!;
const POD = KINDS.find((k) => k.kind === 'Pod')!;
const TOKEN_REQUEST = { group: 'authentication.k8s.io', kind: 'TokenRequest' };
const TOKEN_REVIEW = { group: 'authentication.k8s.io', kind: 'TokenReview' };

export interface TokenLimits {
  tokenDefaultExpirationSeconds: number;
  tokenMinExpirationSeconds: number;
  tokenMaxExpirationSeconds: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export type UserInfo = ReturnType<typeof userInfoFor>;

export class ServiceAccountTokens {
  constructor(
    private readonly resources: Resources,
    private readonly key: Buffer,
    private readonly limits: TokenLimits,
    private readonly now: () => Date,
    /** The cluster admin's bearer token (none: no admin token is accepted). */
    private readonly adminToken?: string,
  ) {}

  async request(namespace: string, saName: string, body: unknown): Promise<KObject> {
    if (body !== undefined && !isPlainObject(body)) throw badRequest('the request body must be a JSON object');
    const spec = ((body as Any)?.spec ?? {}) as Any;
    const sa = await this.resources.get(SA, namespace, saName);
    const audiences: string[] = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : [TOKEN_ISSUER];
    const exp = spec.expirationSeconds ?? this.limits.tokenDefaultExpirationSeconds;
    if (!Number.isInteger(exp) || exp < this.limits.tokenMinExpirationSeconds) {
      throw invalid(TOKEN_REQUEST, saName, [
        { reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${JSON.stringify(exp)}: may not specify a duration less than ${this.limits.tokenMinExpirationSeconds / 60} minutes` },
      ]);
    }
    const expirationSeconds = Math.min(exp, this.limits.tokenMaxExpirationSeconds);
    let pod: { name: string; uid: string } | undefined;
    const ref = spec.boundObjectRef;
    if (ref !== undefined && ref !== null) {
      if (ref.kind !== 'Pod') {
        throw invalid(TOKEN_REQUEST, saName, [{ reason: 'FieldValueNotSupported', field: 'spec.boundObjectRef.kind', message: `Unsupported value: ${JSON.stringify(ref.kind)}: supported values: "Pod"` }]);
      }
      const p = await this.resources.get(POD, namespace, String(ref.name ?? ''));
      if (ref.uid && ref.uid !== p.metadata?.uid) {
        throw conflict(POD, String(ref.name), `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
      if ((p['spec'] as Any)?.serviceAccountName !== saName) {
        throw badRequest(`cannot bind token for serviceaccount "${saName}" to pod running with different serviceaccount name.`);
      }
      pod = { name: p.metadata!.name!, uid: p.metadata!.uid! };
    }
    const now = Math.floor(this.now().getTime() / 1000);
    const claims: ServiceAccountClaims = {
      iss: TOKEN_ISSUER,
      sub: `${SERVICE_ACCOUNT_PREFIX}${namespace}:${saName}`,
      aud: audiences,
      exp: now + expirationSeconds,
      iat: now,
      nbf: now,
      jti: randomUUID(),
      'kubernetes.io': { namespace, serviceaccount: { name: saName, uid: sa.metadata!.uid! }, ...(pod ? { pod } : {}) },
    };
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: saName, namespace, creationTimestamp: formatTime(this.now()) },
      spec: { audiences, expirationSeconds, ...(ref ? { boundObjectRef: ref } : {}) },
      status: { token: signToken(claims, this.key), expirationTimestamp: formatTime(new Date(claims.exp * 1000)) },
    };
  }

  async review(body: unknown): Promise<KObject> {
    if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object');
    const spec = (body['spec'] ?? {}) as Any;
    if (typeof spec.token !== 'string' || spec.token === '') {
      throw invalid(TOKEN_REVIEW, '', [{ reason: 'FieldValueRequired', field: 'spec.token', message: 'Required value' }]);
    }
    const wanted: string[] = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : [TOKEN_ISSUER];
    const result = await this.check(spec.token, wanted);
    const status = result.ok
      ? { authenticated: true, user: result.user, audiences: result.audiences }
      : { authenticated: false, user: {}, error: result.error };
    return { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null } as never, spec, status };
  }

  /** Who a bearer token is, for requests that carry one: tokens for the API server's own audience. */
  async authenticate(token: string): Promise<UserInfo | undefined> {
    const r = await this.check(token, [TOKEN_ISSUER]);
    return r.ok ? r.user : undefined;
  }

  private async check(token: string, wanted: string[]): Promise<{ ok: true; user: UserInfo; audiences: string[] } | { ok: false; error: string }> {
    if (isAdminToken(token, this.adminToken)) {
      // Not a JWT, no audiences of its own: like kube-apiserver's static tokens, it is
      // valid for the API server's audience and for no other reviewer's.
      if (!wanted.includes(TOKEN_ISSUER)) {
        return { ok: false, error: `invalid bearer token, the cluster admin's token is valid for ${JSON.stringify([TOKEN_ISSUER])} only, not for ${JSON.stringify(wanted)}` };
      }
      return { ok: true, user: { username: ADMIN_USER.username, uid: ADMIN_USER.uid, groups: [...ADMIN_USER.groups], extra: {} }, audiences: [TOKEN_ISSUER] };
    }
    const v = verifyToken(token, this.key, Math.floor(this.now().getTime() / 1000));
    if (!v.ok) return { ok: false, error: `invalid bearer token, ${v.error}` };
    const audiences = audienceIntersection(v.claims.aud, wanted);
    if (audiences.length === 0) {
      return { ok: false, error: `invalid bearer token, token audiences ${JSON.stringify(v.claims.aud)} is invalid for the target audiences ${JSON.stringify(wanted)}` };
    }
    const k = v.claims['kubernetes.io'];
    const stale = (await this.stillBound(SA, k.namespace, k.serviceaccount)) ?? (k.pod ? await this.stillBound(POD, k.namespace, k.pod) : undefined);
    if (stale) return { ok: false, error: `invalid bearer token, ${stale}` };
    return { ok: true, user: userInfoFor(v.claims), audiences };
  }

  /** Why the object a token names is no longer the one it was issued for, or undefined. */
  private async stillBound(k: KindInfo, namespace: string, ref: { name: string; uid: string }): Promise<string | undefined> {
    const what = k.kind === 'Pod' ? 'pod' : 'service account';
    let obj: KObject;
    try {
      obj = await this.resources.get(k, namespace, ref.name);
    } catch {
      return `${what} ${namespace}/${ref.name} has been deleted`;
    }
    if (obj.metadata?.uid !== ref.uid) return `${what} UID (${obj.metadata?.uid ?? ''}) does not match claim (${ref.uid})`;
    if (obj.metadata?.deletionTimestamp) return `${what} ${namespace}/${ref.name} is being deleted`;
    return undefined;
  }
}
