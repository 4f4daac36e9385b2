// The request target as every layer sees it, normalised once when the request arrives, as
// Envoy does for Istio by default (path normalisation "BASE", Chromium's URL path
// canonicaliser): on the path only, never the query,
//   - percent-encoded unreserved characters (RFC 3986 section 2.3: ALPHA DIGIT - . _ ~) are
//     decoded, as section 6.2.2.2 says they are equivalent (`/%61dmin` is `/admin`, and
//     `%2e%2e` is a `..` segment); every other escape is kept, its hex in upper case
//     (section 6.2.2.1), so `%2F`, `%5C`, `%3F` stay encoded and mean what they meant;
//   - backslashes become slashes, then RFC 3986 section 5.2.4 dot segments are removed;
//   - absolute-form (`GET http://web/admin HTTP/1.1`, RFC 9112 section 3.2.2) becomes
//     origin-form, its authority replacing the Host header as the RFC requires;
//   - `/public/../admin` becomes `/admin`.
// Authorization, routing and the backend then agree on which path was asked for: without
// it, `DENY paths: [/admin*]` would not match `http://web/admin` or `/x/../admin`, which a
// backend that normalises serves as `/admin`, nor `/%61dmin` or `/x/%2e%2e/admin`, which
// Go's net/http, WHATWG URL parsers and most frameworks serve as `/admin`. The normalised
// target is what route matching reads and what is forwarded: one path for all of them.

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** RFC 3986 sections 6.2.2.1 and 6.2.2.2 on a path: `%XX` of an unreserved character
 * becomes the character; any other escape keeps its encoding with upper-case hex. A `%` not
 * followed by two hex digits is left as sent. */
export function decodeUnreserved(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/** RFC 3986 section 5.2.4, on a path that starts with `/`. */
export function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (last) out.push(''); // "/a/b/.." -> "/a/"
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}

export interface RequestTarget {
  path: string;
  authority: string;
}

/** The normalised path (with its query) and authority of a request as received. */
export function normaliseTarget(rawPath: string, authority: string): RequestTarget {
  let path = rawPath;
  let auth = authority;
  if (!path.startsWith('/') && /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      const u = new URL(path);
      auth = u.host;
      path = `${u.pathname}${u.search}`;
    } catch {
      // Unparsable: left as sent; no rule or route written for paths matches it.
    }
  }
  if (!path.startsWith('/')) return { path, authority: auth }; // `*` (OPTIONS) and the like
  const q = path.search(/[?#]/);
  const pathPart = q === -1 ? path : path.slice(0, q);
  // A dot segment follows a `/`; without `/.`, `\` or an escape (`%2e` is a dot too) there is
  // nothing to change (most requests).
  if (!pathPart.includes('/.') && !pathPart.includes('\\') && !pathPart.includes('%')) return { path, authority: auth };
  const rest = q === -1 ? '' : path.slice(q);
  return { path: removeDotSegments(decodeUnreserved(pathPart).replace(/\\/g, '/')) + rest, authority: auth };
}
