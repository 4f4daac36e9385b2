// The console's files (built by `npm run build` into a directory the controller is given):
// which file a path is, pure. The page paths (`/`, `/graph`, `/workloads`, `/services`,
// `/policies`, `/flows`, `/mesh`, and anything under them) are the console's index.html, so
// every page has a URL that reloads; files are served from `/assets/` only. A path never
// leaves the directory (no `..`, no encoded slash, no dot files). Until the console is built
// the page paths answer a short page saying so.
import { extname } from 'node:path';

export const CONSOLE_PAGES: readonly string[] = ['graph', 'workloads', 'services', 'policies', 'flows', 'mesh'];
export const ASSETS_PREFIX = '/assets/';

export type StaticTarget = { kind: 'index' } | { kind: 'asset'; relative: string } | { kind: 'not-found' };

/** What a GET of `path` (URL path, not decoded) serves. */
export function staticTarget(path: string): StaticTarget {
  if (path === '/' || path === '/index.html') return { kind: 'index' };
  const first = path.split('/')[1] ?? '';
  if (CONSOLE_PAGES.includes(first)) return { kind: 'index' };
  if (path.startsWith(ASSETS_PREFIX)) {
    let rel: string;
    try {
      rel = decodeURIComponent(path.slice(ASSETS_PREFIX.length));
    } catch {
      return { kind: 'not-found' };
    }
    const parts = rel.split('/');
    if (rel === '' || rel.includes('\\') || rel.includes('\0') || parts.some((p) => p === '' || p.startsWith('.'))) return { kind: 'not-found' };
    return { kind: 'asset', relative: `assets/${parts.join('/')}` };
  }
  return { kind: 'not-found' };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export const CONSOLE_NOT_BUILT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ambient mesh console</title></head>
<body><h1>The console is not built</h1>
<p>This controller has no console files. The API is served at <code>/api/v1/</code> (see <code>/api/v1/openapi.json</code>).</p>
</body></html>
`;
