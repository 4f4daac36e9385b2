// The API's rules against cross-site use, pure (docs/api.md, "Security"):
// - no CORS: no Access-Control-* header is ever sent, and OPTIONS (a preflight) is 405, so a
//   page of another origin can neither read an answer nor send a non-simple request;
// - a write (POST, PUT) must carry `Content-Type: application/json` and `X-Ambient-Request: 1`:
//   a cross-site form or a "simple" fetch cannot set either without a preflight, which fails.
// The bearer token is the real credential (a browser never adds it by itself); these rules
// keep it so if a console served elsewhere ever held one.
export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const REQUEST_HEADER = 'x-ambient-request';

/** Why a write request is refused (403), or undefined when it may proceed. */
export function writeRefusal(method: string, headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  if (!WRITE_METHODS.has(method)) return undefined;
  const ct = String(headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (ct !== 'application/json') return `a ${method} must have Content-Type: application/json (got ${ct ? JSON.stringify(ct) : 'none'})`;
  if (headers[REQUEST_HEADER] !== '1') return `a ${method} must carry the header X-Ambient-Request: 1 (it shows the request is not a cross-site form)`;
  return undefined;
}
