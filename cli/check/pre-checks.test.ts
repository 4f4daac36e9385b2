import { test } from 'node:test';
import assert from 'node:assert/strict';
import { known, unknown, type AccessAnswer, type InstallKind } from './facts.js';
import { GATEWAY_API_INSTALL, canICommand, checkCrdsServed, checkGatewayApi, checkInstallKindsServed, checkNodes, checkNotInstalled, checkPermissions, checkReachable, checkVersion, parseVersion, preReport, type PreFacts } from './pre-checks.js';
import { exitCodeOf } from './report.js';

const CRD: InstallKind = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', resource: 'customresourcedefinitions', namespaced: false };
const DS: InstallKind = { group: 'apps', version: 'v1', kind: 'DaemonSet', resource: 'daemonsets', namespaced: true };
const allowed = (verb: string, kind: InstallKind): AccessAnswer => ({ verb, kind, ...(kind.namespaced && { namespace: 'ambient-system' }), answer: known({ allowed: true }) });
const denied = (verb: string, kind: InstallKind, reason?: string): AccessAnswer => ({ verb, kind, ...(kind.namespaced && { namespace: 'ambient-system' }), answer: known({ allowed: false, ...(reason && { reason }) }) });

function facts(over: Partial<PreFacts> = {}): PreFacts {
  return {
    server: 'https://k8s.example:6443',
    user: 'alice',
    version: known({ major: '1', minor: '31', gitVersion: 'v1.31.4' }),
    served: known({
      'apiextensions.k8s.io/v1': ['customresourcedefinitions'],
      'gateway.networking.k8s.io/v1': ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes'],
      'apps/v1': ['deployments', 'daemonsets'],
    }),
    installKinds: [{ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' }, { apiVersion: 'apps/v1', kind: 'DaemonSet' }],
    access: [allowed('create', CRD), allowed('patch', CRD), allowed('create', DS), allowed('patch', DS)],
    nodes: known([{ name: 'n1', os: 'linux' }, { name: 'n2', os: 'linux' }]),
    existing: known({ namespace: false, controller: false, agents: false, crds: [] }),
    ...over,
  };
}

test('parse_version_reads_plus_suffixed_minors_and_falls_back_to_git_version', () => {
  assert.deepEqual(parseVersion({ major: '1', minor: '30+' }), { major: 1, minor: 30 });
  assert.deepEqual(parseVersion({ major: '', minor: '', gitVersion: 'v1.28.3-eks-1' }), { major: 1, minor: 28 });
  assert.equal(parseVersion({ major: 'x', minor: 'y' }), undefined);
});

test('unreachable_api_server_is_the_only_check_and_fails_with_the_error', () => {
  const r = preReport(facts({ version: unknown('connect ECONNREFUSED 127.0.0.1:6443') }));
  assert.equal(r.groups.length, 1);
  assert.equal(r.groups[0]!.results.length, 1);
  assert.equal(r.groups[0]!.results[0]!.state, 'fail');
  assert.match(r.groups[0]!.results[0]!.reason!, /GET https:\/\/k8s\.example:6443\/version: connect ECONNREFUSED/);
  assert.equal(exitCodeOf(r), 1);
  assert.equal(checkReachable(facts()).state, 'pass');
});

test('version_at_the_minimum_passes_below_fails_naming_both', () => {
  assert.equal(checkVersion(facts({ version: known({ major: '1', minor: '30' }) })).state, 'pass');
  const old = checkVersion(facts({ version: known({ major: '1', minor: '29+', gitVersion: 'v1.29.9-gke.100' }) }));
  assert.equal(old.state, 'fail');
  assert.match(old.reason!, /v1\.29\.9-gke\.100.*1\.30 or later/);
  assert.equal(checkVersion(facts({ version: known({ major: '2', minor: '0' }) })).state, 'pass');
  assert.equal(checkVersion(facts({ version: known({ major: '?', minor: '?' }) })).state, 'fail');
});

test('crds_not_served_fails', () => {
  assert.equal(checkCrdsServed(facts()).state, 'pass');
  const r = checkCrdsServed(facts({ served: known({ 'apps/v1': ['deployments'] }) }));
  assert.equal(r.state, 'fail');
  assert.match(r.reason!, /customresourcedefinitions/);
});

test('an_install_kind_whose_group_version_is_not_served_fails_naming_it', () => {
  assert.equal(checkInstallKindsServed(facts()).state, 'pass');
  const r = checkInstallKindsServed(facts({ installKinds: [...facts().installKinds, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' }] }));
  assert.equal(r.state, 'fail');
  assert.equal(r.reason, 'not served: ClusterRole (rbac.authorization.k8s.io/v1)');
});

test('permissions_one_check_per_kind_passing_when_every_verb_is_allowed', () => {
  const rs = checkPermissions(facts());
  assert.deepEqual(rs.map((r) => [r.name, r.state]), [
    ['can create and patch customresourcedefinitions.apiextensions.k8s.io', 'pass'],
    ['can create and patch daemonsets.apps in ambient-system', 'pass'],
  ]);
});

test('permission_denied_names_the_user_the_verb_the_reason_and_the_can_i_command', () => {
  const [crd, ds] = checkPermissions(facts({ access: [denied('create', CRD, 'a ServiceAccount may write in its own namespace only'), allowed('patch', CRD), allowed('create', DS), denied('patch', DS)] }));
  assert.equal(crd!.state, 'fail');
  assert.equal(crd!.reason, 'user "alice" may not create customresourcedefinitions.apiextensions.k8s.io: a ServiceAccount may write in its own namespace only');
  assert.match(crd!.fix!, /grant create on customresourcedefinitions\.apiextensions\.k8s\.io.*kubectl auth can-i create customresourcedefinitions\.apiextensions\.k8s\.io\)/);
  assert.equal(ds!.state, 'fail');
  assert.equal(ds!.reason, 'user "alice" may not patch daemonsets.apps in namespace ambient-system');
  assert.match(ds!.fix!, /kubectl auth can-i patch daemonsets\.apps -n ambient-system/);
});

test('a_review_that_failed_fails_the_check_with_its_error', () => {
  const [crd] = checkPermissions(facts({ access: [{ verb: 'create', kind: CRD, answer: unknown('404 the server could not find the requested resource') }] }));
  assert.equal(crd!.state, 'fail');
  assert.match(crd!.reason!, /SelfSubjectAccessReview for create customresourcedefinitions\.apiextensions\.k8s\.io failed: 404/);
});

test('can_i_command_of_a_core_kind_has_no_group', () => {
  assert.equal(canICommand({ verb: 'create', kind: { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false } }), 'kubectl auth can-i create namespaces');
});

test('gateway_api_missing_fails_with_the_standard_channel_install_command', () => {
  assert.equal(checkGatewayApi(facts()).state, 'pass');
  const r = checkGatewayApi(facts({ served: known({ 'gateway.networking.k8s.io/v1': ['gatewayclasses', 'gateways'] }) }));
  assert.equal(r.state, 'fail');
  assert.match(r.reason!, /does not serve httproutes/);
  assert.equal(r.fix, GATEWAY_API_INSTALL);
  assert.match(GATEWAY_API_INSTALL, /^kubectl apply --server-side -f https:\/\/github\.com\/kubernetes-sigs\/gateway-api\/releases\/download\/v\d+\.\d+\.\d+\/standard-install\.yaml$/);
  assert.equal(checkGatewayApi(facts({ served: known({}) })).state, 'fail');
});

test('nodes_all_linux_pass_some_other_warn_none_linux_fail', () => {
  assert.equal(checkNodes(facts()).state, 'pass');
  const mixed = checkNodes(facts({ nodes: known([{ name: 'n1', os: 'linux' }, { name: 'w1', os: 'windows' }]) }));
  assert.equal(mixed.state, 'warn');
  assert.match(mixed.reason!, /w1 \(windows\)/);
  assert.equal(checkNodes(facts({ nodes: known([{ name: 'w1', os: 'windows' }]) })).state, 'fail');
  assert.equal(checkNodes(facts({ nodes: known([]) })).state, 'fail');
  assert.equal(checkNodes(facts({ nodes: unknown('403 forbidden') })).state, 'warn');
});

test('an_existing_mesh_warns_listing_what_is_there', () => {
  assert.equal(checkNotInstalled(facts()).state, 'pass');
  const r = checkNotInstalled(facts({ existing: known({ namespace: true, controller: true, agents: false, crds: ['rollouts.ambient.dev'] }) }));
  assert.equal(r.state, 'warn');
  assert.equal(r.reason, 'found: namespace ambient-system; Deployment ambient-system/ambient-controller; CRDs rollouts.ambient.dev');
});

test('pre_report_passes_on_a_ready_cluster_and_a_warning_does_not_fail_it', () => {
  const ok = preReport(facts());
  assert.equal(exitCodeOf(ok), 0);
  assert.ok(ok.groups.flatMap((g) => g.results).every((r) => r.state === 'pass'));
  const warned = preReport(facts({ existing: known({ namespace: true, controller: false, agents: false, crds: [] }) }));
  assert.equal(exitCodeOf(warned), 0);
  assert.equal(exitCodeOf(preReport(facts({ access: [denied('create', CRD)] }))), 1);
});
