// L4 authorization of inbound connections (DESIGN.md section 7, "Decide, then act"): what
// the node agent asks the policy engine (core/policy) once planInbound has accepted a
// connection, and what it makes of the answer. Pure: the engine is passed in (the agent
// wires core/policy's evaluate and policiesFor; tests may pass a failing one), the
// snapshot is immutable, nothing here does I/O.
//
//  - The request: the source is what was proved or seen on the wire, never what a header
//    claims. HBONE on 15008: sourceIdentity = the peer certificate's SPIFFE ID, sourceIp =
//    the TCP peer of the TLS connection (the `forwarded` header is the source agent's word
//    only); destination = the CONNECT :authority. Plaintext on 15006 (PERMISSIVE): no
//    identity, sourceIp = the client's address, destination = the original destination.
//  - The decision: the destination workload's policies (policiesFor, memoised per snapshot),
//    evaluated at the 'node-agent' enforcement point. The enforced decision decides; the
//    dry-run one (policies annotated ambient.dev/dry-run) is only recorded.
//  - Fail closed: an engine that throws denies, with the error as the reason.
//  - Open connections: after a config change, each is evaluated again with the request it
//    was first decided on; those now denied are returned for the enforcer to close.
import type { Policy, Workload } from '../../core/config/model.js';
import { canonicalIp } from '../../core/ip.js';
import type { AuthzDecision, AuthzRequest, AuthzResult, EnforcementPoint, PolicySubject } from '../../core/policy/types.js';
import type { ProxyState } from '../state/snapshot.js';
import type { Address } from './outbound-plan.js';

/** The engine's two functions (core/policy/evaluate.ts and select.ts). */
export interface AuthzEngine {
  policiesFor(policies: readonly Policy[], subject: PolicySubject): Policy[];
  /** `opts.explain: false`: the decision without the considered policies' reasons. */
  evaluate(policies: readonly Policy[], req: AuthzRequest, at: EnforcementPoint, opts?: { explain?: boolean }): AuthzResult;
}

/** What the executor knows of an inbound connection once planInbound accepted it. */
export interface InboundAuthzInput {
  /** The peer certificate's SPIFFE ID (HBONE); undefined for plaintext. */
  peerIdentity?: string;
  /** The TCP peer's address. */
  peerIp: string;
  /** The CONNECT :authority (HBONE) or the original destination (plaintext). */
  target: Address;
}

/** The AuthzRequest of an inbound connection. */
export function inboundAuthzRequest(input: InboundAuthzInput): AuthzRequest {
  const req: AuthzRequest = { destinationIp: canonicalIp(input.target.ip), destinationPort: input.target.port };
  if (input.peerIdentity !== undefined) req.sourceIdentity = input.peerIdentity;
  if (input.peerIp !== '') req.sourceIp = canonicalIp(input.peerIp);
  return req;
}

/** One side of a decision as the connection record carries it. */
export interface DecisionSummary {
  decision: 'ALLOW' | 'DENY';
  /** `namespace/name` of the policy that decided. */
  policy?: string;
  /** Its rule that matched. */
  rule?: number;
  /** The action of the deciding policy (ALLOW or DENY); undefined when none decided. */
  action?: 'ALLOW' | 'DENY';
}

export interface InboundVerdict {
  allow: boolean;
  /** One line naming the policy and rule: "denied by DENY policy ns/name rules[0]",
   * "allowed by ALLOW policy ns/name rules[1]", "no ALLOW rule matched",
   * "no policy: allowed by default", "authorization failed: ..." (fail closed). */
  reason: string;
  enforced: DecisionSummary;
  /** Present when a dry-run policy applies to the destination. */
  dryRun?: DecisionSummary;
  /** The engine's full answer (for AUDIT matches and the considered list); undefined when it failed. */
  result?: AuthzResult;
  /** Set when no decision could be made (the engine threw): denied. */
  failed?: string;
}

const policiesMemo = new WeakMap<ProxyState, Map<string, Policy[]>>();

/**
 * The policies that apply to `destination` at the node agent. Memoised per snapshot and
 * workload uid when `destination` is the snapshot's own Workload (snapshots are immutable;
 * a provisional Workload is selected anew each time). Policies attached with targetRefs
 * are a waypoint's, never a node agent's.
 */
export function policiesForWorkload(engine: AuthzEngine, state: ProxyState, destination: Workload): Policy[] {
  const own = state.workloadByUid(destination.uid) === destination;
  let memo = own ? policiesMemo.get(state) : undefined;
  if (own && memo === undefined) {
    memo = new Map();
    policiesMemo.set(state, memo);
  }
  const hit = memo?.get(destination.uid);
  if (hit !== undefined) return hit;
  // policiesFor never returns targetRefs policies: those are the waypoints'.
  const selected = engine.policiesFor(state.policies(), { namespace: destination.namespace, labels: destination.labels });
  memo?.set(destination.uid, selected);
  return selected;
}

/** Decides an inbound connection to `destination`; never throws (fail closed). */
export function authorizeInbound(engine: AuthzEngine, state: ProxyState, destination: Workload, request: AuthzRequest): InboundVerdict {
  let result: AuthzResult;
  try {
    // Decision only: nothing on the connection path reads the per-policy reasons (the
    // verdict names the policy and rule); `ambientctl authz check` builds them.
    result = engine.evaluate(policiesForWorkload(engine, state, destination), request, 'node-agent', { explain: false });
    if (result?.enforced?.decision !== 'ALLOW' && result?.enforced?.decision !== 'DENY') throw new Error('the engine returned no decision');
  } catch (err) {
    const failed = `authorization failed: ${(err as Error)?.message ?? String(err)}`;
    return { allow: false, reason: failed, enforced: { decision: 'DENY' }, failed };
  }
  const verdict: InboundVerdict = {
    allow: result.enforced.decision === 'ALLOW',
    reason: decisionReason(result.enforced),
    enforced: summarise(result.enforced),
    result,
  };
  if (result.dryRun !== undefined) verdict.dryRun = summarise(result.dryRun);
  return verdict;
}

/** The one-line reason for a decision, naming the policy and rule (the 401's reason header). */
export function decisionReason(d: AuthzDecision): string {
  switch (d.reason) {
    case 'deny-matched':
      return `denied by DENY policy ${d.policy ?? 'unknown'} rules[${d.rule ?? '?'}]`;
    case 'allow-matched':
      return `allowed by ALLOW policy ${d.policy ?? 'unknown'} rules[${d.rule ?? '?'}]`;
    case 'no-allow-matched':
      return 'no ALLOW rule matched';
    case 'no-policy':
      return 'no policy: allowed by default';
    default:
      return d.message;
  }
}

function summarise(d: AuthzDecision): DecisionSummary {
  const s: DecisionSummary = { decision: d.decision };
  if (d.policy !== undefined) s.policy = d.policy;
  if (d.rule !== undefined) s.rule = d.rule;
  if (d.reason === 'deny-matched') s.action = 'DENY';
  else if (d.reason === 'allow-matched') s.action = 'ALLOW';
  return s;
}

/** How an open connection is closed when a new snapshot denies it: the record's error and
 * the log line ("connection closed: now denied by DENY policy ns/name rules[0]"). */
export function revokedMessage(v: InboundVerdict): string {
  return v.reason.startsWith('denied ') ? `connection closed: now ${v.reason}` : `connection closed: now denied: ${v.reason}`;
}

/** An open inbound connection as re-evaluation sees it. */
export interface OpenInbound {
  /** The destination pod's uid and its Workload when the connection was decided (used when
   * the new snapshot no longer has it). */
  destinationUid: string;
  destination: Workload;
  /** The request it was first decided on. */
  request: AuthzRequest;
}

/**
 * Which open connections the snapshot `state` no longer allows, with the verdict that
 * denies each. O(open connections), policy selection memoised per destination; the
 * dry-run decision never closes anything.
 */
export function connectionsToClose<C extends OpenInbound>(engine: AuthzEngine, state: ProxyState, open: Iterable<C>): Array<{ conn: C; verdict: InboundVerdict }> {
  const out: Array<{ conn: C; verdict: InboundVerdict }> = [];
  for (const conn of open) {
    const destination = state.workloadByUid(conn.destinationUid) ?? conn.destination;
    const verdict = authorizeInbound(engine, state, destination, conn.request);
    if (!verdict.allow) out.push({ conn, verdict });
  }
  return out;
}
