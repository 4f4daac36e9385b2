import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ErrorCodes, isMeshError } from '../core/errors.js';
import type { Gateway } from './translate/input.js';
import {
  checkRedisAddress,
  checkWaypointGateway,
  covers,
  desiredWaypointObjects,
  foreignClassMessage,
  gatewayClassOwner,
  MANAGED_BY_LABEL,
  orphanedWaypointObjects,
  parseWaypointTemplate,
  planWaypoint,
  REDIS_ADDRESS_ENV,
  REPLICAS_ANNOTATION,
  type DeploySettings,
  type Obj,
  type WaypointKind,
} from './waypoint-plan.js';

const TEMPLATE_TEXT = readFileSync(new URL('../../manifests/waypoint.yaml', import.meta.url), 'utf8');
const TEMPLATE = parseWaypointTemplate(TEMPLATE_TEXT);
const SETTINGS: DeploySettings = { trustDomain: 'cluster.local', clusterDomain: 'corp.example', controllerAddress: 'ambient-controller.ambient-system.svc:15012', controllerNamespace: 'ambient-system', tokenAudience: 'ambient.dev/controller' };

function gateway(extra: { listeners?: unknown[]; annotations?: Record<string, string>; name?: string } = {}): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: extra.name ?? 'waypoint', namespace: 'shop', uid: 'gw-uid-1', generation: 1, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { gatewayClassName: 'ambient-waypoint', listeners: (extra.listeners ?? [{ name: 'mesh', port: 15008, protocol: 'HBONE' }]) as never },
  };
}

function desired(gw = gateway()) {
  const check = checkWaypointGateway(gw);
  assert.ok(check.ok);
  return desiredWaypointObjects(gw, check, TEMPLATE, SETTINGS);
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

test('shipped_template_renders_serviceaccount_deployment_and_service_named_after_the_gateway', () => {
  const d = desired();
  for (const kind of ['ServiceAccount', 'Deployment', 'Service'] as const) {
    assert.equal(d[kind].metadata.name, 'waypoint', kind);
    assert.equal(d[kind].metadata.namespace, 'shop', kind);
    assert.equal(d[kind].metadata.labels?.[MANAGED_BY_LABEL], 'ambient-controller', kind);
    assert.equal(d[kind].metadata.labels?.['gateway.networking.k8s.io/gateway-name'], 'waypoint', kind);
    assert.deepEqual(d[kind].metadata.ownerReferences, [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'waypoint', uid: 'gw-uid-1', controller: true, blockOwnerDeletion: true }], kind);
  }
  assert.equal(JSON.stringify(d).includes('${'), false, 'every variable substituted');
});

test('rendered_deployment_runs_the_waypoint_image_as_its_own_service_account_never_captured', () => {
  const dep = desired().Deployment as Obj & { spec: any };
  assert.equal(dep.spec.replicas, 1);
  assert.deepEqual(dep.spec.selector, { matchLabels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } });
  assert.equal(dep.spec.template.metadata.labels['ambient.dev/dataplane-mode'], 'none');
  assert.equal(dep.spec.template.metadata.labels['gateway.networking.k8s.io/gateway-name'], 'waypoint');
  assert.equal(dep.spec.template.spec.serviceAccountName, 'waypoint');
  const c = dep.spec.template.spec.containers[0];
  assert.equal(c.image, 'ambient/waypoint:latest');
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
  assert.deepEqual(env, {
    POD_NAME: 'metadata.name',
    POD_NAMESPACE: 'metadata.namespace',
    POD_IP: 'status.podIP',
    NODE_NAME: 'spec.nodeName',
    SERVICE_ACCOUNT: 'spec.serviceAccountName',
    GATEWAY_NAME: 'waypoint',
    TRUST_DOMAIN: 'cluster.local',
    CLUSTER_DOMAIN: 'corp.example',
    CONTROLLER_ADDRESS: 'ambient-controller.ambient-system.svc:15012',
    CONTROLLER_NAMESPACE: 'ambient-system',
  });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/healthz/ready', port: 15021 });
  assert.deepEqual(c.ports.map((p: any) => [p.name, p.containerPort]), [['mesh', 15008], ['metrics', 15020], ['health', 15021]]);
});

test('redis_address_setting_becomes_redis_address_in_the_waypoint_containers_env', () => {
  const check = checkWaypointGateway(gateway());
  assert.ok(check.ok);
  const dep = desiredWaypointObjects(gateway(), check, TEMPLATE, { ...SETTINGS, redisAddress: 'redis.ambient-system.svc:6379' }).Deployment as Obj & { spec: any };
  const env = dep.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
  assert.deepEqual(env.filter((e) => e.name === REDIS_ADDRESS_ENV), [{ name: 'REDIS_ADDRESS', value: 'redis.ambient-system.svc:6379' }]);
  assert.equal(env.at(-1)?.name, 'REDIS_ADDRESS', 'appended after what the template lists');
  assert.equal(env.find((e) => e.name === 'CONTROLLER_NAMESPACE')?.value, 'ambient-system', 'the rest of the env is as rendered');
});

test('without_a_redis_address_the_waypoint_gets_no_redis_address_not_even_empty', () => {
  const dep = desired().Deployment as Obj & { spec: any };
  assert.equal(JSON.stringify(dep).includes(REDIS_ADDRESS_ENV), false);
});

test('redis_address_setting_replaces_one_the_template_gives_and_goes_to_the_waypoint_container', () => {
  const text = TEMPLATE_TEXT.replace('      containers:\n      - name: waypoint\n', "      containers:\n      - {name: sidecar, image: example/sidecar}\n      - name: waypoint\n").replace(
    "        # - name: REDIS_ADDRESS\n        #   value: 'redis.ambient-system.svc:6379'\n",
    "        - name: REDIS_ADDRESS\n          value: 'old.example:6379'\n",
  );
  const template = parseWaypointTemplate(text);
  const check = checkWaypointGateway(gateway());
  assert.ok(check.ok);
  const dep = desiredWaypointObjects(gateway(), check, template, { ...SETTINGS, redisAddress: '10.96.0.7:6380' }).Deployment as Obj & { spec: any };
  const [sidecar, waypoint] = dep.spec.template.spec.containers;
  assert.equal(sidecar.env, undefined, 'another container is left alone');
  const redis = (waypoint.env as Array<{ name: string; value?: string }>).filter((e) => e.name === REDIS_ADDRESS_ENV);
  assert.deepEqual(redis, [{ name: 'REDIS_ADDRESS', value: '10.96.0.7:6380' }], 'the setting wins over the template, once');
  assert.equal(template.objects.Deployment && JSON.stringify(template.objects.Deployment).includes('old.example'), true, 'the parsed template itself is not changed');
});

test('redis_address_setting_is_host_port_as_the_waypoint_reads_it_else_refused_naming_it', () => {
  assert.equal(checkRedisAddress('redis.ambient-system.svc:6379'), 'redis.ambient-system.svc:6379');
  assert.equal(checkRedisAddress('[fd00::7]:6379'), '[fd00::7]:6379');
  for (const bad of ['redis.ambient-system.svc', 'redis:0', 'redis:65536', ':6379', 'redis:x']) {
    assert.throws(() => checkRedisAddress(bad), (err: unknown) => isMeshError(err) && err.code === ErrorCodes.WAYPOINT_REDIS_ADDRESS_INVALID && err.message.includes(JSON.stringify(bad)), bad);
  }
});

test('plan_patches_a_deployment_rendered_before_the_redis_address_was_set', () => {
  const before = desired();
  const check = checkWaypointGateway(gateway());
  assert.ok(check.ok);
  const after = desiredWaypointObjects(gateway(), check, TEMPLATE, { ...SETTINGS, redisAddress: 'redis.ambient-system.svc:6379' });
  const plan = planWaypoint(after, { ServiceAccount: clone(before.ServiceAccount), Deployment: clone(before.Deployment), Service: clone(before.Service) });
  assert.deepEqual(plan.actions.map((a) => `${a.verb} ${a.kind}`), ['patch Deployment']);
  assert.equal(planWaypoint(after, { ServiceAccount: clone(after.ServiceAccount), Deployment: clone(after.Deployment), Service: clone(after.Service) }).actions.length, 0, 'then nothing more');
});

test('rendered_deployment_projects_the_controller_token_exactly_as_the_node_agent_does', () => {
  const dep = desired().Deployment as Obj & { spec: any };
  const agent = parseAllDocuments(readFileSync(new URL('../../manifests/node-agent.yaml', import.meta.url), 'utf8')).map((x) => x.toJS()).find((o: any) => o?.kind === 'DaemonSet');
  const volume = (spec: any) => spec.volumes.find((v: any) => v.name === 'controller-token');
  const mount = (spec: any) => spec.containers[0].volumeMounts.find((m: any) => m.name === 'controller-token');
  assert.deepEqual(volume(dep.spec.template.spec), volume(agent.spec.template.spec));
  assert.deepEqual(mount(dep.spec.template.spec), mount(agent.spec.template.spec));
});

test('rendered_service_maps_the_listener_port_to_hbone_15008', () => {
  const svc = desired(gateway({ listeners: [{ name: 'mesh', port: 15009, protocol: 'HBONE' }] })).Service as Obj & { spec: any };
  assert.deepEqual(svc.spec.selector, { 'gateway.networking.k8s.io/gateway-name': 'waypoint' });
  assert.deepEqual(svc.spec.ports, [{ name: 'mesh', port: 15009, targetPort: 15008, protocol: 'TCP', appProtocol: 'hbone' }]);
});

test('replicas_annotation_sets_the_deployment_replicas', () => {
  const dep = desired(gateway({ annotations: { [REPLICAS_ANNOTATION]: '3' } })).Deployment as Obj & { spec: any };
  assert.equal(dep.spec.replicas, 3);
});

test('gateway_without_hbone_listener_is_not_deployable_listeners_not_valid', () => {
  const c = checkWaypointGateway(gateway({ listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] }));
  assert.equal(c.ok, false);
  assert.ok(!c.ok && c.reason === 'ListenersNotValid' && /no listener with protocol HBONE/.test(c.message));
  assert.deepEqual(c.ignoredListeners.map((l) => l.name), ['http']);
});

test('gateway_with_hbone_listener_without_port_is_not_deployable', () => {
  const c = checkWaypointGateway(gateway({ listeners: [{ name: 'mesh', protocol: 'HBONE' }] }));
  assert.ok(!c.ok && c.reason === 'ListenersNotValid' && /port undefined is not a port number/.test(c.message));
});

test('bad_replicas_annotation_is_invalid_parameters_naming_the_value', () => {
  for (const v of ['-1', 'two', '101', '1.5', '']) {
    const c = checkWaypointGateway(gateway({ annotations: { [REPLICAS_ANNOTATION]: v } }));
    assert.ok(!c.ok && c.reason === 'InvalidParameters' && c.message.includes(JSON.stringify(v)), v);
  }
  const zero = checkWaypointGateway(gateway({ annotations: { [REPLICAS_ANNOTATION]: '0' } }));
  assert.ok(zero.ok && zero.replicas === 0);
});

test('gateway_whose_name_cannot_name_a_service_is_invalid_parameters', () => {
  for (const name of ['a'.repeat(64), 'web.v2', '1st']) {
    const c = checkWaypointGateway(gateway({ name }));
    assert.ok(!c.ok && c.reason === 'InvalidParameters' && c.message.includes(JSON.stringify(name)), name);
  }
});

test('other_listeners_are_ignored_and_named', () => {
  const c = checkWaypointGateway(gateway({ listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'mesh', port: 15008, protocol: 'HBONE' }] }));
  assert.ok(c.ok);
  assert.equal(c.listener, 'mesh');
  assert.deepEqual(c.ignoredListeners.map((l) => l.name), ['http']);
});

test('plan_creates_all_three_when_nothing_exists', () => {
  const p = planWaypoint(desired(), {});
  assert.deepEqual(p.actions.map((a) => `${a.verb} ${a.kind}`), ['create ServiceAccount', 'create Deployment', 'create Service']);
  assert.deepEqual(p.conflicts, []);
});

/** What the API server returns for a created object: defaults and fields of its own added. */
function asStored(o: Obj): Obj {
  const s = clone(o) as any;
  s.metadata.uid = `uid-${o.kind}`;
  s.metadata.resourceVersion = '7';
  s.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
  if (o.kind === 'Service') Object.assign(s.spec, { clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9'], type: 'ClusterIP', sessionAffinity: 'None' });
  if (o.kind === 'Deployment') {
    s.spec.strategy = { type: 'RollingUpdate' };
    s.spec.template.spec.containers[0].terminationMessagePath = '/dev/termination-log';
    s.spec.template.spec.containers[0].env[0].valueFrom.fieldRef.apiVersion = 'v1';
    s.status = { readyReplicas: 1 };
  }
  return s;
}

test('plan_does_nothing_when_the_objects_hold_what_is_desired_plus_server_defaults', () => {
  const d = desired();
  const existing = Object.fromEntries(Object.entries(d).map(([k, o]) => [k, asStored(o)])) as Record<WaypointKind, Obj>;
  assert.deepEqual(planWaypoint(d, existing), { actions: [], conflicts: [] });
});

test('plan_patches_a_managed_deployment_whose_replicas_changed', () => {
  const existing = Object.fromEntries(Object.entries(desired()).map(([k, o]) => [k, asStored(o)])) as Record<WaypointKind, Obj>;
  const p = planWaypoint(desired(gateway({ annotations: { [REPLICAS_ANNOTATION]: '2' } })), existing);
  assert.deepEqual(p.actions.map((a) => `${a.verb} ${a.kind}`), ['patch Deployment']);
  const body = p.actions[0]!.verb === 'patch' ? (p.actions[0]!.body as any) : undefined;
  assert.equal(body.spec.replicas, 2);
  assert.equal(body.metadata.labels[MANAGED_BY_LABEL], 'ambient-controller');
  assert.equal(body.metadata.uid, undefined, 'the patch carries no server fields');
});

test('plan_patches_back_a_label_someone_removed', () => {
  const existing = Object.fromEntries(Object.entries(desired()).map(([k, o]) => [k, asStored(o)])) as Record<WaypointKind, Obj>;
  delete (existing.Service.metadata.labels as Record<string, string>)['gateway.networking.k8s.io/gateway-name'];
  assert.deepEqual(planWaypoint(desired(), existing).actions.map((a) => `${a.verb} ${a.kind}`), ['patch Service']);
});

test('plan_removes_a_key_someone_added_to_the_service_selector', () => {
  const existing = Object.fromEntries(Object.entries(desired()).map(([k, o]) => [k, asStored(o)])) as Record<WaypointKind, Obj>;
  (existing.Service as any).spec.selector.app = 'hijack';
  const p = planWaypoint(desired(), existing);
  assert.deepEqual(p.actions.map((a) => `${a.verb} ${a.kind}`), ['patch Service']);
  assert.deepEqual((p.actions[0] as any).body.spec.selector, { 'gateway.networking.k8s.io/gateway-name': 'waypoint', app: null });
});

test('plan_leaves_an_unmanaged_object_of_the_same_name_alone_reports_it_and_acts_on_nothing', () => {
  const d = desired();
  const foreign = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'waypoint', namespace: 'shop', labels: { app: 'mine' } }, spec: { ports: [{ port: 80 }] } } as Obj;
  const p = planWaypoint(d, { Service: foreign });
  assert.deepEqual(p.actions, [], 'nothing is created or patched beside a foreign object');
  assert.equal(p.conflicts.length, 1);
  assert.match(p.conflicts[0]!, /Service shop\/waypoint exists and is not managed by the controller/);
});

test('orphans_are_managed_objects_whose_gateway_is_not_deployable', () => {
  const mk = (kind: WaypointKind, ns: string, name: string, labels: Record<string, string>) => ({ kind, obj: { metadata: { name, namespace: ns, uid: `${kind}-${name}`, labels } } });
  const managed = { [MANAGED_BY_LABEL]: 'ambient-controller' };
  const list = [
    mk('Deployment', 'shop', 'waypoint', { ...managed, 'gateway.networking.k8s.io/gateway-name': 'waypoint' }),
    mk('Deployment', 'shop', 'gone', { ...managed, 'gateway.networking.k8s.io/gateway-name': 'gone' }),
    mk('Service', 'shop', 'gone', { ...managed, 'gateway.networking.k8s.io/gateway-name': 'gone' }),
    mk('Service', 'shop', 'theirs', { 'gateway.networking.k8s.io/gateway-name': 'gone' }),
    mk('ServiceAccount', 'shop', 'renamed', { ...managed, 'gateway.networking.k8s.io/gateway-name': 'waypoint' }),
  ];
  const out = orphanedWaypointObjects(list, new Set(['shop/waypoint']));
  assert.deepEqual(out.map((a) => `${a.verb} ${a.kind} ${a.namespace}/${a.name}`), ['delete Deployment shop/gone', 'delete Service shop/gone', 'delete ServiceAccount shop/renamed']);
  assert.ok(out.every((a) => a.verb === 'delete' && a.uid !== undefined), 'deleted with a uid precondition');
});

test('covers_ignores_fields_only_the_server_has_but_not_a_changed_array', () => {
  assert.equal(covers({ a: 1, b: 2 }, { a: 1 }), true);
  assert.equal(covers({ a: [1, 2] }, { a: [1] }), false);
  assert.equal(covers({ a: '1' }, { a: 1 }), false);
  assert.equal(covers({ t: new Date('2026-01-01T00:00:00Z') }, { t: '2026-01-01T00:00:00.000Z' }), true);
});

test('template_with_an_unknown_variable_is_refused_naming_it', () => {
  assert.throws(
    () => parseWaypointTemplate(TEMPLATE_TEXT.replace("value: '${TRUST_DOMAIN}'", "value: '${TRUST_DOMIAN}'")),
    (e: unknown) => isMeshError(e, ErrorCodes.WAYPOINT_TEMPLATE_INVALID) && /\$\{TRUST_DOMIAN\}/.test((e as Error).message),
  );
});

test('template_without_a_service_or_with_another_kind_is_refused', () => {
  const noService = TEMPLATE_TEXT.slice(0, TEMPLATE_TEXT.lastIndexOf('---'));
  assert.throws(() => parseWaypointTemplate(noService), (e: unknown) => isMeshError(e, ErrorCodes.WAYPOINT_TEMPLATE_INVALID) && /no Service/.test((e as Error).message));
  assert.throws(() => parseWaypointTemplate(`${TEMPLATE_TEXT}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\n`), (e: unknown) => isMeshError(e, ErrorCodes.WAYPOINT_TEMPLATE_INVALID) && /"Pod"/.test((e as Error).message));
  assert.throws(() => parseWaypointTemplate('kind: [unterminated'), (e: unknown) => isMeshError(e, ErrorCodes.WAYPOINT_TEMPLATE_INVALID));
});

test('plan_with_the_applications_own_service_account_creates_no_deployment', () => {
  // Attack: a Gateway named like an application's ServiceAccount would run the waypoint as it.
  const app = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'waypoint', namespace: 'shop' } } as Obj;
  const p = planWaypoint(desired(), { ServiceAccount: app });
  assert.deepEqual(p.actions, []);
  assert.match(p.conflicts[0]!, /ServiceAccount shop\/waypoint exists and is not managed/);
});

// Whose the GatewayClass is: only the exact controllerName is ours.
test('gateway_class_with_our_controller_name_is_ours', () => {
  assert.deepEqual(gatewayClassOwner({ spec: { controllerName: 'ambient.dev/waypoint' } }), { ours: true });
});

test('gateway_class_with_another_controller_name_is_not_ours_and_names_it', () => {
  assert.deepEqual(gatewayClassOwner({ spec: { controllerName: 'istio.io/mesh-controller' } }), { ours: false, controllerName: 'istio.io/mesh-controller' });
});

test('gateway_class_controller_name_is_compared_exactly', () => {
  assert.equal(gatewayClassOwner({ spec: { controllerName: 'ambient.dev/waypoint/' } }).ours, false);
  assert.equal(gatewayClassOwner({ spec: { controllerName: 'Ambient.dev/waypoint' } }).ours, false);
});

test('gateway_class_without_a_readable_controller_name_is_not_ours', () => {
  assert.deepEqual(gatewayClassOwner({ spec: {} }), { ours: false, controllerName: 'null' });
  assert.deepEqual(gatewayClassOwner({ spec: { controllerName: 7 } }), { ours: false, controllerName: '7' });
  assert.equal(gatewayClassOwner(null).ours, false);
});

test('foreign_class_message_says_what_is_not_done_and_where_traffic_goes', () => {
  const m = foreignClassMessage('example.com/x', 2);
  assert.match(m, /GatewayClass ambient-waypoint names controller "example\.com\/x", not "ambient\.dev\/waypoint"/);
  assert.match(m, /its 2 Gateways are not deployed and their status is not written/);
  assert.match(m, /never around them/);
  assert.match(foreignClassMessage('example.com/x', 1), /its 1 Gateway is not deployed and its status/);
});
