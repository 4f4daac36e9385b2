// Direct tier: two controller replicas in-process against one local API server, each with
// its API on its own loopback address (127.0.0.2 and 127.0.0.3, the same port, as two pods'
// IPs) and found by the other as a pod of the controller Deployment (label
// app=ambient-controller, Running, that IP). What one replica's clients reported is answered
// by the other: a flow ingested by A is in B's /flows, /graph and /flows/stream; an agent
// connected to A is in B's /status; certificates listed to A are in B's /certificates. The
// internal route admits the controller's own ServiceAccount only (an ordinary user's token
// and another ServiceAccount's are refused).
// A replica that accepts but never answers makes the answer partial, naming it. Every wait
// is bounded; everything started is stopped in `after`.
import assert from 'node:assert/strict';
import https from 'node:https';
import { apiCall, type ApiAnswer } from './support/api-call.js';
import { ApiClient } from '../cli/api-client.js';
import { tlsTo, type ControllerLink } from '../cli/controller-link.js';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { Controller } from '../controller/controller.js';
import { emptyCounts, type TelemetryReport } from '../core/observe/telemetry-wire.js';
import { boundToken, createRunningPod, MERGE, pollUntil, startApiEnv, startConfigClient, startTestController, type ApiEnv } from './support/control-plane.js';

const WAIT = 10_000;
const NS = 'ambient-system';
const HOSTS = { a: '127.0.0.2', b: '127.0.0.3', silent: '127.0.0.4' };

let env: ApiEnv;
let port: number;
const controllers: { a?: Controller; b?: Controller } = {};
let silent: net.Server | undefined;
const silentSockets = new Set<net.Socket>();
let agent: ReturnType<typeof startConfigClient> | undefined;
const tokens = { controller: '', user: '', otherSa: '' };

const get = (c: Controller, host: string, path: string, token: string | undefined = tokens.user): Promise<ApiAnswer> => apiCall(c, 'GET', path, { host, timeoutMs: 8_000, ...(token !== undefined && { token }) });
const onA = (path: string, token?: string) => get(controllers.a!, HOSTS.a, path, token);
const onB = (path: string, token?: string) => get(controllers.b!, HOSTS.b, path, token);

/** A denied connection from apps/client to apps/echo, as the destination's node agent reports it. */
function report(workload: string): TelemetryReport {
  const source = { workload, namespace: 'apps', identity: `spiffe://cluster.local/ns/apps/sa/${workload}` };
  const destination = { workload: 'echo', namespace: 'apps', identity: 'spiffe://cluster.local/ns/apps/sa/echo', service: 'apps/echo.apps.svc.cluster.local' };
  return {
    edges: [{ reporter: 'destination', source, destination, port: 80, protocol: 'tcp', mtls: true, viaWaypoint: false, ...emptyCounts(), bytesSent: 1000, bytesReceived: 2000, connectionsOpened: 1, connectionsClosed: 1, allowed: 1 }],
    overflowEdges: 0,
    flows: [{ time: Date.now(), reporter: 'destination', source, destination: { ...destination, pod: 'echo-1' }, port: 80, protocol: 'tcp', mtls: true, viaWaypoint: false, verdict: 'denied', policy: 'apps/deny-all', durationMs: 2, bytesSent: 0, bytesReceived: 0 }],
    droppedFlows: 0,
  };
}

async function controllerPod(name: string, ip: string): Promise<void> {
  await createRunningPod(env.core, NS, name, 'ambient-controller', ip);
  await env.core.patchNamespacedPod({ namespace: NS, name, body: { metadata: { labels: { app: 'ambient-controller' } } } }, MERGE);
}

async function freePortOn(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, host, resolve));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

before(async () => {
  env = await startApiEnv('peers:', [NS, 'apps']);
  for (const [ns, sa] of [[NS, 'ambient-controller'], [NS, 'ambient-node-agent'], ['apps', 'viewer']] as const) {
    await env.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  }
  const token = async (ns: string, sa: string) => (await env.core.createNamespacedServiceAccountToken({ namespace: ns, name: sa, body: { spec: { audiences: [] } } })).status!.token;
  tokens.controller = await token(NS, 'ambient-controller');
  tokens.user = await token('apps', 'viewer');
  tokens.otherSa = await token(NS, 'ambient-node-agent');
  await controllerPod('ctl-a', HOSTS.a);
  await controllerPod('ctl-b', HOSTS.b);
  port = await freePortOn(HOSTS.a);
  const start = (self: string, host: string) =>
    startTestController(env.kc, {
      rollouts: { enabled: false },
      waypoints: { enabled: false },
      leaderElection: { limits: { leaseDurationSeconds: 2, renewDeadlineMs: 1_000, retryPeriodMs: 200 } },
      api: { host, port, limits: { peerTimeoutMs: 1_000, peerFlowPollMs: 200 } },
      peers: { self, token: () => tokens.controller },
    });
  controllers.a = await start('ctl-a', HOSTS.a);
  controllers.b = await start('ctl-b', HOSTS.b);
});

after(async () => {
  await agent?.client.close();
  for (const s of silentSockets) s.destroy();
  silent?.close();
  await controllers.b?.close();
  await controllers.a?.close();
  await env?.close();
});

test('a_flow_reported_to_replica_a_is_in_replica_bs_flows_and_graph', async () => {
  controllers.a!.telemetry.ingest({ role: 'node-agent', node: 'node-1' }, report('client'));
  const flows = await pollUntil('B to list the flow A holds', async () => {
    const r = await onB('/api/v1/flows?namespace=apps');
    return r.json?.items?.some((f: { source: { workload: string } }) => f.source.workload === 'client') ? r.json : undefined;
  }, WAIT);
  const f = flows.items.find((x: { source: { workload: string } }) => x.source.workload === 'client');
  assert.deepEqual([f.verdict, f.policy, f.reporter, f.id], ['denied', 'apps/deny-all', 'node agent on node-1', 'ctl-a:1']);
  assert.equal(flows.partial, undefined, 'every replica answered');
  // B's own window holds nothing: the flow came from A.
  assert.equal(controllers.b!.telemetry.flows({ limit: 10 }).flows.length, 0);

  const graph = (await onB('/api/v1/graph?namespace=apps&window=5m')).json;
  const edge = graph.edges.find((e: { source: string; target: string }) => e.source === 'workload:apps/client' && e.target === 'service:apps/echo');
  assert.ok(edge, JSON.stringify(graph));
  assert.deepEqual([edge.mtls, edge.bytesSent, edge.bytesReceived], [true, 1000, 2000]);
});

test('edges_reported_to_both_replicas_are_summed_in_either_ones_graph', async () => {
  controllers.a!.telemetry.ingest({ role: 'node-agent', node: 'node-1' }, report('summed'));
  controllers.b!.telemetry.ingest({ role: 'node-agent', node: 'node-2' }, report('summed'));
  for (const ask of [onA, onB]) {
    const graph = (await ask('/api/v1/graph?namespace=apps')).json;
    const edge = graph.edges.find((e: { source: string; target: string }) => e.source === 'workload:apps/summed' && e.target === 'service:apps/echo');
    assert.deepEqual([edge?.bytesSent, edge?.bytesReceived], [2000, 4000], JSON.stringify(graph.edges));
  }
  const flows = (await onA('/api/v1/flows?namespace=apps&limit=1000')).json.items.filter((f: { source: { workload: string } }) => f.source.workload === 'summed');
  assert.deepEqual(flows.map((f: { reporter: string }) => f.reporter).sort(), ['node agent on node-1', 'node agent on node-2']);
  assert.equal(new Set(flows.map((f: { id: string }) => f.id)).size, 2, 'ids are unique across replicas');
});

test('replica_bs_flow_stream_carries_a_new_flow_reported_to_a', async () => {
  const got = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      { host: HOSTS.b, port, path: '/api/v1/flows/stream?namespace=apps', ca: controllers.b!.ca.trustBundle.pems(), servername: 'ambient-controller.ambient-system.svc', headers: { authorization: `Bearer ${tokens.user}` }, timeout: WAIT },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        let text = '';
        let sent = 0;
        res.setEncoding('utf8');
        // Report to A until B's stream has it (the first poll of A only sets where the stream starts).
        const tick = setInterval(() => {
          if (sent++ < 40) controllers.a!.telemetry.ingest({ role: 'node-agent', node: 'node-1' }, report('streamed'));
        }, 250);
        res.on('data', (c: string) => {
          text += c;
          if (/event: flow\ndata: .*"streamed".*\n\n/.test(text)) {
            clearInterval(tick);
            req.destroy();
            resolve(text);
          }
        });
        res.on('close', () => clearInterval(tick));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no flow from A on B\'s stream within the timeout')));
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
    req.end();
  });
  const data = JSON.parse(/event: flow\ndata: (.*"streamed".*)\n/.exec(got)![1]!);
  assert.equal(data.verdict, 'denied');
  assert.match(data.id, /^ctl-a:\d+$/);
});

test('certificates_listed_to_replica_a_are_in_replica_bs_certificates', async () => {
  const cert = { identity: 'spiffe://cluster.local/ns/apps/sa/waypoint', serial: '0abc', notBefore: Date.now() - 1_000, notAfter: Date.now() + 3_600_000 };
  controllers.a!.telemetry.ingest({ role: 'waypoint', node: 'node-1', waypoint: 'apps/waypoint' }, { edges: [], overflowEdges: 0, flows: [], droppedFlows: 0, certificates: [cert] });
  const r = await onB('/api/v1/certificates');
  assert.equal(r.status, 200, r.text);
  const held = r.json.workloads.find((c: { serial: string }) => c.serial === '0abc');
  assert.deepEqual([held?.kind, held?.namespace, held?.workload, held?.node], ['waypoint', 'apps', 'waypoint', 'node-1'], r.text);
  assert.equal(controllers.b!.telemetry.heldCertificates().sets.length, 0, 'B holds no list itself');
});

test('an_agent_connected_to_replica_a_is_in_replica_bs_status', async () => {
  await createRunningPod(env.core, NS, 'agent-node-1', 'ambient-node-agent', '10.244.0.5');
  agent = startConfigClient(controllers.a!, await boundToken(env.core, NS, 'ambient-node-agent', 'agent-node-1'));
  const status = await pollUntil('B to list the agent connected to A', async () => {
    const r = await onB('/api/v1/status');
    return r.json?.agents?.some((x: { node: string; connected: boolean }) => x.node === 'node-1' && x.connected) ? r.json : undefined;
  }, WAIT);
  assert.equal(status.partial, undefined);
  assert.equal(controllers.b!.server.status().clients.length, 0, 'B holds no stream itself');
});

test('the_internal_route_refuses_every_caller_but_the_controllers_service_account', async () => {
  const path = '/api/v1/internal/replica?parts=flows,agents';
  const ok = await onA(path, tokens.controller);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.replica, 'ctl-a');
  assert.ok(Array.isArray(ok.json.flows.flows) && Array.isArray(ok.json.agents));

  const user = await onA(path, tokens.user);
  assert.equal(user.status, 403, user.text);
  assert.equal(user.json.error.code, 'AMB_API_FORBIDDEN');
  assert.match(user.json.error.message, /"system:serviceaccount:apps:viewer" may not call an internal route/);
  assert.ok(!user.text.includes('flows'), 'nothing of the replica leaks');

  const otherSa = await onA(path, tokens.otherSa);
  assert.equal(otherSa.status, 403, otherSa.text);
  assert.match(otherSa.json.error.message, /"system:serviceaccount:ambient-system:ambient-node-agent" may not/);

  assert.equal((await onA(path, '')).status, 401, 'no token');
  const openapi = await onA('/api/v1/openapi.json');
  assert.ok(!openapi.text.includes('internal/replica'), 'not in the public document');
  const bad = await onA('/api/v1/internal/replica?parts=secrets', tokens.controller);
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /"secrets" is not one of edges, flows, agents/);
});

test('a_replica_that_never_answers_makes_the_answer_partial_naming_it', async () => {
  // A third "replica" that accepts connections and says nothing.
  silent = net.createServer((s) => {
    silentSockets.add(s);
    s.on('error', () => {});
    s.on('close', () => silentSockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => silent!.once('error', reject).listen(port, HOSTS.silent, resolve));
  await controllerPod('ctl-silent', HOSTS.silent);
  try {
    const graph = await pollUntil('B to name the silent replica', async () => {
      const r = await onB('/api/v1/graph?namespace=apps');
      return r.json?.partial === true ? r : undefined;
    }, WAIT);
    assert.equal(graph.status, 200);
    assert.deepEqual(graph.json.unanswered.map((u: { replica: string }) => u.replica), ['ctl-silent']);
    assert.match(graph.json.unanswered[0].reason, /no answer within 1000 ms/);
    assert.ok(graph.json.edges.some((e: { source: string }) => e.source === 'workload:apps/client'), 'what A holds is still there');
    const flows = await onB('/api/v1/flows?namespace=apps');
    assert.deepEqual([flows.status, flows.json.partial], [200, true]);
    const status = await onB('/api/v1/status');
    assert.deepEqual([status.status, status.json.partial, status.json.unanswered[0].replica], [200, true, 'ctl-silent']);
    // ambientctl's API client says so on stderr and still gives the command what arrived.
    const warnings: string[] = [];
    const b = controllers.b!;
    const link: ControllerLink = {
      connect: () => tlsTo(net.connect(b.apiAddress!.port, HOSTS.b), b.ca.trustBundle.pems().join('\n')),
      credentials: async () => ({ token: tokens.user }),
      repick: () => {},
      via: 'loopback (test)',
    };
    const cliStatus = await new ApiClient(link, (line) => warnings.push(line)).get<{ agents: unknown[] }>('/status');
    assert.ok(Array.isArray(cliStatus.agents));
    assert.deepEqual(warnings, ['warning: GET /api/v1/status: partial answer: controller replica ctl-silent did not answer (no answer within 1000 ms), so what it holds is missing\n']);
  } finally {
    await env.core.deleteNamespacedPod({ namespace: NS, name: 'ctl-silent' });
  }
});
