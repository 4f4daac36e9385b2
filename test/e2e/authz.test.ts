// Namespaced tier: authorization on the 2-node local cluster, driven as a user would
// (ambientctl apply/delete of AuthorizationPolicy objects, `authz check`, `authz suggest`,
// `policies`). Clients alice, bob and carol (namespace authz-a, node1, each its own
// ServiceAccount) talk to an echo Service (namespace authz-b, node2). Every case checks what
// the traffic saw, what the agent recorded (access log, metric) and that `authz check` agrees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, echoPodAndService, ok, type PodRow, sleep, until } from '../support/e2e.js';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { connectInNetns, netnsPath } from '../../core/syscalls.js';

const cluster = e2eCluster('authz');
const { home, ctl } = cluster;
const NAME = cluster.name;
const ECHO = 'echo.authz-b:80';

const readyPod = async (ns: string, selector: string) => (await cluster.readyPods(ns, selector, 1))[0]!;

/** Whether `client` gets the echo's answer through the mesh. */
function reaches(client: string): boolean {
  const r = ctl('exec', client, '-n', 'authz-a', '--', 'curl', '-s', '--max-time', '4', `http://${ECHO.replace(':80', '')}/from-${client}`);
  if (r.code !== 0) return false;
  try {
    return (JSON.parse(r.stdout) as { pod?: string }).pod === 'echo';
  } catch {
    return false;
  }
}

/** Waits until `client`'s reachability is `want` (policy changes propagate within seconds). */
const settles = (client: string, want: boolean) => until(`${client} ${want ? 'to reach' : 'to be refused by'} echo`, () => reaches(client) === want, 30_000);

interface Check {
  decision: 'ALLOW' | 'DENY';
  policy: string | null;
  rule: number | null;
  enforcedAt: string;
  considered: Array<{ policy: string; matched: boolean }>;
}
function check(client: string): Check {
  return JSON.parse(ok(ctl('authz', 'check', '--service-account', 'authz-a/alice', '--from', `authz-a/${client}`, '--to', ECHO, '-o', 'json'), `authz check ${client}`)) as Check;
}

const apply = (name: string, yaml: string) => void cluster.applyYaml(name, yaml);
function remove(name: string): void {
  ok(ctl('delete', '-f', join(home, `${name}.yaml`)), `delete ${name}`);
}
/** Runs `body` with the named policies applied, and deletes them whatever happens, so a failing case leaves the next one a clean mesh. */
async function withPolicies(names: string[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    for (const n of names) ctl('delete', '-f', join(home, `${n}.yaml`), '--ignore-not-found');
  }
}

const inboundFrom = (client: string) => (l: Record<string, unknown>) => l['msg'] === 'connection' && l['direction'] === 'inbound-hbone' && l['src.identity'] === `spiffe://cluster.local/ns/authz-a/sa/${client}`;

/** The value of the decisions counter with these labels on node2's agent (0 when absent). */
function decisions(labels: Record<string, string>): number {
  const text = ok(ctl('exec', '--node', 'node2', '--', 'curl', '-s', '--max-time', '3', 'http://127.0.0.1:15020/metrics'), 'metrics of node2');
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('ambient_authorization_decisions_total{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const APPS = `
apiVersion: v1
kind: Namespace
metadata: {name: authz-a, labels: {ambient.dev/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: authz-b, labels: {ambient.dev/dataplane-mode: ambient}}
${['alice', 'bob', 'carol']
  .map(
    (c) => `---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${c}, namespace: authz-a}
---
apiVersion: v1
kind: Pod
metadata: {name: ${c}, namespace: authz-a, labels: {app: ${c}}}
spec:
  nodeName: node1
  serviceAccountName: ${c}
  containers: [{name: client, image: ambient-samples/client}]
`,
  )
  .join('')}---
${echoPodAndService('authz-b', 'node2')}`;

const policy = (name: string, spec: string, annotations = '') => `apiVersion: ambient.dev/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: authz-b
${annotations}spec:
${spec}`;

/** An HTTP/1.1 keep-alive connection from a client pod's network namespace to the echo pod: captured and tunnelled like the app's own. */
async function openConnection(client: PodRow, echoIp: string): Promise<{ socket: net.Socket; closed: Promise<void>; get(): Promise<string> }> {
  const socket = await connectInNetns(netnsPath(podNetnsName(NAME, client.metadata.uid)), { host: echoIp, port: 8080, timeoutMs: 5_000 });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => {});
  let buffered = '';
  socket.on('data', (c: Buffer) => (buffered += c.toString('latin1')));
  return {
    socket,
    closed,
    async get() {
      buffered = '';
      socket.write(`GET /long-lived HTTP/1.1\r\nhost: echo\r\nconnection: keep-alive\r\n\r\n`);
      await until('an answer on the open connection', () => /"pod":\s*"echo"/.test(buffered), 10_000);
      return buffered;
    },
  };
}

test('authz: policies deny, allow, close, dry-run, report and are explained on the local cluster', { timeout: 540_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await cluster.upWithMesh(t);
  cluster.applyYaml('apps', APPS);
  const alice = await readyPod('authz-a', 'app=alice');
  await readyPod('authz-a', 'app=bob');
  await readyPod('authz-a', 'app=carol');
  const echo = await readyPod('authz-b', 'app=echo');
  await settles('alice', true);
  await settles('bob', true);

  await t.test('no policy: traffic flows and authz check says allowed by default', () => {
    const c = check('alice');
    assert.equal(c.decision, 'ALLOW');
    assert.equal(c.policy, null, 'no policy decided');
    assert.equal(c.enforcedAt, 'node-agent');
  });

  await t.test('a DENY by principal blocks bob and not alice; log, metric and authz check agree', () =>
    withPolicies(['deny-bob'], async () => {
      apply('deny-bob', policy('deny-bob', `  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - from:
    - source: {principals: [cluster.local/ns/authz-a/sa/bob]}
`));
      await settles('bob', false);
      assert.equal(reaches('alice'), true, 'alice is not named by the DENY');
      const denied = check('bob');
      assert.equal(denied.decision, 'DENY');
      assert.equal(denied.policy, 'authz-b/deny-bob');
      assert.equal(denied.rule, 0);
      assert.equal(check('alice').decision, 'ALLOW');
      const line = await until('an access-log line of the denial', () => cluster.agentLog().filter(inboundFrom('bob')).find((l) => l['authz.decision'] === 'DENY'));
      assert.equal(line['authz.policy'], 'authz-b/deny-bob');
      assert.equal(line['authz.rule'], 0);
      assert.ok(decisions({ policy: 'authz-b/deny-bob', action: 'DENY', decision: 'DENY', dry_run: 'false', destination_workload_namespace: 'authz-b' }) >= 1);
      remove('deny-bob');
      await settles('bob', true);
    }),
  );

  await t.test('an ALLOW-nothing policy blocks everyone; removing it restores traffic', () =>
    withPolicies(['allow-nothing'], async () => {
      apply('allow-nothing', policy('allow-nothing', '  {}\n'));
      await settles('alice', false);
      assert.equal(reaches('bob'), false);
      const c = check('alice');
      assert.equal(c.decision, 'DENY');
      assert.equal(c.policy, null, 'no rule decided: no ALLOW rule matched');
      assert.ok(c.considered.some((p) => p.policy === 'authz-b/allow-nothing' && !p.matched));
      remove('allow-nothing');
      await settles('alice', true);
      assert.equal(check('alice').decision, 'ALLOW');
    }),
  );

  await t.test('an open connection is closed when a new policy denies it, one still allowed stays open', () =>
    withPolicies(['deny-alice'], async () => {
      await settles('alice', true);
      const bob = cluster.pods('authz-a', 'app=bob')[0]!;
      const a = await openConnection(alice, echo.status.podIP!);
      const b = await openConnection(bob, echo.status.podIP!);
      try {
        await a.get();
        await b.get();
        apply('deny-alice', policy('deny-alice', `  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - from:
    - source: {principals: [cluster.local/ns/authz-a/sa/alice]}
`));
        const outcome = await Promise.race([a.closed.then(() => 'closed'), sleep(20_000).then(() => 'still open')]);
        assert.equal(outcome, 'closed', "alice's open connection is closed by the new policy");
        assert.match(await b.get(), /"pod":\s*"echo"/, "bob's connection carries on");
        await until('the log line naming the policy that closed it', () =>
          cluster.agentLog().find((l) => /closed/.test(String(l['msg'])) && JSON.stringify(l).includes('authz-b/deny-alice')),
        );
        assert.equal(check('alice').decision, 'DENY');
      } finally {
        a.socket.destroy();
        b.socket.destroy();
      }
      remove('deny-alice');
      await settles('alice', true);
    }),
  );

  await t.test('dry run records a would-be denial while traffic flows', () =>
    withPolicies(['dry-deny-bob'], async () => {
      const before = decisions({ policy: 'authz-b/dry-deny-bob', decision: 'DENY', dry_run: 'true' });
      apply('dry-deny-bob', policy('dry-deny-bob', `  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - from:
    - source: {principals: [cluster.local/ns/authz-a/sa/bob]}
`, '  annotations: {ambient.dev/dry-run: "true"}\n'));
      await until('the dry-run policy to be recorded', () => reaches('bob') && decisions({ policy: 'authz-b/dry-deny-bob', decision: 'DENY', dry_run: 'true' }) > before, 30_000);
      const line = cluster.agentLog().filter(inboundFrom('bob')).reverse().find((l) => l['authz.dry_run_decision'] === 'DENY');
      assert.ok(line, 'the access log says what the dry-run policy would have done');
      assert.equal(line['authz.dry_run_policy'], 'authz-b/dry-deny-bob');
      assert.equal(line['authz.decision'], 'ALLOW');
      assert.equal(check('bob').decision, 'ALLOW', 'authz check reports the enforced decision');
    }),
  );

  await t.test('a malformed policy is rejected with a status condition while a valid one beside it is enforced, and fails closed', () =>
    withPolicies(['bad-cidr', 'allow-alice', 'bad-deny'], async () => {
      apply('allow-alice', policy('allow-alice', `  selector: {matchLabels: {app: echo}}
  action: ALLOW
  rules:
  - from:
    - source: {principals: [cluster.local/ns/authz-a/sa/alice]}
`));
      apply('bad-cidr', policy('bad-cidr', `  selector: {matchLabels: {app: echo}}
  action: ALLOW
  rules:
  - from:
    - source: {ipBlocks: [10.0.0.0/33]}
`));
      await settles('bob', false);
      assert.equal(reaches('alice'), true, 'the valid ALLOW beside the malformed one is enforced');
      const c = check('bob');
      assert.equal(c.decision, 'DENY');
      assert.ok(c.considered.some((p) => p.policy === 'authz-b/bad-cidr' && !p.matched), 'the rejected ALLOW is held as allow-nothing');
      const status = await until('the rejected policy to carry Accepted=False', () => {
        const obj = JSON.parse(ok(ctl('get', 'authorizationpolicies', 'bad-cidr', '-n', 'authz-b', '-o', 'json'), 'get policy')) as {
          status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
        };
        return obj.status?.conditions?.find((x) => x.type === 'Accepted' && x.status === 'False');
      });
      assert.equal(status.reason, 'Invalid');
      assert.match(status.message, /spec\.rules\[0\]\.from\[0\]\.source\.ipBlocks\[0\]/);
      assert.match(status.message, /10\.0\.0\.0\/33/);
      assert.match(status.message, /enforced fail-closed/);
      const listed = JSON.parse(ok(ctl('policies', '--service-account', 'authz-a/alice', '-n', 'authz-b', '-o', 'json'), 'policies')) as Array<Record<string, unknown>>;
      const row = (n: string) => listed.find((p) => p['name'] === n);
      assert.ok(row('bad-cidr'), `ambientctl policies lists the rejected policy: ${JSON.stringify(listed)}`);
      assert.match(JSON.stringify(row('bad-cidr')), /10\.0\.0\.0\/33/, 'with the message');
      assert.ok(row('allow-alice'), 'and the valid policy');
      remove('bad-cidr');
      remove('allow-alice');
      await settles('bob', true);

      // A malformed DENY does not silently stop denying: it denies everything it selects until fixed.
      apply('bad-deny', policy('bad-deny', `  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - from:
    - source: {principals: [cluster.local/ns/authz-a/sa/bob]}
    to:
    - operation: {ports: ["99999"]}
`));
      await settles('alice', false);
      assert.equal(check('alice').policy, 'authz-b/bad-deny');
      remove('bad-deny');
      await settles('alice', true);
    }),
  );

  await t.test('authz suggest, applied, keeps observed traffic flowing and blocks a new source', () =>
    withPolicies(['suggested'], async () => {
      await settles('alice', true);
      await settles('bob', true);
      const yaml = ok(ctl('authz', 'suggest', '-n', 'authz-b', '--since', '10m'), 'authz suggest');
      assert.match(yaml, /kind: AuthorizationPolicy/);
      assert.match(yaml, /cluster\.local\/ns\/authz-a\/sa\/alice/);
      assert.doesNotMatch(yaml, /sa\/carol/, 'carol never talked to echo');
      writeFileSync(join(home, 'suggested.yaml'), yaml);
      ok(ctl('apply', '-f', join(home, 'suggested.yaml')), 'apply the suggestion');
      await settles('carol', false);
      assert.equal(reaches('alice'), true);
      assert.equal(reaches('bob'), true);
      assert.equal(check('carol').decision, 'DENY');
      assert.equal(check('alice').decision, 'ALLOW');
      remove('suggested');
      await settles('carol', true);
    }),
  );
});
