// Which patch a PATCH request's Content-Type names, and applying it (pure).
import { badRequest, invalid, unsupportedMediaType } from './api-errors.js';
import { applyJsonPatch, JsonPatchError } from './json-patch.js';
import type { KindInfo } from './kinds.js';
import { applyMergePatch } from './merge-patch.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'] as const;

export type PatchType = (typeof PATCH_TYPES)[number];

/** Server-side apply (apply-patch.ts), served beside the patch types. */
export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';

const mediaOf = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

export function isApplyPatch(contentType: string | undefined): boolean {
  return mediaOf(contentType) === APPLY_PATCH_TYPE;
}

/** The patch type of a Content-Type header, or a 415. */
export function patchTypeOf(contentType: string | undefined, k: KindInfo): PatchType {
  const media = mediaOf(contentType);
  if (!(PATCH_TYPES as readonly string[]).includes(media)) throw unsupportedMediaType(media || '(none)', [...PATCH_TYPES, APPLY_PATCH_TYPE]);
  // A real cluster refuses strategic merge patch for custom resources; so do we, so that
  // code that works here works there.
  if (media === 'application/strategic-merge-patch+json' && k.crd) {
    throw unsupportedMediaType(`${media} (not supported for custom resources)`, ['application/json-patch+json', 'application/merge-patch+json']);
  }
  return media as PatchType;
}

export function applyPatch(type: PatchType, k: KindInfo, name: string, current: unknown, patch: unknown): unknown {
  switch (type) {
    case 'application/merge-patch+json':
      if (typeof patch !== 'object' || patch === null) throw badRequest('a merge patch must be a JSON object');
      return applyMergePatch(current, patch);
    case 'application/strategic-merge-patch+json':
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw badRequest('a strategic merge patch must be a JSON object');
      return applyStrategicMergePatch(current, patch);
    case 'application/json-patch+json':
      try {
        return applyJsonPatch(current, patch);
      } catch (err) {
        if (!(err instanceof JsonPatchError)) throw err;
        if (err.kind === 'malformed') throw badRequest(`invalid JSON patch: ${err.message}`);
        throw invalid(k, name, [{ reason: 'FieldValueInvalid', message: err.message }]);
      }
  }
}
