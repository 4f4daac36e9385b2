// SubjectAccessReview (authorization.k8s.io/v1, POST subjectaccessreviews), as kube-apiserver
// answers it: "may this user do this verb on this resource?", decided by the same authorizer
// that guards every request here (authorize.ts, with the same RBAC objects), never stored. The controller's API asks it
// for each caller before it reads or writes on their behalf.
//
// The local cluster authenticates ServiceAccounts and the cluster admin (admin-token.ts):
// a review for a ServiceAccount's username is decided as that ServiceAccount's own request
// would be; one naming the group system:masters is the admin (allowed, as the admin
// kubeconfig's user is); any other user has no rules here (denied, as RBAC denies a user
// nothing binds). Non-resource requests (nonResourceAttributes) are denied:
// the local cluster authorizes none. The object is named by resourceAttributes.name, for a
// list or watch too (what a request's `fieldSelector=metadata.name=x` amounts to:
// request-attributes.ts); resourceAttributes.fieldSelector names none, as RBAC reads it.
//
// SelfSubjectAccessReview (POST selfsubjectaccessreviews) asks the same about the requester
// itself (`kubectl auth can-i`, `ambientctl check --pre`): any authenticated user may ask it,
// the spec names no user, and the answer is the authorizer's for the request's own requester.
import { badRequest, invalid } from './api-errors.js';
import { authorize, requesterFor, type AuthVerb, type RbacView, type Requester } from './authorize.js';
import { isPlainObject } from './json-values.js';
import type { KObject } from './kinds.js';

const SAR = { group: 'authorization.k8s.io', kind: 'SubjectAccessReview' };
const SSAR = { group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview' };
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The answer to a SubjectAccessReview body (pure: the authorizer's decision, no I/O). */
export function reviewSubjectAccess(body: unknown, rbac: RbacView): KObject {
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object');
  const spec = body['spec'];
  if (!isPlainObject(spec)) throw invalid(SAR, '', [{ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' }]);
  const user = str(spec['user']);
  const groups = Array.isArray(spec['groups']) ? spec['groups'].filter((g): g is string => typeof g === 'string') : [];
  if (user === undefined && groups.length === 0) {
    throw invalid(SAR, '', [{ reason: 'FieldValueRequired', field: 'spec.user', message: 'Required value: at least one of user or group must be specified' }]);
  }
  const who: Requester | undefined = requesterFor({ username: user ?? '', groups });
  return decide(SAR, spec, who, `no rules apply to user ${JSON.stringify(user ?? '')}: the local cluster authorizes ServiceAccounts and the group system:masters only`, rbac);
}

/** The answer to a SelfSubjectAccessReview body from `who`, the request's own requester (pure). */
export function reviewSelfSubjectAccess(body: unknown, who: Requester, rbac: RbacView): KObject {
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object');
  const spec = body['spec'];
  if (!isPlainObject(spec)) throw invalid(SSAR, '', [{ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' }]);
  return decide(SSAR, spec, who, '', rbac);
}

/** The authorizer's answer for `who` on the spec's attributes, as a review of `kind`. */
function decide(kind: typeof SAR, spec: Record<string, unknown>, who: Requester | undefined, nobody: string, rbac: RbacView): KObject {
  const ra = spec['resourceAttributes'];
  const nra = spec['nonResourceAttributes'];
  if ((ra === undefined) === (nra === undefined)) {
    throw invalid(kind, '', [
      { reason: 'FieldValueRequired', field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' },
    ]);
  }
  const answer = (status: { allowed: boolean; denied?: boolean; reason?: string }): KObject => ({
    kind: kind.kind,
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null } as never,
    spec,
    status,
  });
  if (nra !== undefined) return answer({ allowed: false, reason: 'the local cluster authorizes no non-resource requests' });
  if (!isPlainObject(ra)) throw invalid(kind, '', [{ reason: 'FieldValueInvalid', field: 'spec.resourceAttributes', message: 'Invalid value: must be an object' }]);
  const verb = str(ra['verb']);
  const resource = str(ra['resource']);
  if (!verb || !resource) {
    throw invalid(kind, '', [{ reason: 'FieldValueRequired', field: verb ? 'spec.resourceAttributes.resource' : 'spec.resourceAttributes.verb', message: 'Required value' }]);
  }
  if (!who) return answer({ allowed: false, reason: nobody });
  const namespace = str(ra['namespace']);
  const name = str(ra['name']);
  const subresource = str(ra['subresource']);
  const decision = authorize(
    who,
    {
      verb: verb as AuthVerb,
      group: typeof ra['group'] === 'string' ? ra['group'] : '',
      resource,
      ...(subresource !== undefined ? { subresource } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
    },
    rbac,
  );
  return decision.allowed ? answer({ allowed: true, reason: decision.by ? `RBAC: allowed by ${decision.by}` : 'allowed by the local cluster authorizer' }) : answer({ allowed: false, reason: decision.reason });
}
