// Unit tests of who a caller is and what it may have: callerFromReview, verifyCallerNode
// and authorizeCsr are pure, so each rule is one small test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes } from '../../core/errors.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import { DEFAULT_NODE_AGENT_SERVICE_ACCOUNT, authorizeCsr, callerFromReview, isNodeName, verifyCallerNode, type Caller, type PodRef } from './authorize.js';

const TD = 'cluster.local';
const isWaypoint = (sa: { namespace: string; name: string }) => sa.namespace === 'apps' && sa.name === 'waypoint';
const cfg = { trustDomain: TD, nodeAgentServiceAccount: DEFAULT_NODE_AGENT_SERVICE_ACCOUNT, isWaypoint };

const agent = (node = 'node-1', pod: Caller['pod'] | null = { name: 'agent-a', uid: 'uid-a' }): Caller => ({
  role: 'node-agent',
  identity: spiffeId('ambient-system', 'ambient-node-agent', TD),
  node,
  ...(pod ? { pod } : {}),
});
const waypoint = (): Caller => ({ role: 'waypoint', identity: spiffeId('apps', 'waypoint', TD), node: 'node-1', pod: { name: 'waypoint-1' } });

const node1: PodRef[] = [
  { namespace: 'ambient-system', name: 'agent-a', uid: 'uid-a', serviceAccount: 'ambient-node-agent' },
  { namespace: 'apps', name: 'reviews-1', uid: 'r1', serviceAccount: 'reviews' },
  { namespace: 'apps', name: 'waypoint-1', serviceAccount: 'waypoint' },
];

describe('callerFromReview', () => {
  test('caller_node_agent_with_bound_pod', () => {
    const r = callerFromReview(
      {
        username: 'system:serviceaccount:ambient-system:ambient-node-agent',
        extra: { 'authentication.kubernetes.io/pod-name': ['agent-a'], 'authentication.kubernetes.io/pod-uid': ['uid-a'] },
      },
      'node-1',
      cfg,
    );
    assert.deepEqual(r, { ok: true, caller: agent() });
  });

  test('caller_recognised_waypoint_service_account_is_a_waypoint', () => {
    const r = callerFromReview({ username: 'system:serviceaccount:apps:waypoint' }, 'node-1', cfg);
    assert.ok(r.ok);
    assert.equal(r.caller.role, 'waypoint');
    assert.deepEqual(r.caller.identity, spiffeId('apps', 'waypoint', TD));
  });

  test('caller_configured_node_agent_service_account', () => {
    const r = callerFromReview({ username: 'system:serviceaccount:mesh:agent' }, 'n', { trustDomain: TD, nodeAgentServiceAccount: { namespace: 'mesh', name: 'agent' } });
    assert.ok(r.ok && r.caller.role === 'node-agent');
  });

  test('caller_ordinary_pod_service_account_is_forbidden', () => {
    const r = callerFromReview({ username: 'system:serviceaccount:apps:reviews' }, 'node-1', cfg);
    assert.ok(!r.ok && r.status === 403 && r.code === ErrorCodes.CTRL_FORBIDDEN);
    assert.match(!r.ok ? r.reason : '', /apps\/reviews is neither the node agents' \(ambient-system\/ambient-node-agent\) nor a waypoint's/);
    const none = callerFromReview({ username: 'system:serviceaccount:apps:waypoint' }, 'node-1', { trustDomain: TD, nodeAgentServiceAccount: DEFAULT_NODE_AGENT_SERVICE_ACCOUNT });
    assert.equal(none.ok, false, 'without a waypoint check nobody but the node agents is served');
  });

  test('caller_token_node_name_is_kept', () => {
    const r = callerFromReview({ username: 'system:serviceaccount:apps:waypoint', extra: { 'authentication.kubernetes.io/node-name': ['node-2'] } }, 'node-1', cfg);
    assert.ok(r.ok && r.caller.tokenNode === 'node-2');
  });

  test('caller_user_that_is_not_a_service_account_is_forbidden', () => {
    const r = callerFromReview({ username: 'alice' }, 'node-1', cfg);
    assert.ok(!r.ok && r.status === 403 && r.code === ErrorCodes.CTRL_FORBIDDEN);
  });
});

describe('verifyCallerNode', () => {
  test('node_agent_pod_on_its_node_is_accepted', () => {
    assert.deepEqual(verifyCallerNode(agent(), node1), { ok: true });
  });

  test('node_agent_claiming_another_node_is_refused', () => {
    const r = verifyCallerNode(agent('node-2'), [{ namespace: 'apps', name: 'ratings-1', serviceAccount: 'ratings' }]);
    assert.ok(!r.ok && r.status === 403 && r.code === ErrorCodes.CTRL_NODE_MISMATCH);
    assert.match(r.reason, /claims node node-2 but its pod ambient-system\/agent-a is not on that node/);
  });

  test('node_agent_pod_with_another_uid_is_refused', () => {
    const r = verifyCallerNode(agent('node-1', { name: 'agent-a', uid: 'recreated' }), node1);
    assert.ok(!r.ok && r.code === ErrorCodes.CTRL_NODE_MISMATCH);
  });

  test('token_node_name_must_equal_claimed_node', () => {
    const r = verifyCallerNode({ ...agent(), tokenNode: 'node-2' }, node1);
    assert.ok(!r.ok && r.code === ErrorCodes.CTRL_NODE_MISMATCH);
  });

  test('node_agent_token_not_bound_to_a_pod_is_refused', () => {
    const r = verifyCallerNode(agent('node-1', null), node1);
    assert.ok(!r.ok && r.status === 403 && /not bound to a pod/.test(r.reason));
  });

  test('workload_token_not_bound_to_a_pod_is_accepted', () => {
    const c: Caller = { role: 'waypoint', identity: spiffeId('apps', 'waypoint', TD), node: 'node-9' };
    assert.deepEqual(verifyCallerNode(c, []), { ok: true });
  });
});

describe('authorizeCsr', () => {
  test('csr_node_agent_identity_with_pod_on_its_node', () => {
    assert.deepEqual(authorizeCsr(agent(), spiffeId('apps', 'reviews', TD), node1), { ok: true });
  });

  test('csr_control_plane_identities_are_never_signed_even_with_a_pod_on_the_node', () => {
    const pods: PodRef[] = [...node1, { namespace: 'ambient-system', name: 'rogue', serviceAccount: 'ambient-controller' }];
    for (const sa of ['ambient-controller', 'ambient-node-agent']) {
      const r = authorizeCsr(agent(), spiffeId('ambient-system', sa, TD), pods);
      assert.ok(!r.ok && /is a control-plane identity \(namespace ambient-system\)/.test(r.reason), sa);
    }
    assert.equal(authorizeCsr(agent(), spiffeId('mesh', 'ctl', TD), [{ namespace: 'mesh', name: 'c', serviceAccount: 'ctl' }], 'mesh').ok, false, 'the namespace is configurable');
  });

  test('csr_node_agent_identity_without_pod_on_its_node', () => {
    const r = authorizeCsr(agent(), spiffeId('apps', 'ratings', TD), node1);
    assert.deepEqual(r, { ok: false, reason: 'no pod with identity spiffe://cluster.local/ns/apps/sa/ratings runs on node node-1' });
  });

  test('csr_node_agent_same_service_account_name_in_another_namespace', () => {
    assert.equal(authorizeCsr(agent(), spiffeId('other', 'reviews', TD), node1).ok, false);
  });

  test('csr_other_trust_domain_is_refused', () => {
    assert.equal(authorizeCsr(agent(), spiffeId('apps', 'reviews', 'other.domain'), node1).ok, false);
  });

  test('csr_waypoint_own_identity_only', () => {
    assert.deepEqual(authorizeCsr(waypoint(), spiffeId('apps', 'waypoint', TD), node1), { ok: true });
    const r = authorizeCsr(waypoint(), spiffeId('apps', 'reviews', TD), node1);
    assert.ok(!r.ok && /may only have its own identity/.test(r.reason));
  });
});

test('node_names_are_dns_subdomains', () => {
  assert.ok(isNodeName('node-1'));
  assert.ok(isNodeName('ip-10-0-0-1.ec2.internal'));
  assert.ok(!isNodeName(''));
  assert.ok(!isNodeName('Node_1'));
  assert.ok(!isNodeName('a'.repeat(254)));
});
