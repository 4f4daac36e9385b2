// ambient-samples/client: a pod that stays alive so that `ambientctl exec` (or kubectl
// exec) can run commands in its network namespace. Optionally, with TARGET_URL set, it
// requests that URL every INTERVAL and logs one line per answer. Exits 0 promptly on
// SIGTERM/SIGINT. See samples/README.md.
import http from 'node:http';
import https from 'node:https';
import { log, onShutdown, parseDuration } from '../shared/runtime.js';

const MAX_TIMEOUT_MS = 10_000;

// One timer far in the future keeps the event loop alive at no CPU cost.
const keepAlive = setInterval(() => {}, 2 ** 30);
let timer: NodeJS.Timeout | undefined;
let inflight: http.ClientRequest | undefined;

onShutdown(async () => {
  clearInterval(keepAlive);
  if (timer) clearTimeout(timer);
  inflight?.destroy();
}, 1000);

function start(): void {
  const raw = process.env.TARGET_URL;
  if (!raw) {
    log('client idle (set TARGET_URL to poll a URL)');
    return;
  }
  let url: URL;
  try {
    url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported scheme ${url.protocol}`);
  } catch (err) {
    log(`TARGET_URL ${JSON.stringify(raw)} ignored: ${(err as Error).message}; staying idle`);
    return;
  }
  const intervalText = process.env.INTERVAL || '1s';
  let interval = parseDuration(intervalText, 's');
  if (interval === undefined || interval < 10) {
    log(`INTERVAL ${JSON.stringify(intervalText)} invalid (want e.g. 1s, 500ms, 2; at least 10ms); using 1s`);
    interval = 1000;
  }
  const every = interval;
  const timeout = Math.min(Math.max(every, 1000), MAX_TIMEOUT_MS);
  log(`client polling ${url.href} every ${every}ms`);

  const tick = () => {
    timer = undefined;
    const started = Date.now();
    let done = false;
    const next = (line: string) => {
      if (done) return;
      done = true;
      inflight = undefined;
      log(`GET ${url.href} -> ${line} ${Date.now() - started}ms`);
      timer = setTimeout(tick, Math.max(0, every - (Date.now() - started)));
    };
    try {
      // A fresh connection each time (no keep-alive), so requests spread over endpoints.
      const req = (url.protocol === 'https:' ? https : http).get(url, { agent: false, timeout }, (res) => {
        const pod = res.headers['x-echo-pod'];
        const line = `HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd() + (pod ? ` pod=${pod}` : '');
        res.on('error', () => {});
        res.on('end', () => next(line));
        res.on('close', () => next(line));
        res.resume();
      });
      inflight = req;
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout}ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => next(`error ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ')));
    } catch (err) {
      next(`error ${(err as Error).message}`);
    }
  };
  tick();
}

start();
