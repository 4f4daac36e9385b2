// The console's router: the History API by hand. Every page has a URL (path + query), links
// push a history entry, the back button pops one (popstate), and state such as filters
// lives in the query so a link is shareable.
import { useEffect, useState } from 'preact/hooks';

export { match } from './route-match.js';

export interface Location {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

function notify() {
  for (const l of listeners) l();
}

window.addEventListener('popstate', notify);

/** Goes to `href` (same origin); `replace` rewrites the current entry (filters as you type). */
export function navigate(href: string, replace = false) {
  const target = new URL(href, window.location.href);
  if (target.pathname + target.search === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, '', target.pathname + target.search);
  else window.history.pushState(null, '', target.pathname + target.search);
  notify();
}

/** Sets (or removes, when empty) query parameters of the current page, replacing the entry. */
export function setQuery(params: Record<string, string | undefined>, replace = false) {
  const q = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(window.location.pathname + (s ? `?${s}` : ''), replace);
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return loc;
}

/** Handles clicks on same-origin links inside the app without reloading the page. */
export function interceptLinks(root: HTMLElement) {
  root.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}
