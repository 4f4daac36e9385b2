// How a request body is framed towards an HTTP/1.1 upstream, and which request trailers
// are forwarded. Pure.
//
// Framing (RFC 9112 section 6): a request without Content-Length whose body is streamed
// goes upstream with `Transfer-Encoding: chunked`, whatever its method. node:http's client
// only chooses chunked by itself for methods other than GET, HEAD, DELETE, OPTIONS, TRACE
// and CONNECT, and writes the body of those unframed: the upstream would read it as the
// next request on a pooled connection shared with other clients (request smuggling).
//
// Trailers (RFC 9110 section 6.5): forwarded end to end, minus the hop-by-hop fields and
// the fields a recipient must not take from trailers (section 6.5.1: framing, routing,
// authentication, request modifiers, content format), plus `x-forwarded-client-cert`,
// which only the mesh writes (headers.ts).
import type { Headers } from './chain.js';
import { endToEnd } from './headers.js';

/** Fields never forwarded in request trailers. */
export const NOT_IN_TRAILERS: ReadonlySet<string> = new Set([
  // framing and routing
  'content-length',
  'transfer-encoding',
  'trailer',
  'te',
  'host',
  // authentication
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-forwarded-client-cert',
  // request modifiers and controls
  'expect',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'max-forwards',
  'cache-control',
  // content format
  'content-type',
  'content-encoding',
  'content-range',
]);

/** The trailers to send upstream, or undefined when none remain. */
export function forwardableTrailers(raw: Readonly<Record<string, string | string[] | number | undefined>> | undefined): Headers | undefined {
  if (raw === undefined) return undefined;
  const all = endToEnd(raw);
  let out: Headers | undefined;
  for (const [k, v] of Object.entries(all)) {
    if (NOT_IN_TRAILERS.has(k) || v === undefined) continue;
    (out ??= {})[k] = v;
  }
  return out;
}

/** What the downstream said about its request body. */
export interface BodyShape {
  /** The request's Content-Length, when it had one. */
  contentLength?: string;
  /** False only when the downstream told there is no body (HTTP/1.1 without
   * Content-Length or Transfer-Encoding; HTTP/2 END_STREAM on the headers). */
  mayHaveBody: boolean;
}

/** How the request goes to an HTTP/1.1 upstream: its length, or chunked (which alone
 * carries trailers), or without a body. */
export function http1Framing(b: BodyShape): 'length' | 'chunked' | 'none' {
  if (b.contentLength !== undefined) return 'length';
  return b.mayHaveBody ? 'chunked' : 'none';
}
