// Small pieces the pages share: loading an API answer, an error banner, conditions,
// a namespace filter kept in the URL.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Condition } from './api-types.js';
import { ApiError } from './api.js';
import { errorText, partialNotice, staleNotice } from './load-notices.js';
import { setQuery } from './router.js';

export interface Loaded<T> {
  /** The last good answer: kept when a later load fails (then `error` says why). */
  data: T | undefined;
  /** When `data` arrived. */
  dataAt: Date | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads `fn` when `deps` change (aborting the previous load) and on `reload()`. A failed
 * load keeps the last good data (the page shows it with a stale notice, not an empty page);
 * the next success clears the error. */
export function useApi<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; dataAt?: Date; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const lastDeps = useRef<unknown[]>(deps);
  useEffect(() => {
    const ac = new AbortController();
    // Data answering other deps (another namespace, window) is not an older copy of this
    // answer: a failure after such a change shows the error alone.
    const sameQuery = deps.length === lastDeps.current.length && deps.every((d, i) => Object.is(d, lastDeps.current[i]));
    lastDeps.current = deps;
    setState((s) => ({ ...s, loading: true }));
    fn(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, dataAt: new Date(), loading: false }),
      (error: Error) => !ac.signal.aborted && setState((s) => (sameQuery ? { ...s, error, loading: false } : { error, loading: false })),
    );
    return () => ac.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, dataAt: state.dataAt, error: state.error, loading: state.loading, reload };
}

/** Calls `fn` every `ms` while `enabled` (pages that follow live state reload with it). */
export function useInterval(fn: () => void, ms: number, enabled = true) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!enabled) return;
    const t = setInterval(() => latest.current(), ms);
    return () => clearInterval(t);
  }, [ms, enabled]);
}

export function ErrorBanner({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {errorText(error instanceof ApiError ? error : { message: error.message })}
    </p>
  );
}

/** A mesh-wide answer a controller replica did not contribute to: said, not hidden. */
export function PartialNotice({ answer }: { answer: unknown }) {
  const text = partialNotice(answer);
  return text ? (
    <p class="notice partial" role="status" data-notice="partial">
      {text}
    </p>
  ) : null;
}

/** What a load says above its data: the error when there is no data to show, else a
 * non-blocking stale notice (the data stays on screen); and whether the answer is partial. */
export function LoadNotices({ loaded: l }: { loaded: Loaded<unknown> }) {
  return (
    <>
      {l.error && l.data !== undefined && l.dataAt ? (
        <p class="notice stale" role="status" data-notice="stale">
          {staleNotice(l.error instanceof ApiError ? l.error : { message: l.error.message }, l.dataAt)}
        </p>
      ) : (
        <ErrorBanner error={l.error} />
      )}
      <PartialNotice answer={l.data} />
    </>
  );
}

/** The page's frame: title, notices, and a loading note before the first answer. */
/** `busy`: a page loading on its own (no `loaded`) says so, as aria-busy, until its first answer. */
export function Page(props: { title: ComponentChildren; loaded?: Loaded<unknown>; busy?: boolean; actions?: ComponentChildren; children?: ComponentChildren }) {
  const l = props.loaded;
  return (
    <section class="page" aria-busy={(props.busy ?? l?.loading) ? 'true' : 'false'}>
      <header class="page-head">
        <h1>{props.title}</h1>
        {props.actions}
      </header>
      {l && <LoadNotices loaded={l} />}
      {l && l.loading && l.data === undefined && !l.error ? <p class="muted">Loading…</p> : props.children}
    </section>
  );
}

export function Conditions({ conditions }: { conditions: Condition[] }) {
  if (conditions.length === 0) return <span class="muted">no conditions</span>;
  return (
    <ul class="conditions">
      {conditions.map((c) => (
        <li key={c.type} class={c.status === 'True' ? 'ok' : c.status === 'False' ? 'bad' : 'unknown'} title={c.message}>
          <span class="cond-type">{c.type}</span>={c.status} <span class="muted">{c.reason}</span>
          {c.message && <div class="cond-msg">{c.message}</div>}
        </li>
      ))}
    </ul>
  );
}

/** A namespace choice kept in the URL's `namespace` query parameter. */
export function NamespaceFilter({ value, namespaces }: { value: string; namespaces: string[] }) {
  const all = [...new Set([...namespaces, ...(value ? [value] : [])])].sort();
  return (
    <label class="filter">
      Namespace{' '}
      <select name="namespace" value={value} onChange={(e) => setQuery({ namespace: (e.target as HTMLSelectElement).value })}>
        <option value="">all namespaces</option>
        {all.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}

/** A lock: mutual TLS (an inline icon, so it needs no emoji font). */
export function Lock({ title = 'mutual TLS' }: { title?: string }) {
  return (
    <svg class="icon lock" viewBox="0 0 16 16" width="12" height="12" role="img" aria-label={title}>
      <title>{title}</title>
      <path fill="currentColor" d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z" />
    </svg>
  );
}
