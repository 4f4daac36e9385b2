// The key sets of RequestAuthentication rules with a `jwksUri`: fetched over HTTP(S),
// cached per URI, refreshed every jwksRefreshIntervalMs and on a token whose key id is not
// known (key rotation) at most once per jwksRefetchCooldownMs. A failed fetch keeps the
// last good keys; with none yet, the caller fails closed (401). Every fetch is bounded in
// time (a rule's `timeout`, else jwksFetchTimeoutMs) and size (maxJwksBytes), and the cache
// in entries (maxJwksUris, least recently used dropped first).
//
// A URI whose host is, or resolves to, a loopback, link-local or unspecified address is
// refused, and redirects are not followed (jwksFetcher).
//
// A stale set is returned at once while its refresh runs behind it (a request never waits
// for a refresh when keys are known); concurrent requests share one fetch.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { jwksAddressRefused } from '../../core/config/request-authn.js';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { WAYPOINT_AUTH_DEFAULTS, type WaypointAuthLimits } from '../limits.js';

/** Fetches a key set document: resolves to its parsed JSON, or rejects with a MeshError. */
export type JwksFetcher = (uri: string, timeoutMs: number, maxBytes: number) => Promise<unknown>;

interface Entry {
  keys?: JSONWebKeySet;
  /** When the keys were fetched (ms); 0 = never. */
  fetchedAt: number;
  /** When the last fetch (good or bad) ended (ms). */
  attemptedAt: number;
  /** The last failure, for the 401's log line. */
  lastError?: string;
  inflight?: Promise<void>;
}

/** Resolves a host name to every address (dns.lookup with all: true). */
export type AddressLookup = (host: string) => Promise<string[]>;

const lookupAll: AddressLookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface JwksFetcherOptions {
  /** Whether an address may be fetched from; default: not loopback, link-local or
   * unspecified (jwksAddressRefused). Tests serving keys on loopback widen it. */
  addressAllowed?: (ip: string) => boolean;
  lookup?: AddressLookup;
}

/** The refusal of a jwksUri whose host is, or resolves to, an address a key set is never
 * fetched from: compile time refuses literals, this checks names (any one address refused
 * refuses the name) and IP literals the compiler has not seen. */
async function checkHost(uri: string, o: Required<JwksFetcherOptions>): Promise<void> {
  const host = new URL(uri).hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await o.lookup(host).catch((err: Error) => {
    throw new MeshError(ErrorCodes.WAYPOINT_JWKS_FETCH_FAILED, `fetching the JWKS ${uri} failed: ${host} does not resolve (${err.message})`);
  });
  const bad = addresses.find((a) => !o.addressAllowed(a));
  if (bad !== undefined || addresses.length === 0) {
    throw new MeshError(ErrorCodes.WAYPOINT_JWKS_FETCH_FAILED, `fetching the JWKS ${uri} refused: ${host} is ${bad ?? 'no address'}, a loopback, link-local or unspecified address`);
  }
}

/** A fetcher with the global fetch: the host checked first (checkHost), redirects never
 * followed (a 3xx is a failure: a redirect could lead to a refused address), 200 only,
 * JSON, at most `maxBytes`. The name is resolved again by fetch itself: a DNS answer that
 * changes between the check and the connection (rebinding) is not caught here. */
export function jwksFetcher(options: JwksFetcherOptions = {}): JwksFetcher {
  const o: Required<JwksFetcherOptions> = { addressAllowed: (ip) => !jwksAddressRefused(ip), lookup: lookupAll, ...options };
  return (uri, timeoutMs, maxBytes) => fetchChecked(uri, timeoutMs, maxBytes, o);
}

async function fetchChecked(uri: string, timeoutMs: number, maxBytes: number, o: Required<JwksFetcherOptions>): Promise<unknown> {
  await checkHost(uri, o);
  let res: Response;
  try {
    res = await fetch(uri, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json, application/jwk-set+json' }, redirect: 'manual' });
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`;
    throw new MeshError(ErrorCodes.WAYPOINT_JWKS_FETCH_FAILED, `fetching the JWKS ${uri} failed: ${why}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    const where = res.status >= 300 && res.status < 400 ? ` (redirects are not followed: set jwksUri to ${(res.headers.get('location') ?? 'the final URL').slice(0, 200)})` : '';
    throw new MeshError(ErrorCodes.WAYPOINT_JWKS_FETCH_FAILED, `fetching the JWKS ${uri} failed: HTTP ${res.status}${where}`);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new MeshError(ErrorCodes.WAYPOINT_JWKS_FETCH_FAILED, `fetching the JWKS ${uri} failed: ${declared} bytes, more than maxJwksBytes ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).byteLength;
      if (size > maxBytes) throw new MeshError(ErrorCodes.WAYPOINT_JWKS_FETCH_FAILED, `fetching the JWKS ${uri} failed: more than maxJwksBytes ${maxBytes}`);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
  } catch (err) {
    await res.body?.cancel().catch(() => {});
    if (err instanceof MeshError) throw err;
    throw new MeshError(ErrorCodes.WAYPOINT_JWKS_FETCH_FAILED, `fetching the JWKS ${uri} failed: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new MeshError(ErrorCodes.WAYPOINT_JWKS_INVALID, `the JWKS at ${uri} is not JSON: ${(err as Error).message}`);
  }
}

/** The default fetcher (jwksFetcher with the default address check). */
export const fetchJwks: JwksFetcher = jwksFetcher();

/** A key set document as the cache keeps it: the first maxKeys objects of `keys`. */
export function keySetOf(doc: unknown, uri: string, maxKeys: number): JSONWebKeySet {
  const keys = doc !== null && typeof doc === 'object' ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys)) throw new MeshError(ErrorCodes.WAYPOINT_JWKS_INVALID, `the JWKS at ${uri} has no "keys" list (RFC 7517 section 5)`);
  const kept = keys.filter((k) => k !== null && typeof k === 'object' && !Array.isArray(k) && typeof (k as { kty?: unknown }).kty === 'string').slice(0, maxKeys);
  if (kept.length === 0) throw new MeshError(ErrorCodes.WAYPOINT_JWKS_INVALID, `the JWKS at ${uri} holds no usable key`);
  return { keys: kept as JSONWebKeySet['keys'] };
}

export interface JwksCacheOptions {
  limits?: Partial<WaypointAuthLimits>;
  fetcher?: JwksFetcher;
  /** Milliseconds clock (tests move it). */
  now?: () => number;
  /** Told about each failed fetch (logging); must not throw. */
  onError?: (uri: string, err: Error) => void;
}

export class JwksCache {
  readonly #l: WaypointAuthLimits;
  readonly #fetch: JwksFetcher;
  readonly #now: () => number;
  readonly #onError: (uri: string, err: Error) => void;
  readonly #entries = new Map<string, Entry>();
  /** Fetches started, for tests and metrics. */
  fetches = 0;

  constructor(o: JwksCacheOptions = {}) {
    this.#l = { ...WAYPOINT_AUTH_DEFAULTS, ...o.limits };
    this.#fetch = o.fetcher ?? fetchJwks;
    this.#now = o.now ?? Date.now;
    this.#onError = o.onError ?? (() => {});
  }

  /** URIs cached now, least recently used first. */
  get uris(): string[] {
    return [...this.#entries.keys()];
  }

  #entry(uri: string): Entry {
    let e = this.#entries.get(uri);
    if (e) this.#entries.delete(uri);
    else e = { fetchedAt: 0, attemptedAt: 0 };
    this.#entries.set(uri, e); // most recently used last
    while (this.#entries.size > this.#l.maxJwksUris) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return e;
  }

  #start(uri: string, e: Entry, timeoutMs: number): Promise<void> {
    if (e.inflight) return e.inflight;
    this.fetches++;
    e.inflight = (async () => {
      try {
        const doc = await this.#fetch(uri, timeoutMs, this.#l.maxJwksBytes);
        e.keys = keySetOf(doc, uri, this.#l.maxJwksKeys);
        e.fetchedAt = this.#now();
        delete e.lastError;
      } catch (err) {
        // Keep the last good keys (a fetch failure never removes them).
        e.lastError = (err as Error)?.message ?? String(err);
        try {
          this.#onError(uri, err as Error);
        } catch {
          // a logger's failure changes nothing
        }
      } finally {
        e.attemptedAt = this.#now();
        delete e.inflight;
      }
    })();
    return e.inflight;
  }

  #coolingDown(e: Entry): boolean {
    return e.attemptedAt !== 0 && this.#now() - e.attemptedAt < this.#l.jwksRefetchCooldownMs;
  }

  /**
   * The keys of `uri` for a request: fresh ones, or stale ones while a refresh runs, or
   * (none yet) the result of a fetch this call waits for. Undefined: no keys (fail closed);
   * `error` says why.
   */
  async keys(uri: string, timeoutMs: number = this.#l.jwksFetchTimeoutMs): Promise<{ keys?: JSONWebKeySet; error?: string }> {
    const e = this.#entry(uri);
    if (e.keys) {
      if (this.#now() - e.fetchedAt >= this.#l.jwksRefreshIntervalMs && !this.#coolingDown(e)) void this.#start(uri, e, timeoutMs);
      return { keys: e.keys };
    }
    if (!this.#coolingDown(e) || e.inflight) await this.#start(uri, e, timeoutMs);
    return e.keys ? { keys: e.keys } : { error: e.lastError ?? 'no keys fetched yet' };
  }

  /** A token named a key id the cached keys lack: fetch again (at most once per cooldown)
   * and return the keys then known. */
  async refresh(uri: string, timeoutMs: number = this.#l.jwksFetchTimeoutMs): Promise<{ keys?: JSONWebKeySet; error?: string }> {
    const e = this.#entry(uri);
    if (e.inflight || !this.#coolingDown(e)) await this.#start(uri, e, timeoutMs);
    return e.keys ? { keys: e.keys } : { error: e.lastError ?? 'no keys fetched yet' };
  }

  /** Resolves when no fetch is running (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.inflight).filter(Boolean));
  }
}
