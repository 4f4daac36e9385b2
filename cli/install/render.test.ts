import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { Obj } from '../manifests.js';
import { collectObjects, loadSources, moveNamespace, renderObjects, setArg, setEnv, toYaml, RESTARTED_AT, INSTALL_SET, KIND_ORDER } from './render.js';
import { SETTINGS, SettingError, applySets, defaultSettings, type Settings } from './settings.js';

async function render(sets: string[] = [], o = {}): Promise<Obj[]> {
  const s: Settings = applySets(sets);
  return renderObjects(await loadSources(s), s, o);
}

type C = { name: string; image: string; args: string[]; env: Array<{ name: string; value?: string }>; resources: { requests: Record<string, string> } };
const workload = (objs: Obj[], kind: string) => objs.find((o) => o.kind === kind && o.metadata?.name?.startsWith('ambient-')) as Obj & { spec: { replicas?: number; template: { metadata?: { annotations?: Record<string, string> }; spec: { containers: C[] } } } };
const controller = (objs: Obj[]) => workload(objs, 'Deployment').spec.template.spec.containers[0]!;
const agent = (objs: Obj[]) => workload(objs, 'DaemonSet').spec.template.spec.containers[0]!;
const env = (c: C, name: string) => c.env.find((e) => e.name === name)?.value;
const argOf = (c: C, flag: string) => (c.args.includes(flag) ? c.args[c.args.indexOf(flag) + 1] : undefined);

test('the default render holds every object of the install set once, the Namespace before what lives in it, the DaemonSet last', async () => {
  const objs = await render();
  const names = objs.map((o) => `${o.kind}/${o.metadata?.name}`);
  assert.equal(new Set(names).size, names.length, `no object twice: ${names.join(', ')}`);
  assert.equal(names.filter((n) => n === 'Namespace/ambient-system').length, 1);
  assert.ok(names.indexOf('Namespace/ambient-system') < names.indexOf('ServiceAccount/ambient-controller'));
  assert.ok(names.indexOf('ServiceAccount/ambient-node-agent') < names.indexOf('Deployment/ambient-controller'));
  assert.equal(names.at(-1), 'DaemonSet/ambient-node-agent');
  const ranks = objs.map((o) => (KIND_ORDER.includes(o.kind!) ? KIND_ORDER.indexOf(o.kind!) : KIND_ORDER.length));
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), 'objects in kind order');
  assert.ok(!names.some((n) => n.startsWith('Deployment/redis')), 'Redis only with redis.enabled');
});

test('the waypoint template is not in the install set', () => {
  assert.ok(!INSTALL_SET.some((e) => e.path.includes('waypoint')));
});

test('the default render keeps the manifests as written: images ambient/*:latest, trust domain cluster.local, 2 controller replicas, requests', async () => {
  const objs = await render();
  assert.equal(controller(objs).image, 'ambient/controller:latest');
  assert.equal(agent(objs).image, 'ambient/node-agent:latest');
  assert.equal(workload(objs, 'Deployment').spec.replicas, 2);
  assert.equal(argOf(controller(objs), '--trust-domain'), 'cluster.local');
  assert.equal(argOf(controller(objs), '--namespace'), 'ambient-system');
  assert.deepEqual(controller(objs).resources.requests, { cpu: '50m', memory: '96Mi' });
  assert.deepEqual(agent(objs).resources.requests, { cpu: '100m', memory: '128Mi' });
  assert.equal(env(agent(objs), 'AMBIENT_WORKERS'), '');
  assert.equal(argOf(controller(objs), '--plugin-ca-secret'), undefined);
  assert.equal(argOf(controller(objs), '--waypoint-redis-address'), undefined);
});

test('trustDomain goes to the controller and the node agent', async () => {
  const objs = await render(['trustDomain=corp.example']);
  assert.equal(argOf(controller(objs), '--trust-domain'), 'corp.example');
  assert.equal(argOf(agent(objs), '--trust-domain'), 'corp.example');
  assert.equal(controller(objs).args.filter((a) => a === '--trust-domain').length, 1, 'the flag replaced, not repeated');
});

test('hub and tag name both images', async () => {
  const objs = await render(['hub=registry.example/mesh', 'tag=1.2.3']);
  assert.equal(controller(objs).image, 'registry.example/mesh/controller:1.2.3');
  assert.equal(agent(objs).image, 'registry.example/mesh/node-agent:1.2.3');
});

test('controller.replicas sets the Deployment replicas', async () => {
  assert.equal(workload(await render(['controller.replicas=3']), 'Deployment').spec.replicas, 3);
});

test('resource requests of each component', async () => {
  const objs = await render(['controller.requests.cpu=200m', 'controller.requests.memory=1Gi', 'nodeAgent.requests.cpu=0.5', 'nodeAgent.requests.memory=256Mi']);
  assert.deepEqual(controller(objs).resources.requests, { cpu: '200m', memory: '1Gi' });
  assert.deepEqual(agent(objs).resources.requests, { cpu: '0.5', memory: '256Mi' });
});

test('workers sets AMBIENT_WORKERS of the node agent, in place', async () => {
  const before = agent(await render()).env.map((e) => e.name);
  const objs = await render(['workers=2']);
  assert.equal(env(agent(objs), 'AMBIENT_WORKERS'), '2');
  assert.deepEqual(agent(objs).env.map((e) => e.name).slice(0, before.length), before, 'no variable moved');
});

test('logLevel sets LOG_LEVEL on the controller and the agent', async () => {
  const objs = await render(['logLevel=debug']);
  assert.equal(env(controller(objs), 'LOG_LEVEL'), 'debug');
  assert.equal(env(agent(objs), 'LOG_LEVEL'), 'debug');
});

test('pluginCaSecret other than cacerts is passed to the controller', async () => {
  assert.equal(argOf(controller(await render(['pluginCaSecret=corp-ca'])), '--plugin-ca-secret'), 'corp-ca');
});

test('redis.enabled adds the Redis and points waypoints at it; redis.address names another', async () => {
  const withRedis = await render(['redis.enabled=true']);
  assert.ok(withRedis.some((o) => o.kind === 'Deployment' && o.metadata?.name === 'redis'));
  assert.ok(withRedis.some((o) => o.kind === 'Service' && o.metadata?.name === 'redis'));
  assert.equal(argOf(controller(withRedis), '--waypoint-redis-address'), 'redis.ambient-system.svc:6379');
  const own = await render(['redis.address=10.0.0.5:6380']);
  assert.equal(argOf(controller(own), '--waypoint-redis-address'), '10.0.0.5:6380');
  assert.ok(!own.some((o) => o.metadata?.name === 'redis'));
});

test('redis.address with redis.enabled is refused', async () => {
  await assert.rejects(render(['redis.enabled=true', 'redis.address=r:6379']), (e: Error) => e instanceof SettingError && /choose one/.test(e.message));
});

test('controller.consoleDir, waypointTemplate and prometheusUrl become controller flags', async () => {
  const c = controller(await render(['controller.consoleDir=/srv/console', 'controller.waypointTemplate=/etc/wp.yaml', 'controller.prometheusUrl=http://prom:9090']));
  assert.equal(argOf(c, '--console-dir'), '/srv/console');
  assert.equal(argOf(c, '--waypoint-template'), '/etc/wp.yaml');
  assert.equal(argOf(c, '--prometheus-url'), 'http://prom:9090');
});

test('controller.env.NAME and nodeAgent.env.NAME set environment variables; an existing one is replaced', async () => {
  const objs = await render(['controller.env.OTEL_TRACES_SAMPLER=always_on', 'nodeAgent.env.NODE_OPTIONS=--max-old-space-size=256', 'nodeAgent.env.A=x,y']);
  assert.equal(env(controller(objs), 'OTEL_TRACES_SAMPLER'), 'always_on');
  assert.equal(env(agent(objs), 'NODE_OPTIONS'), '--max-old-space-size=256');
  assert.equal(agent(objs).env.filter((e) => e.name === 'NODE_OPTIONS').length, 1);
  assert.equal(env(agent(objs), 'A'), 'x,y', 'a comma is part of the value');
});

test('cni.binDir and cni.confDir point the agent\'s CNI hostPath volumes at the node\'s directories', async () => {
  const vols = (objs: Obj[]) => (workload(objs, 'DaemonSet').spec.template.spec as unknown as { volumes: Array<{ name: string; hostPath?: { path: string } }> }).volumes;
  const path = (objs: Obj[], name: string) => vols(objs).find((v) => v.name === name)?.hostPath?.path;
  const def = await render();
  assert.equal(path(def, 'cni-bin-dir'), '/opt/cni/bin');
  assert.equal(path(def, 'cni-net-dir'), '/etc/cni/net.d');
  const k3s = await render(['cni.binDir=/var/lib/rancher/k3s/data/current/bin', 'cni.confDir=/var/lib/rancher/k3s/agent/etc/cni/net.d']);
  assert.equal(path(k3s, 'cni-bin-dir'), '/var/lib/rancher/k3s/data/current/bin');
  assert.equal(path(k3s, 'cni-net-dir'), '/var/lib/rancher/k3s/agent/etc/cni/net.d');
});

test('restart annotations roll the agents or the controller only when asked', async () => {
  const plain = await render();
  assert.equal(workload(plain, 'DaemonSet').spec.template.metadata?.annotations?.[RESTARTED_AT], undefined);
  const objs = await render([], { restartAgents: '2026-01-01T00:00:00Z' });
  assert.equal(workload(objs, 'DaemonSet').spec.template.metadata?.annotations?.[RESTARTED_AT], '2026-01-01T00:00:00Z');
  assert.equal(workload(objs, 'Deployment').spec.template.metadata?.annotations?.[RESTARTED_AT], undefined);
});

test('rendering does not change the sources: two renders with other settings are independent', async () => {
  const s = applySets([]);
  const sources = await loadSources(s);
  renderObjects(sources, applySets(['tag=x']), {});
  assert.equal(controller(renderObjects(sources, s)).image, 'ambient/controller:latest');
});

test('toYaml is a stream of documents that parses back to the same objects', async () => {
  const objs = await render(['trustDomain=a.b']);
  const back = parseAllDocuments(toYaml(objs)).map((d) => d.toJS() as Obj);
  assert.deepEqual(back, objs);
});

test('a Namespace declared alike in two files is one object; declared differently, an error naming both files', () => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n';
  assert.equal(collectObjects([{ file: 'a.yaml', text: ns }, { file: 'b.yaml', text: ns }]).length, 1);
  assert.throws(() => collectObjects([{ file: 'a.yaml', text: ns }, { file: 'b.yaml', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {a: b}}\n' }]), /Namespace x is declared differently in a.yaml and b.yaml/);
});

test('a manifest that does not parse is an error naming its file', () => {
  assert.throws(() => collectObjects([{ file: 'bad.yaml', text: 'kind: [' }]), /bad\.yaml/);
});

test('kinds are ordered CRDs, Namespace, RBAC, ServiceAccount, ConfigMap, Deployment, DaemonSet', () => {
  const doc = (kind: string, apiVersion = 'v1') => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: n}\n---\n`;
  const text = [doc('DaemonSet', 'apps/v1'), doc('Deployment', 'apps/v1'), doc('ConfigMap'), doc('ServiceAccount'), doc('ClusterRoleBinding', 'rbac.authorization.k8s.io/v1'), doc('ClusterRole', 'rbac.authorization.k8s.io/v1'), doc('Namespace'), doc('CustomResourceDefinition', 'apiextensions.k8s.io/v1')].join('');
  assert.deepEqual(collectObjects([{ file: 'x', text }]).map((o) => o.kind), ['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ServiceAccount', 'ConfigMap', 'Deployment', 'DaemonSet']);
});

test('setArg replaces the value after a flag or appends both', () => {
  assert.deepEqual(setArg(['--a', '1', '--b', '2'], '--a', '3'), ['--a', '3', '--b', '2']);
  assert.deepEqual(setArg(['--a', '1'], '--c', '9'), ['--a', '1', '--c', '9']);
});

test('setEnv replaces a valueFrom by a value', () => {
  const c = { name: 'c', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] };
  setEnv(c, 'X', 'v');
  assert.deepEqual(c.env, [{ name: 'X', value: 'v' }]);
});

// --- settings ---

test('every setting has a default of its type or none, and a description', () => {
  for (const d of SETTINGS) {
    assert.ok(d.doc.length > 10, d.key);
    if (d.default === undefined) continue;
    const t = typeof d.default;
    assert.equal(t, d.type === 'int' ? 'number' : d.type === 'bool' ? 'boolean' : 'string', d.key);
  }
});

test('--set values are typed: an int is a number, a bool a boolean', () => {
  const s = applySets(['controller.replicas=3', 'redis.enabled=true', 'workers=0']);
  assert.equal(s.values['controller.replicas'], 3);
  assert.equal(s.values['redis.enabled'], true);
  assert.equal(s.values['workers'], 0);
});

test('a later --set of a key wins', () => {
  assert.equal(applySets(['tag=a', 'tag=b']).values['tag'], 'b');
});

test('an unknown key is refused, naming it and the known keys', () => {
  assert.throws(() => applySets(['trustdomain=x']), (e: Error) => e instanceof SettingError && /unknown setting "trustdomain"/.test(e.message) && /trustDomain/.test(e.message));
});

test('an assignment without = is refused', () => {
  assert.throws(() => applySets(['tag']), /--set tag: expected key=value/);
});

const refused: Array<[string, RegExp]> = [
  ['controller.replicas=two', /controller\.replicas=two: not an integer/],
  ['controller.replicas=0', /must be at least 1/],
  ['workers=-1', /workers=-1: must be at least 0/],
  ['redis.enabled=yes', /must be true or false/],
  ['controller.requests.cpu=lots', /not a resource quantity/],
  ['nodeAgent.requests.memory=12XB', /not a resource quantity/],
  ['redis.address=redis', /not host:port/],
  ['redis.address=redis:70000', /not host:port/],
  ['logLevel=loud', /must be one of trace, debug, info/],
  ['trustDomain=Not_A_Domain', /not a DNS name/],
  ['rootNamespace=kube-system', /a namespace of its own/],
  ['rootNamespace=default', /a namespace of its own/],
  ['rootNamespace=Bad', /not a namespace name/],
  ['tag=', /must not be empty/],
  ['cni.binDir=opt/cni', /absolute path/],
  ['cni.confDir=/etc/../tmp', /without \.\./],
  ['controller.env.1X=a', /not an environment variable name/],
];
for (const [set, why] of refused) {
  test(`--set ${set} is refused with a message naming the key`, () => {
    assert.throws(() => applySets([set]), (e: Error) => e instanceof SettingError && why.test(e.message) && e.message.includes(set.split('=')[0]!));
  });
}

test('defaultSettings holds every key', () => {
  const d = defaultSettings();
  for (const s of SETTINGS) assert.ok(s.key in d.values, s.key);
});

// rootNamespace: the whole mesh moves, and every place a component is told the namespace.
const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

test('rootNamespace puts every namespaced object of the mesh, and its Namespace, in that namespace', async () => {
  const objs = await render(['rootNamespace=mesh-x', 'redis.enabled=true']);
  const namespaced = objs.filter((o) => !CLUSTER_SCOPED.has(o.kind!));
  assert.ok(namespaced.length >= 10, `the ServiceAccounts, Roles, bindings, workloads, Services: ${namespaced.length}`);
  for (const o of namespaced) assert.equal(o.metadata?.namespace, 'mesh-x', `${o.kind} ${o.metadata?.name}`);
  for (const o of objs.filter((x) => CLUSTER_SCOPED.has(x.kind!))) assert.equal(o.metadata?.namespace, undefined, `${o.kind} ${o.metadata?.name} stays cluster-scoped`);
  assert.deepEqual(objs.filter((o) => o.kind === 'Namespace').map((o) => o.metadata?.name), ['mesh-x']);
});

test('rootNamespace: the RBAC bindings name the ServiceAccounts in that namespace', async () => {
  const objs = await render(['rootNamespace=mesh-x']);
  const subjects = objs.flatMap((o) => ((o as { subjects?: Array<{ kind: string; name: string; namespace?: string }> }).subjects ?? []).map((s) => ({ binding: `${o.kind}/${o.metadata?.name}`, ...s })));
  const sas = subjects.filter((s) => s.kind === 'ServiceAccount');
  assert.ok(sas.length >= 5, 'the controller and node agent are bound');
  for (const s of sas) assert.equal(s.namespace, 'mesh-x', `${s.binding} binds ${s.name}`);
  const roleBindings = objs.filter((o) => o.kind === 'RoleBinding' || o.kind === 'Role');
  for (const o of roleBindings) assert.equal(o.metadata?.namespace, 'mesh-x', `${o.kind} ${o.metadata?.name}`);
});

test('rootNamespace tells the controller (--namespace) and the node agents (--controller-namespace) where the mesh is', async () => {
  const objs = await render(['rootNamespace=mesh-x']);
  assert.equal(argOf(controller(objs), '--namespace'), 'mesh-x');
  assert.equal(controller(objs).args.filter((a) => a === '--namespace').length, 1, 'replaced, not repeated');
  assert.equal(argOf(agent(objs), '--controller-namespace'), 'mesh-x');
  // The agents' default controller name (<service>.<namespace>.svc) and the controller's
  // identity, node-agent ServiceAccount and root namespace all derive from these flags:
  // nothing else may pin them.
  for (const flag of ['--controller-name', '--node-agent-sa', '--root-namespace', '--server-name']) {
    assert.equal(argOf(controller(objs), flag) ?? argOf(agent(objs), flag), undefined, flag);
  }
});

test('rootNamespace: the default (ambient-system) still names it to both components', async () => {
  const objs = await render();
  assert.equal(argOf(controller(objs), '--namespace'), 'ambient-system');
  assert.equal(argOf(agent(objs), '--controller-namespace'), 'ambient-system');
});

test('rootNamespace with redis.enabled points the waypoints at the Redis in that namespace', async () => {
  const objs = await render(['rootNamespace=mesh-x', 'redis.enabled=true']);
  assert.equal(argOf(controller(objs), '--waypoint-redis-address'), 'redis.mesh-x.svc:6379');
});

test('rootNamespace: nothing in the rendered YAML names ambient-system any more', async () => {
  const yaml = toYaml(await render(['rootNamespace=mesh-x', 'redis.enabled=true']));
  const left = yaml.split('\n').filter((l) => l.includes('ambient-system'));
  assert.deepEqual(left, [], 'every reference moved');
  assert.match(yaml, /namespace: mesh-x/);
  // And the YAML parses back to the same objects.
  assert.ok(parseAllDocuments(yaml).every((d) => d.errors.length === 0));
});

test('moveNamespace leaves objects of other namespaces and other subjects alone', () => {
  const objs: Obj[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'apps' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b', namespace: 'ambient-system' }, subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: 'apps' }, { kind: 'Group', name: 'system:serviceaccounts' }] } as Obj,
  ];
  moveNamespace(objs, 'mesh-x');
  assert.equal(objs[0]!.metadata?.namespace, 'apps');
  assert.equal(objs[1]!.metadata?.namespace, 'mesh-x');
  assert.deepEqual((objs[1] as { subjects?: unknown[] }).subjects, [{ kind: 'ServiceAccount', name: 'x', namespace: 'apps' }, { kind: 'Group', name: 'system:serviceaccounts' }]);
});
