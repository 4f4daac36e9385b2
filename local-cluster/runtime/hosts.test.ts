// Unit tests of a local-cluster pod's /etc/hosts and /etc/resolv.conf.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { CLUSTER_DOMAIN, hostsFile, resolvConf } from './hosts.js';

const POD = { name: 'client-1', namespace: 'shop', ip: '10.0.0.9' };

function svc(name: string, namespace: string, clusterIP?: string): V1Service {
  return { metadata: { name, namespace }, spec: clusterIP === undefined ? {} : { clusterIP } };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

function lineFor(text: string, ip: string): string | undefined {
  return lines(text).find((l) => l.startsWith(`${ip}\t`));
}

test('hosts_file_includes_localhost_v4_and_v6', () => {
  const h = hostsFile(POD, []);
  assert.equal(lineFor(h, '127.0.0.1'), '127.0.0.1\tlocalhost');
  assert.match(lineFor(h, '::1')!, /^::1\tlocalhost\b/);
});

test('hosts_file_includes_the_pods_own_name', () => {
  assert.equal(lineFor(hostsFile(POD, []), '10.0.0.9'), '10.0.0.9\tclient-1');
});

test('hosts_file_without_services_has_only_the_fixed_lines', () => {
  assert.equal(lines(hostsFile(POD, [])).length, 3);
});

test('hosts_file_ends_with_a_newline', () => {
  assert.ok(hostsFile(POD, [svc('a', 'shop', '10.96.0.1')]).endsWith('\n'));
  assert.ok(!hostsFile(POD, []).endsWith('\n\n'));
});

test('hosts_file_lists_a_service_of_the_pods_namespace_with_all_names', () => {
  const h = hostsFile(POD, [svc('web', 'shop', '10.96.0.10')]);
  assert.equal(lineFor(h, '10.96.0.10'), `10.96.0.10\tweb.shop.svc.${CLUSTER_DOMAIN} web.shop.svc web.shop web`);
});

test('hosts_file_lists_a_service_of_another_namespace_without_short_name', () => {
  const h = hostsFile(POD, [svc('db', 'data', '10.96.0.20')]);
  assert.equal(lineFor(h, '10.96.0.20'), '10.96.0.20\tdb.data.svc.cluster.local db.data.svc db.data');
});

test('hosts_file_uses_cluster_local_as_domain', () => {
  assert.equal(CLUSTER_DOMAIN, 'cluster.local');
});

test('hosts_file_skips_headless_services', () => {
  const h = hostsFile(POD, [svc('headless', 'shop', 'None'), svc('web', 'shop', '10.96.0.10')]);
  assert.doesNotMatch(h, /headless/);
  assert.equal(lines(h).length, 4);
});

test('hosts_file_skips_services_without_cluster_ip', () => {
  const h = hostsFile(POD, [svc('pending', 'shop'), svc('empty', 'shop', '')]);
  assert.doesNotMatch(h, /pending|empty/);
  assert.equal(lines(h).length, 3);
});

test('hosts_file_lists_services_sorted_by_namespace_and_name', () => {
  const h = hostsFile(POD, [svc('b', 'shop', '10.96.0.3'), svc('z', 'data', '10.96.0.1'), svc('a', 'shop', '10.96.0.2')]);
  assert.deepEqual(
    lines(h)
      .slice(3)
      .map((l) => l.split('\t')[1]!.split(' ')[0]),
    ['z.data.svc.cluster.local', 'a.shop.svc.cluster.local', 'b.shop.svc.cluster.local'],
  );
});

test('hosts_file_does_not_reorder_the_callers_services', () => {
  const services = [svc('b', 'shop', '10.96.0.3'), svc('a', 'shop', '10.96.0.2')];
  hostsFile(POD, services);
  assert.deepEqual(
    services.map((s) => s.metadata!.name),
    ['b', 'a'],
  );
});

test('hosts_file_same_name_in_two_namespaces_is_short_only_in_the_pods', () => {
  const h = hostsFile(POD, [svc('web', 'shop', '10.96.0.10'), svc('web', 'other', '10.96.0.11')]);
  assert.match(lineFor(h, '10.96.0.10')!, / web$/);
  assert.match(lineFor(h, '10.96.0.11')!, / web\.other$/);
});

test('resolv_conf_searches_the_namespace_then_svc_then_cluster_domain', () => {
  const r = resolvConf('shop');
  const search = r.split('\n').find((l) => l.startsWith('search '));
  assert.equal(search, 'search shop.svc.cluster.local svc.cluster.local cluster.local');
});

test('resolv_conf_has_nameserver_and_options', () => {
  const r = resolvConf('data');
  assert.match(r, /^nameserver 10\.96\.0\.10$/m, "the cluster DNS address, where the mesh DNS proxy answers");
  assert.match(r, /^options .*ndots:5/m);
  assert.match(r, /^search data\.svc\.cluster\.local /m);
  assert.ok(r.endsWith('\n'));
});
