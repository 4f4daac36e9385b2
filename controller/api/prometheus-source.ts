// GET /graph for windows longer than the controller's own, read from Prometheus' HTTP API
// (--prometheus-url; docs/telemetry.md, "When Prometheus is configured"). The thin layer:
// one POST /api/v1/query per instant query of prometheus-graph.ts, bounded in time and
// size, failures mapped to AMB_API_PROMETHEUS_UNREACHABLE / AMB_API_PROMETHEUS_FAILED.
import { graphQueries, parseQueryAnswer, prometheusGraph, type GraphQueryName, type PromSample } from '../telemetry/prometheus-graph.js';
import { prometheusFailed, prometheusUnreachable } from './api-error.js';
import { toApiGraph, type GraphSnapshot } from './telemetry-source.js';

export const PROMETHEUS_DEFAULTS = {
  /** One query: connect, evaluation and answer (also sent to Prometheus as its `timeout`). */
  queryTimeoutMs: 10_000,
  /** The largest answer read; more is AMB_API_PROMETHEUS_FAILED. */
  maxResponseBytes: 16 * 1024 * 1024,
  /** Series one answer may hold. */
  maxSeries: 50_000,
} as const;

export type PrometheusLimits = { -readonly [K in keyof typeof PROMETHEUS_DEFAULTS]: number };

export interface PrometheusGraphSource {
  /** The base URL, as configured (for messages and the log). */
  readonly url: string;
  graph(q: { window: string; windowMs: number; namespace?: string }): Promise<GraphSnapshot>;
}

/** --prometheus-url: an http(s) URL without credentials, query or fragment; a path is kept as
 * a prefix (a Prometheus behind a path, e.g. http://monitoring/prometheus). Throws a
 * RangeError saying what is wrong. */
export function parsePrometheusUrl(v: string): URL {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new RangeError(`${JSON.stringify(v)} is not a URL (e.g. http://prometheus.monitoring.svc:9090)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError(`${JSON.stringify(v)}: the scheme must be http or https`);
  if (u.username || u.password) throw new RangeError(`${JSON.stringify(v)}: credentials in the URL are not supported`);
  if (u.search || u.hash) throw new RangeError(`${JSON.stringify(v)}: a query or fragment is not supported`);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

/** One instant query at `time` (epoch seconds): its samples. */
export async function promQuery(base: URL, query: string, o: { time: number; limits: PrometheusLimits }): Promise<PromSample[]> {
  const url = new URL('api/v1/query', base);
  const body = new URLSearchParams({ query, time: String(o.time), timeout: `${Math.max(1, Math.floor(o.limits.queryTimeoutMs / 1000))}s` });
  const signal = AbortSignal.timeout(o.limits.queryTimeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers: { accept: 'application/json' }, signal, redirect: 'error' });
  } catch (err) {
    throw prometheusUnreachable(`Prometheus at ${base.href} did not answer within ${o.limits.queryTimeoutMs}ms: ${describe(err)}`, err);
  }
  let text: string;
  try {
    text = await readBounded(res, o.limits.maxResponseBytes);
  } catch (err) {
    if (err instanceof RangeError) throw prometheusFailed(`Prometheus at ${base.href}: ${err.message}`, err);
    throw prometheusUnreachable(`Prometheus at ${base.href} broke off its answer: ${describe(err)}`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw prometheusFailed(`Prometheus at ${base.href} answered HTTP ${res.status} that is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  try {
    return parseQueryAnswer(json, o.limits.maxSeries);
  } catch (err) {
    throw prometheusFailed(`Prometheus at ${base.href} (HTTP ${res.status}): ${(err as Error).message}`, err);
  }
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** The body as text, refusing (RangeError) past maxBytes without reading the rest. */
async function readBounded(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new RangeError(`the answer is ${declared} bytes, more than ${maxBytes} bytes`);
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > maxBytes) {
      await reader.cancel();
      throw new RangeError(`the answer is more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The graph from Prometheus at `url`: every query of graphQueries at once, evaluated at `now()`. */
export function prometheusGraphSource(o: { url: URL | string; limits?: Partial<PrometheusLimits>; now?: () => number }): PrometheusGraphSource {
  const base = typeof o.url === 'string' ? parsePrometheusUrl(o.url) : o.url;
  const limits: PrometheusLimits = { ...PROMETHEUS_DEFAULTS, ...o.limits };
  const now = o.now ?? Date.now;
  return {
    url: base.href,
    async graph({ window, windowMs, namespace }) {
      const at = now();
      const queries = Object.entries(graphQueries({ windowMs, ...(namespace !== undefined && { namespace }) })) as Array<[GraphQueryName, string]>;
      const answers = await Promise.all(queries.map(async ([name, q]) => [name, await promQuery(base, q, { time: at / 1000, limits })] as const));
      return toApiGraph(prometheusGraph(Object.fromEntries(answers), { windowMs, at, ...(namespace !== undefined && { namespace }) }), window);
    },
  };
}
