// RequestAuthentication.ambient.dev/v1 -> RequestAuthn resources (core/config/request-authn.ts),
// for waypoints only (node agents never see a JWT: model.ts isNodeAgentKind). One object in,
// one resource or one Problem out, so translate() and the incremental translation share it
// and a bad object is left out alone: a Problem with the compiler's message, which names the
// field path and the value. The compiler's warnings (a jwksUri over plain http, an object
// without targetRefs, which no waypoint enforces) are Problems too; the resource is still
// emitted. No status is written to RequestAuthentication objects (yet): the Problems are
// what `ambientctl` and the controller's /debug/config show.
import type { Resource } from '../../core/config/model.js';
import { compileRequestAuthentication } from '../../core/config/request-authn.js';
import { ErrorCodes } from '../../core/errors.js';
import { objectKey, type Problems } from './objects.js';

export const REQUEST_AUTHENTICATION_KIND = 'RequestAuthentication';

/** Compiles `object` and emits its RequestAuthn resource; reports what is wrong with it. */
export function translateRequestAuthentication(object: unknown, problems: Problems, emit: (kind: string, key: string, r: Resource) => boolean): void {
  const key = objectKey((object as { metadata?: never } | null)?.metadata);
  const compiled = compileRequestAuthentication(object);
  if (!compiled.ok) {
    problems.report(REQUEST_AUTHENTICATION_KIND, key, `${ErrorCodes.REQUEST_AUTHN_INVALID}: not applied: ${compiled.message}`);
    return;
  }
  for (const w of compiled.warnings) problems.report(REQUEST_AUTHENTICATION_KIND, key, w);
  emit(REQUEST_AUTHENTICATION_KIND, key, { kind: 'RequestAuthn', key: compiled.resource.key, body: compiled.resource });
}
