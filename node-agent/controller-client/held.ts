// What a client holds, pure: from an update and the resources it refused, the new map of
// `<kind>/<key>` -> version that its next hello reports. A refused resource keeps the
// version the client had before (or stays absent), so that on reconnect the controller
// sends it again and the refusal is reported again, rather than forgotten.
import { validateResource } from '../../core/config/validate.js';
import type { ResourceKind } from '../../core/config/model.js';
import { RESOURCE_KINDS, resourceId, type ResourceError, type ResourceRef, type VersionedResource } from '../../core/config/wire.js';

/**
 * Splits an update's upserts into resources fit for the application (validated by
 * core/config/validate.ts, as clean copies carrying their version) and per-resource errors.
 */
export function screenUpserts(upserts: readonly unknown[]): { valid: VersionedResource[]; errors: ResourceError[] } {
  const valid: VersionedResource[] = [];
  const errors: ResourceError[] = [];
  for (const raw of upserts) {
    const u = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const kind = String(u['kind'] ?? '');
    const key = String(u['key'] ?? '');
    const version = u['version'];
    if (typeof version !== 'string' || version === '') {
      errors.push({ kind, key, error: `${kind || 'resource'} ${key || '<no key>'}: version: missing` });
      continue;
    }
    const checked = validateResource(u);
    if (checked.ok) valid.push({ ...checked.resource, version });
    else errors.push({ kind, key, error: checked.error });
  }
  return { valid, errors };
}

/** Removals of kinds this client knows (others cannot be held). */
export function knownRemoves(removes: readonly ResourceRef[]): ResourceRef[] {
  return removes.filter((r) => RESOURCE_KINDS.includes(r.kind));
}

/** Applies an update to `held` in place: accepted upserts take their version, removals go. */
export function applyToHeld(held: Map<string, string>, upserts: readonly VersionedResource[], removes: readonly ResourceRef[], rejected: readonly ResourceError[]): void {
  const refused = new Set(rejected.map((e) => resourceId(e.kind as ResourceKind, e.key)));
  for (const u of upserts) {
    const id = resourceId(u.kind, u.key);
    if (!refused.has(id)) held.set(id, u.version);
  }
  for (const r of removes) held.delete(resourceId(r.kind, r.key));
}
