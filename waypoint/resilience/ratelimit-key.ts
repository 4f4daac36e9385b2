// The global rate limit's Redis key: which counter a request counts against.
//
//     amb:rl:{<scope>|<descriptor>}:<perMs>
//
// - scope: what the limit belongs to, given by the caller: the policy and target
//   (`<policy ns>/<policy name>/<service key>:<port>`), so two policies or targets never
//   share a counter;
// - descriptor: the policy's `key` parts in order, each `name=value`, joined by `|`:
//   `principal=<source SPIFFE id>`, `namespace=<source namespace>`, `path=<path without
//   the query string>`, `header.<name>=<value>` (several values joined by `, `; a request
//   without the header counts under the empty value); no parts: `*`, one counter for the
//   whole target;
// - perMs: a changed window length starts new counters instead of reading old ones.
//
// Safe for Redis and its logs: every byte outside [A-Za-z0-9._~/@=-] of a value is
// %-escaped (UTF-8), so `|`, `:`, spaces, newlines and braces cannot forge another
// descriptor or a Redis Cluster hash tag; the braces around the identity are the hash tag,
// so a sliding window's two counters (the key plus `:<window index>`) share a slot.
// Bounded: each value is cut to `globalRateLimitMaxKeyPartChars` characters before
// escaping, and when the key would exceed `globalRateLimitMaxKeyBytes` the identity is
// replaced by `sha256:<hex of it>`.
import { createHash } from 'node:crypto';
import type { RateLimitKeyPart } from '../../core/config/traffic-policy.js';
import { RESILIENCE_DEFAULTS } from './limits.js';

export interface RateLimitKeyInput {
  sourcePrincipal: string;
  sourceNamespace: string;
  /** Path and query as received. */
  path: string;
  /** Request headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
}

export interface KeyLimits {
  maxKeyBytes: number;
  maxKeyPartChars: number;
}

const DEFAULT_LIMITS: KeyLimits = {
  maxKeyBytes: RESILIENCE_DEFAULTS.globalRateLimitMaxKeyBytes,
  maxKeyPartChars: RESILIENCE_DEFAULTS.globalRateLimitMaxKeyPartChars,
};

/** Runs of characters to escape (whole code points: a surrogate pair stays one). */
const UNSAFE_RUN = /[^A-Za-z0-9._~/@=-]+/gu;
const PERCENT_HEX = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

/** %-escapes every byte but [A-Za-z0-9._~/@=-]. Runs once or twice per request with a
 * global limit: only the runs to escape are converted to UTF-8 (a value that needs none is
 * returned as it is), not every byte through a string and a regular expression (that was
 * about 9 KiB of garbage per request, measured by `npm run bench:waypoint -- --layers`). */
export function escapeKeyValue(v: string): string {
  return v.replace(UNSAFE_RUN, (run) => {
    let out = '';
    for (const b of Buffer.from(run, 'utf8')) out += PERCENT_HEX[b];
    return out;
  });
}

function partValue(p: RateLimitKeyPart, r: RateLimitKeyInput): string {
  switch (p.type) {
    case 'sourcePrincipal':
      return r.sourcePrincipal;
    case 'sourceNamespace':
      return r.sourceNamespace;
    case 'path': {
      const q = r.path.indexOf('?');
      return q < 0 ? r.path : r.path.slice(0, q);
    }
    case 'header': {
      const v = r.headers[p.name.toLowerCase()];
      return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : v;
    }
  }
}

function partName(p: RateLimitKeyPart): string {
  switch (p.type) {
    case 'sourcePrincipal':
      return 'principal';
    case 'sourceNamespace':
      return 'namespace';
    case 'path':
      return 'path';
    case 'header':
      return `header.${escapeKeyValue(p.name.toLowerCase())}`;
  }
}

/** The descriptor: `name=value|...`, or `*` for no parts. */
export function rateLimitDescriptor(parts: readonly RateLimitKeyPart[], r: RateLimitKeyInput, limits: KeyLimits = DEFAULT_LIMITS): string {
  if (parts.length === 0) return '*';
  return parts.map((p) => `${partName(p)}=${escapeKeyValue(partValue(p, r).slice(0, limits.maxKeyPartChars))}`).join('|');
}

/** The Redis key of the counter `r` counts against. */
export function globalRateLimitKey(scope: string, perMs: number, parts: readonly RateLimitKeyPart[], r: RateLimitKeyInput, limits: KeyLimits = DEFAULT_LIMITS): string {
  const identity = `${escapeKeyValue(scope.slice(0, limits.maxKeyPartChars))}|${rateLimitDescriptor(parts, r, limits)}`;
  const key = `amb:rl:{${identity}}:${perMs}`;
  if (Buffer.byteLength(key) <= limits.maxKeyBytes) return key;
  return `amb:rl:{sha256:${createHash('sha256').update(identity).digest('hex')}}:${perMs}`;
}
