// Unit tests of the pod status the local kubelet reports from its containers' states.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1PodStatus } from '@kubernetes/client-node';
import { podStatus, statusKey, type ContainerView } from './pod-status.js';
import type { ContainerState } from './supervisor.js';

const T0 = new Date('2024-01-01T00:00:00Z');
const T1 = new Date('2024-01-01T00:01:00Z');

const waiting = (reason = 'ContainerCreating', message?: string): ContainerState => ({ state: 'waiting', reason, ...(message ? { message } : {}) });
const running = (startedAt = T0): ContainerState => ({ state: 'running', startedAt, pid: 123 });
const terminated = (exitCode: number, signal?: string): ContainerState => ({
  state: 'terminated',
  exitCode,
  reason: exitCode === 0 ? 'Completed' : 'Error',
  finishedAt: T1,
  ...(signal ? { signal } : {}),
});

function view(name: string, state: ContainerState, restartCount = 0, lastTermination?: ContainerState): ContainerView {
  return { name, image: `img/${name}`, state, restartCount, ...(lastTermination ? { lastTermination } : {}) };
}

function status(containers: ContainerView[], podIP: string | null = '10.0.0.5'): V1PodStatus {
  return podStatus({ ...(podIP ? { podIP } : {}), hostIP: '192.168.1.2', startTime: T0, containers });
}

function condition(s: V1PodStatus, type: string): string | undefined {
  return s.conditions?.find((c) => c.type === type)?.status;
}

// --- phase ---

test('phase_is_pending_when_a_container_is_waiting', () => {
  assert.equal(status([view('a', waiting())]).phase, 'Pending');
});

test('phase_is_pending_while_any_container_waits_to_start_the_first_time', () => {
  // As the kubelet: a container not yet started (never terminated) keeps the pod Pending.
  assert.equal(status([view('a', running()), view('b', waiting())]).phase, 'Pending');
  assert.equal(status([view('a', waiting()), view('b', waiting())]).phase, 'Pending');
  assert.equal(status([view('a', waiting('UnknownImage', 'x'))]).phase, 'Pending');
});

test('phase_is_running_when_one_runs_and_another_has_finished', () => {
  assert.equal(status([view('a', running()), view('b', terminated(0))]).phase, 'Running');
});

test('phase_is_pending_with_no_containers', () => {
  assert.equal(status([]).phase, 'Pending');
});

test('phase_is_running_when_all_containers_run', () => {
  assert.equal(status([view('a', running()), view('b', running())]).phase, 'Running');
});

test('phase_is_running_when_crash_looping_after_a_restart', () => {
  const s = status([view('a', waiting('CrashLoopBackOff', 'back-off 2s'), 1, terminated(1))]);
  assert.equal(s.phase, 'Running');
});

test('phase_is_running_when_terminated_but_restarted_before', () => {
  // One container done, another waiting to restart: not all terminated.
  assert.equal(status([view('a', terminated(0)), view('b', waiting('CrashLoopBackOff'), 2)]).phase, 'Running');
});

test('phase_is_succeeded_when_all_terminated_with_zero', () => {
  assert.equal(status([view('a', terminated(0)), view('b', terminated(0))]).phase, 'Succeeded');
});

test('phase_is_failed_when_all_terminated_and_one_failed', () => {
  assert.equal(status([view('a', terminated(0)), view('b', terminated(2))]).phase, 'Failed');
});

test('phase_is_failed_when_killed_by_a_signal', () => {
  assert.equal(status([view('a', terminated(137, 'SIGKILL'))]).phase, 'Failed');
});

// --- conditions ---

test('ready_condition_is_true_when_all_containers_run', () => {
  const s = status([view('a', running()), view('b', running())]);
  assert.equal(condition(s, 'Ready'), 'True');
  assert.equal(condition(s, 'ContainersReady'), 'True');
});

test('ready_condition_is_false_when_any_container_is_not_running', () => {
  for (const other of [waiting(), terminated(0), waiting('CrashLoopBackOff')]) {
    const s = status([view('a', running()), view('b', other)]);
    assert.equal(condition(s, 'Ready'), 'False');
    assert.equal(condition(s, 'ContainersReady'), 'False');
  }
});

test('ready_condition_is_false_with_no_containers', () => {
  assert.equal(condition(status([]), 'Ready'), 'False');
});

test('conditions_include_scheduled_and_initialized', () => {
  const s = status([view('a', waiting())]);
  assert.deepEqual(
    s.conditions!.map((c) => c.type),
    ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'],
  );
  assert.equal(condition(s, 'PodScheduled'), 'True');
  assert.equal(condition(s, 'Initialized'), 'True');
  assert.ok(s.conditions!.every((c) => c.lastTransitionTime instanceof Date));
});

// --- addresses and times ---

test('status_carries_pod_and_host_ips_and_start_time', () => {
  const s = status([view('a', running())]);
  assert.equal(s.podIP, '10.0.0.5');
  assert.deepEqual(s.podIPs, [{ ip: '10.0.0.5' }]);
  assert.equal(s.hostIP, '192.168.1.2');
  assert.deepEqual(s.hostIPs, [{ ip: '192.168.1.2' }]);
  assert.equal(s.startTime, T0);
});

test('status_omits_pod_ip_until_there_is_one', () => {
  const s = status([view('a', waiting())], null);
  assert.equal('podIP' in s, false);
  assert.equal('podIPs' in s, false);
});

// --- containerStatuses ---

test('container_status_of_a_running_container', () => {
  const [c] = status([view('a', running(T0))]).containerStatuses!;
  assert.deepEqual(c, { name: 'a', image: 'img/a', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: T0 } } });
});

test('container_status_of_a_waiting_container', () => {
  const [c] = status([view('a', waiting('ContainerCreating'))]).containerStatuses!;
  assert.deepEqual(c!.state, { waiting: { reason: 'ContainerCreating' } });
  assert.equal(c!.ready, false);
  assert.equal(c!.started, false);
});

test('container_status_of_a_waiting_container_with_message', () => {
  const [c] = status([view('a', waiting('UnknownImage', 'no such image'))]).containerStatuses!;
  assert.deepEqual(c!.state, { waiting: { reason: 'UnknownImage', message: 'no such image' } });
});

test('container_status_of_a_terminated_container', () => {
  const [c] = status([view('a', terminated(3))]).containerStatuses!;
  assert.deepEqual(c!.state, { terminated: { exitCode: 3, reason: 'Error', finishedAt: T1 } });
  assert.equal(c!.ready, false);
});

test('container_status_of_a_signalled_container_says_the_signal', () => {
  const [c] = status([view('a', terminated(143, 'SIGTERM'))]).containerStatuses!;
  assert.equal(c!.state!.terminated!.message, 'killed by SIGTERM');
});

test('container_status_has_restart_count_and_last_state', () => {
  const [c] = status([view('a', running(T1), 4, terminated(1))]).containerStatuses!;
  assert.equal(c!.restartCount, 4);
  assert.deepEqual(c!.lastState, { terminated: { exitCode: 1, reason: 'Error', finishedAt: T1 } });
});

test('container_status_has_no_last_state_before_a_termination', () => {
  const [c] = status([view('a', running())]).containerStatuses!;
  assert.equal('lastState' in c!, false);
});

test('container_statuses_keep_container_order', () => {
  const s = status([view('z', running()), view('a', waiting())]);
  assert.deepEqual(
    s.containerStatuses!.map((c) => c.name),
    ['z', 'a'],
  );
});

// --- reason / message ---

test('pod_reason_and_message_come_from_a_waiting_container', () => {
  const s = status([view('a', running()), view('b', waiting('UnknownImage', 'image "x" is not one the local cluster can run'))]);
  assert.equal(s.reason, 'UnknownImage');
  assert.equal(s.message, 'image "x" is not one the local cluster can run');
});

test('pod_message_is_empty_when_the_waiting_container_has_none', () => {
  const s = status([view('a', waiting('ContainerCreating'))]);
  assert.equal(s.reason, 'ContainerCreating');
  assert.equal(s.message, '');
});

test('pod_has_no_reason_when_all_containers_run', () => {
  const s = status([view('a', running())]);
  assert.equal('reason' in s, false);
  assert.equal('message' in s, false);
});

test('pod_has_no_reason_when_all_terminated', () => {
  assert.equal('reason' in status([view('a', terminated(0))]), false);
});

// --- statusKey ---

test('status_key_is_equal_when_only_timestamps_differ', () => {
  const a = status([view('a', running(T0))]);
  const b = status([view('a', running(T1))]);
  for (const c of b.conditions!) c.lastTransitionTime = new Date(0);
  b.startTime = T1;
  assert.notDeepEqual(a, b);
  assert.equal(statusKey(a), statusKey(b));
});

test('status_key_is_equal_for_the_same_inputs', () => {
  const input = [view('a', waiting('CrashLoopBackOff'), 2, terminated(1))];
  assert.equal(statusKey(status(input)), statusKey(status(input)));
});

test('status_key_differs_when_readiness_changes', () => {
  const a = status([view('a', running()), view('b', waiting())]);
  const b = status([view('a', running()), view('b', running())]);
  assert.notEqual(statusKey(a), statusKey(b));
});

test('status_key_differs_when_phase_changes', () => {
  assert.notEqual(statusKey(status([view('a', terminated(0))])), statusKey(status([view('a', terminated(1))])));
});

test('status_key_differs_when_pod_ip_arrives', () => {
  assert.notEqual(statusKey(status([view('a', waiting())], null)), statusKey(status([view('a', waiting())], '10.0.0.7')));
});

test('status_key_differs_when_restart_count_changes', () => {
  const a = status([view('a', running(), 1)]);
  const b = status([view('a', running(), 2)]);
  assert.notEqual(statusKey(a), statusKey(b));
});

test('status_key_differs_when_the_waiting_reason_changes', () => {
  const a = status([view('a', waiting('ContainerCreating'))]);
  const b = status([view('a', waiting('UnknownImage'))]);
  assert.notEqual(statusKey(a), statusKey(b));
});

// --- readiness probes ---

test('a_running_container_failing_its_readiness_probe_keeps_the_pod_not_ready', () => {
  const s = status([{ ...view('a', running()), ready: false }, view('b', running())]);
  assert.equal(s.phase, 'Running');
  assert.equal(condition(s, 'Ready'), 'False');
  assert.equal(condition(s, 'ContainersReady'), 'False');
  assert.equal(s.conditions?.find((c) => c.type === 'Ready')?.message, 'containers with unready status: [a]');
  assert.deepEqual(s.containerStatuses?.map((c) => c.ready), [false, true]);
});

test('the_pod_is_ready_when_every_readiness_probe_passed', () => {
  const s = status([{ ...view('a', running()), ready: true }, view('b', running())]);
  assert.equal(condition(s, 'Ready'), 'True');
});

test('dual_stack_pod_ips_are_reported_primary_first', () => {
  const s = podStatus({ podIP: '10.244.1.5', podIPs: ['10.244.1.5', 'fd00:10:244:1::5'], hostIP: '10.243.0.11', startTime: T0, containers: [view('a', running())] });
  assert.deepEqual(s.podIPs, [{ ip: '10.244.1.5' }, { ip: 'fd00:10:244:1::5' }]);
  assert.equal(s.podIP, '10.244.1.5');
});
