// JSON merge patch, RFC 7386: objects merge key by key, `null` removes a key, anything
// else (arrays included) replaces. Pure; the target is not modified.
import { isPlainObject, setOwn, cloneJson, type JsonObject } from './json-values.js';

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  const result: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, applyMergePatch(result[key], value));
  }
  return result;
}
