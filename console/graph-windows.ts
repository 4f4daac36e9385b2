// The graph page's time-window filter (pages/graph.tsx): which windows it offers. The API
// says which it answers (Graph.windows: 1h, 6h, 24h only when the controller reads them
// from a Prometheus); the window stays in the URL (?window=), so a shared link opens on it. Pure.

/** What the controller answers from its own telemetry window: offered until an answer says more. */
export const DEFAULT_GRAPH_WINDOWS: readonly string[] = ['1m', '5m', '15m'];

/** The filter's options: the advertised windows (else the defaults), and the URL's window
 * when it is not among them (a shared link shows what it asks, and the API's answer to it). */
export function windowOptions(advertised: readonly string[] | undefined, current: string): string[] {
  const base = advertised && advertised.length > 0 ? advertised : DEFAULT_GRAPH_WINDOWS;
  return base.includes(current) || current === '' ? [...base] : [...base, current];
}

/** Where the graph's numbers come from, as the legend says it. */
export function sourceNote(source: 'window' | 'prometheus' | undefined): string {
  return source === 'prometheus' ? 'from Prometheus' : "from the controller's telemetry window";
}
