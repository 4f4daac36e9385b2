// The decision the mesh would make for a connection (`ambientctl authz check`, and the
// controller's POST /api/v1/authz/check: one implementation for both), evaluated with the
// same engine as the node agents (core/policy) on the policies as the controller compiled
// them, with the policy and rule that decided, every policy considered and why, and where
// each part is enforced. Pure: the resolved source and target in (./resolve.ts), a
// CheckResult out; the CLI renders it (cli/mesh/authz-check.ts).
import type { Policy, WaypointRef } from '../../config/model.js';
import type { AuthzDecision, AuthzRequest, AuthzResult, ConsideredPolicy, DecisionReason, EnforcementPoint, PolicySubject } from '../types.js';
import type { Destination, MeshConfigView, ResolvedSource, ResolvedTarget } from './resolve.js';

/** `<hostname>:<port>` of a waypoint reference (the key is `<namespace>/<hostname>`). */
export function waypointName(w: WaypointRef | undefined): string | undefined {
  if (!w) return undefined;
  const slash = w.service.indexOf('/');
  return `${slash >= 0 ? w.service.slice(slash + 1) : w.service}:${w.port}`;
}

/** The engine's functions `authz check` uses (core/policy/evaluate.ts, select.ts); a
 * parameter so that the views are tested with the real engine and nothing else. */
export interface PolicyEngine {
  evaluate(policies: readonly Policy[], req: AuthzRequest, at: EnforcementPoint): AuthzResult;
  policiesFor(policies: readonly Policy[], subject: PolicySubject): Policy[];
  policiesForTargets(policies: readonly Policy[], targets: { namespace: string; services?: string[]; gateway?: string }): Policy[];
}

export type HttpAttributes = NonNullable<AuthzRequest['http']>;

/** Whether waypoints enforce authorization policies: they do (waypoint/http/authz.ts), so a
 * targetRefs policy on the path decides at the waypoint, with the HTTP attributes given;
 * the controller says the same in each targetRefs policy's Enforced condition. */
export const WAYPOINTS_ENFORCE_AUTHORIZATION = true;

/** The label the waypoint's pods carry (Gateway API: the Gateway's name). */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** The identity (and address, when one pod) the waypoint of `wp` connects to endpoints with:
 * the identity its pods carry; undefined when no pod of it is known. */
export function waypointSource(config: MeshConfigView, wp: NonNullable<ResolvedTarget['waypoint']>): { identity: string; ip?: string; pods: string[] } | undefined {
  const gw = gatewayOf(wp.service);
  if (!gw) return undefined;
  const pods = config.workloads.filter((w) => w.namespace === gw.namespace && w.labels[GATEWAY_NAME_LABEL] === gw.name);
  const ids = [...new Set(pods.map((w) => w.identity))];
  if (ids.length !== 1) return undefined;
  const ips = pods.filter((w) => !w.hostNetwork && w.ips.length > 0).map((w) => w.ips[0]!);
  return { identity: ids[0]!, ...(ips.length === 1 && { ip: ips[0]! }), pods: pods.map((w) => `${w.namespace}/${w.name}`).sort() };
}

export interface CheckedPolicy extends ConsideredPolicy {
  enforcedAt: EnforcementPoint;
}

/** A decision as `authz check` prints it: what was decided, why, and by which policy and rule
 * (null when no policy decided). */
export interface Verdict {
  decision: 'ALLOW' | 'DENY';
  reason: DecisionReason;
  /** `namespace/name` of the policy that decided; null when none did. */
  policy: string | null;
  rule: number | null;
  message: string;
}

/** One enforcement point on the connection's path, and what it decided. */
export interface EnforcementStep extends Verdict {
  at: EnforcementPoint;
  /** False: this point would decide so, but does not enforce yet (waypoints, for now). */
  enforced: boolean;
  /** `node agent on node-1`, `waypoint waypoint.shop.svc.cluster.local:15008`. */
  where: string;
  /** Present when a dry-run policy applies here. */
  dryRun?: Omit<Verdict, 'reason'>;
}

/** The outcome for one destination workload. */
export interface EndpointOutcome extends Verdict {
  workload: string;
  ip: string;
  port: number;
  node: string;
  enforcedAt: EnforcementPoint;
  /** The deciding point by name: `waypoint waypoint.shop.svc.cluster.local:15008`, `node agent on node-1`. */
  enforcedBy: string;
  dryRun?: Omit<Verdict, 'reason'> & { enforcedAt: EnforcementPoint };
  audits: Array<{ policy: string; rule: number }>;
  enforcement: EnforcementStep[];
  considered: CheckedPolicy[];
}

/** What `authz check -o json|yaml` prints; `decision`, `policy`, `rule`, `enforcedAt` and
 * `considered` are the stable fields (docs/operations.md). */
export interface CheckResult extends Verdict {
  /** Where the deciding evaluation happens. */
  enforcedAt: EnforcementPoint;
  /** The deciding point by name (the waypoint, or the node agent of the deciding endpoint). */
  enforcedBy: string;
  from: { identity: string; sourceIp: string | null; sourceIpFrom?: string; workloads: string[] };
  to: { kind: 'Service' | 'Workload'; namespace: string; name: string; port: number; waypoint?: string; destinations: Array<{ workload: string; ip: string; port: number; node: string }> };
  http?: HttpAttributes;
  /** The decision with the dry-run policies enforced too; present when one applies. */
  dryRun?: EndpointOutcome['dryRun'];
  audits: Array<{ policy: string; rule: number }>;
  /** Every policy evaluated for the deciding endpoint, in evaluation order, at each point. */
  considered: CheckedPolicy[];
  enforcement: EnforcementStep[];
  /** Each endpoint's own outcome, present when a Service's endpoints do not all agree. */
  endpoints?: EndpointOutcome[];
  notes: string[];
}

/**
 * Evaluates the connection `from` -> `to` for each destination workload: the policies that
 * select it at the node agent of its node (L4: no HTTP there), and, when the Service or the
 * pod has a waypoint, the policies attached with targetRefs at the waypoint (with the HTTP
 * attributes given). A DENY anywhere on the path denies; else the last point where an ALLOW
 * rule matched decided; else no policy decided.
 */
export function checkAccess(
  config: MeshConfigView,
  from: ResolvedSource,
  to: ResolvedTarget,
  http: HttpAttributes | undefined,
  engine: PolicyEngine,
  waypointsEnforce: boolean = WAYPOINTS_ENFORCE_AUTHORIZATION,
): CheckResult {
  const notes = [...from.notes, ...to.notes];
  const waypointPolicies = to.waypoint ? targetsPoliciesFor(config.policies, to, engine) : [];
  if (!to.waypoint) {
    const unenforced = targetsPoliciesFor(config.policies, to, engine);
    for (const p of unenforced) notes.push(`policy ${p.key} is attached to ${to.kind === 'Service' ? `Service ${to.namespace}/${to.name}` : 'a waypoint'} with targetRefs, but there is no waypoint on this path: nothing enforces it`);
    if (http) notes.push(`--method/--path/--header: no waypoint on this path, so only the node agent enforces, and it sees no HTTP: an ALLOW rule with an HTTP field is dropped (matches nothing), a DENY rule is enforced without its HTTP fields, so on the whole port (Istio's rules for ztunnel; the reasons below say what each rule became)`);
  } else {
    if (waypointsEnforce) {
      const ws = waypointSource(config, to.waypoint);
      notes.push(
        ws
          ? `the node agent of each endpoint sees the waypoint's identity ${ws.identity} (${ws.pods.join(', ')}) as the source, not ${from.identity}: its policies must allow the waypoint`
          : `no pod of waypoint ${waypointName(to.waypoint)} is known: the node agent's decision is shown for ${from.identity}, but it will see the waypoint's identity as the source`,
      );
    }
    notes.push(
      waypointsEnforce
        ? `traffic goes through waypoint ${waypointName(to.waypoint)}: policies attached with targetRefs are enforced there${http ? ' (with the HTTP attributes given)' : ''}; the node agent of each endpoint enforces the policies that select it, and sees the waypoint's identity as the source of the connections the waypoint makes`
        : `traffic goes through waypoint ${waypointName(to.waypoint)}, which does not enforce authorization policies yet: the policies attached to it with targetRefs are evaluated here${http ? ' (with the HTTP attributes given)' : ''} to show what it would decide, and decide nothing; the node agent of each endpoint enforces the policies that select it`,
    );
    if (http && !waypointsEnforce) notes.push('--method/--path/--header: only the waypoint would see them; the node agent sees no HTTP (an ALLOW rule with an HTTP field is dropped there, a DENY rule is enforced without its HTTP fields)');
  }
  for (const d of to.destinations) {
    if (d.workload.protocol !== 'HBONE') notes.push(`${d.workload.namespace}/${d.workload.name} is not in the mesh (protocol TCP: no node agent captures its traffic), so nothing enforces these policies for it now: the decision is what its node agent would make once it is enrolled`);
  }
  const outcomes = to.destinations.map((d) => outcomeFor(config, from, to, d, http, waypointPolicies, engine, waypointsEnforce));
  const deciding = outcomes.find((o) => o.decision === 'DENY') ?? outcomes[0]!;
  const differ = outcomes.some((o) => signature(o) !== signature(outcomes[0]!));
  const denied = outcomes.filter((o) => o.decision === 'DENY').length;
  const message = differ ? `${deciding.message} (${denied} of ${outcomes.length} endpoints deny: see endpoints)` : deciding.message;
  const wp = waypointName(to.waypoint);
  return {
    decision: deciding.decision,
    reason: deciding.reason,
    policy: deciding.policy,
    rule: deciding.rule,
    enforcedAt: deciding.enforcedAt,
    enforcedBy: deciding.enforcedBy,
    message,
    from: { identity: from.identity, sourceIp: from.ip ?? null, ...(from.ipFrom && { sourceIpFrom: from.ipFrom }), workloads: from.workloads },
    to: {
      kind: to.kind,
      namespace: to.namespace,
      name: to.name,
      port: to.port,
      ...(wp !== undefined && { waypoint: wp }),
      destinations: to.destinations.map((d) => ({ workload: `${d.workload.namespace}/${d.workload.name}`, ip: d.ip, port: d.port, node: d.workload.node })),
    },
    ...(http && { http }),
    ...(deciding.dryRun && { dryRun: deciding.dryRun }),
    audits: deciding.audits,
    considered: deciding.considered,
    enforcement: deciding.enforcement,
    ...(differ && { endpoints: outcomes }),
    notes,
  };
}

function signature(o: EndpointOutcome): string {
  return JSON.stringify([o.decision, o.policy, o.rule, o.enforcedAt, o.dryRun?.decision, o.dryRun?.policy, o.dryRun?.rule, o.considered.map((c) => [c.policy, c.matched, c.rule])]);
}

function outcomeFor(
  config: MeshConfigView,
  from: ResolvedSource,
  to: ResolvedTarget,
  d: Destination,
  http: HttpAttributes | undefined,
  waypointPolicies: Policy[],
  engine: PolicyEngine,
  waypointsEnforce: boolean,
): EndpointOutcome {
  const l4: AuthzRequest = { sourceIdentity: from.identity, ...(from.ip !== undefined && { sourceIp: from.ip }), destinationIp: d.ip, destinationPort: d.port };
  const steps: Array<{ at: EnforcementPoint; where: string; enforced: boolean; result: AuthzResult }> = [];
  let atAgent = l4;
  if (to.waypoint) {
    // The waypoint is addressed as the Service (its VIP and port) or as the pod.
    const svc = to.service;
    const vip = svc?.vips[0];
    const req: AuthzRequest = { ...l4, ...(vip !== undefined && { destinationIp: vip, destinationPort: to.port }), ...(http && { http }) };
    steps.push({ at: 'waypoint', where: `waypoint ${waypointName(to.waypoint)}`, enforced: waypointsEnforce, result: engine.evaluate(waypointPolicies, req, 'waypoint') });
    // An enforcing waypoint opens its own tunnel to the endpoint: the node agent sees the
    // waypoint's identity and address (ztunnel's rule; DESIGN.md, the waypoint).
    const ws = waypointsEnforce ? waypointSource(config, to.waypoint) : undefined;
    if (ws) atAgent = { sourceIdentity: ws.identity, ...(ws.ip !== undefined && { sourceIp: ws.ip }), destinationIp: d.ip, destinationPort: d.port };
  }
  const selecting = engine.policiesFor(config.policies, { namespace: d.workload.namespace, labels: d.workload.labels });
  steps.push({ at: 'node-agent', where: `node agent on ${d.workload.node}`, enforced: true, result: engine.evaluate(selecting, atAgent, 'node-agent') });

  // Only the points that enforce decide; the node agent always does, and is last.
  const deciding = steps.filter((s) => s.enforced);
  const pick = (decisionOf: (r: AuthzResult) => AuthzDecision) => {
    const deny = deciding.find((s) => decisionOf(s.result).decision === 'DENY');
    const allow = [...deciding].reverse().find((s) => decisionOf(s.result).reason === 'allow-matched');
    return deny ?? allow ?? deciding[deciding.length - 1]!;
  };
  const decider = pick((r) => r.enforced);
  const dec = decider.result.enforced;
  const anyDryRun = deciding.some((s) => s.result.dryRun);
  const dryDecider = anyDryRun ? pick((r) => r.dryRun ?? r.enforced) : undefined;
  const dry = dryDecider ? (dryDecider.result.dryRun ?? dryDecider.result.enforced) : undefined;

  const considered: CheckedPolicy[] = [];
  const audits: Array<{ policy: string; rule: number }> = [];
  for (const s of steps) {
    const seen = new Set<string>();
    for (const c of s.result.enforced.considered) {
      seen.add(c.policy);
      considered.push({ ...c, enforcedAt: s.at });
    }
    for (const c of s.result.dryRun?.considered ?? []) if (!seen.has(c.policy)) considered.push({ ...c, enforcedAt: s.at });
    audits.push(...s.result.enforced.audits);
  }
  return {
    workload: `${d.workload.namespace}/${d.workload.name}`,
    ip: d.ip,
    port: d.port,
    node: d.workload.node,
    decision: dec.decision,
    reason: dec.reason,
    policy: dec.policy ?? null,
    rule: dec.rule ?? null,
    enforcedAt: decider.at,
    enforcedBy: decider.where,
    message: dec.message,
    ...(dry && dryDecider && { dryRun: { decision: dry.decision, policy: dry.policy ?? null, rule: dry.rule ?? null, enforcedAt: dryDecider.at, message: dry.message } }),
    audits,
    enforcement: steps.map((s) => ({
      at: s.at,
      enforced: s.enforced,
      where: s.where,
      decision: s.result.enforced.decision,
      reason: s.result.enforced.reason,
      policy: s.result.enforced.policy ?? null,
      rule: s.result.enforced.rule ?? null,
      message: s.result.enforced.message,
      ...(s.result.dryRun && { dryRun: { decision: s.result.dryRun.decision, policy: s.result.dryRun.policy ?? null, rule: s.result.dryRun.rule ?? null, message: s.result.dryRun.message } }),
    })),
    considered,
  };
}

/** The policies attached with targetRefs to the target's Service (in its namespace) or to its
 * waypoint's Gateway (the waypoint Service is named after its Gateway, in the Gateway's
 * namespace), as the engine selects them for a waypoint; each once, by key. */
export function targetsPoliciesFor(policies: readonly Policy[], to: ResolvedTarget, engine: PolicyEngine): Policy[] {
  const gw = to.waypoint ? gatewayOf(to.waypoint.service) : undefined;
  const found = [
    ...(to.kind === 'Service' ? engine.policiesForTargets(policies, { namespace: to.namespace, services: [to.name] }) : []),
    ...(gw ? engine.policiesForTargets(policies, { namespace: gw.namespace, gateway: gw.name }) : []),
  ];
  const byKey = new Map(found.map((p) => [p.key, p]));
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** `shop/waypoint.shop.svc.cluster.local` -> the Gateway `shop/waypoint`. */
function gatewayOf(serviceKey: string): { namespace: string; name: string } | undefined {
  const slash = serviceKey.indexOf('/');
  if (slash < 0) return undefined;
  return { namespace: serviceKey.slice(0, slash), name: serviceKey.slice(slash + 1).split('.')[0]! };
}

/** The answer in the words of the issue: "no policy: allowed by default", "no ALLOW rule
 * matched", or the policy and rule that decided; the engine's fuller message follows. */
export function headline(r: Pick<CheckResult, 'reason' | 'policy' | 'rule' | 'enforcedAt' | 'endpoints' | 'message'>): string {
  const at = r.enforcedAt === 'waypoint' ? ' at the waypoint' : '';
  let h: string;
  switch (r.reason) {
    case 'no-policy':
      h = 'no policy: allowed by default';
      break;
    case 'no-allow-matched':
      h = `no ALLOW rule matched${at}`;
      break;
    case 'deny-matched':
      h = `denied by DENY policy ${r.policy} rule ${r.rule}${at}`;
      break;
    case 'allow-matched':
      h = `allowed by ALLOW policy ${r.policy} rule ${r.rule}${at}`;
      break;
  }
  return r.endpoints ? `${h} (endpoints disagree: see below)` : h;
}
