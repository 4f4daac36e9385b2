// The authorization engine's contract (DESIGN.md section 7, "Pure policy and matching"):
// the node agent (L4) and the waypoint (L7) evaluate the same compiled Policy resources
// (core/config/model.ts) with the same functions; `ambientctl authz check` runs them too,
// on the policies as the controller compiled them. Everything here is data in, data out.
import type { PolicyAction } from '../config/model.js';

/** Where a policy is enforced. A node agent sees L4 only; a waypoint sees HTTP too. */
export type EnforcementPoint = 'node-agent' | 'waypoint';

/** `when` keys the node agent can evaluate (Istio's ztunnel L4 attribute set). */
export const L4_CONDITION_KEYS = ['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port'] as const;

/** What is known about one connection (node agent) or request (waypoint). */
export interface AuthzRequest {
  /** The peer's verified SPIFFE identity (`spiffe://<td>/ns/<ns>/sa/<sa>`); undefined for plaintext. */
  sourceIdentity?: string;
  /** The TCP peer's address (never a header: a client could forge it). */
  sourceIp?: string;
  /** The destination workload's address and port (the target port on the pod). */
  destinationIp: string;
  destinationPort: number;
  /** HTTP attributes; only a waypoint (or `authz check --method/--path/--header`) has them. */
  http?: {
    method?: string;
    path?: string;
    /** :authority / Host. */
    host?: string;
    /** Lower-case names. */
    headers?: Readonly<Record<string, string>>;
    /** `<iss>/<sub>` of a validated JWT, when only the principal is known (`authz check
     * --request-principal`); `auth.principal` wins when both are set. */
    requestPrincipal?: string;
    /** What the waypoint's RequestAuthentication layer validated (waypoint/http/authn.ts):
     * `request.auth.*` and `requestPrincipals` match against it. Absent: no valid JWT. */
    auth?: RequestAuth;
    /** The original client, from X-Forwarded-For or PROXY protocol (remoteIpBlocks, remote.ip). */
    remoteIp?: string;
  };
  /** TLS SNI of the connection (connection.sni), when known. */
  sni?: string;
}

/** A validated end-user JWT as authorization sees it (Istio's `request.auth.*` attributes,
 * https://istio.io/latest/docs/reference/config/security/conditions/). */
export interface RequestAuth {
  /** `<iss>/<sub>` (Istio's request principal). */
  principal: string;
  /** The `aud` claim (a string is a list of one). */
  audiences: readonly string[];
  /** The `azp` claim, when present. */
  presenter?: string;
  /** The token's payload, as decoded JSON. */
  claims: Readonly<Record<string, unknown>>;
}

/** Claims whose string value is a space-separated list (OAuth 2.0 `scope`, RFC 8693 section 4.2),
 * matched element by element as Istio configures Envoy's jwt_authn
 * (normalize_payload_in_metadata.space_delimited_claims). */
export const SPACE_DELIMITED_CLAIMS = ['scope', 'permission'] as const;

/** How one policy fared. */
export interface ConsideredPolicy {
  /** `namespace/name`. */
  policy: string;
  action: PolicyAction;
  dryRun: boolean;
  /** A rule matched (index in `rule`). */
  matched: boolean;
  rule?: number;
  /** Human sentences: which rule matched and on what, or for each rule the first thing that
   * did not match ("rules[0].from[0].source.principals: cluster.local/ns/a/sa/b is not one of
   * [cluster.local/ns/a/sa/c]"); also what the L4 projection changed ("rules[1] holds the L7
   * field to[0].operation.methods: dropped at the node agent, matches nothing"). */
  reasons: string[];
}

export type DecisionReason = 'no-policy' | 'allow-matched' | 'deny-matched' | 'no-allow-matched';

export interface AuthzDecision {
  decision: 'ALLOW' | 'DENY';
  reason: DecisionReason;
  /** The policy that decided (`namespace/name`); undefined for 'no-policy' and 'no-allow-matched'. */
  policy?: string;
  /** Its rule that matched. */
  rule?: number;
  /** One line: "denied by DENY policy ns/name rule 0", "no policy: allowed by default",
   * "no ALLOW rule matched (policies considered: ns/a, ns/b)". */
  message: string;
  /** AUDIT policies whose rule matched. */
  audits: Array<{ policy: string; rule: number }>;
  /** Every policy that applied, in evaluation order (DENY, ALLOW, AUDIT; then key). */
  considered: ConsideredPolicy[];
}

export interface AuthzResult {
  /** The decision made with the enforced policies (dry-run ones left out). */
  enforced: AuthzDecision;
  /** The decision that would be made with the dry-run policies enforced as well; present
   * exactly when a dry-run policy applies to the workload. */
  dryRun?: AuthzDecision;
}

/** A workload as policy selection sees it. */
export interface PolicySubject {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

/** The annotation that turns a policy's enforcement off while it is still evaluated and recorded. */
export const DRY_RUN_ANNOTATION = 'ambient.dev/dry-run';

/** `when` keys with a fixed name (Istio's "Authorization Policy Conditions" page). */
export const CONDITION_KEYS = [
  'source.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
  'remote.ip',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'connection.sni',
] as const;

/** `when` keys that take a name in brackets: `request.headers[User-Agent]`, `request.auth.claims[iss]`. */
export const CONDITION_KEY_PREFIXES = ['request.headers[', 'request.auth.claims['] as const;

/** Source fields only an L7 proxy can evaluate (they need HTTP or a JWT). */
export const L7_SOURCE_FIELDS = ['requestPrincipals', 'notRequestPrincipals', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;

/** Operation fields only an L7 proxy can evaluate. */
export const L7_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

/** Whether `key` is a `when` key the engine knows (a bracketed name must be non-empty). */
export function isKnownConditionKey(key: string): boolean {
  if ((CONDITION_KEYS as readonly string[]).includes(key)) return true;
  return CONDITION_KEY_PREFIXES.some((p) => key.startsWith(p) && key.endsWith(']') && key.length > p.length + 1);
}

/** Whether a node agent can evaluate this `when` key. */
export function isL4ConditionKey(key: string): boolean {
  return (L4_CONDITION_KEYS as readonly string[]).includes(key);
}
