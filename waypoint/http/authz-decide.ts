// The waypoint's authorization decision for one HTTP request (L7), with the shared engine
// (core/policy): which policies apply, the request's attributes, the decision, and the
// answer a denial gets. Pure: data in, data out, no I/O; waypoint/http/authz.ts is the
// layer that runs it on the request path.
//
// Which policies apply (Istio, "Use Layer 7 features" > "Targeting policies",
// https://istio.io/latest/docs/ambient/usage/l7-features/, and the AuthorizationPolicy
// reference's `targetRefs`): the AuthorizationPolicies with `targetRefs` (scope 'targets',
// core/config/model.ts) that name
//   - the waypoint's own Gateway (kind Gateway, group gateway.networking.k8s.io), in the
//     Gateway's namespace: every request the waypoint carries; or
//   - the request's destination Service (kind Service, group ""), in the Service's namespace:
//     the requests addressed to that Service (its VIP), whichever waypoint carries them
//     (a Service may use a waypoint of another namespace, `ambient.dev/use-waypoint-namespace`).
// A request addressed to a pod (a waypoint for workloads) is covered by the Gateway's
// policies only. Policies with `selector` (or none) are the node agents' (L4): a waypoint
// never evaluates them, as istiod never sends them to a waypoint for L7 ("selector" policies
// select workloads; the waypoint is one, at its own node agent).
//
// Order (https://istio.io/latest/docs/concepts/security/#authorization-policy-precedence):
// CUSTOM (refused at compilation: none), then DENY, then ALLOW; AUDIT never decides and is
// recorded; dry-run policies (ambient.dev/dry-run) are evaluated and recorded, never enforced
// (core/policy/evaluate.ts does all of it; this module selects and answers).
//
// A denial (Istio's RBAC filter answers 403 "RBAC: access denied"; for gRPC Envoy turns a
// local reply into a trailers-only answer, HTTP 200 with grpc-status 7 PERMISSION_DENIED,
// https://github.com/grpc/grpc/blob/master/doc/statuscodes.md and
// https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md): 403 (or the
// gRPC form) with the body "RBAC: access denied", the deciding policy in
// `ambient-authz-policy` (`<ns>/<name>`, absent when no single policy decided: "no ALLOW
// rule matched") and the engine's one-line reason in `ambient-authz-reason`, the header the
// node agent's HBONE 401 carries (core/hbone/client.ts AUTHZ_REASON_HEADER).
import type { Policy } from '../../core/config/model.js';
import { evaluate } from '../../core/policy/evaluate.js';
import { policiesForTargets } from '../../core/policy/select.js';
import type { AuthzRequest, AuthzResult, RequestAuth } from '../../core/policy/types.js';
import { AUTHZ_REASON_HEADER } from '../../core/hbone/client.js';
import { WAYPOINT_AUTH_DEFAULTS } from '../limits.js';

/** The response header naming the policy that denied (`<namespace>/<name>`). */
export const AUTHZ_POLICY_HEADER = 'ambient-authz-policy';
export { AUTHZ_REASON_HEADER };

/** The body of a 403 from the waypoint's authorization (Istio's, so clients and tests carry over). */
export const AUTHZ_DENIED_BODY = 'RBAC: access denied';

/** gRPC status codes the waypoint answers with (grpc/doc/statuscodes.md). */
export const GRPC_STATUS = { PERMISSION_DENIED: 7, UNAUTHENTICATED: 16, UNAVAILABLE: 14 } as const;

/** A name (`namespace`, `name`) of a Gateway or Service. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

/** What authorization needs to know about one request at the waypoint. */
export interface AuthzAttributes {
  method: string;
  /** Path and query, as received. */
  path: string;
  /** :authority / Host, as received (with its port when it has one). */
  authority: string;
  /** Request headers, lower-case names (a list is joined with ",", as Envoy matches them). */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The verified SPIFFE identity of the tunnel's peer (`spiffe://td/ns/NS/sa/SA`). */
  sourceIdentity?: string;
  /** The client's address: the HBONE tunnel's TCP peer (the client pod's own address; the
   * CONNECT's `forwarded` header is not used for decisions, as at the node agent). */
  sourceIp?: string;
  /** The tunnel's CONNECT target: a Service VIP and Service port, or a pod IP and port. */
  destination: { ip: string; port: number };
  /** The destination Service, when the request is addressed to one. */
  service?: ObjectRef;
  /** The JWT the authentication layer validated (waypoint/http/authn.ts), when any. */
  auth?: RequestAuth;
}

/** The policies the waypoint of `gateway` enforces for a request to `service` (see header):
 * each once, sorted by key. */
export function policiesAtWaypoint(policies: readonly Policy[], gateway: ObjectRef, service: ObjectRef | undefined): Policy[] {
  if (policies.length === 0) return [];
  const found = [
    ...policiesForTargets(policies, { namespace: gateway.namespace, gateway: gateway.name }),
    ...(service ? policiesForTargets(policies, { namespace: service.namespace, services: [service.name] }) : []),
  ];
  const byKey = new Map(found.map((p) => [p.key, p]));
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A Service resource key (`<namespace>/<hostname>`, core/config/model.ts) as the Service it
 * names: `shop/web.shop.svc.cluster.local` -> {shop, web}. */
export function serviceRefOfKey(key: string): ObjectRef | undefined {
  const slash = key.indexOf('/');
  if (slash <= 0) return undefined;
  const name = key.slice(slash + 1).split('.')[0] ?? '';
  return name === '' ? undefined : { namespace: key.slice(0, slash), name };
}

/**
 * The client address in an HBONE CONNECT's `forwarded` header (RFC 7239; DESIGN.md "HBONE
 * on the wire": `forwarded: for="<ip:port>"`): the first `for=` of the first element, without
 * port or brackets; undefined when there is none or it is not an address. For records only:
 * decisions use the tunnel's TCP peer (a client could forge the header).
 */
export function forwardedFor(value: string | undefined): string | undefined {
  if (typeof value !== 'string' || value.length > WAYPOINT_AUTH_DEFAULTS.maxForwardedHeaderChars) return undefined;
  const first = value.split(',')[0] ?? '';
  for (const pair of first.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
    let v = pair.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    let host: string;
    if (v.startsWith('[')) {
      const end = v.indexOf(']');
      if (end < 0) return undefined;
      host = v.slice(1, end);
    } else {
      const colon = v.indexOf(':');
      host = colon >= 0 && v.indexOf(':', colon + 1) < 0 ? v.slice(0, colon) : v;
    }
    return isIpLiteral(host) ? host : undefined;
  }
  return undefined;
}

function isIpLiteral(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (/^[0-9a-fA-F:.]+$/.test(s) && s.includes(':'));
}

function headerValues(h: AuthzAttributes['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = typeof v === 'string' ? v : v.join(',');
  }
  return out;
}

/** The engine's request for these attributes. `remote.ip`/`remoteIpBlocks` use the source
 * address: X-Forwarded-For is not trusted (Istio's default numTrustedProxies 0). */
export function authzRequestOf(a: AuthzAttributes): AuthzRequest {
  const http: NonNullable<AuthzRequest['http']> = { method: a.method, path: a.path, host: a.authority, headers: headerValues(a.headers) };
  if (a.auth) http.auth = a.auth;
  const r: AuthzRequest = { destinationIp: a.destination.ip, destinationPort: a.destination.port, http };
  if (a.sourceIdentity !== undefined) r.sourceIdentity = a.sourceIdentity;
  if (a.sourceIp !== undefined) r.sourceIp = a.sourceIp;
  return r;
}

/** What the waypoint decided for one request: what the access log and metrics record. */
export interface WaypointAuthzOutcome {
  decision: 'ALLOW' | 'DENY';
  /** `namespace/name` of the policy that decided; absent when none did. */
  policy?: string;
  rule?: number;
  message: string;
  /** With the dry-run policies enforced too; present when one applies. */
  dryRun?: { decision: 'ALLOW' | 'DENY'; policy?: string; rule?: number; message: string };
  audits: Array<{ policy: string; rule: number }>;
  /** The policies that applied (keys), in evaluation order. */
  policies: string[];
}

/** The decision for one request at the waypoint of `gateway`. Never throws: an engine
 * failure is a DENY (fail closed). */
export function decideAtWaypoint(policies: readonly Policy[], gateway: ObjectRef, attrs: AuthzAttributes): WaypointAuthzOutcome {
  let result: AuthzResult;
  let applied: Policy[] = [];
  try {
    applied = policiesAtWaypoint(policies, gateway, attrs.service);
    result = evaluate(applied, authzRequestOf(attrs), 'waypoint', { explain: false });
  } catch (err) {
    return { decision: 'DENY', message: `authorization could not be decided (${(err as Error)?.message ?? 'error'}): denied (fail closed)`, audits: [], policies: applied.map((p) => p.key) };
  }
  const e = result.enforced;
  const out: WaypointAuthzOutcome = { decision: e.decision, message: e.message, audits: e.audits, policies: e.considered.map((c) => c.policy) };
  if (e.policy !== undefined) out.policy = e.policy;
  if (e.rule !== undefined) out.rule = e.rule;
  if (result.dryRun) {
    const d = result.dryRun;
    out.dryRun = { decision: d.decision, message: d.message, ...(d.policy !== undefined && { policy: d.policy }), ...(d.rule !== undefined && { rule: d.rule }) };
  }
  return out;
}

/** What authorization knows about a tunnel carried as TCP (no HTTP was seen in it). */
export type TcpAttributes = Pick<AuthzAttributes, 'sourceIdentity' | 'sourceIp' | 'destination' | 'service'>;

/**
 * The decision for a tunnel the waypoint carries as TCP. The waypoint's policies are
 * evaluated as an L4 proxy evaluates them (the engine's node-agent projection, Istio's
 * semantics for TCP traffic at a waypoint): a DENY rule with HTTP fields denies the whole
 * tunnel, an ALLOW rule with HTTP fields allows nothing. So bytes the waypoint did not
 * recognise as HTTP (a client that hides its request behind a blank line or a pause)
 * never escape the rules written for HTTP: they fail closed. Never throws.
 */
export function decideTcpAtWaypoint(policies: readonly Policy[], gateway: ObjectRef, attrs: TcpAttributes): { allow: boolean; message: string; policy?: string } {
  try {
    const applied = policiesAtWaypoint(policies, gateway, attrs.service);
    const req: AuthzRequest = { destinationIp: attrs.destination.ip, destinationPort: attrs.destination.port };
    if (attrs.sourceIdentity !== undefined) req.sourceIdentity = attrs.sourceIdentity;
    if (attrs.sourceIp !== undefined) req.sourceIp = attrs.sourceIp;
    const e = evaluate(applied, req, 'node-agent', { explain: false }).enforced;
    return { allow: e.decision === 'ALLOW', message: e.message, ...(e.policy !== undefined && { policy: e.policy }) };
  } catch (err) {
    return { allow: false, message: `authorization could not be decided (${(err as Error)?.message ?? 'error'}): denied (fail closed)` };
  }
}

/** Whether a request is gRPC (its content-type is application/grpc or application/grpc+...,
 * as Envoy's Grpc::Common::isGrpcRequestHeaders). */
export function isGrpcRequest(headers: AuthzAttributes['headers']): boolean {
  const raw = headers['content-type'];
  const ct = (typeof raw === 'string' ? raw : raw?.[0] ?? '').toLowerCase();
  return ct === 'application/grpc' || ct.startsWith('application/grpc+') || ct.startsWith('application/grpc;');
}

/** An answer the waypoint gives by itself. */
export interface LocalReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Printable ASCII only, bounded: header values carry policy names and the engine's text. */
export function headerText(s: string, max: number = WAYPOINT_AUTH_DEFAULTS.maxReasonHeaderChars): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

/**
 * A local reply in HTTP or gRPC form. gRPC (grpc/doc/http-grpc-status-mapping.md): HTTP 200,
 * trailers-only, `grpc-status` and `grpc-message` (percent-encoded, gRPC's
 * PROTOCOL-HTTP2 "Status-Message"), no body.
 */
export function localReply(status: number, grpcStatus: number, body: string, headers: Record<string, string>, grpc: boolean): LocalReply {
  if (!grpc) return { status, headers: { 'content-type': 'text/plain', ...headers }, body };
  return { status: 200, headers: { 'content-type': 'application/grpc', 'grpc-status': String(grpcStatus), 'grpc-message': grpcMessage(body), ...headers }, body: '' };
}

/** gRPC's Status-Message encoding: percent-encode everything outside printable ASCII and `%`. */
export function grpcMessage(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The answer to a request the waypoint's authorization denied. */
export function denialReply(outcome: WaypointAuthzOutcome, grpc: boolean): LocalReply {
  const headers: Record<string, string> = { [AUTHZ_REASON_HEADER]: headerText(outcome.message) };
  if (outcome.policy !== undefined) headers[AUTHZ_POLICY_HEADER] = headerText(outcome.policy);
  return localReply(403, GRPC_STATUS.PERMISSION_DENIED, AUTHZ_DENIED_BODY, headers, grpc);
}
