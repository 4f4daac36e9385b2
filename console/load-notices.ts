// The texts of the non-blocking notices a page shows over data it still shows: a reload that
// failed (the last good answer stays on screen) and a mesh-wide answer some controller
// replica did not contribute to (`partial`/`unanswered`, api-types.d.ts); pure.
import type { PartialAnswer } from './api-types.js';

/** An error as the console reports it: the API's code first when it sent one. */
export function errorText(e: { message: string; code?: unknown }): string {
  return typeof e.code === 'string' && e.code ? `${e.code}: ${e.message}` : e.message;
}

/** `could not refresh: <error>, showing data from <HH:MM:SS> UTC`: the data on screen is that old. */
export function staleNotice(error: { message: string; code?: unknown }, dataAt: Date): string {
  return `could not refresh: ${errorText(error)}, showing data from ${dataAt.toISOString().slice(11, 19)} UTC`;
}

/** `partial: replicas a, b did not answer; counts may be low` for an answer that says it is
 * partial, with each replica's reason; undefined for a whole answer (or not an object). */
export function partialNotice(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const a = answer as PartialAnswer;
  const missing = Array.isArray(a.unanswered) ? a.unanswered.filter((u) => u && typeof u.replica === 'string') : [];
  if (a.partial !== true && missing.length === 0) return undefined;
  const names = missing.length === 0 ? 'replicas (unnamed)' : `${missing.length === 1 ? 'replica' : 'replicas'} ${missing.map((u) => (u.reason ? `${u.replica} (${u.reason})` : u.replica)).join(', ')}`;
  return `partial: ${names} did not answer; counts may be low`;
}
