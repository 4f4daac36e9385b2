// What a route rule's filters do to a request, as data (apis/v1/httproute_types.go:
// HTTPHeaderFilter, HTTPRequestRedirectFilter, HTTPURLRewriteFilter, HTTPPathModifier,
// HTTPRequestMirrorFilter; HTTPBackendRef.filters):
//   - RequestHeaderModifier / ResponseHeaderModifier: set, then add, then remove;
//   - RequestRedirect: the status and Location to answer with, nothing forwarded;
//   - URLRewrite: the path and/or Host the request is forwarded with;
//   - RequestMirror: which mirror targets get a copy (percent, with an injected random).
// Order (HTTPRouteRule.filters: "implementations SHOULD implement filters in the order
// they are specified"): the rule's filters in list order, then the chosen backend's
// filters in list order; a redirect answers at once and later request filters do not
// run. Response modifiers apply to the response on its way back: the backend's first,
// then the rule's (so a rule's `set` wins over a backend's for the same header).
// Pure: no I/O, never throws; what cannot be computed is an `error` outcome (500).
import type { HeaderModifier, MirrorTarget, PathModifier, RouteFilter } from '../../core/config/routes.js';
import { prefixMatches, trimTrailingSlash } from './route-match.js';

/** Header name (lower-case) → value; an array for a header that is sent repeated. */
export type HeaderMap = Record<string, string | string[]>;

/** The request as the filters see and change it. */
export interface FilterRequest {
  scheme: 'http' | 'https';
  /** Host/:authority as received, port included when the client sent one: it is
   * forwarded unmodified unless a filter changes it (HTTPRouteSpec.hostnames: "MUST
   * forward this header unmodified"). Kept out of `headers`: the data path writes it as
   * Host (HTTP/1.1) or :authority (HTTP/2). */
  authority: string;
  /** The Service port the client addressed: the "listener port" of
   * HTTPRequestRedirectFilter.port for a mesh. */
  port: number;
  /** Path with query, as forwarded. */
  path: string;
  /** Lower-case names, without `host`. */
  headers: HeaderMap;
}

export type FilterOutcome =
  | { kind: 'redirect'; status: number; location: string; responseModifiers: HeaderModifier[] }
  | { kind: 'forward'; request: FilterRequest; mirrors: MirrorTarget[]; responseModifiers: HeaderModifier[] }
  | { kind: 'error'; reason: string };

/** The statuses HTTPRequestRedirectFilter.statusCode allows. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

const WELL_KNOWN_PORT = { http: 80, https: 443 } as const;

/** Headers whose repeated values cannot be folded into one comma-separated value
 * (RFC 9110 §5.3): `add` appends them as another line instead. */
const NEVER_FOLDED = new Set(['set-cookie']);

// ---------------------------------------------------------------- headers

/**
 * A header modifier applied to a copy of `headers` (names compared case-insensitively,
 * output names lower-case): `set` replaces, `add` appends to what is there, `remove`
 * deletes (HTTPHeaderFilter). Applied set, add, remove: the specification allows one
 * action per header name, so for a valid filter the order is invisible; of entries
 * naming the same header within one list only the first counts (HTTPHeader.name).
 * `add` folds into one value joined with `,` (the specification's example
 * `my-header: foo,bar,baz`, and what the conformance suite expects), except
 * `set-cookie`, which is appended as a separate line.
 * Ignored: entries whose name is not a header name (empty, HTTP/2 pseudo-headers
 * `:path`), names in PROTECTED_HEADERS (message and connection framing), values with
 * CR, LF or NUL. The controller validates these; this keeps a bad value from reaching
 * the wire if one slips through.
 */
export function applyHeaderModifier(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  mod: HeaderModifier,
): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const n = name.toLowerCase();
    const prev = out[n];
    const vals = typeof v === 'string' ? [v] : [...v];
    out[n] = prev === undefined ? (typeof v === 'string' ? v : vals) : [...asList(prev), ...vals];
  }
  for (const h of firstOfEachName(mod.set)) out[h.name] = h.value;
  for (const h of firstOfEachName(mod.add)) {
    const prev = out[h.name];
    if (prev === undefined) out[h.name] = h.value;
    else if (NEVER_FOLDED.has(h.name)) out[h.name] = [...asList(prev), h.value];
    else out[h.name] = [...asList(prev), h.value].join(',');
  }
  for (const name of mod.remove ?? []) {
    if (isHeaderName(name)) delete out[name.toLowerCase()];
  }
  return out;
}

function asList(v: string | string[]): string[] {
  return typeof v === 'string' ? [v] : v;
}

/** RFC 9110 §5.1 field-name: a token. Excludes HTTP/2 pseudo-headers (`:path`). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Headers a filter never touches: they frame the message or the connection (RFC 9112
 * §6, RFC 9110 §7.6.1), and changing them would let a route desynchronise the
 * waypoint's pooled connection to a backend that other clients' requests share. The
 * data path owns them.
 */
export const PROTECTED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function isHeaderName(name: unknown): name is string {
  return typeof name === 'string' && TOKEN.test(name) && !PROTECTED_HEADERS.has(name.toLowerCase());
}

/** A value that could end the header line (CR, LF) or the string (NUL) is dropped. */
/** RFC 9110 field-value characters (what node:http will send: anything else makes it throw). */
function isHeaderValue(value: unknown): value is string {
  return typeof value === 'string' && /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

function firstOfEachName(list: readonly { name: string; value: string }[] | undefined): { name: string; value: string }[] {
  const seen = new Set<string>();
  const out: { name: string; value: string }[] = [];
  for (const h of list ?? []) {
    if (!isHeaderName(h.name) || !isHeaderValue(h.value)) continue;
    const name = h.name.toLowerCase();
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, value: h.value });
  }
  return out;
}

/** A RequestHeaderModifier on a FilterRequest: like applyHeaderModifier, and `set` of
 * `host` sets the authority (a request has exactly one Host, so `add` and `remove` of
 * `host` are ignored). */
export function modifyRequestHeaders(req: FilterRequest, mod: HeaderModifier): FilterRequest {
  const isHost = (n: string): boolean => n.toLowerCase() === 'host';
  const hostSet = firstOfEachName(mod.set).find((h) => h.name === 'host');
  const headers = applyHeaderModifier(req.headers, {
    set: (mod.set ?? []).filter((h) => !isHost(h.name)),
    add: (mod.add ?? []).filter((h) => !isHost(h.name)),
    remove: (mod.remove ?? []).filter((n) => !isHost(n)),
  });
  return { ...req, headers, authority: hostSet !== undefined ? hostSet.value : req.authority };
}

// ---------------------------------------------------------------- paths

/** Splits `path?query` into the path and the `?query` suffix (with its `?`, or ''). */
function splitQuery(pathWithQuery: string): [string, string] {
  const q = pathWithQuery.indexOf('?');
  return q >= 0 ? [pathWithQuery.slice(0, q), pathWithQuery.slice(q)] : [pathWithQuery, ''];
}

/**
 * ReplacePrefixMatch (HTTPPathModifier.replacePrefixMatch): the matched prefix, compared
 * by path element with its trailing `/` ignored, is replaced by `replacement` with its
 * trailing `/` ignored; an empty result is `/`. Reproduces the specification's table:
 *   /foo/bar with /foo or /foo/ and /xyz or /xyz/ → /xyz/bar; /foo → /xyz; /foo/ → /xyz/;
 *   /foo/bar with "" → /bar; /foo/ and /foo with "" or "/" → /.
 * `path` has no query. Undefined when the prefix does not match the path.
 */
export function replacePrefix(path: string, prefix: string, replacement: string): string | undefined {
  if (!prefixMatches(prefix, path)) return undefined;
  const rest = path.slice(trimTrailingSlash(prefix).length);
  const result = trimTrailingSlash(replacement) + rest;
  return result === '' ? '/' : result;
}

/**
 * A path modifier applied to `path?query`; the query is kept (the specification replaces
 * the path only). ReplacePrefixMatch needs the PathPrefix the rule matched with
 * (route-match's matchedPrefix); without one, or if it does not match the current path,
 * undefined (the caller answers 500).
 */
export function modifyPath(pathWithQuery: string, mod: PathModifier, matchedPrefix: string | undefined): string | undefined {
  const [path, query] = splitQuery(pathWithQuery);
  if (mod.type === 'ReplaceFullPath') return mod.value + query;
  if (mod.type === 'ReplacePrefixMatch') {
    if (matchedPrefix === undefined) return undefined;
    const replaced = replacePrefix(path, matchedPrefix, mod.value);
    return replaced === undefined ? undefined : replaced + query;
  }
  return undefined;
}

// ---------------------------------------------------------------- redirect

type RedirectFilter = Extract<RouteFilter, { type: 'RequestRedirect' }>;

/**
 * The response for a RequestRedirect (HTTPRequestRedirectFilter):
 *   - scheme: the filter's, else the request's;
 *   - host: the filter's hostname, else the request's Host (its port never carried over);
 *   - port: the filter's; else, when the filter sets a scheme, that scheme's well-known
 *     port (http 80, https 443); else the port the client addressed (the Service port,
 *     a mesh's "listener port"); left out of Location when it is the scheme's well-known
 *     port (http:80, https:443);
 *   - path: modified by the filter's path modifier, else the request's; the query is
 *     kept either way;
 *   - status: the filter's (the controller fills the default 302).
 * Undefined when the status is not one of 301/302/303/307/308 or the path modifier
 * cannot be applied (the caller answers 500).
 */
export function redirectResponse(
  filter: RedirectFilter,
  req: FilterRequest,
  matchedPrefix: string | undefined,
): { status: number; location: string } | undefined {
  if (!REDIRECT_STATUSES.has(filter.statusCode)) return undefined;
  const scheme = filter.scheme ?? req.scheme;
  const port = filter.port ?? (filter.scheme !== undefined ? WELL_KNOWN_PORT[filter.scheme] : req.port);
  const host = filter.hostname ?? hostWithoutPort(req.authority);
  const path = filter.path !== undefined ? modifyPath(req.path, filter.path, matchedPrefix) : req.path;
  if (path === undefined) return undefined;
  const portPart = port === WELL_KNOWN_PORT[scheme] ? '' : `:${port}`;
  return { status: filter.statusCode, location: `${scheme}://${urlHost(host)}${portPart}${path}` };
}

/** `host:port` → `host`, `[v6]:port` and `[v6]` → `v6`; a bare IPv6 literal (more than
 * one `:`) has no port. */
export function hostWithoutPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end > 0 ? authority.slice(1, end) : authority;
  }
  const colon = authority.indexOf(':');
  if (colon < 0 || authority.indexOf(':', colon + 1) >= 0) return authority;
  return authority.slice(0, colon);
}

/** An IPv6 literal in a URL is bracketed. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

// ---------------------------------------------------------------- mirror

/**
 * Whether this request is mirrored at `percent` (0-100, fractions allowed;
 * HTTPRequestMirrorFilter.percent/fraction, compiled to a percentage): never at 0 or
 * below, always at 100 or above, else with probability percent/100.
 */
export function shouldMirror(percent: number, random: () => number): boolean {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  return random() * 100 < percent;
}

// ---------------------------------------------------------------- a list of filters

/**
 * One list of filters (a rule's, or a backend's) applied in order to `req`.
 * A RequestRedirect ends the list: the outcome is the redirect. URLRewrite's
 * ReplacePrefixMatch is relative to `matchedPrefix` on the path as it is at that point.
 * RequestMirror targets that resolve are kept when shouldMirror says so; the copy sent
 * is the request as forwarded (after every request filter). ResponseHeaderModifiers are
 * collected, wherever they stand in the list, for the caller to apply to the response
 * (a redirect's too).
 */
export function applyFilters(
  filters: readonly RouteFilter[],
  req: FilterRequest,
  matchedPrefix: string | undefined,
  random: () => number,
): FilterOutcome {
  const responseModifiers = filters.flatMap((f) => (f.type === 'ResponseHeaderModifier' ? [f.modifier] : []));
  const mirrors: MirrorTarget[] = [];
  let cur = req;
  for (const f of filters) {
    switch (f.type) {
      case 'RequestHeaderModifier':
        cur = modifyRequestHeaders(cur, f.modifier);
        break;
      case 'ResponseHeaderModifier':
        break;
      case 'RequestRedirect': {
        const r = redirectResponse(f, cur, matchedPrefix);
        if (r === undefined) return { kind: 'error', reason: `RequestRedirect cannot be applied to ${cur.path}` };
        return { kind: 'redirect', ...r, responseModifiers };
      }
      case 'URLRewrite': {
        let path = cur.path;
        if (f.path !== undefined) {
          const p = modifyPath(cur.path, f.path, matchedPrefix);
          if (p === undefined) return { kind: 'error', reason: `URLRewrite ${f.path.type} cannot be applied to ${cur.path}` };
          path = p;
        }
        cur = { ...cur, path, authority: f.hostname ?? cur.authority };
        break;
      }
      case 'RequestMirror':
        if (f.mirror.unresolved === undefined && f.mirror.service !== undefined && shouldMirror(f.mirror.percent, random)) {
          mirrors.push(f.mirror);
        }
        break;
      default:
        // A filter type this waypoint does not know must not be skipped silently
        // (HTTPRouteFilter.type): the request fails.
        return { kind: 'error', reason: `unsupported filter type ${(f as { type: unknown }).type}` };
    }
  }
  return { kind: 'forward', request: cur, mirrors, responseModifiers };
}

/**
 * The rule's filters, then the chosen backend's (HTTPBackendRef.filters: "executed if
 * and only if the request is being forwarded to the backend defined here"). Mirrors
 * accumulate, rule's first; response modifiers are listed in the order to apply them to
 * the response: the backend's, then the rule's. A redirect or error from the rule's
 * filters ends it before the backend's run.
 */
export function applyRuleAndBackendFilters(
  ruleFilters: readonly RouteFilter[],
  backendFilters: readonly RouteFilter[],
  req: FilterRequest,
  matchedPrefix: string | undefined,
  random: () => number,
): FilterOutcome {
  const first = applyFilters(ruleFilters, req, matchedPrefix, random);
  if (first.kind !== 'forward' || backendFilters.length === 0) return first;
  const second = applyFilters(backendFilters, first.request, matchedPrefix, random);
  if (second.kind === 'error') return second;
  const responseModifiers = [...second.responseModifiers, ...first.responseModifiers];
  if (second.kind === 'redirect') return { ...second, responseModifiers };
  return { kind: 'forward', request: second.request, mirrors: [...first.mirrors, ...second.mirrors], responseModifiers };
}
