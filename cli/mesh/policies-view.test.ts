// `ambientctl policies`: the objects' status joined with what the agents hold, with the
// engine's own selection (core/policy/select.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy } from '../../core/config/model.js';
import { policiesFor } from '../../core/policy/select.js';
import { workload } from '../../node-agent/proxy/fixtures.js';
import { render } from '../output.js';
import { POLICY_COLUMNS, policyRows, selectsText, shortMessage } from './policies-view.js';
import type { AgentDump, AuthorizationPolicyObject, PolicyCondition } from './types.js';

const web1 = workload('web-1', { uid: 'uid-web1', namespace: 'shop', node: 'node-1', labels: { app: 'web' } });
const web2 = workload('web-2', { uid: 'uid-web2', namespace: 'shop', node: 'node-2', labels: { app: 'web' } });
const db = workload('db-0', { uid: 'uid-db', namespace: 'shop', node: 'node-2', labels: { app: 'db' } });
const other = workload('api-1', { uid: 'uid-api', namespace: 'other', node: 'node-1', labels: { app: 'api' } });

function compiled(name: string, over: Partial<Policy> = {}): Policy {
  const namespace = over.namespace ?? 'shop';
  return { key: `${namespace}/${name}`, name, namespace, scope: 'namespace', action: 'ALLOW', rules: [{ from: [], to: [], when: [] }], ...over };
}

function object(name: string, over: { namespace?: string; action?: string; dryRun?: boolean; conditions?: PolicyCondition[]; targetRefs?: Array<{ kind: string; name: string }> } = {}): AuthorizationPolicyObject {
  return {
    apiVersion: 'ambient.dev/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: over.namespace ?? 'shop', ...(over.dryRun && { annotations: { 'ambient.dev/dry-run': 'true' } }) },
    spec: { ...(over.action && { action: over.action }), ...(over.targetRefs && { targetRefs: over.targetRefs }) },
    ...(over.conditions && { status: { conditions: over.conditions } }),
  };
}

const accepted = [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }];

function dump(node: string, policies: Policy[]): AgentDump {
  return {
    node,
    ready: true,
    controller: { address: 'c:15012', connected: true, resources: 1 },
    enrolled: [],
    failures: [],
    workloads: [web1, web2, db, other],
    services: [],
    policies,
    certificates: [],
    warnings: [],
  };
}

const allowWeb = compiled('allow-web', { selector: { app: 'web' } });
const nsWide = compiled('deny-all-dry', { action: 'DENY', dryRun: true });

test('policies_join_status_nodes_and_selected_workloads', () => {
  const rows = policyRows(
    {
      objects: [object('allow-web', { conditions: accepted }), object('deny-all-dry', { action: 'DENY', dryRun: true, conditions: accepted })],
      dumps: [dump('node-1', [allowWeb, nsWide]), dump('node-2', [allowWeb, nsWide])],
    },
    policiesFor,
  );
  assert.deepEqual(
    rows.map((r) => [r.namespace, r.name, r.action, r.dryRun, r.accepted, r.nodes, r.selects]),
    [
      ['shop', 'allow-web', 'ALLOW', false, 'True', ['node-1', 'node-2'], ['shop/web-1', 'shop/web-2']],
      ['shop', 'deny-all-dry', 'DENY', true, 'True', ['node-1', 'node-2'], ['shop/db-0', 'shop/web-1', 'shop/web-2']],
    ],
  );
});

test('rejected_policy_shows_with_its_message_and_no_node', () => {
  const bad = object('bad-cidr', { conditions: [{ type: 'Accepted', status: 'False', reason: 'Invalid', message: 'rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not a CIDR' }] });
  const rows = policyRows({ objects: [bad], dumps: [dump('node-1', [])] }, policiesFor);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.accepted, 'False');
  assert.equal(rows[0]!.message, 'rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not a CIDR');
  assert.deepEqual(rows[0]!.nodes, []);
  assert.equal(selectsText(rows[0]!), '-');
});

test('accepted_policy_shows_the_enforced_condition_message', () => {
  const o = object('allow-get', { conditions: [...accepted, { type: 'Enforced', status: 'False', reason: 'L7AtNodeAgent', message: 'rules[0] holds to[0].operation.methods: needs a waypoint' }] });
  const rows = policyRows({ objects: [o], dumps: [] }, policiesFor);
  assert.equal(rows[0]!.message, 'rules[0] holds to[0].operation.methods: needs a waypoint');
});

test('fully_enforced_policy_has_no_message', () => {
  const o = object('allow-web', { conditions: [...accepted, { type: 'Enforced', status: 'True', reason: 'Enforced', message: 'every rule enforced by the node agents' }] });
  const rows = policyRows({ objects: [o], dumps: [] }, policiesFor);
  assert.equal(rows[0]!.message, undefined);
  assert.equal(rows[0]!.conditions.length, 2, 'the conditions stay in -o json');
});

test('policy_not_yet_given_status_shows_accepted_dash', () => {
  const rows = policyRows({ objects: [object('new')], dumps: [] }, policiesFor);
  assert.equal(rows[0]!.accepted, undefined);
  assert.match(render(rows, POLICY_COLUMNS, 'table'), /^shop +new +ALLOW +no +- +- +none +-$/m);
});

test('targetrefs_policy_shows_its_targets_instead_of_workloads', () => {
  const o = object('at-waypoint', { targetRefs: [{ kind: 'Service', name: 'web' }], conditions: accepted });
  const rows = policyRows({ objects: [o], dumps: [dump('node-1', [])] }, policiesFor);
  assert.equal(selectsText(rows[0]!), 'targets Service/web');
});

test('namespace_filter_keeps_only_that_namespace', () => {
  const root = compiled('mesh-deny', { namespace: 'ambient-system', scope: 'global', action: 'DENY' });
  const rows = policyRows({ dumps: [dump('node-1', [allowWeb, root])], namespace: 'shop' }, policiesFor);
  assert.deepEqual(rows.map((r) => r.name), ['allow-web']);
});

test('root_namespace_policy_selects_workloads_of_every_namespace', () => {
  const root = compiled('mesh-deny', { namespace: 'ambient-system', scope: 'global', action: 'DENY' });
  const rows = policyRows({ dumps: [dump('node-1', [root])] }, policiesFor);
  assert.deepEqual(rows[0]!.selects, ['other/api-1', 'shop/db-0', 'shop/web-1', 'shop/web-2']);
  assert.equal(selectsText(rows[0]!), 'other/api-1,shop/db-0,shop/web-1 (+1)');
});

test('node_filter_shows_what_that_agent_holds_and_its_workloads_only', () => {
  const dbOnly = compiled('allow-db', { selector: { app: 'db' } });
  const rows = policyRows({ objects: [object('allow-web', { conditions: accepted }), object('allow-db', { conditions: accepted })], dumps: [dump('node-1', [allowWeb]), dump('node-2', [allowWeb, dbOnly])], node: 'node-1' }, policiesFor);
  assert.deepEqual(rows.map((r) => [r.name, r.nodes, r.selects]), [['allow-web', ['node-1'], ['shop/web-1']]]);
});

test('without_the_objects_the_agents_policies_are_still_listed', () => {
  const rows = policyRows({ dumps: [dump('node-1', [allowWeb])] }, policiesFor);
  assert.equal(rows[0]!.object, false);
  assert.equal(rows[0]!.accepted, undefined);
  assert.deepEqual(rows[0]!.nodes, ['node-1']);
});

test('policies_table_has_the_documented_columns', () => {
  const rows = policyRows({ objects: [object('allow-web', { conditions: accepted })], dumps: [dump('node-1', [allowWeb])] }, policiesFor);
  const text = render(rows, POLICY_COLUMNS, 'table');
  assert.match(text, /^NAMESPACE +NAME +ACTION +DRY-RUN +ACCEPTED +NODES +SELECTS +MESSAGE$/m);
  assert.match(text, /^shop +allow-web +ALLOW +no +True +node-1 +web-1,web-2 +-$/m);
});

test('short_message_keeps_one_line_and_cuts_long_ones', () => {
  assert.equal(shortMessage(undefined), '-');
  assert.equal(shortMessage('a\n  b'), 'a b');
  const long = 'x'.repeat(100);
  assert.equal(shortMessage(long).length, 60);
  assert.ok(shortMessage(long).endsWith('...'));
});
