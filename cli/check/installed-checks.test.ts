import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Certificates, HeldCertificate, MeshStatus } from '../../console/api-types.js';
import { known, unknown } from './facts.js';
import { checkAgentVersions, checkAgentsExist, checkAgentsReady, checkApi, checkCaCertificates, checkCni, checkControllerExists, checkControllerReady, checkCrdsEstablished, checkCrdsPresent, checkLeafCertificates, installedReport, listed, type InstalledFacts } from './installed-checks.js';
import { exitCodeOf } from './report.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const summary = (subject: string, fromDays: number, toDays: number) => ({ subject, fingerprint: `fp-${subject}`, notBefore: iso(NOW + fromDays * DAY), notAfter: iso(NOW + toDays * DAY) });
const held = (pod: string, fromH: number, toH: number): HeldCertificate => ({ kind: 'workload', identity: `spiffe://cluster.local/ns/shop/sa/${pod}`, namespace: 'shop', workload: pod, pod, node: 'n1', serial: `s-${pod}`, notBefore: iso(NOW + fromH * 3600e3), notAfter: iso(NOW + toH * 3600e3), issuer: null, reportedAt: iso(NOW) });
const certs = (over: Partial<Certificates> = {}): Certificates => ({ roots: [summary('root', -100, 3000)], signing: summary('signing', -100, 3000), serving: summary('controller', -1, 30), workloads: [held('web', -2, 22)], ...over });
type Agent = MeshStatus['agents'][number];
const agent = (node: string, over: Partial<Agent> = {}): Agent => ({ node, connected: true, ackedVersion: '7', controllerVersion: '7', nacks: [], problems: [], synced: true, ...over });
const status = (agents: Agent[]): MeshStatus => ({ controller: { leader: 'c-0', replicas: [{ name: 'c-0', node: 'n1', ready: true, leader: true, version: 'x' }] }, configVersion: '7', agents, problems: [] }) as unknown as MeshStatus;

const crd = (name: string, established = true, message?: string) => ({ metadata: { name }, spec: { group: 'ambient.dev' }, status: { conditions: [{ type: 'Established', status: established ? 'True' : 'False', ...(message && { message }) }] } });
const deployment = (want: number, ready: number, updated = want) => ({ metadata: { name: 'ambient-controller', generation: 1 }, spec: { replicas: want }, status: { observedGeneration: 1, replicas: updated, readyReplicas: ready, updatedReplicas: updated, availableReplicas: ready } });
const daemonSet = (desired: number, ready: number, updated = desired) => ({ metadata: { name: 'ambient-node-agent', generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: desired, numberReady: ready, updatedNumberScheduled: updated, numberAvailable: ready } });
const pod = (name: string, node: string, ready = true, waiting?: string) => ({
  metadata: { name },
  spec: { nodeName: node },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], containerStatuses: [{ name: 'node-agent', ready, restartCount: 0, state: waiting ? { waiting: { reason: waiting } } : { running: {} } }] },
});
const node = (name: string, os = 'linux') => ({ metadata: { name, labels: { 'kubernetes.io/os': os } }, status: { nodeInfo: { operatingSystem: os } } });

function facts(over: Partial<InstalledFacts> = {}): InstalledFacts {
  return {
    expectedCrds: ['authorizationpolicies.ambient.dev', 'rollouts.ambient.dev'],
    crds: known([crd('authorizationpolicies.ambient.dev'), crd('rollouts.ambient.dev')]),
    controller: known(deployment(2, 2)),
    controllerPods: known([pod('c-1', 'n1'), pod('c-2', 'n2')]),
    agents: known(daemonSet(2, 2)),
    agentPods: known([pod('a-1', 'n1'), pod('a-2', 'n2')]),
    nodes: known([node('n1'), node('n2')]),
    status: known(status([agent('n1'), agent('n2')])),
    certificates: known(certs()),
    now: NOW,
    ...over,
  };
}

test('healthy_mesh_passes_every_check', () => {
  const r = installedReport(facts());
  const bad = r.groups.flatMap((g) => g.results).filter((c) => c.state !== 'pass');
  assert.deepEqual(bad, []);
  assert.equal(exitCodeOf(r), 0);
});

test('missing_crd_fails_naming_it_and_unestablished_crd_fails_with_its_message', () => {
  const missing = checkCrdsPresent(facts({ crds: known([crd('rollouts.ambient.dev')]) }));
  assert.equal(missing.state, 'fail');
  assert.equal(missing.reason, 'missing: authorizationpolicies.ambient.dev');
  const notEst = checkCrdsEstablished(facts({ crds: known([crd('rollouts.ambient.dev', false, 'the initial names have not been accepted')]) }));
  assert.equal(notEst.state, 'fail');
  assert.match(notEst.reason!, /rollouts\.ambient\.dev \(the initial names have not been accepted\)/);
  assert.equal(checkCrdsPresent(facts({ crds: unknown('403') })).state, 'fail');
});

test('controller_missing_or_not_all_ready_fails_with_the_readiness_summary_and_the_pod_that_is_not', () => {
  assert.equal(checkControllerExists(facts({ controller: known(null) })).state, 'fail');
  const r = checkControllerReady(facts({ controller: known(deployment(2, 1)), controllerPods: known([pod('c-1', 'n1'), pod('c-2', 'n2', false, 'CrashLoopBackOff')]) }));
  assert.equal(r.state, 'fail');
  assert.match(r.reason!, /^1 of 2 updated replicas ready\n/);
  assert.match(r.reason!, /pod c-2 on n2: .*container node-agent waiting: CrashLoopBackOff/);
  assert.equal(checkControllerReady(facts()).reason, '2 of 2 updated replicas ready');
  // Ready but not yet all on the new template: a rollout is still going on.
  assert.equal(checkControllerReady(facts({ controller: known(deployment(2, 2, 1)) })).state, 'fail');
});

test('agents_not_ready_on_a_node_fail_naming_the_node_and_why', () => {
  assert.equal(checkAgentsExist(facts({ agents: known(null) })).state, 'fail');
  const r = checkAgentsReady(facts({ agents: known(daemonSet(2, 1)), agentPods: known([pod('a-1', 'n1'), pod('a-2', 'n2', false, 'CrashLoopBackOff')]) }));
  assert.equal(r.state, 'fail');
  assert.match(r.reason!, /^1 of 2 nodes have an updated, ready agent\n/);
  assert.match(r.reason!, /pod a-2 on n2: .*CrashLoopBackOff/);
});

test('agents_not_all_updated_fail_even_when_ready', () => {
  const r = checkAgentsReady(facts({ agents: known(daemonSet(2, 2, 1)) }));
  assert.equal(r.state, 'fail');
  assert.match(r.reason!, /1 of 2 nodes still run an older agent/);
});

test('cni_is_judged_by_agent_readiness_per_linux_node', () => {
  assert.equal(checkCni(facts()).state, 'pass');
  const r = checkCni(facts({ nodes: known([node('n1'), node('n3'), node('w1', 'windows')]) }));
  assert.equal(r.state, 'fail');
  assert.match(r.reason!, /^not known to be chained on: n3;/);
  assert.match(r.reason!, /\nnode n3: no agent pod$/);
  assert.doesNotMatch(r.reason!, /w1/);
  const notReady = checkCni(facts({ agentPods: known([pod('a-1', 'n1'), pod('a-2', 'n2', false)]) }));
  assert.match(notReady.reason!, /node n2: pod a-2 on n2: .*Ready=False/);
  assert.match(checkCni(facts()).name, /judged by its agent's readiness/);
});

test('controller_api_unreachable_fails_with_its_error', () => {
  const r = checkApi(facts({ status: unknown('cannot read the mesh\'s roots') }));
  assert.equal(r.state, 'fail');
  assert.equal(r.reason, "cannot read the mesh's roots");
});

test('root_expiring_within_30_days_warns_expired_root_fails', () => {
  const soon = checkCaCertificates(facts({ certificates: known(certs({ roots: [summary('root', -3000, 10)] })) }));
  assert.equal(soon.state, 'warn');
  assert.match(soon.reason!, /expiring within 30 days: root: 10d left/);
  const expired = checkCaCertificates(facts({ certificates: known(certs({ roots: [summary('root', -3000, -1)] })) }));
  assert.equal(expired.state, 'fail');
  assert.match(expired.reason!, /root: expired 2026-05-31/);
  assert.equal(checkCaCertificates(facts({ certificates: known(certs({ roots: [] , signing: undefined as never })) })).state, 'fail');
  // 31 days left: fine.
  assert.equal(checkCaCertificates(facts({ certificates: known(certs({ signing: summary('signing', -300, 31) })) })).state, 'pass');
});

test('expired_workload_certificate_fails_and_one_past_its_renewal_warns', () => {
  const expired = checkLeafCertificates(facts({ certificates: known(certs({ workloads: [held('web', -24, -1)] })) }));
  assert.equal(expired.state, 'fail');
  assert.match(expired.reason!, /shop\/web \(spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web on n1\): expired/);
  const late = checkLeafCertificates(facts({ certificates: known(certs({ workloads: [held('web', -20, 4)] })) }));
  assert.equal(late.state, 'warn');
  assert.match(late.reason!, /renewal overdue.*shop\/web .*4h left/);
  assert.equal(checkLeafCertificates(facts({ certificates: known(certs({ workloads: [] })) })).state, 'pass');
});

test('agent_behind_its_replicas_version_fails_with_the_status_judgement', () => {
  const r = checkAgentVersions(facts({ status: known(status([agent('n1'), agent('n2', { ackedVersion: '6' }), agent('n3', { connected: false })])) }));
  assert.equal(r.state, 'fail');
  assert.equal(r.reason, 'node n2: agent has ACKed version 6, its controller replica is at 7, node n3: not connected');
  // Each replica numbers its own versions: an agent on another replica is judged by that one's.
  assert.equal(checkAgentVersions(facts({ status: known(status([agent('n1', { ackedVersion: '3', controllerVersion: '3' })])) })).state, 'pass');
  assert.equal(checkAgentVersions(facts({ status: known(status([])) })).state, 'fail');
});

test('listed_cuts_long_lists', () => {
  assert.equal(listed(['a', 'b']), 'a, b');
  assert.equal(listed(['1', '2', '3', '4', '5', '6', '7']), '1, 2, 3, 4, 5 and 2 more');
});
