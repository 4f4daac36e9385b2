// Unit tests of what a local-cluster container runs: image names, argv, environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { containerArgv, containerEnv, imageName, KNOWN_IMAGES } from './containers.js';

const ROOT = '/repo';
const NODE = '/usr/bin/node';

// --- imageName ---

test('image_name_strips_the_tag', () => {
  assert.equal(imageName('ambient-samples/echo:1.2.3'), 'ambient-samples/echo');
  assert.equal(imageName('ambient-samples/echo:latest'), 'ambient-samples/echo');
});

test('image_name_keeps_an_untagged_name', () => {
  assert.equal(imageName('ambient-samples/echo'), 'ambient-samples/echo');
});

test('image_name_strips_the_digest', () => {
  assert.equal(imageName('ambient-samples/echo@sha256:abcdef0123'), 'ambient-samples/echo');
});

test('image_name_strips_tag_and_digest_together', () => {
  assert.equal(imageName('ambient-samples/echo:v1@sha256:abcdef0123'), 'ambient-samples/echo');
});

test('image_name_strips_docker_io_and_library', () => {
  assert.equal(imageName('docker.io/library/busybox:1.36'), 'busybox');
  assert.equal(imageName('library/busybox'), 'busybox');
  assert.equal(imageName('docker.io/ambient-samples/echo:1'), 'ambient-samples/echo');
});

test('image_name_keeps_a_registry_port_that_is_not_a_tag', () => {
  assert.equal(imageName('localhost:5000/ambient-samples/echo'), 'localhost:5000/ambient-samples/echo');
  assert.equal(imageName('localhost:5000/ambient-samples/echo:2'), 'localhost:5000/ambient-samples/echo');
});

// --- containerArgv ---

test('container_argv_uses_command_and_args_when_given', () => {
  const r = containerArgv({ name: 'c', image: 'ambient-samples/echo', command: ['/bin/sh', '-c'], args: ['echo hi'] }, ROOT, NODE);
  assert.deepEqual(r, { argv: ['/bin/sh', '-c', 'echo hi'] });
});

test('container_argv_uses_command_alone_without_args', () => {
  const r = containerArgv({ name: 'c', image: 'unknown/thing', command: ['sleep', '10'] }, ROOT, NODE);
  assert.deepEqual(r, { argv: ['sleep', '10'] });
});

test('container_argv_maps_known_sample_images_to_node_programs', () => {
  for (const x of ['echo', 'tcp-echo', 'client']) {
    const r = containerArgv({ name: 'c', image: `ambient-samples/${x}` }, ROOT, NODE);
    assert.deepEqual(r, { argv: [NODE, `${ROOT}/dist/samples/${x}/main.js`] }, x);
  }
  assert.equal(Object.keys(KNOWN_IMAGES).length, 6);
});

test('container_argv_maps_the_mesh_controller_image_to_its_program', () => {
  const r = containerArgv({ name: 'c', image: 'ambient/controller:latest', args: ['--namespace', 'ambient-system'] }, ROOT, NODE);
  assert.deepEqual(r, { argv: [NODE, `${ROOT}/dist/controller/main.js`, '--namespace', 'ambient-system'] });
});

test('container_argv_maps_the_node_agent_image_to_its_program', () => {
  const r = containerArgv({ name: 'c', image: 'ambient/node-agent:latest', args: ['--trust-domain', 'cluster.local'] }, ROOT, NODE);
  assert.deepEqual(r, { argv: [NODE, `${ROOT}/dist/node-agent/main.js`, '--trust-domain', 'cluster.local'] });
});

test('container_argv_maps_the_waypoint_image_to_its_program', () => {
  const r = containerArgv({ name: 'waypoint', image: 'ambient/waypoint:latest' }, ROOT, NODE);
  assert.deepEqual(r, { argv: [NODE, `${ROOT}/dist/waypoint/main.js`] });
});

test('container_argv_maps_a_sample_image_with_any_tag_or_registry_prefix', () => {
  for (const image of ['ambient-samples/echo:1.0', 'ambient-samples/echo:latest', 'docker.io/ambient-samples/echo:dev', 'ambient-samples/echo@sha256:00']) {
    const r = containerArgv({ name: 'c', image }, ROOT, NODE);
    assert.deepEqual(r, { argv: [NODE, `${ROOT}/dist/samples/echo/main.js`] }, image);
  }
});

test('container_argv_appends_args_to_a_sample_program', () => {
  const r = containerArgv({ name: 'c', image: 'ambient-samples/tcp-echo:1', args: ['--port', '9000'] }, ROOT, NODE);
  assert.deepEqual(r, { argv: [NODE, `${ROOT}/dist/samples/tcp-echo/main.js`, '--port', '9000'] });
});

test('container_argv_empty_command_falls_back_to_the_image', () => {
  const r = containerArgv({ name: 'c', image: 'ambient-samples/client', command: [] }, ROOT, NODE);
  assert.deepEqual(r, { argv: [NODE, `${ROOT}/dist/samples/client/main.js`] });
});

test('container_argv_rejects_an_unknown_image_without_command', () => {
  const r = containerArgv({ name: 'c', image: 'nginx:1.25' }, ROOT, NODE);
  assert.ok('reason' in r);
  assert.equal(r.reason, 'UnknownImage');
  assert.match(r.error, /"nginx:1\.25"/);
  assert.match(r.error, /ambient-samples\/echo/);
  assert.match(r.error, /no command/);
});

test('container_argv_rejects_a_container_without_image_or_command', () => {
  const r = containerArgv({ name: 'c' }, ROOT, NODE);
  assert.ok('reason' in r && r.reason === 'UnknownImage');
});

// --- containerEnv ---

function pod(): V1Pod {
  return {
    metadata: { name: 'web-1', namespace: 'shop', uid: 'uid-1', labels: { app: 'web', 'app.kubernetes.io/name': 'w' }, annotations: { note: 'hi' } },
    spec: { containers: [], serviceAccountName: 'sa-web' },
    status: { podIP: '10.0.0.5', hostIP: '192.168.1.2' },
  };
}

function env(vars: V1EnvVar[], base: Record<string, string> = {}, p: V1Pod = pod()): Record<string, string> {
  const c: V1Container = { name: 'c', env: vars };
  return containerEnv(p, c, 'node-a', base);
}

function field(name: string, fieldPath: string): V1EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

test('container_env_has_downward_values', () => {
  const e = env([]);
  assert.equal(e['POD_NAME'], 'web-1');
  assert.equal(e['POD_NAMESPACE'], 'shop');
  assert.equal(e['POD_IP'], '10.0.0.5');
  assert.equal(e['NODE_NAME'], 'node-a');
  assert.equal(e['HOSTNAME'], 'web-1');
});

test('container_env_downward_values_are_empty_for_a_bare_pod', () => {
  const e = containerEnv({}, { name: 'c' }, 'node-a', {});
  assert.deepEqual(e, { POD_NAME: '', POD_NAMESPACE: '', POD_IP: '', NODE_NAME: 'node-a', HOSTNAME: '' });
});

test('container_env_keeps_the_base_env', () => {
  const e = env([{ name: 'X', value: 'y' }], { PATH: '/bin', HOME: '/root' });
  assert.equal(e['PATH'], '/bin');
  assert.equal(e['HOME'], '/root');
  assert.equal(e['X'], 'y');
});

test('container_env_downward_values_override_the_base_env', () => {
  const e = env([], { POD_NAME: 'stale', NODE_NAME: 'stale' });
  assert.equal(e['POD_NAME'], 'web-1');
  assert.equal(e['NODE_NAME'], 'node-a');
});

test('container_env_value_sets_a_variable', () => {
  assert.equal(env([{ name: 'GREETING', value: 'hello' }])['GREETING'], 'hello');
});

test('container_env_value_can_override_downward_values', () => {
  assert.equal(env([{ name: 'POD_NAME', value: 'custom' }])['POD_NAME'], 'custom');
});

test('container_env_variable_without_value_or_source_is_empty', () => {
  assert.equal(env([{ name: 'EMPTY' }])['EMPTY'], '');
});

test('container_env_field_ref_metadata_name_and_namespace_and_uid', () => {
  const e = env([field('N', 'metadata.name'), field('NS', 'metadata.namespace'), field('U', 'metadata.uid')]);
  assert.deepEqual([e['N'], e['NS'], e['U']], ['web-1', 'shop', 'uid-1']);
});

test('container_env_field_ref_status_pod_ip_and_host_ip', () => {
  const e = env([field('IP', 'status.podIP'), field('HOST', 'status.hostIP')]);
  assert.deepEqual([e['IP'], e['HOST']], ['10.0.0.5', '192.168.1.2']);
});

test('container_env_field_ref_spec_node_name_is_the_node', () => {
  assert.equal(env([field('NODE', 'spec.nodeName')])['NODE'], 'node-a');
});

test('container_env_field_ref_service_account_defaults_to_default', () => {
  assert.equal(env([field('SA', 'spec.serviceAccountName')])['SA'], 'sa-web');
  const p = pod();
  delete p.spec!.serviceAccountName;
  assert.equal(env([field('SA', 'spec.serviceAccountName')], {}, p)['SA'], 'default');
});

test('container_env_field_ref_label_and_annotation', () => {
  const e = env([
    field('APP', "metadata.labels['app']"),
    field('NAME', "metadata.labels['app.kubernetes.io/name']"),
    field('MISSING', "metadata.labels['nope']"),
    field('NOTE', "metadata.annotations['note']"),
  ]);
  assert.deepEqual([e['APP'], e['NAME'], e['MISSING'], e['NOTE']], ['web', 'w', '', 'hi']);
});

test('container_env_field_ref_unknown_path_is_empty', () => {
  assert.equal(env([field('X', 'spec.bogus')])['X'], '');
});

test('container_env_expands_references_to_earlier_variables', () => {
  const e = env([
    { name: 'HOST', value: 'db' },
    { name: 'URL', value: 'http://$(HOST):$(PORT)/$(POD_NAME)' },
    { name: 'PORT', value: '5432' },
  ]);
  // PORT is defined later: the reference stays as written, as in Kubernetes.
  assert.equal(e['URL'], 'http://db:$(PORT)/web-1');
});

test('container_env_expands_references_to_field_ref_and_base_variables', () => {
  const e = env([field('MY_IP', 'status.podIP'), { name: 'ADDR', value: '$(MY_IP):80 $(HOME)' }], { HOME: '/root' });
  assert.equal(e['ADDR'], '10.0.0.5:80 /root');
});

test('container_env_double_dollar_escapes_a_reference', () => {
  const e = env([
    { name: 'A', value: 'x' },
    { name: 'B', value: '$$(A) $(A) $$ cost$5' },
  ]);
  assert.equal(e['B'], '$(A) x $ cost$5');
});

test('container_env_unknown_reference_is_left_unchanged', () => {
  assert.equal(env([{ name: 'B', value: '$(NOPE) $(bad-name)' }])['B'], '$(NOPE) $(bad-name)');
});

test('container_env_does_not_expand_object_prototype_names', () => {
  const e = env([{ name: 'B', value: '$(toString) $(constructor) $(__proto__)' }]);
  assert.equal(e['B'], '$(toString) $(constructor) $(__proto__)');
});

test('container_env_field_ref_values_are_not_expanded', () => {
  const p = pod();
  p.metadata!.labels!['raw'] = '$(POD_NAME)';
  assert.equal(env([field('R', "metadata.labels['raw']")], {}, p)['R'], '$(POD_NAME)');
});

test('container_env_does_not_mutate_the_base_env', () => {
  const base = { PATH: '/bin' };
  env([{ name: 'X', value: '1' }], base);
  assert.deepEqual(base, { PATH: '/bin' });
});
