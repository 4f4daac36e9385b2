// `ambientctl policies`: the API's policies (status, dry run, selection) joined with where
// the selected workloads run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition, Policy as ApiPolicy, Workload as ApiWorkload } from '../../console/api-types.js';
import { render } from '../output.js';
import { findingLines, POLICY_COLUMNS, policyRows, selectsText, shortMessage } from './policies-view.js';

const wl = (namespace: string, name: string, node: string): ApiWorkload => ({ namespace, name, node, identity: `spiffe://cluster.local/ns/${namespace}/sa/default`, ips: [], enrolled: true, waypoint: null, labels: {} });
const WORKLOADS = [wl('shop', 'web-1', 'node-1'), wl('shop', 'web-2', 'node-2'), wl('shop', 'db-0', 'node-2'), wl('other', 'api-1', 'node-1')];
const accepted: Condition[] = [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }];

function policy(name: string, over: Partial<ApiPolicy> = {}): ApiPolicy {
  return { kind: 'AuthorizationPolicy', namespace: 'shop', name, action: 'ALLOW', dryRun: false, conditions: accepted, findings: [], selects: [], ...over };
}

test('policies_carry_status_selected_workloads_and_their_nodes', () => {
  const rows = policyRows({
    policies: [policy('allow-web', { selects: ['shop/web-2', 'shop/web-1'] }), policy('deny-all-dry', { action: 'DENY', dryRun: true, selects: ['shop/db-0', 'shop/web-1', 'shop/web-2'] })],
    workloads: WORKLOADS,
  });
  assert.deepEqual(
    rows.map((r) => [r.namespace, r.name, r.action, r.dryRun, r.accepted, r.nodes, r.selects]),
    [
      ['shop', 'allow-web', 'ALLOW', false, 'True', ['node-1', 'node-2'], ['shop/web-1', 'shop/web-2']],
      ['shop', 'deny-all-dry', 'DENY', true, 'True', ['node-1', 'node-2'], ['shop/db-0', 'shop/web-1', 'shop/web-2']],
    ],
  );
});

test('other_kinds_are_not_rows', () => {
  const rows = policyRows({ policies: [policy('tp', { kind: 'TrafficPolicy', action: null }), policy('a')], workloads: [] });
  assert.deepEqual(rows.map((r) => r.name), ['a']);
});

test('rejected_policy_shows_with_its_message_and_no_node', () => {
  const bad = policy('bad-cidr', { conditions: [{ type: 'Accepted', status: 'False', reason: 'Invalid', message: 'rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not a CIDR' }] });
  const rows = policyRows({ policies: [bad], workloads: WORKLOADS });
  assert.equal(rows[0]!.accepted, 'False');
  assert.equal(rows[0]!.message, 'rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not a CIDR');
  assert.deepEqual(rows[0]!.nodes, []);
  assert.equal(selectsText(rows[0]!), '-');
});

test('accepted_policy_shows_the_enforced_condition_message_and_a_fully_enforced_one_none', () => {
  const partial = policy('allow-get', { conditions: [...accepted, { type: 'Enforced', status: 'False', reason: 'L7AtNodeAgent', message: 'rules[0] holds to[0].operation.methods: needs a waypoint' }] });
  const full = policy('allow-web', { conditions: [...accepted, { type: 'Enforced', status: 'True', reason: 'Enforced', message: 'every rule enforced by the node agents' }] });
  const rows = policyRows({ policies: [partial, full], workloads: [] });
  assert.equal(rows[0]!.message, 'rules[0] holds to[0].operation.methods: needs a waypoint');
  assert.equal(rows[1]!.message, undefined);
  assert.equal(rows[1]!.conditions.length, 2, 'the conditions stay in -o json');
});

test('policy_not_yet_given_status_shows_accepted_dash', () => {
  const rows = policyRows({ policies: [policy('new', { conditions: [] })], workloads: [] });
  assert.match(render(rows, POLICY_COLUMNS, 'table'), /^shop +new +ALLOW +no +- +- +none +-$/m);
});

test('targetrefs_policy_shows_its_targets_instead_of_workloads', () => {
  const rows = policyRows({ policies: [policy('at-waypoint', { selects: undefined, targets: ['Service/web'] })], workloads: [] });
  assert.equal(selectsText(rows[0]!), 'targets Service/web');
});

test('root_namespace_policy_lists_workloads_of_other_namespaces_with_theirs', () => {
  const rows = policyRows({ policies: [policy('mesh-deny', { namespace: 'ambient-system', action: 'DENY', selects: ['other/api-1', 'shop/db-0', 'shop/web-1', 'shop/web-2'] })], workloads: WORKLOADS });
  assert.equal(selectsText(rows[0]!), 'other/api-1,shop/db-0,shop/web-1 (+1)');
});

test('node_filter_keeps_the_policies_selecting_a_workload_there_and_only_those_workloads', () => {
  const rows = policyRows({ policies: [policy('allow-web', { selects: ['shop/web-1', 'shop/web-2'] }), policy('allow-db', { selects: ['shop/db-0'] })], workloads: WORKLOADS, node: 'node-1' });
  assert.deepEqual(rows.map((r) => [r.name, r.nodes, r.selects]), [['allow-web', ['node-1'], ['shop/web-1']]]);
});

test('dry_run_findings_are_lines_naming_the_policy', () => {
  const rows = policyRows({ policies: [policy('deny-dry', { dryRun: true, findings: ['2026-01-01T00:00:00Z: would deny http from shop/sa to shop/echo:80'] })], workloads: [] });
  assert.deepEqual(findingLines(rows), ['dry run shop/deny-dry: 2026-01-01T00:00:00Z: would deny http from shop/sa to shop/echo:80']);
});

test('policies_table_has_the_documented_columns', () => {
  const text = render(policyRows({ policies: [policy('allow-web', { selects: ['shop/web-1', 'shop/web-2'] })], workloads: WORKLOADS }), POLICY_COLUMNS, 'table');
  assert.match(text, /^NAMESPACE +NAME +ACTION +DRY-RUN +ACCEPTED +NODES +SELECTS +MESSAGE$/m);
  assert.match(text, /^shop +allow-web +ALLOW +no +True +node-1,node-2 +web-1,web-2 +-$/m);
});

test('short_message_keeps_one_line_and_cuts_long_ones', () => {
  assert.equal(shortMessage(undefined), '-');
  assert.equal(shortMessage('a\n  b'), 'a b');
  const long = 'x'.repeat(100);
  assert.equal(shortMessage(long).length, 60);
  assert.ok(shortMessage(long).endsWith('...'));
});
