// What RING_HASH and MAGLEV hash for one request (the policy's `consistentHash`,
// core/config/traffic-policy.ts HashKey), and the cookie to set when the key is a cookie
// the request lacks. Pure: the request's parts in, a key (or none) out; the random source
// (for a new cookie's value) is the caller's.
//
// - header: the header's value; several values (or several header lines) joined with ",".
// - cookie: the named cookie from the `cookie` header(s) (HTTP/2 may send several; a value
//   in double quotes is unquoted). Absent (or empty): a new value is generated, 16 hex
//   digits from the random source, the request is hashed on it, and the caller sets it on
//   the response (`Set-Cookie: name=value; Path=path; Max-Age=ttl; HttpOnly`, ttl in whole
//   seconds rounded up; a ttl of 0 makes a session cookie, without Max-Age, as Envoy does).
//   The first request therefore already goes where the client will stick from then on.
// - sourceIP: the downstream peer's address as the caller gives it.
// - queryParameter: the first `name=value` of the query with exactly that name, as sent
//   (not percent-decoded); `?name` without "=" is the empty value.
// Missing key (no header, no query parameter, no address): no key, and the balancer picks
// as RANDOM (Envoy: no hash, random host). A key longer than maxHashKeyChars is cut to
// that many characters.
import type { HashKey } from '../../core/config/traffic-policy.js';
import type { Headers } from '../http/chain.js';
import type { Random } from './random.js';

export interface HashRequest {
  headers: Headers;
  /** Path and query, as sent. */
  path: string;
  /** The downstream peer's IP. */
  sourceIp?: string;
}

export interface SetCookie {
  name: string;
  value: string;
  ttlMs: number;
  path: string;
}

export interface HashKeyResult {
  key?: string;
  /** Set when the key is a cookie the request did not carry: the caller adds it to the response. */
  setCookie?: SetCookie;
}

export function extractHashKey(spec: HashKey, req: HashRequest, random: Random, maxKeyChars: number): HashKeyResult {
  const cut = (v: string | undefined): string | undefined => (v !== undefined && v.length > maxKeyChars ? v.slice(0, maxKeyChars) : v);
  switch (spec.type) {
    case 'header': {
      const v = req.headers[spec.name];
      const key = Array.isArray(v) ? (v.length > 0 ? v.join(',') : undefined) : v;
      return key === undefined ? {} : { key: cut(key)! };
    }
    case 'cookie': {
      const have = readCookie(req.headers, spec.name);
      if (have !== undefined && have !== '') return { key: cut(have)! };
      const value = newCookieValue(random);
      return { key: value, setCookie: { name: spec.name, value, ttlMs: spec.ttlMs, path: spec.path } };
    }
    case 'sourceIP':
      return req.sourceIp ? { key: cut(req.sourceIp)! } : {};
    case 'queryParameter': {
      const v = queryParameter(req.path, spec.name);
      return v === undefined ? {} : { key: cut(v)! };
    }
  }
}

/** The value of cookie `name` in the request's `cookie` header(s), first occurrence. */
export function readCookie(headers: Headers, name: string): string | undefined {
  const raw = headers['cookie'];
  if (raw === undefined) return undefined;
  for (const line of Array.isArray(raw) ? raw : [raw]) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim() !== name) continue;
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return undefined;
}

/** The first value of query parameter `name` in a path (raw); undefined when absent. */
export function queryParameter(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const hash = path.indexOf('#', q);
  const query = path.slice(q + 1, hash < 0 ? undefined : hash);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    if (k === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/** 16 hex digits (64 random bits). */
export function newCookieValue(random: Random): string {
  const a = Math.floor(random() * 4294967296) >>> 0;
  const b = Math.floor(random() * 4294967296) >>> 0;
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

// RFC 6265: a cookie name is an RFC 7230 token; a path is any CHAR but CTLs and ";".
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PATH = /^[\x20-\x3a\x3c-\x7e]+$/;
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/** The Set-Cookie header value. Throws, naming the field, on a name, value or path that
 * would break the header (the compiler validates names and paths; this fails closed). */
export function formatSetCookie(c: SetCookie): string {
  if (!TOKEN.test(c.name)) throw new Error(`consistentHash.cookie.name ${JSON.stringify(c.name)} is not a cookie name (RFC 6265 token)`);
  if (!VALUE.test(c.value)) throw new Error(`cookie value ${JSON.stringify(c.value)} has characters a cookie value cannot hold`);
  if (!PATH.test(c.path)) throw new Error(`consistentHash.cookie.path ${JSON.stringify(c.path)} has ";" or control characters`);
  if (!(c.ttlMs >= 0) || !Number.isFinite(c.ttlMs)) throw new Error(`consistentHash.cookie.ttl ${c.ttlMs} ms is not a duration`);
  const maxAge = c.ttlMs > 0 ? `; Max-Age=${Math.ceil(c.ttlMs / 1000)}` : '';
  return `${c.name}=${c.value}; Path=${c.path}${maxAge}; HttpOnly`;
}
