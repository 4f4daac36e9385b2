// Service -> MeshService: key and hostname, VIPs, ports and target ports (named ones
// resolved per endpoint), endpoints from EndpointSlices matched to workloads by pod uid.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointTargetPort } from '../../core/config/model.js';
import { cluster, endpointSlice, mustService, mustWorkload, pod, problemsOf, service, serviceNamed, TD } from './fixtures.js';
import { translate } from './translate.js';

test('translate_service_key_and_hostname_use_cluster_domain', () => {
  const r = translate(cluster({ services: [service('reviews', { clusterIP: '10.96.1.1' })] }), { trustDomain: TD });
  const s = mustService(r, 'reviews');
  assert.equal(s.hostname, 'reviews.default.svc.cluster.local');
  assert.equal(s.key, 'default/reviews.default.svc.cluster.local');
  assert.equal(r.resources[0]!.key, s.key);
  assert.deepEqual(s.vips, ['10.96.1.1']);
});

test('translate_service_honours_cluster_domain_option', () => {
  const r = translate(cluster({ services: [service('reviews')] }), { trustDomain: TD, clusterDomain: 'corp.example' });
  assert.equal(mustService(r, 'reviews').hostname, 'reviews.default.svc.corp.example');
});

test('translate_dual_stack_service_lists_all_cluster_ips', () => {
  const r = translate(cluster({ services: [service('reviews', { clusterIP: '10.96.1.1', clusterIPs: ['10.96.1.1', 'fd00:96::1'] })] }), { trustDomain: TD });
  assert.deepEqual(mustService(r, 'reviews').vips, ['10.96.1.1', 'fd00:96::1']);
});

test('translate_headless_service_has_no_vips', () => {
  const r = translate(cluster({ services: [service('db', { clusterIP: 'None', clusterIPs: ['None'] })] }), { trustDomain: TD });
  assert.deepEqual(mustService(r, 'db').vips, []);
});

test('translate_external_name_and_unallocated_services_are_not_translated', () => {
  const r = translate(cluster({ services: [service('ext', { type: 'ExternalName', clusterIP: '' }), service('new', { clusterIP: '' })] }), { trustDomain: TD });
  assert.deepEqual(r.resources, []);
  assert.deepEqual(r.problems, []);
});

test('translate_service_with_invalid_cluster_ip_rejected_alone', () => {
  const r = translate(cluster({ services: [service('bad', { clusterIP: '10.96.1.300' }), service('good')] }), { trustDomain: TD });
  assert.equal(serviceNamed(r, 'bad'), undefined);
  assert.ok(serviceNamed(r, 'good'));
  assert.equal(problemsOf(r, 'Service', 'default/bad')[0]?.message, 'spec.clusterIP: "10.96.1.300" is not an IP address');
});

test('translate_service_port_numeric_target_and_app_protocol', () => {
  const r = translate(cluster({ services: [service('web', { ports: [{ name: 'http', port: 80, targetPort: 8080, appProtocol: 'http' }] })] }), { trustDomain: TD });
  assert.deepEqual(mustService(r, 'web').ports, [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }]);
});

test('translate_service_port_without_target_targets_itself', () => {
  const r = translate(cluster({ services: [service('web', { ports: [{ port: 9080 }] })] }), { trustDomain: TD });
  assert.deepEqual(mustService(r, 'web').ports, [{ port: 9080, targetPort: 9080, protocol: 'TCP' }]);
});

test('translate_service_port_numeric_string_target_is_a_number', () => {
  const r = translate(cluster({ services: [service('web', { ports: [{ port: 80, targetPort: '8080' }] })] }), { trustDomain: TD });
  assert.equal(mustService(r, 'web').ports[0]!.targetPort, 8080);
});

test('translate_named_target_port_resolves_per_endpoint', () => {
  const r = translate(
    cluster({
      pods: [pod('a', { uid: 'ua', ports: [{ name: 'http', containerPort: 8080 }] }), pod('b', { uid: 'ub', ports: [{ name: 'http', containerPort: 9090 }] })],
      services: [service('web', { ports: [{ name: 'web', port: 80, targetPort: 'http' }] })],
      endpointSlices: [endpointSlice('web', [{ uid: 'ua' }, { uid: 'ub' }])],
    }),
    { trustDomain: TD },
  );
  const s = mustService(r, 'web');
  assert.equal(s.ports[0]!.targetPort, 0);
  assert.deepEqual(s.endpoints.map((e) => [e.workloadUid, endpointTargetPort(s.ports[0]!, e)]), [['ua', 8080], ['ub', 9090]]);
});

test('translate_named_target_port_missing_on_pod_means_endpoint_does_not_serve_it', () => {
  const r = translate(
    cluster({
      pods: [pod('a', { uid: 'ua', ports: [{ name: 'metrics', containerPort: 9100 }] })],
      services: [service('web', { ports: [{ name: 'web', port: 80, targetPort: 'http' }] })],
      endpointSlices: [endpointSlice('web', [{ uid: 'ua' }])],
    }),
    { trustDomain: TD },
  );
  const s = mustService(r, 'web');
  assert.deepEqual(s.endpoints[0]!.ports, {});
  assert.equal(endpointTargetPort(s.ports[0]!, s.endpoints[0]!), undefined);
});

test('translate_named_target_port_matches_protocol_too', () => {
  const r = translate(
    cluster({
      pods: [pod('a', { uid: 'ua', ports: [{ name: 'dns', containerPort: 5353, protocol: 'UDP' }] })],
      services: [service('web', { ports: [{ port: 53, targetPort: 'dns', protocol: 'TCP' }] })],
      endpointSlices: [endpointSlice('web', [{ uid: 'ua' }])],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints[0]!.ports, {});
});

test('translate_service_with_bad_target_port_rejected_alone', () => {
  const r = translate(cluster({ services: [service('bad', { ports: [{ port: 80, targetPort: 'Not A Name' }] }), service('good')] }), { trustDomain: TD });
  assert.equal(serviceNamed(r, 'bad'), undefined);
  assert.ok(serviceNamed(r, 'good'));
  assert.match(problemsOf(r, 'Service', 'default/bad')[0]?.message ?? '', /spec\.ports\[0\]\.targetPort: "Not A Name" is neither/);
});

test('translate_service_with_port_out_of_range_rejected_alone', () => {
  const r = translate(cluster({ services: [service('bad', { ports: [{ port: 70000 }] }), service('good')] }), { trustDomain: TD });
  assert.equal(serviceNamed(r, 'bad'), undefined);
  assert.ok(serviceNamed(r, 'good'));
  assert.match(problemsOf(r, 'Service', 'default/bad')[0]?.message ?? '', /spec\.ports\[0\]\.port: 70000 is not a port number/);
});

test('translate_sctp_port_is_left_out_and_reported', () => {
  const r = translate(cluster({ services: [service('sig', { ports: [{ name: 'sctp', port: 3868, protocol: 'SCTP' }, { name: 'tcp', port: 3869 }] })] }), { trustDomain: TD });
  assert.deepEqual(mustService(r, 'sig').ports.map((p) => p.port), [3869]);
  assert.match(problemsOf(r, 'Service', 'default/sig')[0]?.message ?? '', /3868\/SCTP is left out/);
});

test('translate_udp_port_is_listed', () => {
  const r = translate(cluster({ services: [service('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] })] }), { trustDomain: TD });
  assert.deepEqual(mustService(r, 'dns').ports.map((p) => `${p.port}/${p.protocol}`), ['53/UDP', '53/TCP']);
});

test('translate_endpoints_match_slice_target_refs_to_workloads', () => {
  const r = translate(
    cluster({
      pods: [pod('b', { uid: 'ub' }), pod('a', { uid: 'ua' })],
      services: [service('web')],
      endpointSlices: [endpointSlice('web', [{ uid: 'ub' }, { uid: 'ua' }])],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints, [
    { workloadUid: 'ua', ports: {}, healthy: true },
    { workloadUid: 'ub', ports: {}, healthy: true },
  ]);
});

test('translate_endpoint_of_unknown_pod_is_skipped', () => {
  const r = translate(
    cluster({ pods: [pod('a', { uid: 'ua' })], services: [service('web')], endpointSlices: [endpointSlice('web', [{ uid: 'ua' }, { uid: 'gone' }, { ip: '192.0.2.1' }])] }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints.map((e) => e.workloadUid), ['ua']);
});

test('translate_endpoint_of_finished_pod_is_skipped', () => {
  const r = translate(
    cluster({ pods: [pod('a', { uid: 'ua', phase: 'Succeeded' })], services: [service('web')], endpointSlices: [endpointSlice('web', [{ uid: 'ua' }])] }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints, []);
});

test('translate_endpoint_health_follows_ready_condition', () => {
  const r = translate(
    cluster({
      pods: [pod('a', { uid: 'ua' }), pod('b', { uid: 'ub' }), pod('c', { uid: 'uc' })],
      services: [service('web')],
      endpointSlices: [endpointSlice('web', [{ uid: 'ua', ready: true }, { uid: 'ub', ready: false }, { uid: 'uc' }])],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints.map((e) => [e.workloadUid, e.healthy]), [['ua', true], ['ub', false], ['uc', true]]);
});

test('translate_endpoints_from_several_slices_are_merged_per_pod', () => {
  const r = translate(
    cluster({
      pods: [pod('a', { uid: 'ua', ips: ['10.244.0.5', 'fd00::5'] }), pod('b', { uid: 'ub' })],
      services: [service('web')],
      endpointSlices: [
        endpointSlice('web', [{ uid: 'ua', ready: false }], { name: 'web-v4' }),
        endpointSlice('web', [{ uid: 'ua', ready: true, ip: 'fd00::5' }, { uid: 'ub' }], { name: 'web-v6', addressType: 'IPv6' }),
      ],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints.map((e) => [e.workloadUid, e.healthy]), [['ua', true], ['ub', true]]);
});

test('translate_slice_of_another_service_or_namespace_is_not_used', () => {
  const r = translate(
    cluster({
      pods: [pod('a', { uid: 'ua' }), pod('x', { uid: 'ux', ns: 'other' })],
      services: [service('web')],
      endpointSlices: [endpointSlice('api', [{ uid: 'ua' }]), endpointSlice('web', [{ uid: 'ux' }], { ns: 'other' })],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints, []);
});

test('translate_slice_pointing_at_pod_of_another_namespace_is_skipped', () => {
  const r = translate(
    cluster({ pods: [pod('x', { uid: 'ux', ns: 'other' })], services: [service('web')], endpointSlices: [endpointSlice('web', [{ uid: 'ux' }])] }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints, []);
});

test('translate_malformed_slice_rejected_alone', () => {
  const bad = endpointSlice('web', [], { name: 'web-bad' });
  (bad as unknown as { endpoints: unknown }).endpoints = 'nope';
  const r = translate(
    cluster({ pods: [pod('a', { uid: 'ua' })], services: [service('web')], endpointSlices: [bad, endpointSlice('web', [{ uid: 'ua' }], { name: 'web-good' })] }),
    { trustDomain: TD },
  );
  assert.deepEqual(mustService(r, 'web').endpoints.map((e) => e.workloadUid), ['ua']);
  assert.match(problemsOf(r, 'EndpointSlice', 'default/web-bad')[0]?.message ?? '', /endpoints is not a list/);
});

test('translate_service_endpoints_reference_emitted_workloads_only', () => {
  const r = translate(
    cluster({ pods: [pod('a', { uid: 'ua' }), pod('bad', { uid: 'ubad', serviceAccountName: '_x' })], services: [service('web')], endpointSlices: [endpointSlice('web', [{ uid: 'ua' }, { uid: 'ubad' }])] }),
    { trustDomain: TD },
  );
  assert.ok(mustWorkload(r, 'a'));
  assert.deepEqual(mustService(r, 'web').endpoints.map((e) => e.workloadUid), ['ua']);
});
