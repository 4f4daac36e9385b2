// Header handling between the downstream and the upstream exchange, pure. A proxy removes
// the hop-by-hop fields (RFC 9110 section 7.6.1: Connection and every field it names,
// plus Keep-Alive, Proxy-Connection, TE except `trailers`, Transfer-Encoding, Upgrade);
// HTTP/2 forbids them outright (RFC 9113 section 8.2.2). Pseudo-headers are rebuilt for
// the upstream from the request context.
import type { Headers } from './chain.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']);

/** The tokens of a Connection header (field names it declares hop-by-hop), lower-case. */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of value === undefined ? [] : Array.isArray(value) ? value : [value]) {
    for (const t of v.split(',')) {
      const name = t.trim().toLowerCase();
      if (name) out.add(name);
    }
  }
  return out;
}

/** Whether TE asks for trailers (the only TE value that passes, RFC 9110 section 10.1.4). */
function teTrailers(value: string | string[] | undefined): boolean {
  const all = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return all.some((v) => v.split(',').some((t) => t.split(';')[0]!.trim().toLowerCase() === 'trailers'));
}

/**
 * End-to-end headers of a message: pseudo-headers, hop-by-hop fields and the fields the
 * Connection header names removed; `te: trailers` kept (gRPC needs it).
 */
export function endToEnd(raw: Readonly<Record<string, string | string[] | number | undefined>>): Headers {
  const named = connectionTokens(raw['connection'] as string | string[] | undefined);
  const out: Headers = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || k.startsWith(':')) continue;
    const name = k.toLowerCase();
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = typeof v === 'number' ? String(v) : v;
  }
  if (teTrailers(raw['te'] as string | string[] | undefined) && !named.has('te')) out['te'] = 'trailers';
  return out;
}

/**
 * A client's request headers as the chain gets them: end-to-end only, and without
 * `x-forwarded-client-cert`, which only a proxy that verified a client certificate may
 * write (Envoy's default SANITIZE): a client could otherwise pass itself off as another
 * identity to a backend that trusts the header, as backends moved from Istio may.
 */
export function requestHeadersFromClient(raw: Readonly<Record<string, string | string[] | number | undefined>>): Headers {
  const out = endToEnd(raw);
  delete out['x-forwarded-client-cert'];
  return out;
}

/** Request headers for an HTTP/1.1 upstream: `host` is the (possibly rewritten) authority. */
export function http1RequestHeaders(headers: Headers, authority: string): Headers {
  const out: Headers = { ...headers, host: authority };
  // HTTP/1.1 has no use for TE: trailers towards an origin, but it is allowed; keep as is.
  return out;
}

/** Request headers for an HTTP/2 upstream: pseudo-headers from the context, no `host`
 * (it is `:authority`, RFC 9113 section 8.3.1). */
export function h2RequestHeaders(headers: Headers, method: string, path: string, authority: string, scheme: string): Headers {
  const out: Headers = { ':method': method, ':path': path, ':authority': authority, ':scheme': scheme };
  for (const [k, v] of Object.entries(headers)) if (k !== 'host') out[k] = v;
  return out;
}

/** Whether a request asks to switch to WebSocket (HTTP/1.1 Upgrade, RFC 6455 section 4.1). */
export function websocketUpgrade(raw: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const upgrade = raw['upgrade'];
  const value = Array.isArray(upgrade) ? upgrade.join(',') : upgrade ?? '';
  return connectionTokens(raw['connection']).has('upgrade') && value.split(',').some((t) => t.trim().toLowerCase() === 'websocket');
}
