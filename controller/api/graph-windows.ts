// Which windows GET /graph answers and from where (docs/api.md, "The traffic graph"): the
// controller's own telemetry window up to its retention; longer ones from Prometheus when
// one is configured (--prometheus-url), else refused with AMB_API_WINDOW_UNAVAILABLE
// rather than clamped, so a number on the page is always over the window it says. Pure.
import { fieldReader, FieldFault } from '../../core/config/object-fields.js';
import { badRequest, windowUnavailable } from './api-error.js';

export const DEFAULT_GRAPH_WINDOW = '5m';

/** The windows the console offers, shortest first; those over the retention only with Prometheus. */
export const GRAPH_WINDOW_CHOICES = ['1m', '5m', '15m', '1h', '6h', '24h'] as const;

/** The longest window asked of Prometheus (30 days: more than Prometheus keeps by default). */
export const MAX_GRAPH_WINDOW_MS = 30 * 24 * 3_600_000;
const MIN_GRAPH_WINDOW_MS = 1_000;

export type GraphSourceName = 'window' | 'prometheus';

const reader = fieldReader({ maxShownChars: 64, maxListItems: 1, maxValueChars: 64 });

/** `?window=` (default 5m) in ms: a duration such as 30s, 5m, 6h, between 1s and 720h. */
export function parseGraphWindow(raw: string | null): { window: string; windowMs: number } {
  const window = raw || DEFAULT_GRAPH_WINDOW;
  try {
    return { window, windowMs: reader.durationMs('window', window, MIN_GRAPH_WINDOW_MS, MAX_GRAPH_WINDOW_MS) };
  } catch (err) {
    if (err instanceof FieldFault) throw badRequest(err.message);
    throw err;
  }
}

const choiceMs = (w: string): number => reader.durationMs('window', w, MIN_GRAPH_WINDOW_MS, MAX_GRAPH_WINDOW_MS);

/** The windows a graph may be asked for now, as the answer advertises them. */
export function graphWindows(o: { retentionMs: number; prometheus: boolean }): string[] {
  return GRAPH_WINDOW_CHOICES.filter((w) => o.prometheus || choiceMs(w) <= o.retentionMs);
}

/** Where a graph over `windowMs` comes from; throws 400 AMB_API_WINDOW_UNAVAILABLE when nowhere. */
export function graphSourceFor(q: { window: string; windowMs: number }, o: { retentionMs: number; prometheus: boolean }): GraphSourceName {
  if (q.windowMs <= o.retentionMs) return 'window';
  if (o.prometheus) return 'prometheus';
  throw windowUnavailable(
    `window ${JSON.stringify(q.window)} is longer than the controller's telemetry window (${Math.round(o.retentionMs / 60_000)}m) and no Prometheus is configured (--prometheus-url, docs/configuration.md); ask for a window of at most ${Math.round(o.retentionMs / 60_000)}m`,
  );
}
