// The wire check of a TrafficPolicy resource (core/config/validate.ts calls it for kind
// TrafficPolicy): every field of the compiled model (./traffic-policy.ts) of the right type
// and within the compiler's bounds, so a waypoint's layers never read a value the controller
// could not have produced. Returns a fresh copy holding only the model's fields (unknown
// fields dropped, as for the other kinds). `fail` throws the caller's error type.
import { LB_ALGORITHMS, RETRY_CONDITIONS, TRAFFIC_POLICY_LIMITS as L } from './traffic-policy-compile.js';
import type { ConnectionPool, HashKey, LoadBalancer, OutlierDetection, RateLimitKeyPart, RateLimits, Retries, Timeouts, TrafficPolicy, TrafficPolicyTarget } from './traffic-policy.js';

type Obj = Record<string, unknown>;
type Fail = (path: string, why: string) => never;

const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LOWER_HEADER = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
const TOKEN = /^[\x21-\x7e]+$/;

export function validateTrafficPolicyBody(b: Obj, fail: Fail): TrafficPolicy {
  const obj = (path: string, v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : fail(path, `must be an object, got ${show(v)}`));
  const arr = (path: string, v: unknown, max: number): unknown[] => {
    if (!Array.isArray(v)) fail(path, `must be an array, got ${show(v)}`);
    const a = v as unknown[];
    if (a.length > max) fail(path, `has ${a.length} entries, more than ${max}`);
    return a;
  };
  const str = (path: string, v: unknown, re: RegExp, what: string): string => (typeof v === 'string' && v.length <= L.maxValueChars && re.test(v) ? v : fail(path, `${show(v)} is not ${what}`));
  const int = (path: string, v: unknown, min: number, max: number = L.maxCount): number => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(path, `${show(v)} is not a whole number ${min}..${max}`));
  const num = (path: string, v: unknown, min: number, max: number): number => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fail(path, `${show(v)} is not a number ${min}..${max}`));
  const ms = (path: string, v: unknown, min = 1): number => int(path, v, min, L.maxDurationMs);
  const bool = (path: string, v: unknown): boolean => (typeof v === 'boolean' ? v : fail(path, `${show(v)} is not true or false`));
  const oneOf = <T extends string>(path: string, v: unknown, allowed: readonly T[]): T => (allowed.includes(v as T) ? (v as T) : fail(path, `${show(v)} is not one of ${allowed.join(', ')}`));
  const optMs = (o: Obj, f: string, path: string): number | undefined => (o[f] === undefined ? undefined : ms(`${path}.${f}`, o[f]));

  const name = str('name', b['name'], DNS1123_SUBDOMAIN, 'an object name');
  const namespace = str('namespace', b['namespace'], DNS1123_LABEL, 'a namespace name');
  const key = b['key'];
  if (key !== `${namespace}/${name}`) fail('key', `${show(key)} is not ${show(`${namespace}/${name}`)}`);
  const created = b['created'];
  if (typeof created !== 'string' || !RFC3339.test(created) || Number.isNaN(Date.parse(created))) fail('created', `${show(created)} is not an RFC 3339 time`);

  const targets = arr('targets', b['targets'], L.maxTargetRefs).map((x, i): TrafficPolicyTarget => {
    const o = obj(`targets[${i}]`, x);
    const service = str(`targets[${i}].service`, o['service'], /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9.-]+$/, 'a Service key (<namespace>/<hostname>)');
    return o['port'] === undefined ? { service } : { service, port: int(`targets[${i}].port`, o['port'], 1, 65535) };
  });
  if (targets.length === 0) fail('targets', 'must name at least one Service');

  const lbo = obj('loadBalancer', b['loadBalancer']);
  const loadBalancer: LoadBalancer = {
    algorithm: oneOf('loadBalancer.algorithm', lbo['algorithm'], LB_ALGORITHMS),
    warmupMs: ms('loadBalancer.warmupMs', lbo['warmupMs'], 0),
    localityPreference: bool('loadBalancer.localityPreference', lbo['localityPreference']),
    ringSize: int('loadBalancer.ringSize', lbo['ringSize'], 1, 8_388_608),
    maglevTableSize: int('loadBalancer.maglevTableSize', lbo['maglevTableSize'], 1, 5_000_011),
  };
  const hashing = loadBalancer.algorithm === 'RING_HASH' || loadBalancer.algorithm === 'MAGLEV';
  if (hashing !== (lbo['consistentHash'] !== undefined)) fail('loadBalancer.consistentHash', hashing ? `is required with ${loadBalancer.algorithm}` : `must be absent with ${loadBalancer.algorithm}`);
  if (hashing) {
    const h = obj('loadBalancer.consistentHash', lbo['consistentHash']);
    const p = 'loadBalancer.consistentHash';
    const type = oneOf(`${p}.type`, h['type'], ['header', 'cookie', 'sourceIP', 'queryParameter'] as const);
    let hk: HashKey;
    if (type === 'header') hk = { type, name: str(`${p}.name`, h['name'], LOWER_HEADER, 'a lower-case header name') };
    else if (type === 'queryParameter') hk = { type, name: str(`${p}.name`, h['name'], TOKEN, 'a query parameter name') };
    else if (type === 'sourceIP') hk = { type };
    else hk = { type, name: str(`${p}.name`, h['name'], /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a cookie name'), ttlMs: int(`${p}.ttlMs`, h['ttlMs'], 0, L.maxCookieTtlMs), path: str(`${p}.path`, h['path'], /^\/[^;\s,]*$/, 'a cookie path') };
    loadBalancer.consistentHash = hk;
  }
  const out: TrafficPolicy = { key: key as string, name, namespace, created: created as string, targets, loadBalancer };

  if (b['connectionPool'] !== undefined) {
    const o = obj('connectionPool', b['connectionPool']);
    const pool: ConnectionPool = { maxRequestsPerConnection: int('connectionPool.maxRequestsPerConnection', o['maxRequestsPerConnection'], 0) };
    for (const f of ['maxConnections', 'maxPendingRequests', 'maxConcurrentRequests'] as const) if (o[f] !== undefined) pool[f] = int(`connectionPool.${f}`, o[f], 1);
    const idle = optMs(o, 'idleTimeoutMs', 'connectionPool');
    const connect = optMs(o, 'connectTimeoutMs', 'connectionPool');
    if (idle !== undefined) pool.idleTimeoutMs = idle;
    if (connect !== undefined) pool.connectTimeoutMs = connect;
    out.connectionPool = pool;
  }
  if (b['outlierDetection'] !== undefined) {
    const o = obj('outlierDetection', b['outlierDetection']);
    const p = 'outlierDetection';
    const od: OutlierDetection = {
      consecutive5xxErrors: int(`${p}.consecutive5xxErrors`, o['consecutive5xxErrors'], 0),
      consecutiveGatewayErrors: int(`${p}.consecutiveGatewayErrors`, o['consecutiveGatewayErrors'], 0),
      intervalMs: ms(`${p}.intervalMs`, o['intervalMs']),
      baseEjectionMs: ms(`${p}.baseEjectionMs`, o['baseEjectionMs']),
      maxEjectionMs: ms(`${p}.maxEjectionMs`, o['maxEjectionMs']),
      maxEjectionPercent: int(`${p}.maxEjectionPercent`, o['maxEjectionPercent'], 0, 100),
      minHealthPercent: int(`${p}.minHealthPercent`, o['minHealthPercent'], 0, 100),
    };
    if (od.maxEjectionMs < od.baseEjectionMs) fail(`${p}.maxEjectionMs`, `${od.maxEjectionMs} is shorter than baseEjectionMs ${od.baseEjectionMs}`);
    if (o['successRate'] !== undefined) {
      const s = obj(`${p}.successRate`, o['successRate']);
      od.successRate = { minimumHosts: int(`${p}.successRate.minimumHosts`, s['minimumHosts'], 1), requestVolume: int(`${p}.successRate.requestVolume`, s['requestVolume'], 1), stdevFactor: num(`${p}.successRate.stdevFactor`, s['stdevFactor'], 0.1, 100) };
    }
    out.outlierDetection = od;
  }
  if (b['retries'] !== undefined) {
    const o = obj('retries', b['retries']);
    const p = 'retries';
    const bo = obj(`${p}.backoff`, o['backoff']);
    const bu = obj(`${p}.budget`, o['budget']);
    const r: Retries = {
      attempts: int(`${p}.attempts`, o['attempts'], 0, L.maxRetryAttempts),
      retryOn: arr(`${p}.retryOn`, o['retryOn'], L.maxRetryOn).map((c, i) => oneOf(`${p}.retryOn[${i}]`, c, RETRY_CONDITIONS)),
      retriableStatusCodes: arr(`${p}.retriableStatusCodes`, o['retriableStatusCodes'], L.maxStatusCodes).map((c, i) => int(`${p}.retriableStatusCodes[${i}]`, c, 400, 599)),
      backoff: { baseMs: ms(`${p}.backoff.baseMs`, bo['baseMs']), maxMs: ms(`${p}.backoff.maxMs`, bo['maxMs']) },
      budget: { percent: num(`${p}.budget.percent`, bu['percent'], 0, 100), minRetriesPerSecond: int(`${p}.budget.minRetriesPerSecond`, bu['minRetriesPerSecond'], 0) },
      retryNonIdempotent: bool(`${p}.retryNonIdempotent`, o['retryNonIdempotent']),
    };
    if (r.backoff.maxMs < r.backoff.baseMs) fail(`${p}.backoff.maxMs`, `${r.backoff.maxMs} is shorter than baseMs ${r.backoff.baseMs}`);
    const perTry = optMs(o, 'perTryTimeoutMs', p);
    if (perTry !== undefined) r.perTryTimeoutMs = perTry;
    out.retries = r;
  }
  if (b['timeouts'] !== undefined) {
    const o = obj('timeouts', b['timeouts']);
    const t: Timeouts = {};
    const idle = optMs(o, 'idleMs', 'timeouts');
    if (idle !== undefined) t.idleMs = idle;
    out.timeouts = t;
  }
  if (b['rateLimits'] !== undefined) {
    const o = obj('rateLimits', b['rateLimits']);
    const rl: RateLimits = {};
    if (o['local'] !== undefined) {
      const l = obj('rateLimits.local', o['local']);
      rl.local = { requests: int('rateLimits.local.requests', l['requests'], 1), perMs: ms('rateLimits.local.perMs', l['perMs'], L.minLocalPerMs), burst: int('rateLimits.local.burst', l['burst'], 1) };
      if (rl.local.burst < rl.local.requests) fail('rateLimits.local.burst', `${rl.local.burst} is less than requests ${rl.local.requests}`);
    }
    if (o['global'] !== undefined) {
      const g = obj('rateLimits.global', o['global']);
      const p = 'rateLimits.global';
      rl.global = {
        requests: int(`${p}.requests`, g['requests'], 1),
        perMs: ms(`${p}.perMs`, g['perMs'], L.minGlobalPerMs),
        key: arr(`${p}.key`, g['key'], L.maxKeyParts).map((x, i): RateLimitKeyPart => {
          const k = obj(`${p}.key[${i}]`, x);
          const type = oneOf(`${p}.key[${i}].type`, k['type'], ['sourcePrincipal', 'sourceNamespace', 'path', 'header'] as const);
          return type === 'header' ? { type, name: str(`${p}.key[${i}].name`, k['name'], LOWER_HEADER, 'a lower-case header name') } : { type };
        }),
        window: oneOf(`${p}.window`, g['window'], ['fixed', 'sliding'] as const),
        failureMode: oneOf(`${p}.failureMode`, g['failureMode'], ['allow', 'deny'] as const),
      };
    }
    if (!rl.local && !rl.global) fail('rateLimits', 'must hold local or global');
    out.rateLimits = rl;
  }
  return out;
}
