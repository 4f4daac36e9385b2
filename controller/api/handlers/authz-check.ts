// POST /authz/check: `ambientctl authz check` through the API, with the same parsing,
// resolution and engine (core/policy/explain) on the controller's compiled config; the
// answer is the CLI's `-o json` (CheckResult) with its headline.
import { checkAccess, headline, type HttpAttributes } from '../../../core/policy/explain/check.js';
import { ENGINE } from '../../../core/policy/explain/engine.js';
import { configView, ExplainInputError, parseFrom, parseHeaders, parseSourceIp, parseTo, resolveFrom, resolveTo } from '../../../core/policy/explain/resolve.js';
import type { AuthzCheckResult } from '../../../console/api-types.js';
import { ErrorCodes } from '../../../core/errors.js';
import { ApiFailure, badRequest, invalid } from '../api-error.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const FIELDS = ['from', 'to', 'port', 'method', 'path', 'headers', 'sourceIp', 'requestPrincipal'];

function optString(b: Record<string, unknown>, k: string): string | undefined {
  const v = b[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw badRequest(`${k}: ${JSON.stringify(v)} is not a non-empty string`);
  return v;
}

export function authzCheck(req: ApiRequest, ctx: ApiContext): ApiAnswer {
  const b = req.body;
  if (!isObj(b)) throw badRequest('the body must be a JSON object: {"from": "NS/SA", "to": "SERVICE.NS", "port": 80, "method"?, "path"?}');
  const extra = Object.keys(b).filter((k) => !FIELDS.includes(k));
  if (extra.length > 0) throw badRequest(`unknown field ${JSON.stringify(extra[0])}: expected ${FIELDS.join(', ')}`);
  const from = optString(b, 'from');
  const to = optString(b, 'to');
  if (!from) throw badRequest('from: required (spiffe://<trust domain>/ns/NS/sa/SA or NS/SA)');
  if (!to) throw badRequest('to: required (SERVICE.NS, POD.NS, a hostname or an IP; the port in `port` or as :PORT)');
  const port = b['port'];
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) throw badRequest(`port: ${JSON.stringify(port)} is not a port number`);
  const method = optString(b, 'method');
  const path = optString(b, 'path');
  const sourceIp = optString(b, 'sourceIp');
  const requestPrincipal = optString(b, 'requestPrincipal');
  const hdrs = b['headers'];
  if (hdrs !== undefined && (!isObj(hdrs) || Object.values(hdrs).some((v) => typeof v !== 'string'))) throw badRequest('headers: expected an object of header name to string value');
  if (method !== undefined && !/^[A-Za-z]+$/.test(method)) throw badRequest(`method: "${method}" is not an HTTP method (GET, POST, ...)`);
  if (path !== undefined && !path.startsWith('/')) throw badRequest(`path: "${path}" does not start with /`);
  const cfg = ctx.debugConfig();
  if (cfg.resources.length === 0) throw new ApiFailure(503, ErrorCodes.API_INVALID, 'the controller has no config yet (its cluster watch has not synced, or nothing is in the mesh): nothing to evaluate');
  try {
    const headers = parseHeaders(Object.entries((hdrs ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`));
    const http: HttpAttributes | undefined =
      method === undefined && path === undefined && requestPrincipal === undefined && Object.keys(headers).length === 0
        ? undefined
        : {
            ...(requestPrincipal !== undefined && { requestPrincipal }),
            ...(method !== undefined && { method: method.toUpperCase() }),
            ...(path !== undefined && { path }),
            ...(Object.keys(headers).length > 0 && { headers }),
          };
    const view = configView({ trustDomain: cfg.trustDomain, rootNamespace: cfg.rootNamespace, resources: [...cfg.resources] });
    const toSpec = parseTo(port !== undefined ? `${to}:${port}` : to);
    const result = checkAccess(view, resolveFrom(parseFrom(from), sourceIp === undefined ? undefined : parseSourceIp(sourceIp), view), resolveTo(toSpec, view), http, ENGINE);
    // The CLI's `-o json` (CheckResult) is the API's AuthzCheckResult plus its headline.
    const body: AuthzCheckResult & { headline: string } = { headline: headline(result), ...result };
    return { body };
  } catch (err) {
    if (err instanceof ExplainInputError) throw invalid(err.message.replace(/^--([a-z-]+)/, (_m, f: string) => f.replace(/-([a-z])/g, (_x, c: string) => c.toUpperCase())));
    throw err;
  }
}
