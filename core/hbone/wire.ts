// The pure parts of HBONE's wire format: the CONNECT `:authority`, and the headers that
// travel with it (`forwarded` per RFC 7239, W3C `traceparent` and `baggage`).
import { isIP } from 'node:net';
import { newSpanId, newTraceId } from '../trace/ids.js';

export interface SocketAddress {
  host: string;
  port: number;
}

/** `ip:port`, with IPv6 in brackets (RFC 3986 authority). */
export function formatAuthority(addr: SocketAddress): string {
  return isIP(addr.host) === 6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/**
 * Parses a CONNECT `:authority`. HBONE names a socket address, never a host name, so
 * anything but a literal IP and a port in 1-65535 is rejected (the server answers 400).
 */
export function parseAuthority(authority: string | undefined): SocketAddress | undefined {
  if (!authority) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(authority);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) return undefined;
  return { host, port };
}

/** `for="ip:port"` (RFC 7239 section 4: IPv6 bracketed, and quoted because of ':'). */
export function formatForwarded(client: SocketAddress): string {
  return `for="${formatAuthority(client)}"`;
}

/** The first `for=` of a `forwarded` header, when it is a socket address. */
export function parseForwardedFor(value: string | undefined): SocketAddress | undefined {
  if (!value) return undefined;
  const m = /(?:^|[;,\s])for=(?:"([^"]*)"|([^;,\s]*))/i.exec(value);
  if (!m) return undefined;
  const v = m[1] ?? m[2]!;
  const authority = parseAuthority(v);
  if (authority) return authority;
  // A node without a port: an IPv4 address, or an IPv6 address in brackets (RFC 7239 section 6).
  const host = /^\[(.*)\]$/.exec(v)?.[1] ?? v;
  if (host !== v ? isIP(host) === 6 : isIP(host) !== 0) return { host, port: 0 };
  return undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A valid W3C traceparent, or undefined (all-zero ids are invalid by the spec). */
export function parseTraceparent(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return value.trim();
}

/** A new root trace context, sampled. */
export function newTraceparent(): string {
  return `00-${newTraceId()}-${newSpanId()}-01`;
}

/** A child span of `parent`: same trace id and flags, new span id. */
export function childTraceparent(parent: string | undefined): string {
  const valid = parseTraceparent(parent);
  if (!valid) return newTraceparent();
  const [, traceId, , flags] = TRACEPARENT.exec(valid)!;
  return `00-${traceId}-${newSpanId()}-${flags}`;
}

/** W3C baggage: `k=v,k2=v2`, values percent-encoded. */
export function formatBaggage(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join(',');
}

export function parseBaggage(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const member of value.split(',')) {
    const [kv] = member.split(';'); // properties after ';' are not used
    const eq = kv!.indexOf('=');
    if (eq <= 0) continue;
    const key = kv!.slice(0, eq).trim();
    try {
      out[key] = decodeURIComponent(kv!.slice(eq + 1).trim());
    } catch {
      // a malformed percent-escape drops that member only
    }
  }
  return out;
}

/**
 * The size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 section
 * 6.5.2): name and value octets of each field plus 32, from Node's flat raw header list
 * (name, value, name, value...). Names and values arrive as latin1 strings: one char per octet.
 */
export function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) size += rawHeaders[i]!.length + rawHeaders[i + 1]!.length + 32;
  return size;
}

/** An address as one key: IPv4-mapped IPv6 (`::ffff:10.0.0.1`, a dual-stack listener) as plain IPv4. */
export function addressKey(address: string | undefined): string {
  const a = address ?? '';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a.toLowerCase();
}
