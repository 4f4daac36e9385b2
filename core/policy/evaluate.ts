// The authorization decision: Istio's AuthorizationPolicy semantics over compiled policies
// (core/config/model.ts Policy), for a node agent (L4) or a waypoint (L7). Pure: data in,
// data out, no I/O, never throws on any policy or request.
//
// Precedence (https://istio.io/latest/docs/concepts/security/#authorization-policy-precedence,
// and the "Authorization Policy" reference,
// https://istio.io/latest/docs/reference/config/security/authorization-policy/):
//   1. any DENY policy that matches the request -> DENY;
//   2. no ALLOW policy applies to the workload -> ALLOW;
//   3. any ALLOW policy matches -> ALLOW;
//   4. otherwise -> DENY.
// (CUSTOM is refused at compilation.) AUDIT policies never change the decision; the ones
// whose rule matches are listed in `audits`.
//
// Matching (same pages): a policy matches when ANY of its rules matches; a policy without
// rules matches nothing (so an ALLOW policy without rules denies everything, a DENY policy
// without rules never denies); `rules: [{}]` matches everything. A rule matches when its
// `from` matches (ANY source; an absent/empty list matches), its `to` matches (ANY
// operation; absent/empty matches) and EVERY `when` condition holds. Within a source or
// operation every field present must match; a positive field matches when ANY of its values
// matches, a `not` field matches when NONE does. A `when` condition holds when its `values`
// (if any) match and its `notValues` (if any) do not.
//
// Attributes: principals compare against the peer identity without `spiffe://`
// (`cluster.local/ns/a/sa/b`), as Istio and ztunnel do (src/rbac.rs matches_principal);
// namespaces against the identity's namespace; serviceAccounts against `<ns>/<sa>` (a bare
// `<sa>` means the policy's own namespace, as istiod's stringToServiceAccountMatch). A
// connection without identity (plaintext) matches no positive identity field, so
// `principals: ["*"]` does not match it and `notPrincipals: ["*"]` does: Istio's documented
// way to deny plaintext. ipBlocks/source.ip use the TCP peer's address, ports and
// destination.port the destination (target) port, destination.ip its address. L7 fields
// (hosts, methods, paths, requestPrincipals, remoteIpBlocks, request.*, connection.sni)
// use `req.http`/`req.sni` (request.auth.* and requestPrincipals: `req.http.auth`, the JWT the
// waypoint validated; a claim is a string or a list of strings, nested with `[a][b]`);
// a missing attribute matches no positive value (and so every
// `not` value).
//
// At the node agent each rule is first projected (l4.ts, ztunnel's rules for L7 fields).
// Dry run: a policy with dryRun is evaluated and listed, but only `dryRun` (the decision
// with it enforced) counts it.
import type { Policy, PolicyCondition, PolicyOperation, PolicyRule, PolicySource } from '../config/model.js';
import { projectForNodeAgent } from './l4.js';
import { ipInBlock, matchHost, matchPath, matchString } from './match.js';
import { SPACE_DELIMITED_CLAIMS, type AuthzDecision, type AuthzRequest, type AuthzResult, type ConsideredPolicy, type DecisionReason, type EnforcementPoint } from './types.js';

/** Bounds on explanations, so that one policy with huge lists cannot make a decision's
 * record (access log, `authz check`) unbounded. */
export const EXPLAIN_LIMITS = {
  /** Reasons kept per considered policy (then "... and N more"). */
  maxReasonsPerPolicy: 16,
  /** Values of a field quoted in one reason (then "... and N more"). */
  maxQuotedValues: 5,
  /** Characters of one quoted value. */
  maxValueChars: 120,
  /** Characters of one reason. */
  maxReasonChars: 600,
  /** Policies named in a decision's message. */
  maxPoliciesInMessage: 5,
} as const;

const ACTION_ORDER = { DENY: 0, ALLOW: 1, AUDIT: 2 } as const;

export interface EvaluateOptions {
  /** Build the human reasons of every considered policy (default true: `authz check`,
   * tests). False: the decision only (decision, reason code, message, policy, rule,
   * audits, matched flags) with empty `reasons`, for the per-connection path. */
  explain?: boolean;
}

/** Whether the evaluation running now builds explanations. Evaluation is synchronous and
 * never re-entered, so evaluate() sets it for its own duration. */
let explaining = true;
/** The reason of a miss when none is built (any non-undefined value means "no match"). */
const MISS = '';

/** What the request looks like to the matchers. */
interface Attrs {
  req: AuthzRequest;
  /** Identity without `spiffe://`; undefined for plaintext or a non-SPIFFE identity. */
  principal?: string;
  namespace?: string;
  serviceAccount?: string;
  at: EnforcementPoint;
}

function attrsOf(req: AuthzRequest, at: EnforcementPoint): Attrs {
  const a: Attrs = { req, at };
  const id = req.sourceIdentity;
  if (typeof id === 'string' && id.startsWith('spiffe://')) {
    a.principal = id.slice('spiffe://'.length);
    const m = /\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(a.principal);
    if (m) {
      a.namespace = m[1];
      a.serviceAccount = m[2];
    }
  }
  return a;
}

function quote(v: unknown): string {
  if (Array.isArray(v)) return quoteList(v);
  let s = typeof v === 'string' ? v : String(v);
  if (s.length > EXPLAIN_LIMITS.maxValueChars) s = `${s.slice(0, EXPLAIN_LIMITS.maxValueChars)}...`;
  return JSON.stringify(s);
}

function quoteList(values: readonly unknown[]): string {
  const shown = values.slice(0, EXPLAIN_LIMITS.maxQuotedValues).map(quote);
  const more = values.length - shown.length;
  return `[${shown.join(', ')}${more > 0 ? `, ... and ${more} more` : ''}]`;
}

function bounded(s: string): string {
  return s.length > EXPLAIN_LIMITS.maxReasonChars ? `${s.slice(0, EXPLAIN_LIMITS.maxReasonChars)}...` : s;
}

/** One attribute's value for matching, or why there is none. */
type Value<T> = { value: T } | { missing: string };

/** Result of matching a field or an entry: undefined when it matches, else the reason it does not. */
type Miss = string | undefined;

/**
 * A positive/negative field pair (`principals`/`notPrincipals`, `values`/`notValues`): the
 * positive list, when present, needs one matching value; the negative, when present, none.
 */
function pair<T>(
  path: string,
  posName: string,
  negName: string,
  pos: readonly string[] | readonly number[] | undefined,
  neg: readonly string[] | readonly number[] | undefined,
  val: Value<T>,
  matches: (pattern: string | number, v: T) => boolean,
): Miss {
  const hasPos = Array.isArray(pos) && pos.length > 0;
  const hasNeg = Array.isArray(neg) && neg.length > 0;
  if (hasPos) {
    if ('missing' in val) return explaining ? `${path}${posName}: ${val.missing}, which matches none of ${quoteList(pos!)}` : MISS;
    if (!(pos as readonly (string | number)[]).some((p) => safe(() => matches(p, val.value))))
      return explaining ? `${path}${posName}: ${quote(val.value)} is not one of ${quoteList(pos!)}` : MISS;
  }
  if (hasNeg && !('missing' in val)) {
    const hit = (neg as readonly (string | number)[]).find((p) => safe(() => matches(p, val.value)));
    if (hit !== undefined) return explaining ? `${path}${negName}: ${quote(val.value)} matches ${quote(hit)}` : MISS;
  }
  return undefined;
}

function safe(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}

const str = (p: string | number, v: string): boolean => typeof p === 'string' && matchString(p, v);
const ip = (p: string | number, v: string): boolean => typeof p === 'string' && ipInBlock(v, p);
const port = (p: string | number, v: number): boolean => Number(p) === v && String(p).trim() !== '';

function sourceIpValue(a: Attrs): Value<string> {
  return a.req.sourceIp ? { value: a.req.sourceIp } : { missing: 'the source address is not known' };
}

function principalValue(a: Attrs): Value<string> {
  if (a.principal !== undefined) return { value: a.principal };
  if (!explaining) return { missing: MISS };
  return a.req.sourceIdentity === undefined
    ? { missing: 'the connection has no peer identity (plaintext)' }
    : { missing: `the peer identity ${quote(a.req.sourceIdentity)} is not a SPIFFE identity` };
}

function namespaceValue(a: Attrs): Value<string> {
  if (a.namespace !== undefined) return { value: a.namespace };
  if (!explaining) return { missing: MISS };
  return { missing: a.req.sourceIdentity === undefined ? 'the connection has no peer identity (plaintext)' : `the peer identity ${quote(a.req.sourceIdentity)} names no namespace` };
}

function noHttp(a: Attrs, what: string): string {
  if (!explaining) return MISS;
  return a.req.http ? `the request has no ${what}` : `there is no HTTP request at ${a.at === 'node-agent' ? 'the node agent (L4)' : 'this point (plain TCP)'}, so no ${what}`;
}

function remoteIpValue(a: Attrs): Value<string> {
  const h = a.req.http;
  if (!h) return { missing: noHttp(a, 'remote address') };
  // Envoy's remote address is the original client from X-Forwarded-For / PROXY protocol
  // when there is one, else the direct peer.
  const v = h.remoteIp ?? a.req.sourceIp;
  return v ? { value: v } : { missing: 'the remote address is not known' };
}

function httpValue(a: Attrs, v: string | undefined, what: string): Value<string> {
  return v === undefined || v === '' ? { missing: noHttp(a, what) } : { value: v };
}

/** `<iss>/<sub>` of the request's validated JWT (requestPrincipals, request.auth.principal). */
function requestPrincipalValue(a: Attrs): Value<string> {
  const h = a.req.http;
  return httpValue(a, h?.auth?.principal ?? h?.requestPrincipal, 'request principal (validated JWT)');
}

function noJwt(a: Attrs): string {
  return a.req.http ? (explaining ? 'the request has no validated JWT' : MISS) : noHttp(a, 'validated JWT');
}

/** A list attribute matches a value when any of its elements does (Istio: "the audiences",
 * a claim holding a list of strings). */
const anyStr = (p: string | number, vs: readonly string[]): boolean => vs.some((v) => str(p, v));

function audiencesValue(a: Attrs): Value<readonly string[]> {
  const auth = a.req.http?.auth;
  if (!auth) return { missing: noJwt(a) };
  const list = Array.isArray(auth.audiences) ? auth.audiences.filter((x) => typeof x === 'string' && x !== '') : [];
  return list.length ? { value: list } : { missing: explaining ? 'the JWT has no audience (aud)' : MISS };
}

/** The names of `request.auth.claims[a][b]` (Istio's syntax for nested claims); undefined
 * when the key is not of that form. */
export function claimPath(key: string): string[] | undefined {
  const m = /^request\.auth\.claims((?:\[[^\[\]]+\])+)$/.exec(key);
  if (!m) return undefined;
  return [...m[1]!.matchAll(/\[([^\[\]]+)\]/g)].map((x) => x[1]!);
}

/**
 * A claim's value for matching, as Istio documents it ("The claim value is expected to be a
 * string or a list of strings"): a string is a list of one, the string elements of a list
 * are the list; a top-level `scope` or `permission` string is split on spaces
 * (SPACE_DELIMITED_CLAIMS). A number, boolean, object or a missing claim matches no value.
 */
function claimValue(a: Attrs, names: readonly string[]): Value<readonly string[]> {
  const auth = a.req.http?.auth;
  if (!auth) return { missing: noJwt(a) };
  let cur: unknown = auth.claims;
  for (const n of names) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, n)) {
      return { missing: explaining ? `the JWT has no claim ${names.map((x) => `[${x}]`).join('')}` : MISS };
    }
    cur = (cur as Record<string, unknown>)[n];
  }
  let list: string[] = [];
  if (typeof cur === 'string') {
    list = names.length === 1 && (SPACE_DELIMITED_CLAIMS as readonly string[]).includes(names[0]!) ? cur.split(' ').filter((x) => x !== '') : [cur];
  } else if (Array.isArray(cur)) list = cur.filter((x): x is string => typeof x === 'string');
  list = list.filter((x) => x !== '');
  if (list.length === 0) return { missing: explaining ? `the JWT's claim ${names.map((x) => `[${x}]`).join('')} is not a non-empty string or list of strings` : MISS };
  return { value: list };
}

function matchSource(path: string, s: PolicySource, a: Attrs, policyNs: string): Miss {
  const p = `${path}.source.`;
  const pv = principalValue(a);
  const sa: Value<string> =
    a.namespace !== undefined && a.serviceAccount !== undefined
      ? { value: `${a.namespace}/${a.serviceAccount}` }
      : 'missing' in pv
        ? pv
        : { missing: explaining ? `the peer identity ${quote(a.req.sourceIdentity)} names no service account` : MISS };
  const saMatch = (pat: string | number, v: string): boolean => typeof pat === 'string' && (pat.includes('/') ? pat : `${policyNs}/${pat}`) === v;
  return (
    pair(p, 'principals', 'notPrincipals', s.principals, s.notPrincipals, pv, str) ??
    pair(p, 'namespaces', 'notNamespaces', s.namespaces, s.notNamespaces, namespaceValue(a), str) ??
    pair(p, 'serviceAccounts', 'notServiceAccounts', s.serviceAccounts, s.notServiceAccounts, sa, saMatch) ??
    pair(p, 'ipBlocks', 'notIpBlocks', s.ipBlocks, s.notIpBlocks, sourceIpValue(a), ip) ??
    pair(p, 'remoteIpBlocks', 'notRemoteIpBlocks', s.remoteIpBlocks, s.notRemoteIpBlocks, remoteIpValue(a), ip) ??
    pair(p, 'requestPrincipals', 'notRequestPrincipals', s.requestPrincipals, s.notRequestPrincipals, requestPrincipalValue(a), str)
  );
}

function matchOperation(path: string, o: PolicyOperation, a: Attrs): Miss {
  const p = `${path}.operation.`;
  const h = a.req.http;
  return (
    pair(p, 'ports', 'notPorts', o.ports, o.notPorts, { value: a.req.destinationPort }, port) ??
    pair(p, 'hosts', 'notHosts', o.hosts, o.notHosts, httpValue(a, h?.host, 'host'), (pat, v) => typeof pat === 'string' && matchHost(pat, v)) ??
    pair(p, 'methods', 'notMethods', o.methods, o.notMethods, httpValue(a, h?.method, 'method'), str) ??
    pair(p, 'paths', 'notPaths', o.paths, o.notPaths, httpValue(a, h?.path, 'path'), (pat, v) => typeof pat === 'string' && matchPath(pat, v))
  );
}

function matchCondition(path: string, c: PolicyCondition, a: Attrs): Miss {
  const key = c.key;
  const p = `${path}(${key}) `;
  const run = <T>(val: Value<T>, m: (pat: string | number, v: T) => boolean): Miss => pair(p, 'values', 'notValues', c.values, c.notValues, val, m);
  const h = a.req.http;
  switch (key) {
    case 'source.ip':
      return run(sourceIpValue(a), ip);
    case 'remote.ip':
      return run(remoteIpValue(a), ip);
    case 'source.namespace':
      return run(namespaceValue(a), str);
    case 'source.principal':
      return run(principalValue(a), str);
    case 'destination.ip':
      return run({ value: a.req.destinationIp }, ip);
    case 'destination.port':
      return run({ value: a.req.destinationPort }, port);
    case 'connection.sni':
      return run(a.req.sni ? { value: a.req.sni } : { missing: 'the connection has no SNI' }, str);
    case 'request.auth.principal':
      return run(requestPrincipalValue(a), str);
    case 'request.auth.audiences':
      return run(audiencesValue(a), anyStr);
    case 'request.auth.presenter': {
      const auth = h?.auth;
      if (!auth) return run({ missing: noJwt(a) }, str);
      return run(auth.presenter ? { value: auth.presenter } : { missing: explaining ? 'the JWT has no presenter (azp)' : MISS }, str);
    }
  }
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) {
    const name = header[1]!.toLowerCase();
    const hv = h?.headers && Object.hasOwn(h.headers, name) ? h.headers[name] : undefined;
    return run(hv === undefined ? { missing: noHttp(a, `header ${quote(name)}`) } : { value: hv }, str);
  }
  const claim = claimPath(key);
  if (claim) return run(claimValue(a, claim), anyStr);
  // An unknown key never holds (the compiler refuses it; fail closed if one slips through).
  if (!explaining) return MISS;
  return `${path}: the key ${quote(key)} is not known, so the condition never holds`;
}

/** What a rule matched on (`hit`, relative to the rule) or why it does not match (`miss`,
 * with the full path). `path` is `rules[<i>]`. */
function matchRule(path: string, rule: PolicyRule, a: Attrs, policyNs: string): { miss: string } | { hit: string[] } {
  const hit: string[] = [];
  const from = rule.from ?? [];
  if (from.length > 0) {
    const misses: string[] = [];
    for (let i = 0; i < from.length; i++) {
      const s = from[i] ?? {};
      const ep = `${path}.from[${i}]`;
      const miss = isEmpty(s) ? (explaining ? `${ep}.source: has no field to match (an empty source matches nothing)` : MISS) : matchSource(ep, s, a, policyNs);
      if (miss === undefined) {
        hit.push(explaining ? `from[${i}].source (${presentFields(s)})` : MISS);
        break;
      }
      misses.push(miss);
    }
    if (hit.length === 0) return { miss: joinMisses(misses) };
  } else hit.push('any source');
  const to = rule.to ?? [];
  if (to.length > 0) {
    const misses: string[] = [];
    let ok = false;
    for (let i = 0; i < to.length; i++) {
      const o = to[i] ?? {};
      const ep = `${path}.to[${i}]`;
      const miss = isEmpty(o) ? (explaining ? `${ep}.operation: has no field to match (an empty operation matches nothing)` : MISS) : matchOperation(ep, o, a);
      if (miss === undefined) {
        hit.push(explaining ? `to[${i}].operation (${presentFields(o)})` : MISS);
        ok = true;
        break;
      }
      misses.push(miss);
    }
    if (!ok) return { miss: joinMisses(misses) };
  } else hit.push('any operation');
  const when = rule.when ?? [];
  for (let i = 0; i < when.length; i++) {
    const c = when[i]!;
    const cp = `${path}.when[${i}]`;
    if (!(c.values?.length || c.notValues?.length)) return { miss: explaining ? `${cp}(${c.key}): has no values to match (the condition never holds)` : MISS };
    const miss = matchCondition(cp, c, a);
    if (miss !== undefined) return { miss };
    if (explaining) hit.push(`when[${i}] (${c.key})`);
  }
  return { hit };
}

function presentFields(o: object): string {
  return Object.entries(o)
    .filter(([, v]) => Array.isArray(v) && v.length > 0)
    .map(([k]) => k)
    .join(', ');
}

function isEmpty(o: object): boolean {
  return Object.values(o).every((v) => !(Array.isArray(v) && v.length > 0));
}

function joinMisses(misses: string[]): string {
  const shown = misses.slice(0, 3);
  const more = misses.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; ... and ${more} more` : '');
}

/** How one policy fares, with the projection applied at the node agent. */
function considerPolicy(policy: Policy, a: Attrs): ConsideredPolicy {
  const reasons: string[] = [];
  const out: ConsideredPolicy = { policy: policy.key, action: policy.action, dryRun: policy.dryRun === true, matched: false, reasons };
  const rules = Array.isArray(policy.rules) ? policy.rules : [];
  if (!explaining) return considerQuietly(out, policy, rules, a);
  if (policy.rejected !== undefined) {
    // A fail-closed stand-in for an object the controller could not compile (compile.ts).
    reasons.push(bounded(`was rejected (${policy.rejected}): enforced fail-closed as ${policy.action === 'DENY' ? 'DENY everything it selects' : 'ALLOW nothing'} until it is fixed`));
  }
  if (rules.length === 0) {
    reasons.push(
      policy.action === 'ALLOW'
        ? 'has no rules: an ALLOW policy without rules matches nothing (it denies every request not allowed by another policy)'
        : `has no rules: a${policy.action === 'AUDIT' ? 'n AUDIT' : ' DENY'} policy without rules matches nothing`,
    );
    return out;
  }
  for (let i = 0; i < rules.length; i++) {
    const path = `rules[${i}]`;
    let rule: PolicyRule | undefined = rules[i];
    if (!rule || typeof rule !== 'object') {
      reasons.push(`${path}: is not a rule and matches nothing`);
      continue;
    }
    if (a.at === 'node-agent') {
      const projected = projectForNodeAgent(rule, policy.action);
      for (const n of projected.notes) reasons.push(`${path} ${n}`);
      rule = projected.rule;
      if (!rule) continue;
    }
    const m = matchRule(path, rule, a, policy.namespace);
    if ('hit' in m) {
      out.matched = true;
      out.rule = i;
      reasons.push(`${path} matched${describeMatch(rule, m.hit)}`);
      break;
    }
    reasons.push(m.miss);
  }
  // Bound the record: keep the first reasons and the one saying which rule matched.
  const capped = reasons.map(bounded);
  if (capped.length > EXPLAIN_LIMITS.maxReasonsPerPolicy) {
    const keep = capped.slice(0, EXPLAIN_LIMITS.maxReasonsPerPolicy - 1);
    const last = out.matched ? capped[capped.length - 1]! : undefined;
    const dropped = capped.length - keep.length - (last ? 1 : 0);
    keep.push(`... and ${dropped} more`);
    if (last) keep.push(last);
    out.reasons = keep;
  } else out.reasons = capped;
  return out;
}

/** considerPolicy without explanations: which rule matches, nothing else. */
function considerQuietly(out: ConsideredPolicy, policy: Policy, rules: readonly PolicyRule[], a: Attrs): ConsideredPolicy {
  for (let i = 0; i < rules.length; i++) {
    let rule: PolicyRule | undefined = rules[i];
    if (!rule || typeof rule !== 'object') continue;
    if (a.at === 'node-agent') {
      rule = projectForNodeAgent(rule, policy.action).rule;
      if (!rule) continue;
    }
    if ('hit' in matchRule('', rule, a, policy.namespace)) {
      out.matched = true;
      out.rule = i;
      break;
    }
  }
  return out;
}

/** ` on from[0].source (principals), to[1].operation (ports)`, or why an empty rule matched. */
function describeMatch(rule: PolicyRule, hit: string[]): string {
  if (!rule.from?.length && !rule.to?.length && !rule.when?.length) return ' (an empty rule matches every request)';
  return `: ${hit.join(', ')}`;
}

function listPolicies(keys: string[]): string {
  const shown = keys.slice(0, EXPLAIN_LIMITS.maxPoliciesInMessage);
  const more = keys.length - shown.length;
  return shown.join(', ') + (more > 0 ? `, ... and ${more} more` : '');
}

/** The decision over `considered`, counting the dry-run ones only when `withDryRun`. */
function decide(considered: readonly ConsideredPolicy[], withDryRun: boolean): AuthzDecision {
  const active = considered.filter((c) => withDryRun || !c.dryRun);
  const audits = active.filter((c) => c.action === 'AUDIT' && c.matched).map((c) => ({ policy: c.policy, rule: c.rule! }));
  const base = { audits, considered: [...considered] };
  const make = (decision: 'ALLOW' | 'DENY', reason: DecisionReason, message: string, by?: ConsideredPolicy): AuthzDecision => {
    const d: AuthzDecision = { decision, reason, message, ...base };
    if (by) {
      d.policy = by.policy;
      d.rule = by.rule;
    }
    return d;
  };
  const deny = active.find((c) => c.action === 'DENY' && c.matched);
  if (deny) return make('DENY', 'deny-matched', `denied by DENY policy ${deny.policy} rules[${deny.rule}]${deny.dryRun ? ' (dry run)' : ''}`, deny);
  const allows = active.filter((c) => c.action === 'ALLOW');
  if (allows.length === 0) {
    const others = active.map((c) => c.policy);
    const dryOnly = considered.filter((c) => c.dryRun && !withDryRun).map((c) => c.policy);
    let message: string;
    if (others.length === 0) message = 'no policy applies: allowed by default';
    else message = `no ALLOW policy applies and no DENY policy matched: allowed by default (considered: ${listPolicies(others)})`;
    if (dryOnly.length > 0 && others.length === 0) message = `no enforced policy applies: allowed by default (dry-run policies not enforced: ${listPolicies(dryOnly)})`;
    return make('ALLOW', 'no-policy', message);
  }
  const allow = allows.find((c) => c.matched);
  if (allow) return make('ALLOW', 'allow-matched', `allowed by ALLOW policy ${allow.policy} rules[${allow.rule}]${allow.dryRun ? ' (dry run)' : ''}`, allow);
  return make('DENY', 'no-allow-matched', `no ALLOW rule matched (considered: ${listPolicies(allows.map((c) => c.policy))})`);
}

function comparePolicies(a: Policy, b: Policy): number {
  const k = (ACTION_ORDER[a.action] ?? 3) - (ACTION_ORDER[b.action] ?? 3);
  if (k !== 0) return k;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The decision for `req` under `policies` (those that apply to the destination, already
 * selected: select.ts), at enforcement point `at`. See the header for the semantics.
 */
export function evaluate(policies: readonly Policy[], req: AuthzRequest, at: EnforcementPoint, opts: EvaluateOptions = {}): AuthzResult {
  if (policies.length === 0) {
    // The common case at a node agent: nothing selects the workload.
    return { enforced: { decision: 'ALLOW', reason: 'no-policy', message: 'no policy applies: allowed by default', audits: [], considered: [] } };
  }
  const a = attrsOf(req, at);
  const sorted = [...policies].filter((p) => p && typeof p === 'object').sort(comparePolicies);
  const was = explaining;
  explaining = opts.explain !== false;
  try {
    const considered = sorted.map((p) => considerPolicy(p, a));
    const result: AuthzResult = { enforced: decide(considered, false) };
    if (considered.some((c) => c.dryRun)) result.dryRun = decide(considered, true);
    return result;
  } finally {
    explaining = was;
  }
}
