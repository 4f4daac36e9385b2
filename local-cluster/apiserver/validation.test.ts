// Unit tests of object validation: which objects are refused, with which field paths.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindByApiVersionKind, type KObject } from './kinds.js';
import { validateObject } from './validation.js';

const kind = (av: string, k: string) => kindByApiVersionKind(av, k)!;
const fields = (av: string, k: string, obj: unknown, old?: unknown) => validateObject(kind(av, k), obj as KObject, old as KObject | undefined).map((c) => c.field);
const messages = (av: string, k: string, obj: unknown) => validateObject(kind(av, k), obj as KObject).map((c) => `${c.field}: ${c.message}`);

const pod = (spec: unknown, meta: Record<string, unknown> = {}) => ({ metadata: { name: 'p', namespace: 'default', ...meta }, spec });
const deploy = (over: Record<string, unknown> = {}) => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } }, ...over },
});

test('valid_pod_has_no_errors', () => {
  assert.deepEqual(fields('v1', 'Pod', pod({ containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80, protocol: 'TCP' }] }] })), []);
});

test('pod_container_image_is_required', () => {
  assert.deepEqual(messages('v1', 'Pod', pod({ containers: [{ name: 'c' }] })), ['spec.containers[0].image: Required value']);
});

test('pod_needs_containers_with_unique_dns_label_names', () => {
  assert.deepEqual(fields('v1', 'Pod', pod({})), ['spec.containers']);
  assert.deepEqual(fields('v1', 'Pod', pod({ containers: [{ name: 'a', image: 'i' }, { name: 'a', image: 'i' }] })), ['spec.containers[1].name']);
  assert.deepEqual(fields('v1', 'Pod', pod({ containers: [{ name: 'A_b', image: 'i' }] })), ['spec.containers[0].name']);
});

test('pod_container_port_out_of_range_and_bad_protocol', () => {
  assert.deepEqual(fields('v1', 'Pod', pod({ containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 70000 }, { containerPort: 80, protocol: 'HTTP' }] }] })), [
    'spec.containers[0].ports[0].containerPort',
    'spec.containers[0].ports[1].protocol',
  ]);
});

test('metadata_name_must_be_dns_subdomain_and_namespace_is_required', () => {
  const msgs = messages('v1', 'Pod', { metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  assert.equal(msgs.length, 2);
  assert.match(msgs[0]!, /^metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
  assert.equal(msgs[1], 'metadata.namespace: Required value');
  assert.deepEqual(fields('v1', 'Pod', { metadata: { namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }] } }), ['metadata.name']);
});

test('namespace_and_service_names_are_labels', () => {
  assert.deepEqual(fields('v1', 'Namespace', { metadata: { name: 'a.b' } }), ['metadata.name']);
  assert.deepEqual(fields('v1', 'Namespace', { metadata: { name: 'team-a' } }), []);
  assert.deepEqual(fields('v1', 'Service', { metadata: { name: '1svc', namespace: 'd' }, spec: { ports: [{ port: 80 }] } }), ['metadata.name'], 'DNS-1035: starts with a letter');
});

test('label_keys_and_values_are_checked', () => {
  assert.deepEqual(fields('v1', 'ConfigMap', { metadata: { name: 'c', namespace: 'd', labels: { 'ambient.dev/dataplane-mode': 'ambient' } } }), []);
  assert.deepEqual(fields('v1', 'ConfigMap', { metadata: { name: 'c', namespace: 'd', labels: { 'bad key': 'x' } } }), ['metadata.labels']);
  assert.deepEqual(fields('v1', 'ConfigMap', { metadata: { name: 'c', namespace: 'd', labels: { a: 'bad value!' } } }), ['metadata.labels']);
});

test('service_port_out_of_range_and_names_required_when_several', () => {
  const svc = (ports: unknown) => ({ metadata: { name: 's', namespace: 'd' }, spec: { ports } });
  assert.deepEqual(messages('v1', 'Service', svc([{ port: 70000 }])), ['spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive']);
  assert.deepEqual(fields('v1', 'Service', svc([{ port: 80, name: 'a' }, { port: 81 }])), ['spec.ports[1].name']);
  assert.deepEqual(fields('v1', 'Service', svc([{ port: 80, name: 'a' }, { port: 81, name: 'a' }])), ['spec.ports[1].name']);
  assert.deepEqual(fields('v1', 'Service', svc([])), ['spec.ports']);
  assert.deepEqual(fields('v1', 'Service', svc([{ port: 80, targetPort: 'http' }])), []);
  assert.deepEqual(fields('v1', 'Service', svc([{ port: 80, targetPort: 0 }])), ['spec.ports[0].targetPort']);
});

test('service_cluster_ip_is_immutable', () => {
  const s = (ip: string) => ({ metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: ip, ports: [{ port: 80 }] } });
  assert.deepEqual(fields('v1', 'Service', s('10.96.0.9'), s('10.96.0.8')), ['spec.clusterIP']);
  assert.deepEqual(fields('v1', 'Service', s('10.96.0.8'), s('10.96.0.8')), []);
  assert.deepEqual(fields('v1', 'Service', s('not-an-ip')), ['spec.clusterIP']);
});

test('deployment_selector_must_match_template_labels', () => {
  const d = deploy({ template: { metadata: { labels: { app: 'other' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } });
  const msgs = messages('apps/v1', 'Deployment', d);
  assert.deepEqual(msgs, ['spec.template.metadata.labels: Invalid value: {"app":"other"}: `selector` does not match template `labels`']);
});

test('deployment_needs_selector_and_nonnegative_replicas_and_immutable_selector', () => {
  assert.deepEqual(fields('apps/v1', 'Deployment', deploy()), []);
  assert.deepEqual(fields('apps/v1', 'Deployment', deploy({ selector: undefined })), ['spec.selector']);
  assert.deepEqual(fields('apps/v1', 'Deployment', deploy({ replicas: -1 })), ['spec.replicas']);
  const moved = deploy({ selector: { matchLabels: { app: 'web', v: '2' } }, template: { metadata: { labels: { app: 'web', v: '2' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } });
  assert.deepEqual(fields('apps/v1', 'Deployment', moved, deploy()), ['spec.selector']);
  assert.deepEqual(fields('apps/v1', 'Deployment', deploy({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } } })), ['spec.template.spec.containers[0].image']);
});

test('malformed_shapes_are_field_errors_not_exceptions', () => {
  for (const [av, k] of [['v1', 'Pod'], ['apps/v1', 'Deployment'], ['v1', 'Service'], ['gateway.networking.k8s.io/v1', 'Gateway'], ['discovery.k8s.io/v1', 'EndpointSlice']] as const) {
    for (const bad of [{ metadata: 5 }, { metadata: { name: 'x', namespace: 'd' }, spec: 'str' }, { metadata: { name: 'x', namespace: 'd', labels: [] }, spec: { containers: {}, ports: 'x', listeners: 3 } }]) {
      const causes = validateObject(kind(av, k), bad as KObject);
      assert.ok(causes.length > 0, `${k} ${JSON.stringify(bad)}`);
    }
  }
});

test('gateway_kinds', () => {
  const gw = (spec: unknown) => ({ metadata: { name: 'w', namespace: 'd' }, spec });
  assert.deepEqual(fields('gateway.networking.k8s.io/v1', 'Gateway', gw({ gatewayClassName: 'ambient-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] })), []);
  assert.deepEqual(fields('gateway.networking.k8s.io/v1', 'Gateway', gw({ listeners: [{ name: 'mesh', port: 0, protocol: 'HBONE' }] })), ['spec.gatewayClassName', 'spec.listeners[0].port']);
});

test('secret_data_must_be_base64', () => {
  const s = (data: unknown) => ({ metadata: { name: 's', namespace: 'd' }, data });
  assert.deepEqual(fields('v1', 'Secret', s({ token: Buffer.from('x').toString('base64') })), []);
  assert.deepEqual(fields('v1', 'Secret', s({ token: 'not base64!' })), ['data[token]']);
  assert.deepEqual(fields('v1', 'Secret', s({ 'bad/key': 'eA==' })), ['data']);
});

test('endpoint_slice_refuses_loopback_unspecified_and_link_local_addresses', () => {
  const slice = (addressType: string, addresses: unknown[]) => ({ metadata: { name: 's', namespace: 'd' }, addressType, endpoints: [{ addresses }] });
  const refused = (t: string, a: string) => messages('discovery.k8s.io/v1', 'EndpointSlice', slice(t, [a]));
  assert.deepEqual(refused('IPv4', '127.0.0.1'), ['endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)']);
  for (const [t, a] of [['IPv4', '127.255.0.9'], ['IPv4', '0.0.0.0'], ['IPv4', '169.254.169.254'], ['IPv4', '224.0.0.1'], ['IPv6', '::1'], ['IPv6', '::'], ['IPv6', 'fe80::1'], ['IPv6', '::ffff:127.0.0.1'], ['IPv6', 'ff02::1']]) {
    assert.equal(refused(t!, a!).length, 1, `${t} ${a}`);
  }
  for (const [t, a] of [['IPv4', '10.244.1.5'], ['IPv4', '128.0.0.1'], ['IPv6', 'fd00::5'], ['IPv6', '2001:db8::1']]) assert.deepEqual(refused(t!, a!), [], `${t} ${a}`);
  assert.deepEqual(refused('IPv6', '10.0.0.1'), ['endpoints[0].addresses[0]: Invalid value: "10.0.0.1": must be a valid IPv6 address']);
});

test('http_route_retry_of_the_experimental_channel_is_accepted_and_typed', () => {
  const route = (retry: unknown) => messages('gateway.networking.k8s.io/v1', 'HTTPRoute', { metadata: { name: 'r', namespace: 'd' }, spec: { parentRefs: [{ kind: 'Service', name: 'echo' }], rules: [{ retry }] } });
  assert.deepEqual(route({ codes: [500, 503], attempts: 3, backoff: '100ms' }), []);
  assert.equal(route({ codes: [200] }).length, 1);
  assert.equal(route({ attempts: 0 }).length, 1);
  assert.equal(route({ backoff: 100 }).length, 1);
  assert.equal(route({ tries: 2 }).length, 1);
});
