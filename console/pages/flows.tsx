// /flows: a live table of recent connections and requests. The recent ones from
// GET /api/v1/flows, then each `flow` event of the EventSource on /api/v1/flows/stream,
// newest first; ?namespace= and ?verdict= filter.
import { useEffect, useState } from 'preact/hooks';
import type { Flow } from '../api-types.js';
import { api } from '../api.js';
import { ErrorBanner, NamespaceFilter, Page } from '../components.js';
import { setQuery, type Location } from '../router.js';
import { FlowsTable } from './flows-table.js';
import { FLOWS_KEPT, mergeFlows as merge } from '../flow-list.js';

export function FlowsPage({ loc }: { loc: Location }) {
  const ns = loc.query.get('namespace') ?? '';
  const verdict = loc.query.get('verdict') ?? '';
  const [flows, setFlows] = useState<Flow[]>([]);
  const [error, setError] = useState<Error>();
  const [live, setLive] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  const [paused, setPaused] = useState(false);

  useEffect(() => {
    const ac = new AbortController();
    let es: EventSource | undefined;
    setFlows([]);
    setError(undefined);
    api.flows(ns || undefined, FLOWS_KEPT, ac.signal).then(
      (l) => !ac.signal.aborted && setFlows((cur) => merge(cur, l.items)),
      (e: Error) => !ac.signal.aborted && setError(e),
    );
    if (!paused) {
      es = new EventSource(api.flowStreamUrl(ns || undefined));
      const onFlow = (m: MessageEvent<string>) => {
        let f: Flow;
        try {
          f = JSON.parse(m.data) as Flow;
        } catch {
          return;
        }
        setFlows((cur) => merge(cur, [f]));
      };
      es.addEventListener('flow', onFlow);
      es.onmessage = onFlow;
      es.onopen = () => setLive('live');
      es.onerror = () => setLive('reconnecting');
    }
    return () => {
      ac.abort();
      es?.close();
    };
  }, [ns, paused]);

  const shown = flows.filter((f) => !verdict || f.verdict === verdict);
  const namespaces = [...new Set(flows.flatMap((f) => [f.source.namespace, f.destination.namespace]).filter((n): n is string => !!n))];
  return (
    <Page
      title="Flows"
      actions={
        <>
          <NamespaceFilter value={ns} namespaces={namespaces} />
          <label class="filter">
            Verdict{' '}
            <select name="verdict" value={verdict} onChange={(e) => setQuery({ verdict: (e.target as HTMLSelectElement).value })}>
              <option value="">all</option>
              <option value="allowed">allowed</option>
              <option value="denied">denied</option>
              <option value="dry-run-deny">dry-run would deny</option>
            </select>
          </label>
          <button type="button" onClick={() => setPaused(!paused)}>
            {paused ? 'Resume live' : 'Pause live'}
          </button>
          <span class={`live live-${paused ? 'paused' : live}`} data-live={paused ? 'paused' : live}>
            {paused ? 'paused' : live}
          </span>
        </>
      }
    >
      <ErrorBanner error={error} />
      <FlowsTable flows={shown} />
    </Page>
  );
}
