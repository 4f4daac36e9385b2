// Unit tests of resource discovery's pure parts: reading a resource list, resolving typed names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromList, resolveResource, type ApiResource } from './discovery.js';

const CORE_V1 = {
  groupVersion: 'v1',
  resources: [
    { name: 'pods', singularName: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
    { name: 'pods/status', singularName: '', kind: 'Pod', namespaced: true, verbs: ['get', 'patch'] },
    { name: 'pods/log', singularName: '', kind: 'Pod', namespaced: true, verbs: ['get'] },
    { name: 'services', singularName: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], verbs: ['get', 'list'] },
    { name: 'namespaces', singularName: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], verbs: ['get'] },
    { name: 'events', singularName: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], verbs: ['get', 'list'] },
    { name: 'nodes', kind: 'Node', namespaced: false }, // older servers: no singularName, shortNames or verbs
  ],
};

const APPS_V1 = {
  groupVersion: 'apps/v1',
  resources: [
    { name: 'deployments', singularName: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], verbs: ['get'] },
    { name: 'deployments/scale', singularName: '', kind: 'Scale', namespaced: true, verbs: ['get', 'patch'] },
  ],
};

const EVENTS_V1 = {
  groupVersion: 'events.k8s.io/v1',
  resources: [{ name: 'events', singularName: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], verbs: ['get'] }],
};

const GATEWAY_V1 = {
  groupVersion: 'gateway.networking.k8s.io/v1',
  resources: [
    { name: 'httproutes', singularName: 'httproute', kind: 'HTTPRoute', namespaced: true, verbs: ['get'] },
    { name: 'gateways', singularName: 'gateway', kind: 'Gateway', namespaced: true, shortNames: ['gtw'], verbs: ['get'] },
  ],
};

const ISTIO = {
  groupVersion: 'networking.istio.io/v1',
  resources: [{ name: 'gateways', singularName: 'gateway', kind: 'Gateway', namespaced: true, shortNames: ['gw'], verbs: ['get'] }],
};

/** A CRD that also calls itself "events", served before the core group. */
const CRD_EVENTS = {
  groupVersion: 'example.com/v1alpha1',
  resources: [{ name: 'events', singularName: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], verbs: ['get'] }],
};

function all(...lists: Parameters<typeof fromList>[0][]): ApiResource[] {
  return lists.flatMap((l) => fromList(l));
}

const RESOURCES = all(CORE_V1, APPS_V1, GATEWAY_V1);

// --- fromList ---

test('from_list_filters_out_subresources', () => {
  const names = fromList(CORE_V1).map((r) => r.plural);
  assert.deepEqual(names, ['pods', 'services', 'namespaces', 'events', 'nodes']);
  assert.ok(fromList(APPS_V1).every((r) => !r.plural.includes('/')));
  assert.equal(fromList(APPS_V1).length, 1);
});

test('from_list_reads_a_core_resource', () => {
  const pods = fromList(CORE_V1)[0];
  assert.deepEqual(pods, {
    apiVersion: 'v1',
    group: '',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    shortNames: ['po'],
    namespaced: true,
    verbs: ['get', 'list', 'watch', 'create', 'delete'],
  });
});

test('from_list_reads_the_group_from_the_group_version', () => {
  const [d] = fromList(APPS_V1);
  assert.equal(d!.apiVersion, 'apps/v1');
  assert.equal(d!.group, 'apps');
  const [r] = fromList(GATEWAY_V1);
  assert.equal(r!.apiVersion, 'gateway.networking.k8s.io/v1');
  assert.equal(r!.group, 'gateway.networking.k8s.io');
});

test('from_list_keeps_cluster_scope', () => {
  const ns = fromList(CORE_V1).find((r) => r.plural === 'namespaces')!;
  assert.equal(ns.namespaced, false);
});

test('from_list_defaults_singular_short_names_and_verbs', () => {
  const nodes = fromList(CORE_V1).find((r) => r.plural === 'nodes')!;
  assert.equal(nodes.singular, 'node');
  assert.deepEqual(nodes.shortNames, []);
  assert.deepEqual(nodes.verbs, []);
});

test('from_list_empty_singular_name_falls_back_to_lowercase_kind', () => {
  const [r] = fromList({ groupVersion: 'x.io/v1', resources: [{ name: 'widgets', singularName: '', kind: 'BigWidget', namespaced: true }] });
  assert.equal(r!.singular, 'bigwidget');
});

test('from_list_of_no_resources_is_empty', () => {
  assert.deepEqual(fromList({ groupVersion: 'v1', resources: [] }), []);
});

// --- resolveResource ---

test('resolve_by_plural', () => {
  assert.equal(resolveResource(RESOURCES, 'pods')?.kind, 'Pod');
  assert.equal(resolveResource(RESOURCES, 'deployments')?.kind, 'Deployment');
});

test('resolve_by_singular', () => {
  assert.equal(resolveResource(RESOURCES, 'pod')?.plural, 'pods');
  assert.equal(resolveResource(RESOURCES, 'httproute')?.plural, 'httproutes');
});

test('resolve_by_kind_case_insensitively', () => {
  assert.equal(resolveResource(RESOURCES, 'HTTPRoute')?.plural, 'httproutes');
  assert.equal(resolveResource(RESOURCES, 'httproute')?.plural, 'httproutes');
  assert.equal(resolveResource(RESOURCES, 'Deployment')?.plural, 'deployments');
  assert.equal(resolveResource(RESOURCES, 'PODS')?.plural, 'pods');
});

test('resolve_by_kind_when_singular_differs', () => {
  const rs = fromList({ groupVersion: 'x.io/v1', resources: [{ name: 'things', singularName: 'thingy', kind: 'Thing', namespaced: true }] });
  assert.equal(resolveResource(rs, 'Thing')?.plural, 'things');
  assert.equal(resolveResource(rs, 'thingy')?.plural, 'things');
});

test('resolve_by_short_name', () => {
  assert.equal(resolveResource(RESOURCES, 'po')?.plural, 'pods');
  assert.equal(resolveResource(RESOURCES, 'svc')?.plural, 'services');
  assert.equal(resolveResource(RESOURCES, 'deploy')?.plural, 'deployments');
  assert.equal(resolveResource(RESOURCES, 'NS')?.plural, 'namespaces');
});

test('resolve_by_name_and_group', () => {
  const r = resolveResource(RESOURCES, 'httproutes.gateway.networking.k8s.io');
  assert.equal(r?.kind, 'HTTPRoute');
  assert.equal(r?.group, 'gateway.networking.k8s.io');
  assert.equal(resolveResource(RESOURCES, 'deployments.apps')?.kind, 'Deployment');
  assert.equal(resolveResource(RESOURCES, 'deployment.apps')?.kind, 'Deployment');
});

test('resolve_with_a_wrong_group_is_undefined', () => {
  assert.equal(resolveResource(RESOURCES, 'deployments.batch'), undefined);
  assert.equal(resolveResource(RESOURCES, 'pods.apps'), undefined);
});

test('resolve_name_and_group_picks_between_same_named_kinds', () => {
  const rs = all(GATEWAY_V1, ISTIO);
  assert.equal(resolveResource(rs, 'gateways.networking.istio.io')?.group, 'networking.istio.io');
  assert.equal(resolveResource(rs, 'gateways.gateway.networking.k8s.io')?.group, 'gateway.networking.k8s.io');
  assert.equal(resolveResource(rs, 'gw')?.group, 'networking.istio.io');
  assert.equal(resolveResource(rs, 'gtw')?.group, 'gateway.networking.k8s.io');
});

test('resolve_prefers_the_core_group_on_a_clash', () => {
  for (const rs of [all(CRD_EVENTS, CORE_V1), all(CORE_V1, CRD_EVENTS), all(CRD_EVENTS, EVENTS_V1, CORE_V1), all(EVENTS_V1, CRD_EVENTS, CORE_V1)]) {
    for (const typed of ['events', 'event', 'Event', 'ev']) {
      const r = resolveResource(rs, typed);
      assert.equal(r?.group, '', `${typed} in ${rs.map((x) => x.group).join(',')}`);
      assert.equal(r?.apiVersion, 'v1');
    }
  }
});

test('resolve_with_a_group_still_reaches_the_non_core_clash', () => {
  const rs = all(CORE_V1, CRD_EVENTS, EVENTS_V1);
  assert.equal(resolveResource(rs, 'events.example.com')?.group, 'example.com');
  assert.equal(resolveResource(rs, 'events.events.k8s.io')?.group, 'events.k8s.io');
});

test('resolve_unknown_is_undefined', () => {
  assert.equal(resolveResource(RESOURCES, 'widgets'), undefined);
  assert.equal(resolveResource(RESOURCES, ''), undefined);
  assert.equal(resolveResource([], 'pods'), undefined);
});

test('resolve_does_not_match_subresources', () => {
  assert.equal(resolveResource(RESOURCES, 'pods/status'), undefined);
  assert.equal(resolveResource(RESOURCES, 'scale'), undefined);
});

test('resolve_does_not_reorder_the_callers_list', () => {
  const rs = all(CRD_EVENTS, CORE_V1);
  const before = rs.map((r) => `${r.group}/${r.plural}`);
  resolveResource(rs, 'events');
  assert.deepEqual(
    rs.map((r) => `${r.group}/${r.plural}`),
    before,
  );
});
