// The decisions of `ambientctl dashboard`'s local proxy, pure (the sockets are in
// cli/dashboard.ts). The proxy adds the user's bearer token to every request it forwards,
// so whatever reaches it acts as the user: it is the target of cross-site request forgery
// (a page of another origin posting to 127.0.0.1:P) and of DNS rebinding (a hostile name
// resolved to 127.0.0.1, so the page is "same origin" with itself but not with us).
// Hence, before anything is forwarded:
// - the Host header must be exactly 127.0.0.1:P or localhost:P (P the proxy's own port):
//   a rebound name arrives with its own Host and is refused;
// - an Origin header, when present, must be http://127.0.0.1:P or http://localhost:P;
//   a write (POST, PUT, PATCH, DELETE) must carry one (browsers always send it on those);
// - Sec-Fetch-Site, when present, must be same-origin or none (typed URL, bookmark).
// The request's own credentials (Authorization, Cookie) and hop-by-hop headers are dropped;
// the proxy's token is set; X-Ambient-Request and Content-Type pass as sent.

export const LOOPBACK_HOST = '127.0.0.1';
export const DASHBOARD_LIMITS = {
  /** Default local port of `ambientctl dashboard` (0 would pick a free one). */
  defaultPort: 15080,
  /** A proxied request with no response headers from the controller after this answers 504. */
  upstreamResponseTimeoutMs: 30_000,
} as const;

/** The URL the proxy serves, printed on the first line of output. */
export function dashboardUrl(port: number): string {
  return `http://${LOOPBACK_HOST}:${port}/`;
}

/** The origins this proxy accepts as its own. */
export function ownOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

export type Verdict = { ok: true } | { ok: false; status: number; reason: string };

const WRITES: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SAME_SITE_FETCH: ReadonlySet<string> = new Set(['same-origin', 'none']);

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function single(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? (h.length === 1 ? h[0] : undefined) : h;
}

/** Whether the Host header names this proxy (127.0.0.1:P or localhost:P, case-insensitive). */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const h = host.trim().toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
}

/** Whether an Origin header is this proxy's own origin. */
export function originAllowed(origin: string, port: number): boolean {
  return ownOrigins(port).includes(origin.trim().toLowerCase());
}

/** Whether a request may be forwarded (with the token) or why not (403). */
export function requestVerdict(method: string, headers: Headers, port: number): Verdict {
  const hostRaw = headers['host'];
  const host = single(hostRaw);
  if (!hostAllowed(host, port)) {
    return { ok: false, status: 403, reason: `refused: Host ${JSON.stringify(host ?? null)} is not 127.0.0.1:${port} or localhost:${port} (the dashboard proxy answers its own address only)` };
  }
  const originRaw = headers['origin'];
  if (originRaw !== undefined) {
    const origin = single(originRaw);
    if (origin === undefined || !originAllowed(origin, port)) {
      return { ok: false, status: 403, reason: `refused: Origin ${JSON.stringify(origin ?? originRaw)} is not this dashboard's (${ownOrigins(port).join(' or ')})` };
    }
  } else if (WRITES.has(method.toUpperCase())) {
    return { ok: false, status: 403, reason: `refused: a ${method.toUpperCase()} without an Origin header (the console always sends one)` };
  }
  const site = single(headers['sec-fetch-site']);
  if (site !== undefined && !SAME_SITE_FETCH.has(site.toLowerCase())) {
    return { ok: false, status: 403, reason: `refused: Sec-Fetch-Site ${JSON.stringify(site)} (only same-origin requests reach the controller)` };
  }
  return { ok: true };
}

/** Hop-by-hop headers (RFC 9110 section 7.6.1) and the caller's own credentials: never forwarded. */
const DROPPED_REQUEST: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'authorization',
  'cookie',
  'host',
  'origin',
  'referer',
]);

/**
 * The headers sent to the controller: the request's, minus hop-by-hop headers, its own
 * credentials, Origin and Referer (the controller sees the proxy, not the page), with the
 * user's token (when the credential is a token, not the client certificate on the TLS
 * stream) and the controller's name as Host. X-Ambient-Request and Content-Type pass.
 */
export function upstreamRequestHeaders(headers: Headers, token: string | undefined, controllerHost: string): Record<string, string | string[]> {
  const connectionNamed = new Set(
    String(single(headers['connection']) ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (v === undefined || DROPPED_REQUEST.has(name) || connectionNamed.has(name)) continue;
    out[name] = v;
  }
  out['host'] = controllerHost;
  if (token !== undefined) out['authorization'] = `Bearer ${token}`;
  return out;
}

const DROPPED_RESPONSE: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'trailer', 'set-cookie', 'www-authenticate']);

/** The controller's response headers as passed to the browser: hop-by-hop ones dropped. */
export function downstreamResponseHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (v === undefined || DROPPED_RESPONSE.has(name)) continue;
    out[name] = v;
  }
  return out;
}

/** Whether a response is a stream to pass through without buffering (server-sent events). */
export function isEventStream(headers: Headers): boolean {
  return String(single(headers['content-type']) ?? '')
    .toLowerCase()
    .startsWith('text/event-stream');
}

/** `--port`: 0-65535, else a message naming the value. */
export function parsePort(raw: string): number | string {
  if (!/^\d{1,5}$/.test(raw)) return `--port ${JSON.stringify(raw)} is not a port number (0-65535)`;
  const n = Number(raw);
  return n <= 65535 ? n : `--port ${raw} is not a port number (0-65535)`;
}

/** `--service-account NS/NAME`, else a message naming the value. */
export function parseServiceAccount(raw: string): { namespace: string; name: string } | string {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(raw);
  if (!m) return `--service-account ${JSON.stringify(raw)} is not NAMESPACE/NAME`;
  return { namespace: m[1]!, name: m[3]! };
}

/** The minimal shape of a controller pod the choice reads. */
export interface ControllerPodRow {
  name: string;
  phase?: string;
  podIP?: string;
  deleting?: boolean;
}

/**
 * Which controller pod to connect to: a running one with an IP, the Lease holder (the
 * leader, which alone writes: a follower refuses writes with AMB_API_NOT_LEADER) when it is
 * among them, else the first by name (reads work on every replica).
 */
export function pickControllerPod<T extends ControllerPodRow>(pods: readonly T[], leaseHolder: string | undefined): T | undefined {
  const up = pods.filter((p) => p.phase === 'Running' && !p.deleting && !!p.podIP).sort((a, b) => a.name.localeCompare(b.name));
  // The holder identity is `<pod name>_<random>` (controller/leader.ts); pod names have no "_".
  const holderPod = leaseHolder?.split('_')[0];
  return up.find((p) => p.name === holderPod) ?? up[0];
}
