// Incremental push over real 15012 streams (TLS 1.3 + HTTP/2 from our CA, the node agent's
// ControllerClient): a change is sent to each agent alone, and the server compares with
// what each client holds only the resources that changed (its own work counter), never the
// whole table again. TokenReview is a stand-in here (callers and their pods are named by
// the test); test/controller-protocol.test.ts covers the real one.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Policy, Resource, Workload } from '../../core/config/model.js';
import { formatSpiffeId, spiffeId } from '../../core/identity/spiffe.js';
import { ControllerClient, type ConfigUpdate } from '../../node-agent/controller-client/client.js';
import { newCa } from '../../test/support/pki.js';
import { waitFor } from '../../test/support/net.js';
import { issueServingCertificate } from '../serving-cert.js';
import type { TokenReviewer } from './token-review.js';
import { PolicyScopeIndex, type ScheduledPod } from './scope.js';
import { ControllerServer } from './server.js';

const TD = 'cluster.local';
const NAME = 'ambient-controller.ambient-system.svc';
const WAIT = 8_000;
const NODES = ['node-1', 'node-2', 'node-3'];

/** A JWT-shaped token for the controller's audience naming the agent's node (the stand-in reviewer reads it). */
const tokenFor = (node: string) => `e30.${Buffer.from(JSON.stringify({ aud: ['ambient.dev/controller'], node })).toString('base64url')}.sig`;

const reviewer: TokenReviewer = {
  review: async (token) => {
    const node = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { node: string }).node;
    return {
      authenticated: true,
      user: { username: 'system:serviceaccount:ambient-system:ambient-node-agent', extra: { 'authentication.kubernetes.io/pod-name': [`agent-${node}`] } },
      audiences: ['ambient.dev/controller'],
    };
  },
};

function workload(i: number, o: { node?: string; app?: string; ns?: string } = {}): Resource<'Workload'> {
  const ns = o.ns ?? 'shop';
  const uid = `uid-${i}`;
  const body: Workload = {
    uid, name: `pod-${i}`, namespace: ns, serviceAccount: 'default', identity: formatSpiffeId(spiffeId(ns, 'default', TD)), node: o.node ?? NODES[i % 3]!,
    ips: [`10.244.${Math.floor(i / 250)}.${(i % 250) + 1}`], protocol: 'HBONE', labels: { app: o.app ?? 'web' }, canonicalName: 'web', canonicalRevision: 'latest', mtlsMode: 'PERMISSIVE', healthy: true,
  };
  return { kind: 'Workload', key: uid, body };
}

function policy(name: string, selector: Record<string, string>): Resource<'Policy'> {
  const body: Policy = { key: `shop/${name}`, name, namespace: 'shop', scope: 'namespace', action: 'DENY', selector, rules: [{ from: [], to: [], when: [] }] };
  return { kind: 'Policy', key: body.key, body };
}

const ids = (u: ConfigUpdate) => [...u.upserts.map((r) => `${r.kind}/${r.key}`), ...u.removes.map((r) => `-${r.kind}/${r.key}`)];

async function setup(t: TestContext, scheduled: Map<string, ScheduledPod[]>) {
  const ca = await newCa(TD);
  const creds = await issueServingCertificate(ca, { dnsName: NAME, identity: spiffeId('ambient-system', 'ambient-controller', TD), ttlMs: 3_600_000 });
  const index = new PolicyScopeIndex((node) => scheduled.get(node) ?? []);
  const server = new ControllerServer({
    credentials: creds,
    trustDomain: TD,
    ca,
    tokenReviewer: reviewer,
    podLister: (node) => [{ namespace: 'ambient-system', name: `agent-${node}`, serviceAccount: 'ambient-node-agent' }],
    policyScope: index,
    limits: { drainTimeoutMs: 1_000 },
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const agents = NODES.map((node) => {
    const updates: ConfigUpdate[] = [];
    const client = new ControllerClient({
      address: { host: '127.0.0.1', port },
      trustBundle: ca.trustBundle,
      controllerIdentity: NAME,
      token: () => tokenFor(node),
      node,
      onUpdate: (u) => {
        updates.push(u);
      },
      limits: { reconnectMinMs: 50, reconnectMaxMs: 300, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 },
    });
    client.on('error', () => {});
    t.after(() => client.close());
    return { node, client, updates };
  });
  return { server, index, agents };
}

/** 1000 Workloads over three nodes (app=db only on node-1) and a policy selecting app=db. */
const INITIAL = [...Array.from({ length: 1000 }, (_, i) => workload(i, { app: i % 3 === 0 ? 'db' : 'web' })), policy('deny-db', { app: 'db' })];

async function connected(t: TestContext, scheduled = new Map<string, ScheduledPod[]>()) {
  const s = await setup(t, scheduled);
  s.server.setResources(INITIAL);
  for (const a of s.agents) a.client.start();
  await waitFor(() => s.agents.every((a) => a.updates.length === 1), WAIT, 'every agent to hold its first config');
  return s;
}

test('one_workload_change_among_1000_is_pushed_alone_and_compared_once_per_agent', async (t) => {
  const { server, agents } = await connected(t);
  assert.deepEqual(agents.map((a) => a.updates[0]!.upserts.filter((r) => r.kind === 'Policy').length), [1, 0, 0], 'the policy only where it selects a workload');
  const before = { ...server.configWork };
  const changed = workload(500, { app: 'web' });
  changed.body.labels = { app: 'web', version: 'v2' };
  server.applyChanges([changed], []);
  await waitFor(() => agents.every((a) => a.updates.length === 2), WAIT, 'the change on every agent');
  for (const a of agents) assert.deepEqual(ids(a.updates[1]!), ['Workload/uid-500'], a.node);
  assert.deepEqual({ compared: server.configWork.compared - before.compared, full: server.configWork.fullComparisons - before.fullComparisons }, { compared: 3, full: 0 });
});

test('an_unchanged_resource_is_not_pushed_and_costs_no_comparison', async (t) => {
  const { server, agents } = await connected(t);
  const before = { ...server.configWork };
  const v = server.applyChanges([workload(7, { app: 'web' })], []);
  assert.equal(v, Number(server.status().version), 'no new version');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(agents.map((a) => a.updates.length), [1, 1, 1]);
  assert.equal(server.configWork.compared - before.compared, 0);
});

test('a_workload_moving_brings_the_policy_selecting_it_to_its_new_node_only', async (t) => {
  const { server, agents } = await connected(t);
  const before = { ...server.configWork };
  server.applyChanges([workload(1, { app: 'db', node: 'node-2' })], []);
  await waitFor(() => agents.every((a) => a.updates.length === 2), WAIT, 'the change on every agent');
  assert.deepEqual(agents.map((a) => ids(a.updates[1]!)), [['Workload/uid-1'], ['Workload/uid-1', 'Policy/shop/deny-db'], ['Workload/uid-1']]);
  assert.equal(server.configWork.compared - before.compared, 4, 'the Workload for each agent, the Policy for node-2');
  // It leaves node-2 with the last workload it selects there.
  server.applyChanges([], [{ kind: 'Workload', key: 'uid-1' }]);
  await waitFor(() => agents.every((a) => a.updates.length === 3), WAIT, 'the removal on every agent');
  assert.deepEqual(ids(agents[1]!.updates[2]!), ['-Workload/uid-1', '-Policy/shop/deny-db']);
});

test('a_pod_scheduled_without_a_workload_rescopes_only_its_node', async (t) => {
  const scheduled = new Map<string, ScheduledPod[]>();
  const { server, agents } = await connected(t, scheduled);
  const before = { ...server.configWork };
  scheduled.set('node-3', [{ namespace: 'shop', labels: { app: 'db' } }]);
  server.applyChanges([], [], ['node-3']);
  await waitFor(() => agents[2]!.updates.length === 2, WAIT, 'the policy on node-3');
  assert.deepEqual(ids(agents[2]!.updates[1]!), ['Policy/shop/deny-db']);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(agents.map((a) => a.updates.length), [1, 1, 2], 'node-1 and node-2 are not sent anything');
  assert.equal(server.configWork.compared - before.compared, 1);
});
