// The AuthorizationPolicy compiler: an AuthorizationPolicy.ambient.dev/v1 object (Istio's
// security.istio.io/v1 schema, field for field) in, a Policy resource (core/config/model.ts)
// out, or the reason it is refused. Pure: no I/O, no clock.
//
// The object is untrusted input: any field may be missing or of the wrong type (a
// hand-written manifest, a CRD without a strict schema). Every refusal names the field's
// path in the object and the value found (`spec.rules[0].from[0].source.ipBlocks[1]:
// "10.0.0.0/33" is not an IP address or CIDR block`), so that the status condition alone
// tells the author what to fix. The first error found is reported.
//
// What is validated follows Istio's own validation of AuthorizationPolicy
// (pkg/config/validation, "ValidateAuthorizationPolicy"): selector and targetRefs are
// exclusive, `from`/`to` present but empty is refused, a `source`/`operation` with no field
// is refused, a `when` needs `values` or `notValues`, `when` keys are those of the
// "Authorization Policy Conditions" page, IP values are IPs or CIDRs, ports are decimal
// strings 0..65535, empty strings are refused. CUSTOM is refused as unsupported.
//
// Besides the Policy, the compiler says how it is enforced (`Enforcement`): a node agent
// evaluates L4 attributes only, so an ALLOW or AUDIT rule holding an L7 field is dropped
// there (it matches nothing: fail closed) and a DENY rule holding one is applied to the
// whole port (its L7 parts ignored: fail closed), as Istio specifies for ztunnel.
import { canonicalIpOrCidr } from '../ip.js';
import type { Policy, PolicyAction, PolicyCondition, PolicyOperation, PolicyRule, PolicySource, PolicyTargetRef } from '../config/model.js';
import { enforcementOf, type Enforcement } from './enforcement.js';
import { CONDITION_KEYS, CONDITION_KEY_PREFIXES, DRY_RUN_ANNOTATION, isKnownConditionKey } from './types.js';

export interface CompileOptions {
  /** The mesh's root namespace: a policy there applies to every namespace. */
  rootNamespace: string;
}

export type CompileResult =
  | { ok: true; policy: Policy; warnings: string[]; enforcement: Enforcement }
  /** `standIn`: the fail-closed resource to enforce in its place (see failClosedStandIn). */
  | { ok: false; reason: 'Invalid' | 'Unsupported'; message: string; standIn?: Policy };

/** Whether the engine (core/policy/match.ts) matches Istio's path templates (`{*}`, `{**}`):
 * it does (matchPath). Were it false, a path holding one would be refused rather than
 * matched literally. */
export const PATH_TEMPLATES_SUPPORTED = true;

/** The limits the compiler enforces on one object (also in docs/configuration.md). */
export const POLICY_COMPILE_LIMITS = Object.freeze({
  /** Rules in one policy (the CRD's maxItems). */
  maxRules: 512,
  /** Entries in one from/to/when list, and values in one field. */
  maxListItems: 1024,
  /** targetRefs entries (the CRD's maxItems). */
  maxTargetRefs: 16,
  /** Characters of one string value. */
  maxValueChars: 1024,
  /** Characters of a value shown in a message before it is cut. */
  maxShownChars: 120,
});

const ACTIONS = ['ALLOW', 'DENY', 'AUDIT'] as const;
const SPIFFE_PREFIX = 'spiffe://';
const SPIFFE_WARNING = 'principals are written without spiffe:// (cluster.local/ns/x/sa/y); as written it matches no peer';
const WAYPOINT_GROUP = 'gateway.networking.k8s.io';
const DNS1123_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PORT = /^[0-9]{1,5}$/;
/** A label name, or the name part of a label key (Kubernetes' qualified name). */
const LABEL_NAME = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function isLabelKey(k: string): boolean {
  const slash = k.indexOf('/');
  if (slash < 0) return LABEL_NAME.test(k);
  return DNS1123_SUBDOMAIN.test(k.slice(0, slash)) && LABEL_NAME.test(k.slice(slash + 1));
}

class Refused extends Error {
  constructor(
    readonly reason: 'Invalid' | 'Unsupported',
    message: string,
  ) {
    super(message);
  }
}

const invalid = (path: string, what: string): Refused => new Refused('Invalid', `${path}: ${what}`);

/** A value as a message shows it: JSON, cut when long. */
export function show(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  const max = POLICY_COMPILE_LIMITS.maxShownChars;
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function obj(path: string, v: unknown): Obj {
  if (!isObj(v)) throw invalid(path, `${show(v)} is not an object`);
  return v;
}

function list(path: string, v: unknown, max: number = POLICY_COMPILE_LIMITS.maxListItems): unknown[] {
  if (!Array.isArray(v)) throw invalid(path, `${show(v)} is not a list`);
  if (v.length > max) throw invalid(path, `${v.length} entries, more than the limit of ${max}`);
  return v;
}

function nonEmptyString(path: string, v: unknown): string {
  if (typeof v !== 'string') throw invalid(path, `${show(v)} is not a string`);
  if (v === '') throw invalid(path, 'empty string (an empty value matches nothing; remove it)');
  if (v.length > POLICY_COMPILE_LIMITS.maxValueChars) throw invalid(path, `${show(v)} is longer than ${POLICY_COMPILE_LIMITS.maxValueChars} characters`);
  return v;
}

/** An optional list field: undefined when absent (or null, as YAML's `field:` reads). */
function optionalStrings(o: Obj, path: string, field: string, each: (path: string, v: string) => string = (_p, s) => s): string[] | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  return list(`${path}.${field}`, v).map((x, i) => {
    const p = `${path}.${field}[${i}]`;
    return each(p, nonEmptyString(p, x));
  });
}

function ipOrCidr(path: string, s: string): string {
  const c = canonicalIpOrCidr(s);
  if (c === undefined) throw invalid(path, `${show(s)} is not an IP address or CIDR block`);
  return c;
}

function portString(path: string, s: string): number {
  if (!PORT.test(s) || Number(s) > 65535) throw invalid(path, `${show(s)} is not a port (a decimal number 0..65535, written as a string)`);
  return Number(s);
}

/** Ports are decimal strings, as Istio's schema writes them (`ports: ["8080"]`); a number is refused like any other wrong type. */
function optionalPorts(o: Obj, path: string, field: string): number[] | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  return list(`${path}.${field}`, v).map((x, i) => {
    const p = `${path}.${field}[${i}]`;
    if (typeof x !== 'string') throw invalid(p, `${show(x)} is not a port (a decimal number 0..65535, written as a string)`);
    return portString(p, nonEmptyString(p, x));
  });
}

const TEMPLATE_ONE = '{*}';
const TEMPLATE_ANY = '{**}';
/** RFC 3986 pchar*: what a literal segment of a path template may hold (Istio's IsValidLiteral). */
const PATH_LITERAL = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;

/**
 * A `paths`/`notPaths` value. Istio's security.CheckValidPathTemplate: `{` and `}` only in
 * the operators `{*}` (one segment) and `{**}` (the rest), `{**}` last, and in a template
 * every other segment a valid literal. Stricter than Istio in one case: nothing may follow
 * `{**}`, not even a literal segment, because the engine's matcher (core/policy/match.ts)
 * gives such a template no match.
 */
function pathValue(path: string, s: string): string {
  if (!PATH_TEMPLATES_SUPPORTED && (s.includes(TEMPLATE_ONE) || s.includes(TEMPLATE_ANY))) {
    throw new Refused('Unsupported', `${path}: ${show(s)} is a path template ({*}, {**}), which is not supported yet; write a prefix (/api/*) or exact path instead`);
  }
  const template = s.includes(TEMPLATE_ONE) || s.includes(TEMPLATE_ANY);
  const segments = s.split('/');
  let sawAny = false;
  for (const seg of segments) {
    if (sawAny) throw invalid(path, `${show(s)}: {**} must be the last segment of a path template`);
    if (seg === TEMPLATE_ONE) continue;
    if (seg === TEMPLATE_ANY) {
      sawAny = true;
      continue;
    }
    if (seg.includes('{') || seg.includes('}')) throw invalid(path, `${show(s)} holds '{' or '}' outside a whole-segment {*} or {**} operator`);
    if (template && !PATH_LITERAL.test(seg)) throw invalid(path, `${show(s)}: segment ${show(seg)} of a path template is not a valid path literal`);
  }
  if (template && !s.startsWith('/')) throw invalid(path, `${show(s)}: a path template starts with /`);
  return s;
}

function serviceAccountValue(path: string, s: string): string {
  const parts = s.split('/');
  if (parts.length !== 2 || !DNS1123_LABEL.test(parts[0]!) || !DNS1123_SUBDOMAIN.test(parts[1]!)) {
    throw invalid(path, `${show(s)} is not <namespace>/<serviceaccount> (wildcards are not allowed here)`);
  }
  return s;
}

const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
] as const satisfies ReadonlyArray<keyof PolicySource>;
const SOURCE_IP_FIELDS: ReadonlySet<string> = new Set(['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']);
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const satisfies ReadonlyArray<keyof PolicyOperation>;

function unknownFields(path: string, o: Obj, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw invalid(`${path}.${k}`, `unknown field (known: ${known.join(', ')})`);
  }
}

function compileSource(path: string, v: unknown, warnings: string[]): PolicySource {
  const o = obj(path, v);
  unknownFields(path, o, SOURCE_FIELDS);
  const out: PolicySource = {};
  for (const f of SOURCE_FIELDS) {
    const each = SOURCE_IP_FIELDS.has(f) ? ipOrCidr : f === 'serviceAccounts' || f === 'notServiceAccounts' ? serviceAccountValue : undefined;
    const values = optionalStrings(o, path, f, each);
    if (values === undefined) continue;
    if (values.length === 0) continue; // an empty list is an absent field (protobuf)
    out[f] = values;
    if (f === 'principals' || f === 'notPrincipals') {
      const bad = values.find((x) => x.startsWith(SPIFFE_PREFIX));
      if (bad !== undefined) {
        warnings.push(`${path}.${f}: ${show(bad)}: ${SPIFFE_WARNING}`);
      }
    }
  }
  if ((out.serviceAccounts || out.notServiceAccounts) && (out.principals || out.notPrincipals)) {
    throw invalid(path, 'serviceAccounts (or notServiceAccounts) cannot be set with principals (or notPrincipals)');
  }
  if (Object.keys(out).length === 0) throw invalid(path, 'the source sets no field (an empty source is refused, as Istio does; omit `from` to match any source)');
  return out;
}

function compileOperation(path: string, v: unknown): PolicyOperation {
  const o = obj(path, v);
  unknownFields(path, o, OPERATION_FIELDS);
  const out: PolicyOperation = {};
  for (const f of OPERATION_FIELDS) {
    if (f === 'ports' || f === 'notPorts') {
      const ports = optionalPorts(o, path, f);
      if (ports?.length) out[f] = ports;
      continue;
    }
    const values = optionalStrings(o, path, f, f === 'paths' || f === 'notPaths' ? pathValue : undefined);
    if (values?.length) out[f] = values;
  }
  if (Object.keys(out).length === 0) throw invalid(path, 'the operation sets no field (an empty operation is refused, as Istio does; omit `to` to match any operation)');
  return out;
}

const IP_CONDITION_KEYS: ReadonlySet<string> = new Set(['source.ip', 'destination.ip', 'remote.ip']);

function conditionValues(path: string, key: string, values: string[]): string[] {
  if (IP_CONDITION_KEYS.has(key)) return values.map((s, i) => ipOrCidr(`${path}[${i}]`, s));
  if (key === 'destination.port') return values.map((s, i) => String(portString(`${path}[${i}]`, s)));
  return values;
}

function compileCondition(path: string, v: unknown, warnings: string[]): PolicyCondition {
  const o = obj(path, v);
  unknownFields(path, o, ['key', 'values', 'notValues']);
  const key = nonEmptyString(`${path}.key`, o.key);
  if (!isKnownConditionKey(key)) {
    throw invalid(`${path}.key`, `${show(key)} is not a condition key (known: ${[...CONDITION_KEYS, ...CONDITION_KEY_PREFIXES.map((p) => `${p}<name>]`)].join(', ')})`);
  }
  const values = optionalStrings(o, path, 'values');
  const notValues = optionalStrings(o, path, 'notValues');
  if (!values?.length && !notValues?.length) throw invalid(path, `at least one of values or notValues must be set for key ${show(key)}`);
  const c: PolicyCondition = { key };
  if (values?.length) c.values = conditionValues(`${path}.values`, key, values);
  if (notValues?.length) c.notValues = conditionValues(`${path}.notValues`, key, notValues);
  if (key === 'source.principal') {
    for (const f of ['values', 'notValues'] as const) {
      const bad = c[f]?.find((x) => x.startsWith(SPIFFE_PREFIX));
      if (bad !== undefined) warnings.push(`${path}.${f}: ${show(bad)}: ${SPIFFE_WARNING}`);
    }
  }
  return c;
}

/** A `from`/`to`/`when` field: absent (undefined or null) is "any"; present must be a non-empty list. */
function optionalRuleList<T>(o: Obj, path: string, field: string, each: (path: string, v: unknown) => T): T[] {
  const v = o[field];
  if (v === undefined || v === null) return [];
  const items = list(`${path}.${field}`, v);
  if (items.length === 0 && field !== 'when') throw invalid(`${path}.${field}`, `an empty list is refused, as Istio does (omit ${field} to match anything)`);
  return items.map((x, i) => each(`${path}.${field}[${i}]`, x));
}

function compileRule(path: string, v: unknown, warnings: string[]): PolicyRule {
  const o = obj(path, v);
  unknownFields(path, o, ['from', 'to', 'when']);
  const from = optionalRuleList(o, path, 'from', (p, x) => {
    const f = obj(p, x);
    unknownFields(p, f, ['source']);
    if (f.source === undefined || f.source === null) throw invalid(`${p}.source`, 'is missing');
    return compileSource(`${p}.source`, f.source, warnings);
  });
  const to = optionalRuleList(o, path, 'to', (p, x) => {
    const t = obj(p, x);
    unknownFields(p, t, ['operation']);
    if (t.operation === undefined || t.operation === null) throw invalid(`${p}.operation`, 'is missing');
    return compileOperation(`${p}.operation`, t.operation);
  });
  const when = optionalRuleList(o, path, 'when', (p, x) => compileCondition(p, x, warnings));
  return { from, to, when };
}

function compileTargetRef(path: string, v: unknown, namespace: string): PolicyTargetRef {
  const o = obj(path, v);
  unknownFields(path, o, ['group', 'kind', 'name', 'namespace']);
  const kind = o.kind;
  if (kind !== 'Service' && kind !== 'Gateway') throw new Refused('Unsupported', `${path}.kind: ${show(kind)} is not supported (supported: Service, Gateway)`);
  const group = o.group === undefined || o.group === null ? '' : o.group;
  if (typeof group !== 'string') throw invalid(`${path}.group`, `${show(group)} is not a string`);
  const want = kind === 'Service' ? '' : WAYPOINT_GROUP;
  if (group !== want) throw invalid(`${path}.group`, `${show(group)} is not the group of a ${kind} (${show(want)})`);
  if (typeof o.name !== 'string' || !DNS1123_SUBDOMAIN.test(o.name)) throw invalid(`${path}.name`, `${show(o.name)} is not an object name`);
  if (o.namespace !== undefined && o.namespace !== null && o.namespace !== '' && o.namespace !== namespace) {
    throw invalid(`${path}.namespace`, `${show(o.namespace)} is not the policy's own namespace ${show(namespace)} (cross-namespace references are refused, as Istio does)`);
  }
  return { group, kind, name: o.name };
}

/**
 * Compiles one AuthorizationPolicy object. Never throws: a bad object is refused with
 * the path and value of the first field at fault.
 */
export function compileAuthorizationPolicy(object: unknown, opts: CompileOptions): CompileResult {
  try {
    return compile(object, opts);
  } catch (err) {
    const refused = err instanceof Refused ? err : new Refused('Invalid', `the policy could not be read: ${(err as Error)?.message ?? String(err)}`);
    const standIn = failClosedStandIn(object, opts, refused.message);
    return { ok: false, reason: refused.reason, message: refused.message, ...(standIn && { standIn }) };
  }
}

/**
 * What a policy that cannot be compiled is enforced as, when whom it protects can still be
 * read (its namespace, selector or targetRefs): fail closed, as Istio's sidecars treat a DENY
 * rule they cannot build (istio/istio#20442). A DENY policy (or one whose action cannot be
 * read, or CUSTOM: an external check that cannot run) denies everything it selects; an
 * ALLOW policy allows nothing, so only the other ALLOW policies still allow; an AUDIT policy
 * decides nothing and needs no stand-in. Undefined when the target itself cannot be read.
 */
function failClosedStandIn(object: unknown, opts: CompileOptions, why: string): Policy | undefined {
  if (object === null || typeof object !== 'object') return undefined;
  const o = object as Record<string, unknown>;
  const meta = o.metadata;
  const spec = o.spec === undefined || o.spec === null ? {} : o.spec;
  if (meta === null || typeof meta !== 'object' || typeof spec !== 'object' || Array.isArray(spec)) return undefined;
  const m = meta as Record<string, unknown>;
  const sp = spec as Record<string, unknown>;
  if (sp.action === 'AUDIT') return undefined;
  const deny = sp.action !== undefined && sp.action !== null && sp.action !== 'ALLOW';
  const annotations = m.annotations !== null && typeof m.annotations === 'object' ? (m.annotations as Record<string, unknown>) : {};
  const header: Record<string, unknown> = { action: deny ? 'DENY' : 'ALLOW' };
  for (const k of ['selector', 'targetRef', 'targetRefs']) if (sp[k] !== undefined) header[k] = sp[k];
  let r: CompileResult;
  try {
    r = compile(
      {
        metadata: { name: m.name, namespace: m.namespace, ...(annotations[DRY_RUN_ANNOTATION] === 'true' && { annotations: { [DRY_RUN_ANNOTATION]: 'true' } }) },
        spec: header,
      },
      opts,
    );
  } catch {
    return undefined;
  }
  if (!r.ok) return undefined;
  return { ...r.policy, rejected: why, rules: deny ? [{ from: [], to: [], when: [] }] : [] };
}

function compile(object: unknown, opts: CompileOptions): CompileResult {
  const o = obj('object', object);
  const meta = obj('metadata', o.metadata);
  if (typeof meta.name !== 'string' || !DNS1123_SUBDOMAIN.test(meta.name)) throw invalid('metadata.name', `${show(meta.name)} is not an object name`);
  if (typeof meta.namespace !== 'string' || !DNS1123_LABEL.test(meta.namespace)) throw invalid('metadata.namespace', `${show(meta.namespace)} is not a namespace name`);
  const name = meta.name;
  const namespace = meta.namespace;

  let dryRun = false;
  if (meta.annotations !== undefined && meta.annotations !== null) {
    const annotations = obj('metadata.annotations', meta.annotations);
    const dr = annotations[DRY_RUN_ANNOTATION];
    if (dr !== undefined) {
      if (dr === 'true') dryRun = true;
      else if (dr !== 'false') throw invalid(`metadata.annotations[${show(DRY_RUN_ANNOTATION)}]`, `${show(dr)} is not "true" or "false"`);
    }
  }

  const spec = o.spec === undefined || o.spec === null ? {} : obj('spec', o.spec);
  unknownFields('spec', spec, ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules']);

  const actionValue = spec.action === undefined || spec.action === null ? 'ALLOW' : spec.action;
  if (actionValue === 'CUSTOM') {
    throw new Refused('Unsupported', 'spec.action: CUSTOM is not supported: this mesh has no external authorization providers; use ALLOW, DENY or AUDIT');
  }
  if (typeof actionValue !== 'string' || !(ACTIONS as readonly string[]).includes(actionValue)) {
    throw invalid('spec.action', `${show(actionValue)} is not one of ${ACTIONS.join(', ')}`);
  }
  const action = actionValue as PolicyAction;
  if (spec.provider !== undefined && spec.provider !== null) throw invalid('spec.provider', `is set only with action CUSTOM, and the action is ${action}`);

  let selector: Record<string, string> | undefined;
  if (spec.selector !== undefined && spec.selector !== null) {
    const s = obj('spec.selector', spec.selector);
    unknownFields('spec.selector', s, ['matchLabels']);
    if (s.matchLabels !== undefined && s.matchLabels !== null) {
      const ml = obj('spec.selector.matchLabels', s.matchLabels);
      const entries = Object.entries(ml).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [k, val] of entries) {
        const p = `spec.selector.matchLabels[${show(k)}]`;
        if (!isLabelKey(k)) throw invalid('spec.selector.matchLabels', `${show(k)} is not a label name`);
        if (typeof val !== 'string') throw invalid(p, `${show(val)} is not a string`);
        if (val.includes('*')) throw invalid(p, `${show(val)}: wildcards are not allowed in label values (Istio refuses them too)`);
        if (val !== '' && !LABEL_NAME.test(val)) throw invalid(p, `${show(val)} is not a label value (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)`);
      }
      if (entries.length > 0) selector = Object.fromEntries(entries) as Record<string, string>;
    }
  }

  let targetRefs: PolicyTargetRef[] | undefined;
  const hasRefs = spec.targetRefs !== undefined && spec.targetRefs !== null && !(Array.isArray(spec.targetRefs) && spec.targetRefs.length === 0);
  const hasRef = spec.targetRef !== undefined && spec.targetRef !== null;
  if (hasRefs && hasRef) throw invalid('spec.targetRef', 'is set together with spec.targetRefs: set only targetRefs (targetRef is deprecated)');
  if (hasRefs) {
    targetRefs = list('spec.targetRefs', spec.targetRefs, POLICY_COMPILE_LIMITS.maxTargetRefs).map((x, i) => compileTargetRef(`spec.targetRefs[${i}]`, x, namespace));
  } else if (hasRef) {
    targetRefs = [compileTargetRef('spec.targetRef', spec.targetRef, namespace)];
  }
  if (targetRefs && spec.selector !== undefined && spec.selector !== null) {
    throw invalid('spec.selector', `is set together with ${hasRef ? 'spec.targetRef' : 'spec.targetRefs'}: a policy selects workloads or attaches to targets, not both (Istio refuses it too)`);
  }

  const warnings: string[] = [];
  const rules =
    spec.rules === undefined || spec.rules === null
      ? []
      : list('spec.rules', spec.rules, POLICY_COMPILE_LIMITS.maxRules).map((x, i) => compileRule(`spec.rules[${i}]`, x, warnings));

  const policy: Policy = {
    key: `${namespace}/${name}`,
    name,
    namespace,
    scope: targetRefs ? 'targets' : namespace === opts.rootNamespace ? 'global' : 'namespace',
    action,
    rules,
  };
  if (selector) policy.selector = selector;
  if (targetRefs) policy.targetRefs = targetRefs;
  if (dryRun) policy.dryRun = true;
  if (action === 'DENY' && rules.length === 0) warnings.push('a DENY policy with no rules matches nothing: it denies nothing');
  if (action === 'AUDIT' && rules.length === 0) warnings.push('an AUDIT policy with no rules matches nothing: it records nothing');
  return { ok: true, policy, warnings, enforcement: enforcementOf(policy) };
}
