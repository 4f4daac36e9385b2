// TrafficPolicy.ambient.dev/v1 -> the compiled TrafficPolicy (./traffic-policy.ts). Pure:
// the object in, the compiled policy (every default filled in, every duration in ms) or the
// first fault out, naming the field path and the value:
//   spec.outlierDetection.interval: "10x" is not a duration such as "250ms" or "30s"
//
// Two steps, because one needs the cluster:
//   - compileTrafficPolicy(object): the object alone. Its targetRefs come out as written
//     (Service names and sectionNames), everything else compiled;
//   - resolveTrafficPolicyTargets(refs, lookup): each targetRef to the Service's resource
//     key and, with sectionName, the number of the Service port of that name (a name that
//     matches no port is a fault; a Service that does not exist is reported apart, as
//     Gateway API's TargetNotFound).
// Conflicts between policies (two on the same Service port) are decided by the
// translation (controller/translate/traffic-policies.ts), which sees them all.
//
// Defaults are Istio's DestinationRule's and Envoy's (docs/traffic-management.md,
// "TrafficPolicy"), each a named constant in TRAFFIC_POLICY_DEFAULTS.
import { absent, DNS1123_SUBDOMAIN, fault, FieldFault, fieldReader, type Obj } from './object-fields.js';
import type {
  ConnectionPool,
  GlobalRateLimit,
  HashKey,
  LbAlgorithm,
  LoadBalancer,
  LocalRateLimit,
  OutlierDetection,
  RateLimitKeyPart,
  RateLimits,
  Retries,
  RetryCondition,
  Timeouts,
  TrafficPolicy,
  TrafficPolicyTarget,
} from './traffic-policy.js';

/** Bounds the compiler enforces on one object (docs/configuration.md). */
export const TRAFFIC_POLICY_LIMITS = Object.freeze({
  /** `targetRefs` entries (Gateway API policy attachment's maximum). */
  maxTargetRefs: 16,
  /** `retries.retryOn` entries (each condition at most once). */
  maxRetryOn: 16,
  /** `retries.retriableStatusCodes` entries (and an HTTPRoute's `retry.codes`). */
  maxStatusCodes: 32,
  /** `retries.attempts`: retries after the first try. */
  maxRetryAttempts: 10,
  /** `rateLimits.global.key` parts. */
  maxKeyParts: 8,
  /** Any count (connections, requests, errors, hosts): Istio's 2^32-1. */
  maxCount: 4_294_967_295,
  /** Longest duration of any field. */
  maxDurationMs: 24 * 3_600_000,
  /** `rateLimits.local.per`: Envoy's shortest token bucket fill interval. */
  minLocalPerMs: 50,
  /** `rateLimits.global.per`: a window shared through Redis. */
  minGlobalPerMs: 1_000,
  /** `loadBalancer.consistentHash.cookie.ttl`. */
  maxCookieTtlMs: 365 * 24 * 3_600_000,
  /** Characters of one string value (names, header names, cookie names). */
  maxValueChars: 253,
  /** Characters of a value quoted in a message. */
  maxShownChars: 120,
  /** Entries of any other list. */
  maxListItems: 16,
});

/** Defaults, as Istio's DestinationRule and Envoy have them (docs/traffic-management.md). */
export const TRAFFIC_POLICY_DEFAULTS = Object.freeze({
  /** No loadBalancer (or no algorithm): ROUND_ROBIN, as Envoy and a waypoint without a policy balance. */
  algorithm: 'ROUND_ROBIN' as LbAlgorithm,
  localityPreference: true,
  /** Envoy's ring_hash minimum_ring_size. */
  ringSize: 1024,
  /** Envoy's maglev table_size (a prime). */
  maglevTableSize: 65537,
  /** Cookie path when the object names none. */
  cookiePath: '/',
  /** connectionPool.maxRequestsPerConnection: 0 = unlimited (Istio's default). */
  maxRequestsPerConnection: 0,
  /** connectionPool.connectTimeout: Istio's 10s. */
  connectTimeoutMs: 10_000,
  /** connectionPool.idleTimeout: Istio's 1h. */
  idleTimeoutMs: 3_600_000,
  /** outlierDetection (when present): Istio's and Envoy's. */
  consecutive5xxErrors: 5,
  consecutiveGatewayErrors: 0,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  /** Envoy's max_ejection_time. */
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
  minHealthPercent: 0,
  /** Envoy's success_rate_* defaults (when successRate is present). */
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1.9,
  /** retries (when present): Istio's default retry policy. */
  attempts: 2,
  retryOn: Object.freeze(['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'] as RetryCondition[]),
  retriableStatusCodes: Object.freeze([503]),
  /** Envoy's base_interval 25ms; max_interval 10 x base (250ms). */
  backoffBaseMs: 25,
  backoffMaxFactor: 10,
  /** Envoy's retry budget: 20% of active requests, at least 3. */
  budgetPercent: 20,
  budgetMinRetriesPerSecond: 3,
  retryNonIdempotent: false,
  /** rateLimits.global: a fixed window; Envoy's rate limit filter lets requests through when the service is down. */
  window: 'fixed' as const,
  failureMode: 'allow' as const,
});

export const LB_ALGORITHMS: readonly LbAlgorithm[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'];
export const RETRY_CONDITIONS: readonly RetryCondition[] = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
];
export const RATE_LIMIT_KEYS = ['sourcePrincipal', 'sourceNamespace', 'path', 'header:<name>'] as const;

/** A targetRef as written: the Service's name and, optionally, a port name. */
export interface TrafficPolicyRef {
  name: string;
  sectionName?: string;
}

/** The compiled policy before its targets are resolved. */
export type TrafficPolicySpec = Omit<TrafficPolicy, 'targets'>;

export type TrafficPolicyCompileResult = { ok: true; policy: TrafficPolicySpec; refs: TrafficPolicyRef[]; warnings: string[] } | { ok: false; message: string };

const { show, obj, unknownFields, list, str, headerName, bool, durationMs } = fieldReader(TRAFFIC_POLICY_LIMITS);
const L = TRAFFIC_POLICY_LIMITS;
const D = TRAFFIC_POLICY_DEFAULTS;

/** A duration as Istio writes one ("250ms", "30s", "1m", "1h", "1.5s", "1m30s") in whole
 * ms, between `min` and `max` ms. */
export function trafficDurationMs(path: string, v: unknown, min = 1, max: number = L.maxDurationMs): number {
  return durationMs(path, v, min, max);
}

function int(path: string, v: unknown, min: number, max: number = L.maxCount): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw fault(path, `${show(v)} is not a whole number`);
  if (v < min || v > max) throw fault(path, `${v} is not between ${min} and ${max}`);
  return v;
}

function num(path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw fault(path, `${show(v)} is not a number`);
  if (v < min || v > max) throw fault(path, `${v} is not between ${min} and ${max}`);
  return v;
}

function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw fault(path, `${show(v)} is not one of ${allowed.join(', ')}`);
  return v as T;
}

function opt<T>(o: Obj, field: string, read: (v: unknown) => T, dflt: T): T {
  return absent(o[field]) ? dflt : read(o[field]);
}

function compileTargetRef(path: string, v: unknown, namespace: string): TrafficPolicyRef {
  const o = obj(path, v);
  unknownFields(path, o, ['group', 'kind', 'name', 'namespace', 'sectionName']);
  const group = absent(o['group']) ? '' : o['group'];
  if (o['kind'] !== 'Service') throw fault(`${path}.kind`, `${show(o['kind'])} is not supported (a TrafficPolicy targets a Service)`);
  if (group !== '') throw fault(`${path}.group`, `${show(group)} is not the group of a Service ("")`);
  if (typeof o['name'] !== 'string' || !DNS1123_SUBDOMAIN.test(o['name'])) throw fault(`${path}.name`, `${show(o['name'])} is not an object name`);
  const ns = o['namespace'];
  if (!absent(ns) && ns !== '' && ns !== namespace) throw fault(`${path}.namespace`, `${show(ns)} is not the policy's own namespace ${show(namespace)} (a policy attaches to Services of its own namespace)`);
  const ref: TrafficPolicyRef = { name: o['name'] };
  if (!absent(o['sectionName'])) {
    const s = str(`${path}.sectionName`, o['sectionName']);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) || s.length > 63) throw fault(`${path}.sectionName`, `${show(s)} is not a port name`);
    ref.sectionName = s;
  }
  return ref;
}

function compileHashKey(path: string, v: unknown): HashKey {
  const o = obj(path, v);
  unknownFields(path, o, ['header', 'cookie', 'sourceIP', 'queryParameter']);
  const set = ['header', 'cookie', 'sourceIP', 'queryParameter'].filter((k) => !absent(o[k]) && o[k] !== false);
  if (set.length !== 1) throw fault(path, set.length === 0 ? 'names no hash key: set one of header, cookie, sourceIP: true, queryParameter' : `sets ${set.join(' and ')}: set exactly one hash key`);
  const which = set[0]!;
  switch (which) {
    case 'header':
      return { type: 'header', name: headerName(`${path}.header`, o['header']) };
    case 'queryParameter':
      return { type: 'queryParameter', name: str(`${path}.queryParameter`, o['queryParameter']) };
    case 'sourceIP':
      if (o['sourceIP'] !== true) throw fault(`${path}.sourceIP`, `${show(o['sourceIP'])} is not true`);
      return { type: 'sourceIP' };
    default: {
      const cp = `${path}.cookie`;
      const c = obj(cp, o['cookie']);
      unknownFields(cp, c, ['name', 'ttl', 'path']);
      const name = str(`${cp}.name`, c['name']);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw fault(`${cp}.name`, `${show(name)} is not a cookie name`);
      if (absent(c['ttl'])) throw fault(`${cp}.ttl`, 'is required: the waypoint sets the cookie when a request has none, with this lifetime (e.g. "3600s"; "0s": a session cookie)');
      const ttlMs = c['ttl'] === '0s' ? 0 : trafficDurationMs(`${cp}.ttl`, c['ttl'], 1, L.maxCookieTtlMs);
      let cookiePath: string = D.cookiePath;
      if (!absent(c['path'])) {
        cookiePath = str(`${cp}.path`, c['path']);
        if (!cookiePath.startsWith('/') || /[;\s,]/.test(cookiePath)) throw fault(`${cp}.path`, `${show(cookiePath)} is not a cookie path (starts with "/", no ";", "," or spaces)`);
      }
      return { type: 'cookie', name, ttlMs, path: cookiePath };
    }
  }
}

function compileLoadBalancer(path: string, v: unknown): LoadBalancer {
  const lb: LoadBalancer = { algorithm: D.algorithm, warmupMs: 0, localityPreference: D.localityPreference, ringSize: D.ringSize, maglevTableSize: D.maglevTableSize };
  if (absent(v)) return lb;
  const o = obj(path, v);
  unknownFields(path, o, ['algorithm', 'consistentHash', 'warmupDuration', 'localityPreference']);
  lb.algorithm = opt(o, 'algorithm', (x) => oneOf(`${path}.algorithm`, x, LB_ALGORITHMS), D.algorithm);
  const hashing = lb.algorithm === 'RING_HASH' || lb.algorithm === 'MAGLEV';
  if (hashing) {
    if (absent(o['consistentHash'])) throw fault(`${path}.consistentHash`, `is required with algorithm ${lb.algorithm}: name what to hash (header, cookie, sourceIP or queryParameter)`);
    lb.consistentHash = compileHashKey(`${path}.consistentHash`, o['consistentHash']);
  } else if (!absent(o['consistentHash'])) {
    throw fault(`${path}.consistentHash`, `is set with algorithm ${lb.algorithm}: consistent hashing needs algorithm RING_HASH or MAGLEV`);
  }
  if (!absent(o['warmupDuration'])) {
    lb.warmupMs = trafficDurationMs(`${path}.warmupDuration`, o['warmupDuration']);
    if (lb.algorithm !== 'ROUND_ROBIN' && lb.algorithm !== 'LEAST_REQUEST') throw fault(`${path}.warmupDuration`, `is set with algorithm ${lb.algorithm}: slow start works with ROUND_ROBIN and LEAST_REQUEST only (as in Istio)`);
  }
  lb.localityPreference = opt(o, 'localityPreference', (x) => bool(`${path}.localityPreference`, x), D.localityPreference);
  return lb;
}

function compileConnectionPool(path: string, v: unknown): ConnectionPool {
  const o = obj(path, v);
  unknownFields(path, o, ['maxConnections', 'maxPendingRequests', 'maxRequestsPerConnection', 'maxConcurrentRequests', 'idleTimeout', 'connectTimeout']);
  const pool: ConnectionPool = {
    maxRequestsPerConnection: opt(o, 'maxRequestsPerConnection', (x) => int(`${path}.maxRequestsPerConnection`, x, 0), D.maxRequestsPerConnection),
    idleTimeoutMs: opt(o, 'idleTimeout', (x) => trafficDurationMs(`${path}.idleTimeout`, x), D.idleTimeoutMs),
    connectTimeoutMs: opt(o, 'connectTimeout', (x) => trafficDurationMs(`${path}.connectTimeout`, x), D.connectTimeoutMs),
  };
  for (const f of ['maxConnections', 'maxPendingRequests', 'maxConcurrentRequests'] as const) if (!absent(o[f])) pool[f] = int(`${path}.${f}`, o[f], 1);
  return pool;
}

function compileOutlierDetection(path: string, v: unknown, warnings: string[]): OutlierDetection {
  const o = obj(path, v);
  unknownFields(path, o, ['consecutive5xxErrors', 'consecutiveGatewayErrors', 'successRate', 'interval', 'baseEjectionTime', 'maxEjectionTime', 'maxEjectionPercent', 'minHealthPercent']);
  const od: OutlierDetection = {
    consecutive5xxErrors: opt(o, 'consecutive5xxErrors', (x) => int(`${path}.consecutive5xxErrors`, x, 0), D.consecutive5xxErrors),
    consecutiveGatewayErrors: opt(o, 'consecutiveGatewayErrors', (x) => int(`${path}.consecutiveGatewayErrors`, x, 0), D.consecutiveGatewayErrors),
    intervalMs: opt(o, 'interval', (x) => trafficDurationMs(`${path}.interval`, x), D.intervalMs),
    baseEjectionMs: opt(o, 'baseEjectionTime', (x) => trafficDurationMs(`${path}.baseEjectionTime`, x), D.baseEjectionMs),
    maxEjectionMs: D.maxEjectionMs,
    maxEjectionPercent: opt(o, 'maxEjectionPercent', (x) => int(`${path}.maxEjectionPercent`, x, 0, 100), D.maxEjectionPercent),
    minHealthPercent: opt(o, 'minHealthPercent', (x) => int(`${path}.minHealthPercent`, x, 0, 100), D.minHealthPercent),
  };
  if (!absent(o['maxEjectionTime'])) {
    od.maxEjectionMs = trafficDurationMs(`${path}.maxEjectionTime`, o['maxEjectionTime']);
  } else od.maxEjectionMs = Math.max(D.maxEjectionMs, od.baseEjectionMs);
  if (od.maxEjectionMs < od.baseEjectionMs) throw fault(`${path}.maxEjectionTime`, `${show(o['maxEjectionTime'])} is shorter than baseEjectionTime ${show(o['baseEjectionTime'] ?? `${D.baseEjectionMs}ms`)}`);
  if (!absent(o['successRate'])) {
    const sp = `${path}.successRate`;
    const s = obj(sp, o['successRate']);
    unknownFields(sp, s, ['minimumHosts', 'requestVolume', 'stdevFactor']);
    od.successRate = {
      minimumHosts: opt(s, 'minimumHosts', (x) => int(`${sp}.minimumHosts`, x, 1), D.successRateMinimumHosts),
      requestVolume: opt(s, 'requestVolume', (x) => int(`${sp}.requestVolume`, x, 1), D.successRateRequestVolume),
      stdevFactor: opt(s, 'stdevFactor', (x) => num(`${sp}.stdevFactor`, x, 0.1, 100), D.successRateStdevFactor),
    };
  }
  if (od.consecutive5xxErrors === 0 && od.consecutiveGatewayErrors === 0 && !od.successRate) {
    warnings.push(`${path}: ejects nothing (consecutive5xxErrors and consecutiveGatewayErrors are 0, no successRate)`);
  }
  if (od.maxEjectionPercent === 0) warnings.push(`${path}.maxEjectionPercent: 0 still lets one endpoint be ejected at a time (as Envoy does)`);
  return od;
}

function statusCode(path: string, v: unknown): number {
  return int(path, v, 400, 599);
}

function compileRetries(path: string, v: unknown): Retries {
  const o = obj(path, v);
  unknownFields(path, o, ['attempts', 'perTryTimeout', 'retryOn', 'retriableStatusCodes', 'backoff', 'budget', 'retryNonIdempotent']);
  const r: Retries = {
    attempts: opt(o, 'attempts', (x) => int(`${path}.attempts`, x, 0, L.maxRetryAttempts), D.attempts),
    retryOn: [...D.retryOn],
    retriableStatusCodes: [],
    backoff: { baseMs: D.backoffBaseMs, maxMs: D.backoffBaseMs * D.backoffMaxFactor },
    budget: { percent: D.budgetPercent, minRetriesPerSecond: D.budgetMinRetriesPerSecond },
    retryNonIdempotent: opt(o, 'retryNonIdempotent', (x) => bool(`${path}.retryNonIdempotent`, x), D.retryNonIdempotent),
  };
  if (!absent(o['perTryTimeout'])) r.perTryTimeoutMs = trafficDurationMs(`${path}.perTryTimeout`, o['perTryTimeout']);
  const codes = list(`${path}.retriableStatusCodes`, o['retriableStatusCodes'], L.maxStatusCodes).map((c, i) => statusCode(`${path}.retriableStatusCodes[${i}]`, c));
  if (!absent(o['retryOn'])) {
    const on = list(`${path}.retryOn`, o['retryOn'], L.maxRetryOn).map((c, i) => oneOf(`${path}.retryOn[${i}]`, c, RETRY_CONDITIONS));
    on.forEach((c, i) => {
      if (on.indexOf(c) !== i) throw fault(`${path}.retryOn[${i}]`, `${show(c)} is listed twice`);
    });
    if (on.length === 0) throw fault(`${path}.retryOn`, 'is empty: name at least one condition, or leave it out for the default');
    r.retryOn = on;
    if (on.includes('retriable-status-codes') && codes.length === 0) throw fault(`${path}.retriableStatusCodes`, 'is required with retryOn "retriable-status-codes": name the status codes to retry');
    r.retriableStatusCodes = codes;
  } else {
    r.retriableStatusCodes = codes.length > 0 ? codes : [...D.retriableStatusCodes];
  }
  if (codes.length > 0 && !r.retryOn.includes('retriable-status-codes')) throw fault(`${path}.retriableStatusCodes`, `is set but retryOn does not name "retriable-status-codes"`);
  codes.forEach((c, i) => {
    if (codes.indexOf(c) !== i) throw fault(`${path}.retriableStatusCodes[${i}]`, `${c} is listed twice`);
  });
  if (!absent(o['backoff'])) {
    const bp = `${path}.backoff`;
    const b = obj(bp, o['backoff']);
    unknownFields(bp, b, ['base', 'max']);
    const baseMs = opt(b, 'base', (x) => trafficDurationMs(`${bp}.base`, x), D.backoffBaseMs);
    const maxMs = opt(b, 'max', (x) => trafficDurationMs(`${bp}.max`, x), baseMs * D.backoffMaxFactor);
    if (maxMs < baseMs) throw fault(`${bp}.max`, `${show(b['max'])} is shorter than base ${show(b['base'] ?? `${D.backoffBaseMs}ms`)}`);
    r.backoff = { baseMs, maxMs };
  }
  if (!absent(o['budget'])) {
    const bp = `${path}.budget`;
    const b = obj(bp, o['budget']);
    unknownFields(bp, b, ['percent', 'minRetriesPerSecond']);
    r.budget = {
      percent: opt(b, 'percent', (x) => num(`${bp}.percent`, x, 0, 100), D.budgetPercent),
      minRetriesPerSecond: opt(b, 'minRetriesPerSecond', (x) => int(`${bp}.minRetriesPerSecond`, x, 0), D.budgetMinRetriesPerSecond),
    };
  }
  return r;
}

function compileTimeouts(path: string, v: unknown): Timeouts {
  const o = obj(path, v);
  unknownFields(path, o, ['idle']);
  const t: Timeouts = {};
  if (!absent(o['idle'])) t.idleMs = trafficDurationMs(`${path}.idle`, o['idle']);
  return t;
}

function compileKeyPart(path: string, v: unknown): RateLimitKeyPart {
  const s = str(path, v);
  if (s === 'sourcePrincipal' || s === 'sourceNamespace' || s === 'path') return { type: s };
  if (s.startsWith('header:')) return { type: 'header', name: headerName(path, s.slice('header:'.length)) };
  throw fault(path, `${show(s)} is not one of ${RATE_LIMIT_KEYS.join(', ')}`);
}

function compileRateLimits(path: string, v: unknown): RateLimits {
  const o = obj(path, v);
  unknownFields(path, o, ['local', 'global']);
  if (absent(o['local']) && absent(o['global'])) throw fault(path, 'sets neither local nor global');
  const out: RateLimits = {};
  if (!absent(o['local'])) {
    const p = `${path}.local`;
    const l = obj(p, o['local']);
    unknownFields(p, l, ['requests', 'per', 'burst']);
    if (absent(l['requests'])) throw fault(`${p}.requests`, 'is required');
    if (absent(l['per'])) throw fault(`${p}.per`, 'is required (e.g. "1s")');
    const requests = int(`${p}.requests`, l['requests'], 1);
    const local: LocalRateLimit = { requests, perMs: trafficDurationMs(`${p}.per`, l['per'], L.minLocalPerMs), burst: opt(l, 'burst', (x) => int(`${p}.burst`, x, 1), requests) };
    if (local.burst < requests) throw fault(`${p}.burst`, `${local.burst} is less than requests ${requests}: the bucket could not hold one period's tokens`);
    out.local = local;
  }
  if (!absent(o['global'])) {
    const p = `${path}.global`;
    const g = obj(p, o['global']);
    unknownFields(p, g, ['requests', 'per', 'key', 'window', 'failureMode']);
    if (absent(g['requests'])) throw fault(`${p}.requests`, 'is required');
    if (absent(g['per'])) throw fault(`${p}.per`, 'is required (e.g. "1m")');
    const key = list(`${p}.key`, g['key'], L.maxKeyParts).map((k, i) => compileKeyPart(`${p}.key[${i}]`, k));
    const seen = key.map((k) => (k.type === 'header' ? `header:${k.name}` : k.type));
    seen.forEach((k, i) => {
      if (seen.indexOf(k) !== i) throw fault(`${p}.key[${i}]`, `${show(k)} is listed twice`);
    });
    const global: GlobalRateLimit = {
      requests: int(`${p}.requests`, g['requests'], 1),
      perMs: trafficDurationMs(`${p}.per`, g['per'], L.minGlobalPerMs),
      key,
      window: opt(g, 'window', (x) => oneOf(`${p}.window`, x, ['fixed', 'sliding'] as const), D.window),
      failureMode: opt(g, 'failureMode', (x) => oneOf(`${p}.failureMode`, x, ['allow', 'deny'] as const), D.failureMode),
    };
    out.global = global;
  }
  return out;
}

function creationTimestamp(meta: Obj): string {
  const t = meta['creationTimestamp'];
  if (t instanceof Date) return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) return t;
  // Never created by an API server (a test object): the newest possible, so it loses conflicts.
  return '9999-12-31T23:59:59Z';
}

function compile(object: unknown): { policy: TrafficPolicySpec; refs: TrafficPolicyRef[]; warnings: string[] } {
  const o = obj('object', object);
  const meta = obj('metadata', o['metadata']);
  const name = meta['name'];
  const namespace = meta['namespace'];
  if (typeof name !== 'string' || name === '') throw fault('metadata.name', `${show(name)} is not a name`);
  if (typeof namespace !== 'string' || namespace === '') throw fault('metadata.namespace', `${show(namespace)} is not a namespace`);
  if (absent(o['spec'])) throw fault('spec', 'is required');
  const spec = obj('spec', o['spec']);
  unknownFields('spec', spec, ['targetRefs', 'loadBalancer', 'connectionPool', 'outlierDetection', 'retries', 'timeouts', 'rateLimits']);
  const warnings: string[] = [];
  const refs = list('spec.targetRefs', spec['targetRefs'], L.maxTargetRefs).map((r, i) => compileTargetRef(`spec.targetRefs[${i}]`, r, namespace));
  if (refs.length === 0) throw fault('spec.targetRefs', 'is required: name the Service (and optionally its port, sectionName) the policy applies to');
  const ids = refs.map((r) => `${r.name}/${r.sectionName ?? ''}`);
  ids.forEach((id, i) => {
    if (ids.indexOf(id) !== i) throw fault(`spec.targetRefs[${i}]`, `names ${show(refs[i]!.sectionName ? `${refs[i]!.name} port ${refs[i]!.sectionName}` : refs[i]!.name)} again`);
  });
  const policy: TrafficPolicySpec = {
    key: `${namespace}/${name}`,
    name,
    namespace,
    created: creationTimestamp(meta),
    loadBalancer: compileLoadBalancer('spec.loadBalancer', spec['loadBalancer']),
  };
  if (!absent(spec['connectionPool'])) policy.connectionPool = compileConnectionPool('spec.connectionPool', spec['connectionPool']);
  if (!absent(spec['outlierDetection'])) policy.outlierDetection = compileOutlierDetection('spec.outlierDetection', spec['outlierDetection'], warnings);
  if (!absent(spec['retries'])) policy.retries = compileRetries('spec.retries', spec['retries']);
  if (!absent(spec['timeouts'])) policy.timeouts = compileTimeouts('spec.timeouts', spec['timeouts']);
  if (!absent(spec['rateLimits'])) policy.rateLimits = compileRateLimits('spec.rateLimits', spec['rateLimits']);
  if (policy.retries && policy.timeouts?.idleMs !== undefined && policy.retries.perTryTimeoutMs !== undefined && policy.retries.perTryTimeoutMs > policy.timeouts.idleMs) {
    warnings.push(`spec.retries.perTryTimeout: longer than spec.timeouts.idle; a try idle for ${policy.timeouts.idleMs}ms ends first`);
  }
  return { policy, refs, warnings };
}

/** Compiles one TrafficPolicy object (its targets unresolved). Never throws. */
export function compileTrafficPolicy(object: unknown): TrafficPolicyCompileResult {
  try {
    return { ok: true, ...compile(object) };
  } catch (err) {
    return { ok: false, message: err instanceof FieldFault ? err.message : `the object could not be read: ${(err as Error)?.message ?? String(err)}` };
  }
}

/** What target resolution reads of a Service. */
export interface TargetService {
  /** The resource key (`<namespace>/<hostname>`). */
  key: string;
  ports: ReadonlyArray<{ name?: string; port: number }>;
}

export type TargetResolution =
  /** `refIndexes[i]`: the index in targetRefs of `targets[i]`. */
  | { ok: true; targets: TrafficPolicyTarget[]; refIndexes: number[]; missing: Array<{ path: string; name: string }> }
  | { ok: false; message: string };

/**
 * The targets of `refs` (a policy of `namespace`): each Service by its resource key, and
 * with sectionName the number of the Service port of that name. A Service that does not
 * exist is listed in `missing` (its targets are left out); a sectionName that names no port
 * of an existing Service is a fault. Pure.
 */
export function resolveTrafficPolicyTargets(namespace: string, refs: readonly TrafficPolicyRef[], service: (namespace: string, name: string) => TargetService | undefined): TargetResolution {
  const targets: TrafficPolicyTarget[] = [];
  const refIndexes: number[] = [];
  const missing: Array<{ path: string; name: string }> = [];
  for (const [i, ref] of refs.entries()) {
    const path = `spec.targetRefs[${i}]`;
    const s = service(namespace, ref.name);
    if (!s) {
      missing.push({ path, name: `${namespace}/${ref.name}` });
      continue;
    }
    if (ref.sectionName === undefined) {
      targets.push({ service: s.key });
      refIndexes.push(i);
      continue;
    }
    const p = s.ports.find((x) => x.name === ref.sectionName);
    if (!p) {
      const names = s.ports.map((x) => x.name).filter((n): n is string => !!n);
      return { ok: false, message: `${path}.sectionName: ${JSON.stringify(ref.sectionName)} is not a port name of Service ${namespace}/${ref.name} (${names.length > 0 ? `its ports: ${names.join(', ')}` : 'its ports have no names'})` };
    }
    targets.push({ service: s.key, port: p.port });
    refIndexes.push(i);
  }
  return { ok: true, targets, refIndexes, missing };
}

/** The policy that applies to `port` of the Service `serviceKey`: one naming that port
 * (sectionName) first, else one naming the whole Service; undefined: none. `policies` are
 * the conflict-free set a waypoint holds (each Service port named by at most one). Pure. */
export function trafficPolicyFor(policies: Iterable<TrafficPolicy>, serviceKey: string, port: number): TrafficPolicy | undefined {
  let whole: TrafficPolicy | undefined;
  for (const p of policies) {
    for (const t of p.targets) {
      if (t.service !== serviceKey) continue;
      if (t.port === port) return p;
      if (t.port === undefined) whole ??= p;
    }
  }
  return whole;
}
