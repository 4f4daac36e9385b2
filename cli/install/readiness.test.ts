import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crdEstablished, daemonSetReadiness, deploymentReadiness, podProblem } from './readiness.js';

const readyPod = (name: string, node: string) => ({
  metadata: { name },
  spec: { nodeName: node },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: { running: {} } }] },
});

const deployment = (status: object, replicas = 2, generation = 3) => ({ metadata: { generation }, spec: { replicas }, status: { observedGeneration: generation, ...status } });

test('a deployment with every replica updated, ready and available is ready', () => {
  const r = deploymentReadiness(deployment({ replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }), [readyPod('a', 'n1'), readyPod('b', 'n2')]);
  assert.deepEqual(r, { ready: true, summary: '2 of 2 updated replicas ready', problems: [] });
});

test('a deployment whose controller has not seen the latest generation is not ready, whatever its counts', () => {
  const d = { ...deployment({ replicas: 2, updatedReplicas: 2, readyReplicas: 2 }), status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2 } };
  const r = deploymentReadiness(d, []);
  assert.equal(r.ready, false);
  assert.match(r.summary, /generation 3/);
});

test('a deployment mid-rollout names the old replicas and the pods not ready, with why', () => {
  const waiting = { metadata: { name: 'ctl-x' }, spec: { nodeName: 'node1' }, status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }], containerStatuses: [{ name: 'controller', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } }, lastState: { terminated: { reason: 'Error', exitCode: 1 } } }] } };
  const r = deploymentReadiness(deployment({ replicas: 3, updatedReplicas: 1, readyReplicas: 2 }), [readyPod('a', 'n1'), waiting]);
  assert.equal(r.ready, false);
  assert.equal(r.summary, '1 of 2 updated replicas ready');
  assert.ok(r.problems.includes('1 of 2 replicas run the latest template'));
  assert.ok(r.problems.includes('2 old replicas pending termination'));
  const line = r.problems.find((p) => p.startsWith('pod ctl-x'))!;
  assert.match(line, /on node1: phase Pending/);
  assert.match(line, /Ready=False \(ContainersNotReady\)/);
  assert.match(line, /container controller waiting: CrashLoopBackOff: back-off 10s/);
  assert.match(line, /restarted 2 times, last: Error \(exit code 1\)/);
});

test('a missing deployment is not ready and says so', () => {
  assert.deepEqual(deploymentReadiness(undefined, []), { ready: false, summary: 'not found', problems: ['the Deployment does not exist'] });
});

const ds = (status: object, generation = 1) => ({ metadata: { generation }, status: { observedGeneration: generation, ...status } });
const nodes = [{ metadata: { name: 'node1' } }, { metadata: { name: 'node2' } }];

test('a daemonset updated and ready on every node is ready', () => {
  const r = daemonSetReadiness(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberReady: 2, numberAvailable: 2 }), [readyPod('a1', 'node1'), readyPod('a2', 'node2')], nodes);
  assert.deepEqual(r, { ready: true, summary: '2 of 2 nodes have an updated, ready agent', problems: [] });
});

test('a daemonset missing a pod on a node names the node', () => {
  const r = daemonSetReadiness(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberReady: 1 }), [readyPod('a1', 'node1')], nodes);
  assert.equal(r.ready, false);
  assert.ok(r.problems.includes('node node2: no agent pod'), r.problems.join('\n'));
  assert.ok(r.problems.includes('1 of 2 nodes still run an older agent'));
});

test('a daemonset with an agent running but failing its readiness probe says which and why', () => {
  const notReady = { metadata: { name: 'a2' }, spec: { nodeName: 'node2' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'node-agent', ready: false, restartCount: 0, state: { running: {} } }] } };
  const r = daemonSetReadiness(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberReady: 1 }), [readyPod('a1', 'node1'), notReady], nodes);
  assert.equal(r.ready, false);
  assert.ok(r.problems.some((p) => /^pod a2 on node2: phase Running; Ready=False; container node-agent running, not ready \(readiness probe\)$/.test(p)), r.problems.join('\n'));
});

test('a daemonset scheduled on no node is not ready', () => {
  const r = daemonSetReadiness(ds({ desiredNumberScheduled: 0, updatedNumberScheduled: 0, numberReady: 0 }), [], []);
  assert.equal(r.ready, false);
  assert.ok(r.problems.includes('the cluster has no nodes'));
});

test('a daemonset whose controller has not seen the new template is not ready', () => {
  const r = daemonSetReadiness({ metadata: { generation: 2 }, status: { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberReady: 2 } }, [], nodes);
  assert.equal(r.ready, false);
});

test('a ready pod has no problem; a terminated container gives its reason and exit code', () => {
  assert.equal(podProblem(readyPod('a', 'n')), undefined);
  const p = { metadata: { name: 'x' }, status: { phase: 'Failed', containerStatuses: [{ name: 'c', restartCount: 0, state: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] } };
  assert.equal(podProblem(p), 'pod x: phase Failed; container c terminated: OOMKilled (exit code 137)');
});

test('many pods not ready are summed up after five lines', () => {
  const pods = Array.from({ length: 8 }, (_, i) => ({ metadata: { name: `p${i}` }, status: { phase: 'Pending' } }));
  const r = deploymentReadiness(deployment({ replicas: 8, updatedReplicas: 8, readyReplicas: 0 }, 8), pods);
  assert.equal(r.problems.at(-1), '... and 3 more pods not ready');
});

test('a CRD is established only with its Established condition True', () => {
  assert.equal(crdEstablished({ status: { conditions: [{ type: 'Established', status: 'True' }] } }), true);
  assert.equal(crdEstablished({ status: { conditions: [{ type: 'NamesAccepted', status: 'True' }] } }), false);
  assert.equal(crdEstablished(undefined), false);
});
