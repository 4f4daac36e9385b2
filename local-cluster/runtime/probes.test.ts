// Unit tests of the probe decisions (Kubernetes' prober semantics).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { httpProbeSucceeded, initialProbeState, nextProbeAt, nextProbeState, planProbe, probeTiming, type ProbeResult, type ProbeState, type ProbeTiming } from './probes.js';

const c = (over: Partial<V1Container>): V1Container => ({ name: 'app', image: 'x', ports: [{ name: 'http', containerPort: 8080 }], ...over });

function run(states: ProbeResult[], timing: ProbeTiming, from: ProbeState): ProbeResult[] {
  const out: ProbeResult[] = [];
  let s = from;
  for (const r of states) {
    s = nextProbeState(s, r, timing);
    out.push(s.result);
  }
  return out;
}

test('probe_defaults_are_kubernetes_defaults', () => {
  assert.deepEqual(probeTiming({}, 'readiness'), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, failureThreshold: 3, successThreshold: 1 });
});

test('liveness_success_threshold_is_always_one', () => {
  assert.equal(probeTiming({ successThreshold: 3 }, 'liveness').successThreshold, 1);
  assert.equal(probeTiming({ successThreshold: 3 }, 'readiness').successThreshold, 3);
});

test('readiness_starts_not_ready_and_liveness_starts_alive', () => {
  assert.equal(initialProbeState('readiness').result, 'failure');
  assert.equal(initialProbeState('liveness').result, 'success');
});

test('state_flips_only_after_threshold_results_in_a_row', () => {
  const timing = probeTiming({ failureThreshold: 3, successThreshold: 2 }, 'readiness');
  assert.deepEqual(run(['success', 'success', 'failure', 'failure', 'success', 'failure', 'failure', 'failure'], timing, initialProbeState('readiness')), [
    'failure', 'success', 'success', 'success', 'success', 'success', 'success', 'failure',
  ]);
});

test('liveness_fails_after_failure_threshold_consecutive_failures', () => {
  const timing = probeTiming({ failureThreshold: 2 }, 'liveness');
  assert.deepEqual(run(['failure', 'success', 'failure', 'failure'], timing, initialProbeState('liveness')), ['success', 'success', 'success', 'failure']);
});

test('first_probe_after_initial_delay_then_every_period', () => {
  const timing = probeTiming({ initialDelaySeconds: 5, periodSeconds: 2 }, 'readiness');
  assert.equal(nextProbeAt(timing, 1_000, undefined), 6_000);
  assert.equal(nextProbeAt(timing, 1_000, 6_000), 8_000);
  // A run from before the container's latest start does not count.
  assert.equal(nextProbeAt(timing, 10_000, 8_000), 15_000);
});

test('http_probe_success_is_200_to_399', () => {
  for (const s of [200, 204, 301, 399]) assert.ok(httpProbeSucceeded(s), String(s));
  for (const s of [0, 199, 400, 404, 500, 503]) assert.ok(!httpProbeSucceeded(s), String(s));
});

test('http_and_tcp_probes_resolve_named_ports', () => {
  const http = planProbe(c({ readinessProbe: { httpGet: { path: '/healthz', port: 'http' } } }), 'readiness');
  assert.deepEqual(http?.action, { kind: 'http', port: 8080, path: '/healthz', scheme: 'HTTP', headers: {} });
  const tcp = planProbe(c({ livenessProbe: { tcpSocket: { port: 9000 } } }), 'liveness');
  assert.deepEqual(tcp?.action, { kind: 'tcp', port: 9000 });
  assert.equal(planProbe(c({}), 'readiness'), undefined);
});

test('unsupported_or_bad_probes_are_refused_with_a_message', () => {
  assert.throws(() => planProbe(c({ readinessProbe: { exec: { command: ['true'] } } }), 'readiness'), /exec probes are not supported/);
  assert.throws(() => planProbe(c({ readinessProbe: { httpGet: { port: 'nope' } } }), 'readiness'), /names no TCP port/);
  assert.throws(() => planProbe(c({ readinessProbe: { httpGet: { port: 70000 } } }), 'readiness'), /not 1-65535/);
  assert.throws(() => planProbe(c({ readinessProbe: { httpGet: { port: 80, path: 'x y' } } }), 'readiness'), /absolute path/);
  assert.throws(() => planProbe(c({ readinessProbe: {} }), 'readiness'), /no handler/);
});
