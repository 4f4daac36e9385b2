// The route matcher: a request's method and path against the route table's patterns
// (`/api/v1/services/{namespace}/{name}`), pure. A parameter matches one non-empty path
// segment (percent-decoded; a segment that decodes to contain '/' or fails to decode matches
// nothing). A path known under other methods answers 405 with the methods it has.
export interface Pattern {
  method: string;
  path: string;
}

export type MatchResult<R> = { kind: 'found'; route: R; params: Record<string, string> } | { kind: 'method-not-allowed'; allow: string[] } | { kind: 'not-found' };

/** The segments of a pattern: literals, or `{name}` parameters. */
export function parsePattern(path: string): Array<{ literal: string } | { param: string }> {
  return path
    .split('/')
    .slice(1)
    .map((s) => {
      const m = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(s);
      return m ? { param: m[1]! } : { literal: s };
    });
}

function decode(segment: string): string | undefined {
  try {
    const v = decodeURIComponent(segment);
    return v === '' || v.includes('/') ? undefined : v;
  } catch {
    return undefined;
  }
}

/** The parameters when `path` fits `pattern`, else undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = parsePattern(pattern);
  const got = path.split('/').slice(1);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if ('literal' in w) {
      if (w.literal !== got[i]) return undefined;
    } else {
      const v = decode(got[i]!);
      if (v === undefined) return undefined;
      params[w.param] = v;
    }
  }
  return params;
}

export function matchRoute<R extends Pattern>(routes: readonly R[], method: string, path: string): MatchResult<R> {
  const allow: string[] = [];
  for (const r of routes) {
    const params = matchPath(r.path, path);
    if (!params) continue;
    if (r.method === method) return { kind: 'found', route: r, params };
    if (!allow.includes(r.method)) allow.push(r.method);
  }
  return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
}
