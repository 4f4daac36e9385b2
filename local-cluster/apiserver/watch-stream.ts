// One watch, served as kube-apiserver serves it: HTTP 200, then one JSON event per line
// (`{"type":"ADDED","object":{...}}`) until timeoutSeconds, the client leaving, or shutdown.
//
// Where it starts:
//   no resourceVersion, or "0": the current objects as ADDED events, then changes after them;
//   resourceVersion R: every recorded event after R, in order, then live ones. R older than
//   the retained history gets an ERROR event carrying a 410 Expired Status, and the end of
//   the stream (client-go and @kubernetes/client-node relist on it).
// The watcher is registered with the hub before the history is read, and anything at or
// below what was already sent is dropped, so the hand-over from replay to live loses and
// repeats nothing.
import type { ServerResponse } from 'node:http';
import { badRequest, gone } from './api-errors.js';
import { apiVersionOf, resourceKey, type KObject, type KindInfo } from './kinds.js';
import type { ObjectStore, StoredEvent, EventType } from './store.js';
import { matchesFilter, watchEventFor, type WatchFilter, type WatchHub } from './watch-hub.js';

export interface WatchParams {
  kind: KindInfo;
  /**
   * sendInitialEvents=true (the streaming-list protocol): the current objects as ADDED,
   * then a BOOKMARK annotated k8s.io/initial-events-end, whatever resourceVersion says.
   */
  sendInitialEvents?: boolean;
  filter: WatchFilter;
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  timeoutSeconds: number;
  bookmarkIntervalMs: number;
  /** A watcher that falls this far behind (bytes unsent) is closed, as kube-apiserver drops unresponsive watchers. */
  maxBufferedBytes: number;
  /** Wraps each object (server-side printing for `kubectl get -w`); identity by default. */
  encode?: (obj: KObject, type: EventType) => unknown;
}

export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '' || rv === '0') return undefined;
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version "${rv}": must be a non-negative integer`);
  return Number(rv);
}

export async function serveWatch(deps: { store: ObjectStore; hub: WatchHub }, p: WatchParams, res: ServerResponse): Promise<void> {
  const from = p.sendInitialEvents ? undefined : parseResourceVersion(p.resourceVersion);
  const { kind: k } = p;
  const encode = p.encode ?? ((o: KObject) => o);
  let live = false;
  let ended = false;
  let sentRv = 0;
  const buffered: StoredEvent[] = [];
  const timers: NodeJS.Timeout[] = [];

  /** Stops the watch; `finish` ends the response (not when an error answer is still to be sent). */
  const end = (finish = true) => {
    if (ended) return;
    ended = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t); // clears intervals too
    if (finish && !res.writableEnded) res.end();
  };
  const write = (type: EventType | 'BOOKMARK' | 'ERROR', object: unknown) => {
    if (ended) return;
    res.write(`${JSON.stringify({ type, object })}\n`);
    if (res.writableLength > p.maxBufferedBytes) {
      ended = true;
      unsubscribe();
      res.destroy();
    }
  };
  const deliver = (ev: StoredEvent) => {
    if (ev.rv <= sentRv) return;
    sentRv = ev.rv;
    const out = watchEventFor(k, ev, p.filter);
    if (out) write(out.type, encode(out.object, out.type));
  };
  const unsubscribe = deps.hub.subscribe(resourceKey(k), (ev) => (live ? deliver(ev) : buffered.push(ev)), () => end());
  res.on('close', () => end());

  let replay: StoredEvent[] = [];
  let snapshot: KObject[] = [];
  try {
    if (from === undefined) {
      const list = await deps.store.list(k, p.filter.namespace);
      snapshot = list.items.map((i) => i.object).filter((o) => matchesFilter(k, o, p.filter));
      sentRv = list.rv;
    } else {
      const { events, compacted } = await deps.store.eventsSince(from);
      if (from < compacted) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
        write('ERROR', gone(`too old resource version: ${from} (${compacted + 1})`).toStatus());
        return end();
      }
      replay = events;
      sentRv = from;
    }
  } catch (err) {
    end(false);
    throw err;
  }
  if (ended) return;
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  for (const o of snapshot) write('ADDED', encode(o, 'ADDED'));
  if (p.sendInitialEvents && p.allowBookmarks) {
    const metadata = { resourceVersion: String(sentRv), annotations: { 'k8s.io/initial-events-end': 'true' } };
    write('BOOKMARK', { kind: k.kind, apiVersion: apiVersionOf(k), metadata });
  }
  for (const ev of replay) if (ev.resource === resourceKey(k)) deliver(ev);
  live = true;
  for (const ev of buffered.splice(0)) deliver(ev);

  timers.push(setTimeout(end, p.timeoutSeconds * 1000));
  if (p.allowBookmarks) {
    timers.push(
      setInterval(() => {
        const rv = Math.max(sentRv, deps.hub.lastRv);
        const meta = { resourceVersion: String(rv) };
        write('BOOKMARK', { kind: k.kind, apiVersion: apiVersionOf(k), metadata: meta });
      }, p.bookmarkIntervalMs),
    );
  }
}
