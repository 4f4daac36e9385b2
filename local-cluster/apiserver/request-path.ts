// The Kubernetes REST path grammar, pure:
//   /api | /api/v1 | /apis | /apis/<g> | /apis/<g>/<v>                      discovery
//   /api/v1[/watch]/<plural>[/<name>[/<sub>]]                               cluster-wide or cluster-scoped
//   /api/v1[/watch]/namespaces/<ns>/<plural>[/<name>[/<sub>]]               namespaced
//   /apis/<g>/<v>/...                                                       the same under a group
// `namespaces/<name>/status` is the Namespace's own subresource, not a resource in it.
import { kindByResource } from './kinds.js';

/** Is <group>/<version>/<plural> a served resource? (Built-in kinds unless the server says more.) */
export type IsResource = (group: string, version: string, plural: string) => boolean;
const builtIn: IsResource = (g, v, p) => kindByResource(g, v, p) !== undefined;

export type ParsedPath =
  | { type: 'discovery'; what: 'api' | 'apis' | 'group' | 'groupVersion'; group: string; version: string }
  | {
      type: 'resource';
      group: string;
      version: string;
      plural: string;
      namespace?: string;
      name?: string;
      subresource?: string;
      /** The legacy /watch/ prefix. */
      watch: boolean;
    }
  | { type: 'unknown' };

export function parseRequestPath(pathname: string, isResource: IsResource = builtIn): ParsedPath {
  let seg: string[];
  try {
    seg = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return { type: 'unknown' };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return { type: 'discovery', what: 'api', group: '', version: '' };
    group = '';
    version = seg[1]!;
    if (seg.length === 2) return { type: 'discovery', what: 'groupVersion', group, version };
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return { type: 'discovery', what: 'apis', group: '', version: '' };
    group = seg[1]!;
    if (seg.length === 2) return { type: 'discovery', what: 'group', group, version: '' };
    version = seg[2]!;
    if (seg.length === 3) return { type: 'discovery', what: 'groupVersion', group, version };
    rest = seg.slice(3);
  } else {
    return { type: 'unknown' };
  }
  let watch = false;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && !isResource(group, version, rest[2]!))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return { type: 'unknown' };
  const [plural, name, subresource] = rest as [string, string?, string?];
  return {
    type: 'resource',
    group,
    version,
    plural,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
    watch,
  };
}
