import { test } from 'node:test';
import assert from 'node:assert/strict';
import { known, unknown } from './facts.js';
import { checkNoAgents, checkNoNamespace, isInstalled, isMeshClusterObject, leftoverReport, type LeftoverFacts } from './leftover-checks.js';
import { exitCodeOf, renderReport } from './report.js';

const clean = (): LeftoverFacts => ({
  namespace: known({ exists: false, terminating: false }),
  crds: known([]),
  clusterRoles: known([]),
  clusterRoleBindings: known([]),
  agentPods: known([]),
  gatewayClass: known(false),
  elsewhere: known([]),
});

test('nothing_left_passes_and_says_so', () => {
  const r = leftoverReport(clean());
  assert.equal(exitCodeOf(r), 0);
  assert.match(r.headline!, /^The mesh is not installed .*: nothing of it is left\./);
  assert.match(renderReport(r, 'table'), /√ no namespace ambient-system\n√ no ambient\.dev CRDs\n/);
});

test('each_remnant_fails_listing_what_is_left', () => {
  const r = leftoverReport({ ...clean(), crds: known(['rollouts.ambient.dev']), clusterRoles: known(['ambient-controller']), gatewayClass: known(true) });
  assert.equal(exitCodeOf(r), 1);
  assert.match(r.headline!, /something of it is left/);
  const text = renderReport(r, 'table');
  assert.match(text, /× no ambient\.dev CRDs\n    left: rollouts\.ambient\.dev\n    fix: ambientctl uninstall/);
  assert.match(text, /× no mesh ClusterRoles\n    left: ambient-controller\n/);
  assert.match(text, /× no GatewayClass ambient-waypoint\n/);
  assert.match(text, /√ no mesh ClusterRoleBindings\n/);
});

test('terminating_namespace_and_running_agents_fail_saying_to_wait', () => {
  const ns = checkNoNamespace({ ...clean(), namespace: known({ exists: true, terminating: true }) });
  assert.equal(ns.state, 'fail');
  assert.match(ns.reason!, /still terminating/);
  assert.equal(ns.fix, 'wait, then check again');
  const agents = checkNoAgents({ ...clean(), agentPods: known([{ name: 'ambient-node-agent-x', node: 'n1' }]) });
  assert.equal(agents.state, 'fail');
  assert.match(agents.reason!, /ambient-node-agent-x on n1/);
  assert.equal(checkNoNamespace({ ...clean(), namespace: unknown('403') }).state, 'fail');
});

test('mesh_cluster_objects_are_named_for_the_mesh', () => {
  assert.equal(isMeshClusterObject('ambient-node-agent'), true);
  assert.equal(isMeshClusterObject('ambient:controller'), true);
  assert.equal(isMeshClusterObject('cluster-admin'), false);
  assert.equal(isMeshClusterObject('ambientish'), false);
});

test('installed_when_controller_or_agents_exist_or_cannot_be_read', () => {
  assert.equal(isInstalled({ controller: known(null), agents: known(null) }), false);
  assert.equal(isInstalled({ controller: known({}), agents: known(null) }), true);
  assert.equal(isInstalled({ controller: known(null), agents: known({}) }), true);
  assert.equal(isInstalled({ controller: unknown('403'), agents: known(null) }), true);
});

test('a_mesh_installed_in_another_namespace_is_not_reported_as_remnants_but_pointed_to', () => {
  const r = leftoverReport({ ...clean(), crds: known(['rollouts.ambient.dev']), clusterRoles: known(['ambient-controller']), elsewhere: known(['mesh-x']) });
  assert.equal(exitCodeOf(r), 1);
  assert.match(r.headline!, /^The mesh is not installed in ambient-system, the namespace checked: it is installed in mesh-x\./);
  const text = renderReport(r, 'table');
  assert.match(text, /× the mesh is installed in ambient-system\n    it is installed in the namespace mesh-x instead\n    fix: ambientctl --mesh-namespace mesh-x check/);
  assert.doesNotMatch(text, /no ambient\.dev CRDs/);
});

test('a_failed_look_elsewhere_leaves_the_remnant_checks_as_they_were', () => {
  const r = leftoverReport({ ...clean(), elsewhere: unknown('forbidden') });
  assert.equal(exitCodeOf(r), 0);
  assert.match(r.headline!, /nothing of it is left/);
});
