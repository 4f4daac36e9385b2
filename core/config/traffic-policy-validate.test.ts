// The wire check of TrafficPolicy resources: what the compiler produces passes unchanged;
// a value it could not have produced is refused naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrafficPolicy } from './traffic-policy-compile.js';
import type { TrafficPolicy } from './traffic-policy.js';
import { validateResource } from './validate.js';

function compiledFull(): TrafficPolicy {
  const r = compileTrafficPolicy({
    metadata: { name: 'echo', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      targetRefs: [{ kind: 'Service', name: 'echo' }],
      loadBalancer: { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 'c', ttl: '1h' } } },
      connectionPool: { maxConnections: 10 },
      outlierDetection: { successRate: {} },
      retries: { perTryTimeout: '2s' },
      timeouts: { idle: '30s' },
      rateLimits: { local: { requests: 10, per: '1s' }, global: { requests: 100, per: '1m', key: ['header:x-tenant', 'path'] } },
    },
  });
  assert.ok(r.ok, r.ok ? '' : r.message);
  return { ...r.policy, targets: [{ service: 'shop/echo.shop.svc.cluster.local', port: 80 }] };
}

const check = (body: unknown) => validateResource({ kind: 'TrafficPolicy', key: 'shop/echo', body });

test('wire_compiled_traffic_policy_passes_unchanged', () => {
  const body = compiledFull();
  const v = check(body);
  assert.ok(v.ok, v.ok ? '' : v.error);
  assert.deepEqual(v.resource.body, body);
});

test('wire_minimal_traffic_policy_passes', () => {
  const body = { ...compiledFull() } as Partial<TrafficPolicy>;
  for (const k of ['connectionPool', 'outlierDetection', 'retries', 'timeouts', 'rateLimits'] as const) delete body[k];
  body.loadBalancer = { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 };
  assert.equal(check(body).ok, true);
});

test('wire_traffic_policy_unknown_fields_are_dropped', () => {
  const v = check({ ...compiledFull(), future: 1 });
  assert.ok(v.ok);
  assert.equal((v.resource.body as unknown as Record<string, unknown>)['future'], undefined);
});

test('wire_traffic_policy_bad_values_are_refused_naming_the_field', () => {
  const bad = (patch: (b: TrafficPolicy) => void, re: RegExp) => {
    const b = structuredClone(compiledFull());
    patch(b);
    const v = check(b);
    assert.equal(v.ok, false);
    assert.match(v.ok ? '' : v.error, re);
  };
  bad((b) => (b.key = 'shop/other'), /key: "shop\/other" is not "shop\/echo"/);
  bad((b) => (b.targets = []), /targets: must name at least one Service/);
  bad((b) => (b.targets[0]!.port = 70000), /targets\[0\]\.port/);
  bad((b) => (b.loadBalancer.algorithm = 'FASTEST' as never), /loadBalancer\.algorithm/);
  bad((b) => delete b.loadBalancer.consistentHash, /loadBalancer\.consistentHash: is required with RING_HASH/);
  bad((b) => (b.outlierDetection!.maxEjectionPercent = 200), /outlierDetection\.maxEjectionPercent/);
  bad((b) => (b.outlierDetection!.maxEjectionMs = 1), /outlierDetection\.maxEjectionMs: 1 is shorter than baseEjectionMs/);
  bad((b) => (b.retries!.retryOn = ['sometimes' as never]), /retries\.retryOn\[0\]/);
  bad((b) => (b.retries!.backoff.maxMs = 1), /retries\.backoff\.maxMs/);
  bad((b) => (b.rateLimits!.local!.burst = 1), /rateLimits\.local\.burst: 1 is less than requests 10/);
  bad((b) => (b.rateLimits!.global!.failureMode = 'maybe' as never), /rateLimits\.global\.failureMode/);
  bad((b) => (b.rateLimits = {}), /rateLimits: must hold local or global/);
  bad((b) => (b.created = 'yesterday'), /created: "yesterday" is not an RFC 3339 time/);
});
