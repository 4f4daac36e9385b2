// `authz check --from/--to/--source-ip/--header`: syntax before any network access, then
// resolution against the controller's config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpoint, service, tcpPort, workload } from '../../node-agent/proxy/fixtures.js';
import { closeMatches, configView, editDistance, parseFrom, parseHeaders, parseSourceIp, parseTo, resolveFrom, resolveTo, type MeshConfigView } from './authz-resolve.js';

const WP = { service: 'shop/waypoint.shop.svc.cluster.local', port: 15008 };
const web1 = workload('web-6d4-a1', { uid: 'uid-web1', namespace: 'shop', serviceAccount: 'web', identity: 'spiffe://cluster.local/ns/shop/sa/web', ips: ['10.244.1.5'], node: 'node-1', labels: { app: 'web' }, canonicalName: 'web' });
const web2 = workload('web-6d4-b2', { uid: 'uid-web2', namespace: 'shop', serviceAccount: 'web', identity: 'spiffe://cluster.local/ns/shop/sa/web', ips: ['10.244.2.6'], node: 'node-2', labels: { app: 'web' }, canonicalName: 'web' });
const front = workload('frontend-1', { uid: 'uid-front', namespace: 'shop', serviceAccount: 'frontend', ips: ['10.244.1.9'], labels: { app: 'frontend' } });
const named = workload('api-1', { uid: 'uid-api', namespace: 'shop', ips: ['10.244.1.20'], labels: { app: 'api' } });
const noPort = workload('api-2', { uid: 'uid-api2', namespace: 'shop', ips: ['10.244.1.21'], labels: { app: 'api' } });
const webSvc = service('web', { namespace: 'shop', vips: ['10.96.0.20'], ports: [tcpPort(80, 8080, 'http')], endpoints: [endpoint(web1), endpoint(web2)] });
const apiSvc = service('api', { namespace: 'shop', vips: ['10.96.0.30'], ports: [{ port: 80, targetPort: 0, protocol: 'TCP', name: 'http' }], endpoints: [endpoint(named, { '80': 9090 }), endpoint(noPort)], waypoint: WP });
const emptySvc = service('empty', { namespace: 'shop', vips: ['10.96.0.40'], ports: [tcpPort(80, 80)], endpoints: [] });
const clash = service('frontend-1', { namespace: 'shop', vips: ['10.96.0.50'], ports: [tcpPort(80, 80)], endpoints: [endpoint(front)] });

const config: MeshConfigView = configView({
  trustDomain: 'cluster.local',
  rootNamespace: 'ambient-system',
  resources: [
    ...[web1, web2, front, named, noPort].map((w) => ({ kind: 'Workload' as const, key: w.uid, body: w })),
    ...[webSvc, apiSvc, emptySvc].map((s) => ({ kind: 'Service' as const, key: s.key, body: s })),
  ],
});

test('from_namespace_slash_serviceaccount_parses', () => {
  assert.deepEqual(parseFrom('shop/frontend'), { kind: 'nsSa', namespace: 'shop', serviceAccount: 'frontend' });
});

test('from_spiffe_id_parses_with_its_trust_domain', () => {
  assert.deepEqual(parseFrom('spiffe://cluster.local/ns/shop/sa/web'), { kind: 'spiffe', id: 'spiffe://cluster.local/ns/shop/sa/web', trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'web' });
});

test('from_without_a_namespace_is_refused_with_both_forms_named', () => {
  assert.throws(() => parseFrom('frontend'), /--from: "frontend" is neither spiffe:\/\/<trust domain>\/ns\/<namespace>\/sa\/<service account> nor <namespace>\/<service account>/);
  assert.throws(() => parseFrom('a/b/c'), /--from: "a\/b\/c" is neither/);
  assert.throws(() => parseFrom('Shop/web'), /is neither/);
});

test('from_spiffe_id_not_of_a_workload_is_refused', () => {
  assert.throws(() => parseFrom('spiffe://cluster.local/web'), /--from: "spiffe:\/\/cluster.local\/web" is not a workload identity of the mesh/);
  assert.throws(() => parseFrom('spiffe://cluster.local/ns/shop/sa/'), /is not a workload identity/);
});

test('from_spiffe_id_of_another_trust_domain_is_an_error_saying_so', () => {
  assert.throws(() => resolveFrom(parseFrom('spiffe://other.org/ns/shop/sa/web'), undefined, config), /--from: spiffe:\/\/other.org\/ns\/shop\/sa\/web is not in the mesh's trust domain "cluster.local"/);
});

test('from_ns_sa_becomes_the_spiffe_id_of_the_mesh_trust_domain', () => {
  const s = resolveFrom(parseFrom('shop/frontend'), undefined, config);
  assert.equal(s.identity, 'spiffe://cluster.local/ns/shop/sa/frontend');
});

test('source_ip_is_the_one_workload_carrying_the_identity_and_says_which', () => {
  const s = resolveFrom(parseFrom('shop/frontend'), undefined, config);
  assert.equal(s.ip, '10.244.1.9');
  assert.equal(s.ipFrom, 'pod shop/frontend-1');
  assert.deepEqual(s.workloads, ['shop/frontend-1']);
  assert.deepEqual(s.notes, []);
});

test('source_ip_flag_wins_over_the_workload_address', () => {
  const s = resolveFrom(parseFrom('shop/frontend'), '192.0.2.7', config);
  assert.equal(s.ip, '192.0.2.7');
  assert.equal(s.ipFrom, '--source-ip');
});

test('several_workloads_with_the_identity_leave_the_source_ip_unset_with_a_note', () => {
  const s = resolveFrom(parseFrom('shop/web'), undefined, config);
  assert.equal(s.ip, undefined);
  assert.match(s.notes[0]!, /2 workloads carry spiffe:\/\/cluster.local\/ns\/shop\/sa\/web \(shop\/web-6d4-a1, shop\/web-6d4-b2\).*give --source-ip to pick one/);
});

test('an_identity_no_workload_carries_is_evaluated_without_address_with_a_note', () => {
  const s = resolveFrom(parseFrom('other/ghost'), undefined, config);
  assert.equal(s.identity, 'spiffe://cluster.local/ns/other/sa/ghost');
  assert.equal(s.ip, undefined);
  assert.match(s.notes[0]!, /no workload of the mesh carries/);
});

test('source_ip_syntax_is_checked', () => {
  assert.equal(parseSourceIp('fd00::5'), 'fd00::5');
  assert.throws(() => parseSourceIp('10.0.0'), /--source-ip: "10.0.0" is not an IP address/);
});

test('to_name_namespace_port_parses', () => {
  assert.deepEqual(parseTo('web.shop:80'), { kind: 'name', name: 'web', namespace: 'shop', port: 80, text: 'web.shop:80' });
  assert.deepEqual(parseTo('web-0.db.shop:5432'), { kind: 'name', name: 'web-0.db', namespace: 'shop', port: 5432, text: 'web-0.db.shop:5432' });
});

test('to_hostname_and_addresses_parse', () => {
  assert.equal(parseTo('web.shop.svc.cluster.local:80').kind, 'hostname');
  assert.deepEqual(parseTo('10.244.1.5:8080'), { kind: 'ip', ip: '10.244.1.5', port: 8080, text: '10.244.1.5:8080' });
  assert.deepEqual(parseTo('[fd00::5]:8080'), { kind: 'ip', ip: 'fd00::5', port: 8080, text: '[fd00::5]:8080' });
});

test('to_bad_syntax_is_refused_naming_what_is_wrong', () => {
  assert.throws(() => parseTo('web.shop'), /--to: "web.shop" has no port: expected SERVICE.NAMESPACE:PORT or POD.NAMESPACE:PORT/);
  assert.throws(() => parseTo('web:80'), /--to: "web:80" names no namespace/);
  assert.throws(() => parseTo('web.shop:http'), /has port "http", not a number from 1 to 65535/);
  assert.throws(() => parseTo('web.shop:70000'), /has port "70000"/);
  assert.throws(() => parseTo('web.shop:0'), /has port "0"/);
  assert.throws(() => parseTo('fd00::5:80'), /IPv6 address without brackets/);
  assert.throws(() => parseTo('Web.shop:80'), /has name "Web", not a valid Service or pod name/);
  assert.throws(() => parseTo('web.Shop:80'), /has namespace "Shop"/);
});

test('headers_are_name_value_with_lower_case_names', () => {
  assert.deepEqual(parseHeaders(['X-User=alice', 'x-team=a=b']), { 'x-user': 'alice', 'x-team': 'a=b' });
  assert.throws(() => parseHeaders(['novalue']), /--header: "novalue" is not NAME=VALUE/);
  assert.throws(() => parseHeaders(['bad name=x']), /--header: "bad name=x"/);
});

test('to_service_reaches_each_endpoint_on_its_target_port', () => {
  const t = resolveTo(parseTo('web.shop:80'), config);
  assert.equal(t.kind, 'Service');
  assert.deepEqual(t.destinations.map((d) => [d.workload.name, d.ip, d.port]), [['web-6d4-a1', '10.244.1.5', 8080], ['web-6d4-b2', '10.244.2.6', 8080]]);
});

test('to_service_named_target_port_is_resolved_per_endpoint_and_an_endpoint_without_it_is_noted', () => {
  const t = resolveTo(parseTo('api.shop:80'), config);
  assert.deepEqual(t.destinations.map((d) => [d.workload.name, d.port]), [['api-1', 9090]]);
  assert.match(t.notes[0]!, /endpoint shop\/api-2 does not serve port 80 \(its pod declares no port named "http"\)/);
  assert.deepEqual(t.waypoint, WP);
});

test('to_service_by_hostname_and_by_vip', () => {
  assert.equal(resolveTo(parseTo('web.shop.svc.cluster.local:80'), config).name, 'web');
  assert.equal(resolveTo(parseTo('web.shop.svc:80'), config).name, 'web');
  assert.equal(resolveTo(parseTo('10.96.0.20:80'), config).kind, 'Service');
});

test('to_pod_by_name_or_ip_uses_the_port_as_given', () => {
  const t = resolveTo(parseTo('web-6d4-a1.shop:8080'), config);
  assert.equal(t.kind, 'Workload');
  assert.deepEqual(t.destinations.map((d) => [d.workload.uid, d.ip, d.port]), [['uid-web1', '10.244.1.5', 8080]]);
  assert.equal(resolveTo(parseTo('10.244.2.6:8080'), config).name, 'web-6d4-b2');
});

test('to_service_port_it_does_not_have_lists_its_ports', () => {
  assert.throws(() => resolveTo(parseTo('web.shop:8080'), config), /--to: Service shop\/web has no TCP port 8080 \(its ports: 80\)/);
});

test('to_service_without_endpoints_is_an_error_not_a_decision', () => {
  assert.throws(() => resolveTo(parseTo('empty.shop:80'), config), /--to: Service shop\/empty has no endpoint serving port 80/);
});

test('to_unknown_lists_close_matches', () => {
  assert.throws(() => resolveTo(parseTo('wbe.shop:80'), config), /--to: wbe.shop:80 is no Service or pod of the mesh; close matches: Service web.shop/);
  assert.throws(() => resolveTo(parseTo('web.shopp:80'), config), /close matches: Service web.shop/);
  assert.throws(() => resolveTo(parseTo('zzzzzzzz.nowhere:80'), config), (e: Error) => !e.message.includes('close matches'));
});

test('close_matches_include_the_pods_of_a_deployment_named_like_the_target', () => {
  const m = closeMatches(parseTo('web.default:80'), config);
  assert.equal(m[0], 'Service web.shop');
  const pods = closeMatches(parseTo('frontend.shop:80'), config);
  assert.ok(pods.includes('pod frontend-1.shop'), pods.join(','));
});

test('to_naming_both_a_service_and_a_pod_checks_the_service_and_says_how_to_reach_the_pod', () => {
  const c = { ...config, services: [...config.services, clash] };
  const r = resolveTo(parseTo('frontend-1.shop:80'), c);
  assert.equal(r.kind, 'Service');
  assert.equal(r.service?.name, 'frontend-1');
  assert.match(r.notes.join('\n'), /frontend-1\.shop:80 names Service shop\/frontend-1 and pod shop\/frontend-1: the Service was checked; check the pod itself with --to [0-9.]+:PORT/);
});

test('edit_distance_counts_insertions_deletions_substitutions', () => {
  assert.equal(editDistance('web', 'web'), 0);
  assert.equal(editDistance('web', 'wbe'), 2);
  assert.equal(editDistance('web', 'webs'), 1);
  assert.equal(editDistance('', 'abc'), 3);
});
