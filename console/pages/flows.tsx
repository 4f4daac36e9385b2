// /flows: a live table of recent connections and requests. The recent ones from
// GET /api/v1/flows, then each `flow` event of the EventSource on /api/v1/flows/stream,
// newest first; ?namespace= and ?verdict= filter. Pausing freezes the rows on screen while
// the stream goes on (the new ones are counted and shown on resume).
import { useEffect, useState } from 'preact/hooks';
import type { Flow, List } from '../api-types.js';
import { api } from '../api.js';
import { ErrorBanner, NamespaceFilter, Page, PartialNotice, useApi } from '../components.js';
import { setQuery, type Location } from '../router.js';
import { FlowsTable } from './flows-table.js';
import { addNamespaces, flowNamespaces, FLOWS_KEPT, mergeFlows as merge, newFlowsNote, pausedView } from '../flow-list.js';

export function FlowsPage({ loc }: { loc: Location }) {
  const ns = loc.query.get('namespace') ?? '';
  const verdict = loc.query.get('verdict') ?? '';
  const [flows, setFlows] = useState<Flow[]>([]);
  const [recent, setRecent] = useState<List<Flow>>();
  const [error, setError] = useState<Error>();
  const [live, setLive] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  /** The rows on screen when the user paused; null while live. */
  const [frozen, setFrozen] = useState<Flow[] | null>(null);
  const [seenNs, setSeenNs] = useState<string[]>([]);
  // The choices come from every namespace with workloads and every one seen in a flow,
  // never from the (filtered) rows alone.
  const workloads = useApi((s) => api.workloads(undefined, s), []);

  useEffect(() => {
    const ac = new AbortController();
    setFlows([]);
    setRecent(undefined);
    setError(undefined);
    setLive('connecting');
    // Paused on another namespace: the frozen rows become this namespace's recent flows.
    setFrozen((fr) => fr && []);
    api.flows(ns || undefined, FLOWS_KEPT, ac.signal).then(
      (l) => {
        if (ac.signal.aborted) return;
        setRecent(l);
        setFlows((cur) => merge(cur, l.items));
        setFrozen((fr) => fr && merge(fr, l.items));
      },
      (e: Error) => !ac.signal.aborted && setError(e),
    );
    const es = new EventSource(api.flowStreamUrl(ns || undefined));
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
    return () => {
      ac.abort();
      es.close();
    };
  }, [ns]);

  useEffect(() => setSeenNs((seen) => addNamespaces(seen, flowNamespaces(flows))), [flows]);
  useEffect(() => setSeenNs((seen) => addNamespaces(seen, (workloads.data?.items ?? []).map((w) => w.namespace))), [workloads.data]);

  const keep = (f: Flow) => !verdict || f.verdict === verdict;
  const paused = frozen !== null;
  const view = frozen ? pausedView(frozen, flows, keep) : { rows: flows.filter(keep), newCount: 0 };
  return (
    <Page
      title="Flows"
      busy={recent === undefined && error === undefined}
      actions={
        <>
          <NamespaceFilter value={ns} namespaces={seenNs} />
          <label class="filter">
            Verdict{' '}
            <select name="verdict" value={verdict} onChange={(e) => setQuery({ verdict: (e.target as HTMLSelectElement).value })}>
              <option value="">all</option>
              <option value="allowed">allowed</option>
              <option value="denied">denied</option>
              <option value="dry-run-deny">dry-run would deny</option>
            </select>
          </label>
          <button type="button" onClick={() => setFrozen(paused ? null : flows)}>
            {paused ? 'Resume live' : 'Pause live'}
          </button>
          <span class={`live live-${paused ? 'paused' : live}`} data-live={paused ? 'paused' : live} data-stream={live}>
            {paused ? 'paused' : live}
          </span>
          {paused && (
            <span class="badge badge-warn" data-testid="flows-new">
              {newFlowsNote(view.newCount)}
            </span>
          )}
        </>
      }
    >
      <ErrorBanner error={error} />
      <PartialNotice answer={recent} />
      <FlowsTable flows={view.rows} />
    </Page>
  );
}
