// The extra response headers an HBONE server's decision may add to its 401 (the node agent
// names the policy that denied), made safe to send whatever the decision holds.

/** Longest value of a decision header (a reason line, not a document). */
export const MAX_DECISION_HEADER_BYTES = 512;

/** A decision's extra response headers, made safe to send: a name must be a lower-case
 * token (no pseudo-header, no connection-specific one), a value printable ASCII, cut to
 * MAX_DECISION_HEADER_BYTES; anything else is dropped or replaced by '?'. */
export function decisionHeaders(extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (extra === undefined) return out;
  for (const [name, value] of Object.entries(extra)) {
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) || FORBIDDEN_RESPONSE_HEADERS.has(name) || typeof value !== 'string') continue;
    out[name] = value.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_DECISION_HEADER_BYTES);
  }
  return out;
}

const FORBIDDEN_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length', 'te']);
