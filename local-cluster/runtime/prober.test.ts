// The prober's bookkeeping with a fake probe: readiness flips after its thresholds, a
// liveness failure kills the container once and waits for its restart, a restart starts
// the probes over.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { PodProber, type ProbeOutcome } from './prober.js';
import type { ProbeAction } from './probes.js';
import type { ContainerState } from './supervisor.js';

const WAIT_MS = 5_000;

async function until(what: string, pred: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function fixture(t: TestContext, container: V1Container, answer: (a: ProbeAction) => ProbeOutcome['result']) {
  let state: ContainerState = { state: 'running', startedAt: new Date(), pid: 4242 };
  const kills: string[] = [];
  let changes = 0;
  const prober = new PodProber({
    containers: [container],
    container: () => ({ state: () => state, kill: (sig) => kills.push(sig) }),
    target: { podIp: '10.0.0.1', nodeNetnsPath: '/nonexistent' },
    onChange: () => changes++,
    run: async (a) => ({ result: answer(a), message: 'fake' }),
  });
  t.after(() => prober.stop());
  return {
    prober,
    kills,
    changes: () => changes,
    restart: () => (state = { state: 'running', startedAt: new Date(Date.now() + 1), pid: 4243 }),
    stopContainer: () => (state = { state: 'waiting', reason: 'CrashLoopBackOff' }),
  };
}

test('readiness_becomes_true_after_success_threshold_and_false_after_failure_threshold', async (t) => {
  let healthy = true;
  const f = fixture(t, { name: 'app', readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1, successThreshold: 1, failureThreshold: 1 } }, () => (healthy ? 'success' : 'failure'));
  assert.equal(f.prober.ready('app'), false, 'not ready before the first probe');
  await until('ready', () => f.prober.ready('app'));
  healthy = false;
  await until('not ready again', () => !f.prober.ready('app'));
  assert.ok(f.changes() >= 2);
  assert.deepEqual(f.kills, [], 'readiness never kills');
});

test('liveness_failure_kills_once_and_a_restart_starts_over', async (t) => {
  const f = fixture(t, { name: 'app', livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1, failureThreshold: 1 } }, () => 'failure');
  await until('the kill', () => f.kills.length > 0);
  assert.deepEqual(f.kills, ['SIGTERM']);
  await new Promise((r) => setTimeout(r, 1_300));
  assert.deepEqual(f.kills, ['SIGTERM'], 'on hold until the container restarts');
  f.stopContainer();
  await new Promise((r) => setTimeout(r, 300));
  f.restart();
  await until('the second kill, after the restart', () => f.kills.filter((k) => k === 'SIGTERM').length === 2);
});

test('a_container_without_a_readiness_probe_is_ready_and_an_exec_probe_never_is', (t) => {
  const none = fixture(t, { name: 'app' }, () => 'success');
  assert.equal(none.prober.ready('app'), true);
  const exec = fixture(t, { name: 'app', readinessProbe: { exec: { command: ['true'] } } }, () => 'success');
  assert.equal(exec.prober.ready('app'), false);
  assert.match(exec.prober.message('app') ?? '', /exec probes are not supported/);
});
