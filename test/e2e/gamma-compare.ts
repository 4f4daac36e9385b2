// The Gateway API mesh conformance suite's expectations (conformance/utils/http and
// conformance/utils/echo/pod.go, v1.6 and main), as pure functions over what a request
// from a pod saw: whether an observed answer is the expected one, how curl's output and
// the echo's JSON become an observation, and the weight tests' distribution check
// (conformance/utils/weight). No I/O: gamma-conformance.test.ts runs the requests.
//
// Where the mesh client of the suite compares less than its gateway client (the mesh
// client ignores the path that arrived, the redirect's Location and the namespace of the
// answering pod), this compares as the gateway client does: a case that passes here
// passes the suite's mesh client too.

/** A request as the suite's `http.Request` describes it. */
export interface CaseRequest {
  /** host[:port] the client connects to (and the Host header unless `headers.Host` is set); default "echo". */
  host?: string;
  method?: string;
  /** Path and query; default "" (the client sends "/"). */
  path?: string;
  headers?: Record<string, string>;
  protocol?: 'http' | 'grpc';
  unfollowRedirect?: boolean;
}

/** The suite's `http.ExpectedResponse`, for one case. */
export interface ConformanceCase {
  name: string;
  /** Who sends: the first pod of app=echo,version=<client> in `clientNamespace`. */
  client?: 'echo-v1' | 'echo-v2';
  clientNamespace?: string;
  request: CaseRequest;
  /** What must arrive at the backend (`ExpectedRequest`); headers compared case-insensitively, values joined with ",". */
  expectedRequest?: { path?: string; headers?: Record<string, string>; absentHeaders?: string[] };
  response?: { statusCodes?: number[]; headers?: Record<string, string>; absentHeaders?: string[] };
  /** For a 3xx: the Location's parts (`roundtripper.RedirectRequest`); unset parts default as the suite's do. */
  redirect?: { scheme?: string; host?: string; port?: string; path?: string };
  /** Prefix of the answering pod's name. */
  backend?: string;
  /** Namespace of the answering pod. */
  namespace?: string;
}

/** What the echo said it received (its JSON answer; see samples/README.md). */
export interface EchoAnswer {
  pod: string;
  namespace?: string;
  method?: string;
  path?: string;
  headers: Record<string, string | string[]>;
}

/** One answer as the client saw it. */
export interface Observation {
  /** HTTP status (for gRPC, the HTTP/2 `:status`). */
  status: number;
  /** gRPC status from the trailers (gRPC only; null when none came). */
  grpcStatus?: number | null;
  /** Response header fields, names lower-cased, every value in order. */
  headers: Record<string, string[]>;
  /** The echo's description of the request, when the answer was one. */
  echo?: EchoAnswer;
}

const lowerKeys = <V>(o: Record<string, V>): Map<string, V> => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
const joined = (v: string | string[]): string => (Array.isArray(v) ? v.join(',') : v);

/** The status codes a case accepts (the suite's default is 200). */
export function expectedStatuses(c: ConformanceCase): number[] {
  return c.response?.statusCodes?.length ? c.response.statusCodes : [200];
}

/** The request path the client sends. */
export function requestPath(r: CaseRequest): string {
  return r.path && r.path !== '' ? r.path : '/';
}

/** Why `got` is not what `c` expects, or undefined when it is. */
export function compareCase(c: ConformanceCase, got: Observation): string | undefined {
  const grpc = c.request.protocol === 'grpc';
  const statuses = expectedStatuses(c);
  if (!statuses.includes(got.status)) return `status ${got.status}, want one of ${statuses.join(', ')}`;
  if (grpc && got.status === 200 && statuses.includes(200) && got.grpcStatus !== 0) return `grpc-status ${got.grpcStatus ?? 'absent'}, want 0 (OK)`;

  const headers = new Map(Object.entries(got.headers).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [name, want] of Object.entries(c.response?.headers ?? {})) {
    const v = headers.get(name.toLowerCase());
    if (!v || v.length === 0) return `response header ${name} absent, want ${JSON.stringify(want)}`;
    if (v.join(',') !== want) return `response header ${name}: ${JSON.stringify(v.join(','))}, want ${JSON.stringify(want)}`;
  }
  for (const name of c.response?.absentHeaders ?? []) {
    const v = headers.get(name.toLowerCase());
    if (v && v.length > 0) return `response header ${name} present (${JSON.stringify(v.join(','))}), want it absent`;
  }

  if (got.status >= 300 && got.status < 400) return c.redirect ? compareRedirect(c, headers.get('location')?.[0]) : undefined;

  if (got.status !== 200) return undefined;
  const echo = got.echo;
  if (!echo) return 'the answer is not the echo\'s description of the request';
  const seen = lowerKeys(echo.headers);
  for (const [name, want] of Object.entries(c.expectedRequest?.headers ?? {})) {
    const v = seen.get(name.toLowerCase());
    if (v === undefined) return `request header ${name} did not arrive, want ${JSON.stringify(want)} (arrived: ${[...seen.keys()].join(', ')})`;
    if (joined(v) !== want) return `request header ${name} arrived as ${JSON.stringify(joined(v))}, want ${JSON.stringify(want)}`;
  }
  for (const name of c.expectedRequest?.absentHeaders ?? []) {
    const v = seen.get(name.toLowerCase());
    if (v !== undefined) return `request header ${name} arrived (${JSON.stringify(joined(v))}), want it removed`;
  }
  if (!grpc) {
    const wantPath = c.expectedRequest?.path ?? requestPath(c.request);
    if (echo.path !== undefined && echo.path !== wantPath) return `path ${JSON.stringify(echo.path)} arrived, want ${JSON.stringify(wantPath)}`;
    const wantMethod = c.request.method ?? 'GET';
    if (echo.method !== undefined && echo.method !== wantMethod) return `method ${echo.method} arrived, want ${wantMethod}`;
  }
  if (c.backend && !echo.pod.startsWith(c.backend)) return `answered by pod ${echo.pod}, want one whose name starts with ${c.backend}`;
  if (c.namespace && echo.namespace && echo.namespace !== c.namespace) return `answered from namespace ${echo.namespace}, want ${c.namespace}`;
  return undefined;
}

/** The Location of a redirect against the case's `redirect`, with the suite's defaults (roundtripper, setRedirectRequestDefaults). */
export function compareRedirect(c: ConformanceCase, location: string | undefined): string | undefined {
  if (!location) return 'a redirect without a Location header';
  const base = `http://${c.request.host ?? 'echo'}`;
  let url: URL;
  try {
    url = new URL(location, base + requestPath(c.request));
  } catch {
    return `Location ${JSON.stringify(location)} is not a URL`;
  }
  const want = c.redirect ?? {};
  const gotScheme = url.protocol.replace(/:$/, '');
  const gotHost = url.hostname;
  // The suite reads the port from the Location as written: URL drops a default port, so take it from the text.
  const explicitPort = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(location)?.[1] ?? '';
  const wantScheme = want.scheme ?? 'http';
  const wantPath = want.path ?? requestPath(c.request).split('?')[0]!;
  if (want.host !== undefined && gotHost !== want.host) return `redirect host ${JSON.stringify(gotHost)}, want ${JSON.stringify(want.host)} (Location ${location})`;
  if (want.port !== undefined) {
    if (explicitPort !== want.port) return `redirect port ${JSON.stringify(explicitPort)}, want ${JSON.stringify(want.port)} (Location ${location})`;
  } else if (gotScheme === 'http' && explicitPort !== '' && explicitPort !== '80') {
    return `for scheme http the redirect port must be 80 or absent, got ${explicitPort} (Location ${location})`;
  } else if (gotScheme === 'https' && explicitPort !== '' && explicitPort !== '443') {
    return `for scheme https the redirect port must be 443 or absent, got ${explicitPort} (Location ${location})`;
  }
  if (gotScheme !== wantScheme) return `redirect scheme ${gotScheme}, want ${wantScheme} (Location ${location})`;
  if (url.pathname !== wantPath) return `redirect path ${JSON.stringify(url.pathname)}, want ${JSON.stringify(wantPath)} (Location ${location})`;
  return undefined;
}

/** curl -i output (status line, headers, blank line, body; 1xx interim answers skipped) as an observation. */
export function parseCurlOutput(out: string): Observation | string {
  let rest = out;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return `no complete answer from curl: ${JSON.stringify(out.slice(0, 200))}`;
    const head = rest.slice(0, end).split('\r\n');
    const body = rest.slice(end + 4);
    const m = /^HTTP\/[\d.]+ (\d{3})/.exec(head[0] ?? '');
    if (!m) return `not an HTTP status line: ${JSON.stringify(head[0])}`;
    const status = Number(m[1]);
    if (status >= 100 && status < 200) {
      rest = body;
      continue;
    }
    const headers: Record<string, string[]> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    const obs: Observation = { status, headers };
    const echo = echoAnswer(body);
    if (echo) obs.echo = echo;
    return obs;
  }
}

/** The echo's JSON answer, when `text` is one. */
export function echoAnswer(text: unknown): EchoAnswer | undefined {
  let v: unknown = text;
  if (typeof text === 'string') {
    try {
      v = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['pod'] !== 'string' || !o['headers'] || typeof o['headers'] !== 'object') return undefined;
  const a: EchoAnswer = { pod: o['pod'], headers: o['headers'] as Record<string, string | string[]> };
  if (typeof o['namespace'] === 'string' && o['namespace'] !== '') a.namespace = o['namespace'];
  if (typeof o['method'] === 'string') a.method = o['method'];
  if (typeof o['path'] === 'string') a.path = o['path'];
  return a;
}

/** What the weight tests send per run, and their tolerance on each backend's share (conformance/utils/weight). */
export const WEIGHT_SAMPLE_REQUESTS = 500;
export const WEIGHT_TOLERANCE = 0.05;
/** Runs of the distribution check before the suite calls it a failure (weight.MaxTestRetries). */
export const WEIGHT_MAX_RUNS = 10;

/** A pod's backend: its name without the Deployment's two hash suffixes (weight.extractBackendName). */
export function backendOfPod(pod: string): string {
  const parts = pod.split('-');
  return parts.length < 3 ? pod : parts.slice(0, -2).join('-');
}

/**
 * The suite's distribution check (TestWeightedDistributionBatch): every answer from a known
 * backend, as many backends answering as have a weight above 0, and each share within
 * WEIGHT_TOLERANCE of its weight. The reasons it fails, sorted; empty when it passes.
 */
export function distributionErrors(pods: readonly string[], weights: Readonly<Record<string, number>>, total = WEIGHT_SAMPLE_REQUESTS): string[] {
  if (pods.length !== total) return [`expected ${total} responses but got ${pods.length}`];
  const seen = new Map<string, number>();
  for (const pod of pods) {
    const backend = backendOfPod(pod);
    if (!(backend in weights)) return [`request was handled by an unexpected pod ${JSON.stringify(pod)} (backend ${JSON.stringify(backend)})`];
    seen.set(backend, (seen.get(backend) ?? 0) + 1);
  }
  const errs: string[] = [];
  const active = Object.values(weights).filter((w) => w > 0).length;
  if (seen.size !== active) errs.push(`expected ${active} backends to receive traffic, but got ${seen.size}`);
  for (const [backend, want] of Object.entries(weights)) {
    const count = seen.get(backend);
    if (count === undefined && want !== 0) {
      errs.push(`expect traffic to hit backend ${JSON.stringify(backend)} - but none was received`);
      continue;
    }
    const share = (count ?? 0) / total;
    if (Math.abs(share - want) > WEIGHT_TOLERANCE) errs.push(`backend ${JSON.stringify(backend)} weighted traffic of ${share} not within tolerance ${want} (+/-${WEIGHT_TOLERANCE})`);
  }
  return errs.sort();
}
