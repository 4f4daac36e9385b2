// TrafficPolicy compilation: every field, every default, every fault (naming path and value).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrafficPolicy, resolveTrafficPolicyTargets, trafficDurationMs, trafficPolicyFor, TRAFFIC_POLICY_DEFAULTS, TRAFFIC_POLICY_LIMITS, type TrafficPolicySpec } from './traffic-policy-compile.js';
import type { TrafficPolicy } from './traffic-policy.js';

const SVC = [{ group: '', kind: 'Service', name: 'echo' }];
function tp(spec: unknown, meta: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'ambient.dev/v1', kind: 'TrafficPolicy', metadata: { name: 'echo', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z', ...meta }, spec };
}
function ok(spec: Record<string, unknown>): TrafficPolicySpec {
  const r = compileTrafficPolicy(tp({ targetRefs: SVC, ...spec }));
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.policy;
}
function warnings(spec: Record<string, unknown>): string[] {
  const r = compileTrafficPolicy(tp({ targetRefs: SVC, ...spec }));
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.warnings;
}
function refused(spec: Record<string, unknown>): string {
  const r = compileTrafficPolicy(tp({ targetRefs: SVC, ...spec }));
  assert.ok(!r.ok, 'should be refused');
  return r.message;
}

// --- The whole example of the issue.

test('issue_example_compiles_with_every_field', () => {
  const p = ok({
    loadBalancer: { algorithm: 'LEAST_REQUEST', warmupDuration: '30s' },
    connectionPool: { maxConnections: 100, maxPendingRequests: 64, maxRequestsPerConnection: 0, maxConcurrentRequests: 1000, idleTimeout: '60s', connectTimeout: '5s' },
    outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50, minHealthPercent: 0 },
    retries: { attempts: 3, perTryTimeout: '2s', retryOn: ['gateway-error', 'reset', 'connect-failure'], backoff: { base: '25ms', max: '250ms' }, budget: { percent: 20, minRetriesPerSecond: 3 } },
    rateLimits: { local: { requests: 100, per: '1s', burst: 200 }, global: { requests: 1000, per: '1m', key: ['sourcePrincipal'], failureMode: 'allow' } },
  });
  assert.equal(p.key, 'shop/echo');
  assert.equal(p.created, '2026-01-01T00:00:00Z');
  assert.deepEqual(p.loadBalancer, { algorithm: 'LEAST_REQUEST', warmupMs: 30_000, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 });
  assert.deepEqual(p.connectionPool, { maxConnections: 100, maxPendingRequests: 64, maxRequestsPerConnection: 0, maxConcurrentRequests: 1000, idleTimeoutMs: 60_000, connectTimeoutMs: 5_000 });
  assert.deepEqual(p.outlierDetection, { consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50, minHealthPercent: 0 });
  assert.deepEqual(p.retries, { attempts: 3, perTryTimeoutMs: 2_000, retryOn: ['gateway-error', 'reset', 'connect-failure'], retriableStatusCodes: [], backoff: { baseMs: 25, maxMs: 250 }, budget: { percent: 20, minRetriesPerSecond: 3 }, retryNonIdempotent: false });
  assert.deepEqual(p.rateLimits, { local: { requests: 100, perMs: 1_000, burst: 200 }, global: { requests: 1000, perMs: 60_000, key: [{ type: 'sourcePrincipal' }], window: 'fixed', failureMode: 'allow' } });
});

test('issue_example_consistent_hash_on_a_header_compiles', () => {
  const p = ok({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { header: 'X-User' } } });
  assert.deepEqual(p.loadBalancer.consistentHash, { type: 'header', name: 'x-user' });
});

// --- Durations.

test('durations_read_as_istio_writes_them_1ms_to_24h_by_default', () => {
  // The syntax itself is core/duration.test.ts's; here the policy's defaults.
  assert.equal(trafficDurationMs('d', '1m30s'), 90_000);
  assert.equal(trafficDurationMs('d', '0.0001s'), 1);
  assert.equal(trafficDurationMs('d', '24h'), 86_400_000);
  assert.throws(() => trafficDurationMs('d', '24h1ms'), /^Error: d: "24h1ms" is longer than 24h$|d: "24h1ms" is longer than 24h/);
});

test('a_malformed_duration_is_refused_naming_field_and_value', () => {
  assert.equal(refused({ outlierDetection: { interval: '10x' } }), 'spec.outlierDetection.interval: "10x" is not a duration such as "250ms" or "30s"');
  assert.match(refused({ outlierDetection: { interval: 10 } }), /^spec\.outlierDetection\.interval: 10 is not a duration/);
  assert.match(refused({ outlierDetection: { interval: '-1s' } }), /interval: "-1s" is not a duration/);
  assert.match(refused({ outlierDetection: { interval: '0s' } }), /interval: "0s" must be longer than zero/);
  assert.match(refused({ outlierDetection: { interval: '25h' } }), /interval: "25h" is longer than 24h/);
});

// --- targetRefs.

test('targetrefs_are_required', () => {
  const r = compileTrafficPolicy(tp({}));
  assert.ok(!r.ok);
  assert.match(r.message, /^spec\.targetRefs: is required/);
});

test('target_ref_with_section_name_is_kept_for_resolution', () => {
  const r = compileTrafficPolicy(tp({ targetRefs: [{ group: '', kind: 'Service', name: 'echo', sectionName: 'http' }] }));
  assert.ok(r.ok);
  assert.deepEqual(r.refs, [{ name: 'echo', sectionName: 'http' }]);
});

test('target_ref_kind_other_than_service_is_refused', () => {
  const r = compileTrafficPolicy(tp({ targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'w' }] }));
  assert.ok(!r.ok);
  assert.match(r.message, /^spec\.targetRefs\[0\]\.kind: "Gateway" is not supported/);
});

test('target_ref_group_of_a_service_must_be_empty', () => {
  const r = compileTrafficPolicy(tp({ targetRefs: [{ group: 'apps', kind: 'Service', name: 'echo' }] }));
  assert.ok(!r.ok);
  assert.match(r.message, /^spec\.targetRefs\[0\]\.group: "apps"/);
});

test('target_ref_in_another_namespace_is_refused', () => {
  const r = compileTrafficPolicy(tp({ targetRefs: [{ kind: 'Service', name: 'echo', namespace: 'other' }] }));
  assert.ok(!r.ok);
  assert.match(r.message, /^spec\.targetRefs\[0\]\.namespace: "other" is not the policy's own namespace "shop"/);
});

test('target_ref_named_twice_is_refused', () => {
  const r = compileTrafficPolicy(tp({ targetRefs: [...SVC, ...SVC] }));
  assert.ok(!r.ok);
  assert.match(r.message, /^spec\.targetRefs\[1\]: names "echo" again/);
});

test('too_many_target_refs_are_refused', () => {
  const refs = Array.from({ length: TRAFFIC_POLICY_LIMITS.maxTargetRefs + 1 }, (_, i) => ({ kind: 'Service', name: `s${i}` }));
  const r = compileTrafficPolicy(tp({ targetRefs: refs }));
  assert.ok(!r.ok);
  assert.match(r.message, /^spec\.targetRefs: has 17 entries, more than 16/);
});

test('section_name_that_is_not_a_port_name_is_refused', () => {
  const r = compileTrafficPolicy(tp({ targetRefs: [{ kind: 'Service', name: 'echo', sectionName: 'Not_A_Name' }] }));
  assert.ok(!r.ok);
  assert.match(r.message, /sectionName: "Not_A_Name" is not a port name/);
});

test('an_unknown_spec_field_is_refused_naming_it', () => {
  assert.match(refused({ retry: {} }), /^spec\.retry: is not a field of spec/);
  assert.match(refused({ retries: { attempt: 3 } }), /^spec\.retries\.attempt: is not a field of retries/);
});

test('spec_is_required', () => {
  const r = compileTrafficPolicy({ metadata: { name: 'x', namespace: 'shop' } });
  assert.ok(!r.ok);
  assert.equal(r.message, 'spec: is required');
});

test('a_non_object_never_throws', () => {
  for (const o of [null, 42, 'x', [], { metadata: 7 }]) assert.equal(compileTrafficPolicy(o).ok, false);
});

// --- loadBalancer.

test('no_load_balancer_defaults_to_round_robin_with_locality', () => {
  assert.deepEqual(ok({}).loadBalancer, { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 });
});

test('load_balancer_without_algorithm_is_round_robin', () => {
  assert.equal(ok({ loadBalancer: { localityPreference: false } }).loadBalancer.algorithm, 'ROUND_ROBIN');
  assert.equal(ok({ loadBalancer: { localityPreference: false } }).loadBalancer.localityPreference, false);
});

test('every_algorithm_is_accepted', () => {
  for (const a of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM']) assert.equal(ok({ loadBalancer: { algorithm: a } }).loadBalancer.algorithm, a);
  for (const a of ['RING_HASH', 'MAGLEV']) assert.equal(ok({ loadBalancer: { algorithm: a, consistentHash: { sourceIP: true } } }).loadBalancer.algorithm, a);
});

test('an_unknown_algorithm_is_refused', () => {
  assert.equal(refused({ loadBalancer: { algorithm: 'LEAST_CONN' } }), 'spec.loadBalancer.algorithm: "LEAST_CONN" is not one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV');
});

test('consistent_hash_is_required_with_ring_hash_and_maglev', () => {
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH' } }), /^spec\.loadBalancer\.consistentHash: is required with algorithm RING_HASH/);
  assert.match(refused({ loadBalancer: { algorithm: 'MAGLEV' } }), /^spec\.loadBalancer\.consistentHash: is required with algorithm MAGLEV/);
});

test('consistent_hash_is_refused_without_a_hashing_algorithm', () => {
  assert.match(refused({ loadBalancer: { consistentHash: { header: 'x' } } }), /^spec\.loadBalancer\.consistentHash: is set with algorithm ROUND_ROBIN/);
  assert.match(refused({ loadBalancer: { algorithm: 'RANDOM', consistentHash: { header: 'x' } } }), /is set with algorithm RANDOM/);
});

test('consistent_hash_keys_each_compile', () => {
  const h = (k: unknown) => ok({ loadBalancer: { algorithm: 'MAGLEV', consistentHash: k } }).loadBalancer.consistentHash;
  assert.deepEqual(h({ sourceIP: true }), { type: 'sourceIP' });
  assert.deepEqual(h({ queryParameter: 'q' }), { type: 'queryParameter', name: 'q' });
  assert.deepEqual(h({ cookie: { name: 'sticky', ttl: '1h' } }), { type: 'cookie', name: 'sticky', ttlMs: 3_600_000, path: '/' });
  assert.deepEqual(h({ cookie: { name: 'sticky', ttl: '0s', path: '/app' } }), { type: 'cookie', name: 'sticky', ttlMs: 0, path: '/app' });
});

test('consistent_hash_needs_exactly_one_key', () => {
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: {} } }), /consistentHash: names no hash key/);
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { header: 'x', sourceIP: true } } }), /consistentHash: sets header and sourceIP: set exactly one hash key/);
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { sourceIP: 'yes' } } }), /consistentHash\.sourceIP: "yes" is not true/);
});

test('consistent_hash_header_must_be_a_header_name', () => {
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { header: 'x user' } } }), /consistentHash\.header: "x user" is not a valid HTTP header name/);
});

test('cookie_ttl_is_required', () => {
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 'c' } } } }), /^spec\.loadBalancer\.consistentHash\.cookie\.ttl: is required/);
});

test('cookie_ttl_must_be_a_duration_and_bounded', () => {
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 'c', ttl: 'forever' } } } }), /cookie\.ttl: "forever" is not a duration/);
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 'c', ttl: '9000h' } } } }), /cookie\.ttl: "9000h" is longer than/);
});

test('cookie_name_and_path_are_checked', () => {
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 'a;b', ttl: '1s' } } } }), /cookie\.name: "a;b" is not a cookie name/);
  assert.match(refused({ loadBalancer: { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 'c', ttl: '1s', path: 'app' } } } }), /cookie\.path: "app" is not a cookie path/);
});

test('warmup_duration_compiles_to_ms_and_defaults_to_off', () => {
  assert.equal(ok({ loadBalancer: { warmupDuration: '30s' } }).loadBalancer.warmupMs, 30_000);
  assert.equal(ok({ loadBalancer: { algorithm: 'LEAST_REQUEST' } }).loadBalancer.warmupMs, 0);
});

test('warmup_duration_with_a_hashing_or_random_balancer_is_refused', () => {
  assert.match(refused({ loadBalancer: { algorithm: 'RANDOM', warmupDuration: '10s' } }), /warmupDuration: is set with algorithm RANDOM/);
  assert.match(refused({ loadBalancer: { algorithm: 'MAGLEV', consistentHash: { sourceIP: true }, warmupDuration: '10s' } }), /warmupDuration: is set with algorithm MAGLEV/);
});

test('locality_preference_must_be_a_boolean', () => {
  assert.match(refused({ loadBalancer: { localityPreference: 'no' } }), /localityPreference: "no" is not true or false/);
});

// --- connectionPool.

test('connection_pool_defaults_fill_in_istios_timeouts_and_leave_limits_unset', () => {
  assert.deepEqual(ok({ connectionPool: {} }).connectionPool, { maxRequestsPerConnection: 0, idleTimeoutMs: 3_600_000, connectTimeoutMs: 10_000 });
});

test('no_connection_pool_leaves_the_section_out', () => {
  assert.equal(ok({}).connectionPool, undefined);
});

test('connection_pool_counts_must_be_positive_whole_numbers', () => {
  assert.equal(refused({ connectionPool: { maxConnections: 0 } }), `spec.connectionPool.maxConnections: 0 is not between 1 and ${TRAFFIC_POLICY_LIMITS.maxCount}`);
  assert.match(refused({ connectionPool: { maxPendingRequests: 1.5 } }), /maxPendingRequests: 1\.5 is not a whole number/);
  assert.match(refused({ connectionPool: { maxConcurrentRequests: '10' } }), /maxConcurrentRequests: "10" is not a whole number/);
  assert.match(refused({ connectionPool: { maxRequestsPerConnection: -1 } }), /maxRequestsPerConnection: -1 is not between 0/);
  assert.match(refused({ connectionPool: { maxConnections: 2 ** 32 } }), /maxConnections: 4294967296 is not between 1 and 4294967295/);
});

test('connection_pool_timeouts_are_durations', () => {
  assert.match(refused({ connectionPool: { connectTimeout: '5' } }), /connectionPool\.connectTimeout: "5" is not a duration/);
  assert.match(refused({ connectionPool: { idleTimeout: 'long' } }), /connectionPool\.idleTimeout: "long" is not a duration/);
});

// --- outlierDetection.

test('outlier_detection_defaults_are_istios', () => {
  assert.deepEqual(ok({ outlierDetection: {} }).outlierDetection, { consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10, minHealthPercent: 0 });
});

test('no_outlier_detection_leaves_ejection_off', () => {
  assert.equal(ok({}).outlierDetection, undefined);
});

test('outlier_detection_success_rate_defaults_are_envoys', () => {
  assert.deepEqual(ok({ outlierDetection: { successRate: {} } }).outlierDetection?.successRate, { minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 });
  assert.deepEqual(ok({ outlierDetection: { successRate: { minimumHosts: 3, requestVolume: 10, stdevFactor: 1 } } }).outlierDetection?.successRate, { minimumHosts: 3, requestVolume: 10, stdevFactor: 1 });
});

test('outlier_detection_max_ejection_time_is_kept_at_least_the_base', () => {
  assert.equal(ok({ outlierDetection: { baseEjectionTime: '10m' } }).outlierDetection?.maxEjectionMs, 600_000);
  assert.equal(ok({ outlierDetection: { maxEjectionTime: '1m' } }).outlierDetection?.maxEjectionMs, 60_000);
  assert.match(refused({ outlierDetection: { baseEjectionTime: '2m', maxEjectionTime: '1m' } }), /^spec\.outlierDetection\.maxEjectionTime: "1m" is shorter than baseEjectionTime "2m"/);
});

test('outlier_detection_percentages_are_0_to_100', () => {
  assert.match(refused({ outlierDetection: { maxEjectionPercent: 101 } }), /maxEjectionPercent: 101 is not between 0 and 100/);
  assert.match(refused({ outlierDetection: { minHealthPercent: -1 } }), /minHealthPercent: -1 is not between 0 and 100/);
});

test('outlier_detection_error_counts_are_whole_numbers', () => {
  assert.match(refused({ outlierDetection: { consecutive5xxErrors: 'five' } }), /consecutive5xxErrors: "five" is not a whole number/);
  assert.match(refused({ outlierDetection: { consecutiveGatewayErrors: -2 } }), /consecutiveGatewayErrors: -2 is not between 0/);
});

test('outlier_detection_that_ejects_nothing_is_a_warning', () => {
  assert.match(warnings({ outlierDetection: { consecutive5xxErrors: 0 } }).join('\n'), /ejects nothing/);
});

// --- retries.

test('retries_defaults_are_istios_retry_policy', () => {
  assert.deepEqual(ok({ retries: {} }).retries, {
    attempts: 2,
    retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
    retriableStatusCodes: [503],
    backoff: { baseMs: 25, maxMs: 250 },
    budget: { percent: 20, minRetriesPerSecond: 3 },
    retryNonIdempotent: false,
  });
});

test('retries_backoff_max_defaults_to_ten_times_base', () => {
  assert.deepEqual(ok({ retries: { backoff: { base: '100ms' } } }).retries?.backoff, { baseMs: 100, maxMs: 1_000 });
});

test('retries_backoff_max_shorter_than_base_is_refused', () => {
  assert.match(refused({ retries: { backoff: { base: '1s', max: '100ms' } } }), /^spec\.retries\.backoff\.max: "100ms" is shorter than base "1s"/);
});

test('retries_attempts_are_bounded', () => {
  assert.equal(ok({ retries: { attempts: 0 } }).retries?.attempts, 0);
  assert.match(refused({ retries: { attempts: 11 } }), /^spec\.retries\.attempts: 11 is not between 0 and 10/);
});

test('retries_every_retry_on_condition_is_accepted', () => {
  const all = ['5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'];
  assert.deepEqual(ok({ retries: { retryOn: all } }).retries?.retryOn, all);
});

test('retries_unknown_or_repeated_condition_is_refused', () => {
  assert.match(refused({ retries: { retryOn: ['5xx', 'teapot'] } }), /^spec\.retries\.retryOn\[1\]: "teapot" is not one of 5xx, gateway-error/);
  assert.match(refused({ retries: { retryOn: ['5xx', '5xx'] } }), /^spec\.retries\.retryOn\[1\]: "5xx" is listed twice/);
  assert.match(refused({ retries: { retryOn: [] } }), /^spec\.retries\.retryOn: is empty/);
});

test('retriable_status_codes_need_their_condition_and_the_condition_needs_codes', () => {
  assert.match(refused({ retries: { retryOn: ['retriable-status-codes'] } }), /^spec\.retries\.retriableStatusCodes: is required with retryOn "retriable-status-codes"/);
  assert.match(refused({ retries: { retryOn: ['5xx'], retriableStatusCodes: [503] } }), /^spec\.retries\.retriableStatusCodes: is set but retryOn does not name "retriable-status-codes"/);
  assert.deepEqual(ok({ retries: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [502, 429] } }).retries?.retriableStatusCodes, [502, 429]);
});

test('retriable_status_codes_are_400_to_599_and_distinct', () => {
  assert.match(refused({ retries: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [200] } }), /retriableStatusCodes\[0\]: 200 is not between 400 and 599/);
  assert.match(refused({ retries: { retryOn: ['retriable-status-codes'], retriableStatusCodes: [503, 503] } }), /retriableStatusCodes\[1\]: 503 is listed twice/);
});

test('retries_budget_is_checked_and_defaults_per_field', () => {
  assert.deepEqual(ok({ retries: { budget: { percent: 50 } } }).retries?.budget, { percent: 50, minRetriesPerSecond: 3 });
  assert.match(refused({ retries: { budget: { percent: 120 } } }), /budget\.percent: 120 is not between 0 and 100/);
  assert.match(refused({ retries: { budget: { minRetriesPerSecond: -1 } } }), /budget\.minRetriesPerSecond: -1 is not between 0/);
});

test('retries_per_try_timeout_and_non_idempotent', () => {
  const r = ok({ retries: { perTryTimeout: '1.5s', retryNonIdempotent: true } }).retries!;
  assert.equal(r.perTryTimeoutMs, 1_500);
  assert.equal(r.retryNonIdempotent, true);
  assert.match(refused({ retries: { retryNonIdempotent: 1 } }), /retryNonIdempotent: 1 is not true or false/);
});

// --- timeouts.

test('timeouts_idle_compiles', () => {
  assert.deepEqual(ok({ timeouts: { idle: '30s' } }).timeouts, { idleMs: 30_000 });
  assert.match(refused({ timeouts: { idle: 'x' } }), /^spec\.timeouts\.idle: "x" is not a duration/);
});

// --- rateLimits.

test('local_rate_limit_burst_defaults_to_requests', () => {
  assert.deepEqual(ok({ rateLimits: { local: { requests: 100, per: '1s' } } }).rateLimits?.local, { requests: 100, perMs: 1_000, burst: 100 });
});

test('local_rate_limit_burst_below_requests_is_refused', () => {
  assert.match(refused({ rateLimits: { local: { requests: 100, per: '1s', burst: 50 } } }), /^spec\.rateLimits\.local\.burst: 50 is less than requests 100/);
});

test('local_rate_limit_requires_requests_and_per', () => {
  assert.equal(refused({ rateLimits: { local: { per: '1s' } } }), 'spec.rateLimits.local.requests: is required');
  assert.match(refused({ rateLimits: { local: { requests: 1 } } }), /^spec\.rateLimits\.local\.per: is required/);
  assert.match(refused({ rateLimits: { local: { requests: 1, per: '10ms' } } }), /local\.per: "10ms" is shorter than 50ms/);
});

test('global_rate_limit_defaults_to_a_fixed_window_failing_open', () => {
  assert.deepEqual(ok({ rateLimits: { global: { requests: 10, per: '1m' } } }).rateLimits?.global, { requests: 10, perMs: 60_000, key: [], window: 'fixed', failureMode: 'allow' });
});

test('global_rate_limit_keys_each_compile', () => {
  const g = ok({ rateLimits: { global: { requests: 10, per: '1s', key: ['sourcePrincipal', 'sourceNamespace', 'path', 'header:X-Tenant'], window: 'sliding', failureMode: 'deny' } } }).rateLimits!.global!;
  assert.deepEqual(g.key, [{ type: 'sourcePrincipal' }, { type: 'sourceNamespace' }, { type: 'path' }, { type: 'header', name: 'x-tenant' }]);
  assert.equal(g.window, 'sliding');
  assert.equal(g.failureMode, 'deny');
});

test('global_rate_limit_faults', () => {
  assert.match(refused({ rateLimits: { global: { requests: 10, per: '1s', key: ['user'] } } }), /^spec\.rateLimits\.global\.key\[0\]: "user" is not one of sourcePrincipal, sourceNamespace, path, header:<name>/);
  assert.match(refused({ rateLimits: { global: { requests: 10, per: '1s', key: ['path', 'path'] } } }), /global\.key\[1\]: "path" is listed twice/);
  assert.match(refused({ rateLimits: { global: { requests: 10, per: '1s', failureMode: 'open' } } }), /global\.failureMode: "open" is not one of allow, deny/);
  assert.match(refused({ rateLimits: { global: { requests: 10, per: '1s', window: 'rolling' } } }), /global\.window: "rolling" is not one of fixed, sliding/);
  assert.match(refused({ rateLimits: { global: { requests: 10, per: '100ms' } } }), /global\.per: "100ms" is shorter than 1s/);
  assert.match(refused({ rateLimits: { global: { requests: 0, per: '1s' } } }), /global\.requests: 0 is not between 1/);
  const many = Array.from({ length: TRAFFIC_POLICY_LIMITS.maxKeyParts + 1 }, (_, i) => `header:h${i}`);
  assert.match(refused({ rateLimits: { global: { requests: 1, per: '1s', key: many } } }), /global\.key: has 9 entries, more than 8/);
});

test('rate_limits_with_neither_local_nor_global_is_refused', () => {
  assert.equal(refused({ rateLimits: {} }), 'spec.rateLimits: sets neither local nor global');
});

// --- Targets, conflicts' lookup.

const echo = { key: 'shop/echo.shop.svc.cluster.local', ports: [{ name: 'http', port: 80 }, { name: 'grpc', port: 9090 }] };
const lookup = (ns: string, name: string) => (ns === 'shop' && name === 'echo' ? echo : undefined);

test('section_name_resolves_to_the_service_port_number', () => {
  assert.deepEqual(resolveTrafficPolicyTargets('shop', [{ name: 'echo', sectionName: 'grpc' }], lookup), { ok: true, targets: [{ service: echo.key, port: 9090 }], refIndexes: [0], missing: [] });
  assert.deepEqual(resolveTrafficPolicyTargets('shop', [{ name: 'echo' }], lookup), { ok: true, targets: [{ service: echo.key }], refIndexes: [0], missing: [] });
});

test('section_name_matching_no_port_is_a_fault_naming_the_ports', () => {
  const r = resolveTrafficPolicyTargets('shop', [{ name: 'echo', sectionName: 'admin' }], lookup);
  assert.deepEqual(r, { ok: false, message: 'spec.targetRefs[0].sectionName: "admin" is not a port name of Service shop/echo (its ports: http, grpc)' });
});

test('a_missing_service_is_listed_not_faulted', () => {
  assert.deepEqual(resolveTrafficPolicyTargets('shop', [{ name: 'gone' }, { name: 'echo' }], lookup), { ok: true, targets: [{ service: echo.key }], refIndexes: [1], missing: [{ path: 'spec.targetRefs[0]', name: 'shop/gone' }] });
});

function compiled(name: string, targets: TrafficPolicy['targets']): TrafficPolicy {
  return { key: `shop/${name}`, name, namespace: 'shop', created: '2026-01-01T00:00:00Z', targets, loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 } };
}

test('lookup_prefers_the_port_policy_over_the_whole_service_one', () => {
  const whole = compiled('whole', [{ service: echo.key }]);
  const port = compiled('port', [{ service: echo.key, port: 9090 }]);
  assert.equal(trafficPolicyFor([whole, port], echo.key, 9090), port);
  assert.equal(trafficPolicyFor([whole, port], echo.key, 80), whole);
  assert.equal(trafficPolicyFor([port], echo.key, 80), undefined);
  assert.equal(trafficPolicyFor([whole], 'shop/other.shop.svc.cluster.local', 80), undefined);
});

test('defaults_table_matches_the_documented_values', () => {
  assert.equal(TRAFFIC_POLICY_DEFAULTS.intervalMs, 10_000);
  assert.equal(TRAFFIC_POLICY_DEFAULTS.baseEjectionMs, 30_000);
  assert.equal(TRAFFIC_POLICY_DEFAULTS.maxEjectionPercent, 10);
  assert.equal(TRAFFIC_POLICY_DEFAULTS.consecutive5xxErrors, 5);
  assert.equal(TRAFFIC_POLICY_DEFAULTS.ringSize, 1024);
  assert.equal(TRAFFIC_POLICY_DEFAULTS.maglevTableSize, 65537);
});
