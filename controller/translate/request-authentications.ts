// RequestAuthentication.ambient.dev/v1 -> RequestAuthn resources (core/config/request-authn.ts),
// for waypoints only (node agents never see a JWT: model.ts isNodeAgentKind). One object in,
// one resource or one Problem out, so translate() and the incremental translation share it
// and a bad object is left out alone: a Problem with the compiler's message, which names the
// field path and the value. The compiler's warnings (a jwksUri over plain http, an object
// without targetRefs, which no waypoint enforces) are Problems too; the resource is still
// emitted.
//
// Each object also gets a status, written to it by the leader with the AuthorizationPolicy
// status writer (controller/policy-status.ts), as AuthorizationPolicies get theirs:
//
//   Accepted  True   Accepted            compiled; the message carries the compiler's warnings
//             False  Invalid             a field is wrong: the compiler's message, naming the
//                                        field and the value; the object is not applied
//   Enforced  (only when Accepted=True and the object selects workloads: `selector`, or no
//             targetRefs) False, reason TargetRefsRequired: only a waypoint validates JWTs and
//             no waypoint evaluates a selector, so it is enforced nowhere; the message says
//             how to attach it (targetRefs to a Service with a waypoint, or to the waypoint's
//             Gateway). A targetRefs object has no Enforced condition: its waypoints enforce it.
import type { Resource } from '../../core/config/model.js';
import { compileRequestAuthentication } from '../../core/config/request-authn.js';
import { ErrorCodes } from '../../core/errors.js';
import type { PolicyStatus, StatusCondition } from './input.js';
import { objectKey, type Problems } from './objects.js';

export const REQUEST_AUTHENTICATION_KIND = 'RequestAuthentication';

export const REQUEST_AUTHN_REASONS = Object.freeze({
  accepted: 'Accepted',
  invalid: 'Invalid',
  targetRefsRequired: 'TargetRefsRequired',
});

/** How a RequestAuthentication that selects workloads is made to apply (its Enforced message). */
export const ATTACH_WITH_TARGET_REFS =
  'NOT ENFORCED: it selects workloads (spec.selector, or no spec.targetRefs), and only a waypoint validates JWTs: node agents see no HTTP, and waypoints evaluate only what is attached to them. ' +
  'Attach it with spec.targetRefs instead of spec.selector: [{group: "", kind: Service, name: <service>}] for a Service that uses a waypoint (label ambient.dev/use-waypoint), ' +
  'or [{group: gateway.networking.k8s.io, kind: Gateway, name: <waypoint>}] for everything a waypoint serves.';

function generationOf(object: unknown): number {
  const g: unknown = (object as { metadata?: { generation?: unknown } } | null)?.metadata?.generation;
  return typeof g === 'number' && Number.isInteger(g) && g >= 0 ? g : 0;
}

/**
 * Compiles `object` and emits its RequestAuthn resource; reports what is wrong with it.
 * Returns its status, or undefined when its namespace and name cannot be read (nothing to
 * write it to).
 */
export function translateRequestAuthentication(object: unknown, problems: Problems, emit: (kind: string, key: string, r: Resource) => boolean): PolicyStatus | undefined {
  const meta = (object as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const key = objectKey(meta as never);
  const conditions: StatusCondition[] = [];
  const compiled = compileRequestAuthentication(object);
  if (!compiled.ok) {
    problems.report(REQUEST_AUTHENTICATION_KIND, key, `${ErrorCodes.REQUEST_AUTHN_INVALID}: not applied: ${compiled.message}`);
    conditions.push({ type: 'Accepted', status: 'False', reason: REQUEST_AUTHN_REASONS.invalid, message: `${compiled.message}. It is not applied: no waypoint validates tokens with it.` });
  } else {
    for (const w of compiled.warnings) problems.report(REQUEST_AUTHENTICATION_KIND, key, w);
    if (!emit(REQUEST_AUTHENTICATION_KIND, key, { kind: 'RequestAuthn', key: compiled.resource.key, body: compiled.resource })) {
      conditions.push({ type: 'Accepted', status: 'False', reason: REQUEST_AUTHN_REASONS.invalid, message: 'the compiled RequestAuthentication failed validation (a bug in the controller; see the controller log)' });
    } else {
      const warn = compiled.warnings.length ? ` Warnings: ${compiled.warnings.join('; ')}.` : '';
      conditions.push({ type: 'Accepted', status: 'True', reason: REQUEST_AUTHN_REASONS.accepted, message: `The RequestAuthentication is valid and compiled.${warn}` });
      if (compiled.resource.scope === 'workloads') conditions.push({ type: 'Enforced', status: 'False', reason: REQUEST_AUTHN_REASONS.targetRefsRequired, message: ATTACH_WITH_TARGET_REFS });
    }
  }
  const name = meta?.name;
  const namespace = meta?.namespace;
  if (typeof name !== 'string' || name === '' || typeof namespace !== 'string' || namespace === '') return undefined;
  return { namespace, name, generation: generationOf(object), conditions };
}
