// What a request on a resource is authorized as (authorize.ts), as kube-apiserver's
// RequestInfo derives it, pure: the verb from the method, the path and `?watch`; the
// object's name from the path, or, for a list or a watch of a collection, from a field
// selector that requires `metadata.name` to equal one value, so that an RBAC rule with
// resourceNames grants `?watch=1&fieldSelector=metadata.name=x` (one object) and never a
// list or watch of the whole collection. As there:
//  - the terms are sorted by their text and the first `metadata.name=v` (or `==`) gives
//    the name; other terms (labels, `metadata.namespace=`, `!=`) change nothing, since the
//    served objects must meet every term anyway;
//  - a selector that does not parse, an empty value, and a value that could not be a path
//    segment (`.`, `..`, or one holding `/` or `%`) give no name;
//  - the legacy /watch/ path prefix never takes a name from a selector.
// The selector is parsed by the same code that filters what is served (selectors.ts), so
// the name authorized is the only name a served object can have.
import type { AuthVerb, RequestAttributes } from './authorize.js';
import { parseFieldTerms, SelectorError } from './selectors.js';

/** The parts of a parsed resource path the verb and name depend on (request-path.ts). */
export interface ResourceTarget {
  group: string;
  /** Lower-case plural. */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The legacy /watch/ path prefix. */
  watch: boolean;
  /** TokenReview, (Self)SubjectAccessReview: created, never stored. */
  virtual?: boolean;
}

/** Does `?watch=` ask for a watch? (The same test decides whether a watch is served: handler.ts.) */
export const watchQuery = (q: URLSearchParams): boolean => q.get('watch') === 'true' || q.get('watch') === '1';

/** The authorization verb of a request, as kube-apiserver names it; undefined for a method no verb has (405 follows). */
export function verbOf(method: string, p: ResourceTarget, watch: boolean): AuthVerb | undefined {
  if (p.virtual) return method === 'POST' ? 'create' : undefined;
  // Opening a stream to a pod creates something, whatever the method (as kube-apiserver checks it).
  if (p.subresource === 'portforward') return method === 'GET' || method === 'POST' ? 'create' : undefined;
  if (p.subresource !== undefined) return ({ GET: 'get', PUT: 'update', PATCH: 'patch', POST: 'create' } as const)[method as 'GET'];
  if (p.name !== undefined) return watch && method === 'GET' ? 'watch' : ({ GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const)[method as 'GET'];
  return watch && method === 'GET' ? 'watch' : ({ GET: 'list', POST: 'create', DELETE: 'deletecollection' } as const)[method as 'GET'];
}

/** The one object a field selector limits a list or watch to, by kube-apiserver's rules (the comment at the top); undefined when none. */
export function fieldSelectorName(selector: string | null | undefined): string | undefined {
  if (!selector) return undefined;
  let terms;
  try {
    terms = parseFieldTerms(selector);
  } catch (err) {
    if (err instanceof SelectorError) return undefined;
    throw err;
  }
  const first = terms
    .slice()
    .sort((a, b) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0))
    .find((t) => t.field === 'metadata.name' && t.op === '=');
  const name = first?.value;
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('%')) return undefined;
  return name;
}

/** The attributes `method` on `p` with query `q` is authorized by; undefined when no verb names the method. */
export function requestAttributes(method: string, p: ResourceTarget, q: URLSearchParams): RequestAttributes | undefined {
  const verb = verbOf(method, p, p.watch || watchQuery(q));
  if (!verb) return undefined;
  // Only a GET of a collection that names no object, not the /watch/ prefix (kube-apiserver
  // derives the name where it turns a `get` into a list or a watch).
  const listed = p.name === undefined && !p.watch && method === 'GET' && (verb === 'list' || verb === 'watch') ? fieldSelectorName(q.get('fieldSelector')) : undefined;
  const name = p.name ?? listed;
  return {
    verb,
    group: p.group,
    resource: p.resource,
    ...(p.subresource !== undefined ? { subresource: p.subresource } : {}),
    ...(p.namespace !== undefined ? { namespace: p.namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}
