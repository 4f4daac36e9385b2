// Unit tests of the inbound authorization decision and of which open connections a new
// snapshot closes: one behaviour per test, with the real engine (core/policy) unless the
// test is about an engine that fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy } from '../../core/config/model.js';
import type { AuthzRequest } from '../../core/policy/types.js';
import {
  authorizeInbound,
  connectionsToClose,
  inboundAuthzRequest,
  policiesForWorkload,
  revokedMessage,
  type AuthzEngine,
  type OpenInbound,
} from './authorize.js';
import { policyEngine } from './engine.js';
import { policy, stateOf, workload } from './fixtures.js';

const CLIENT = 'spiffe://cluster.local/ns/shop/sa/client';
const OTHER = 'spiffe://cluster.local/ns/shop/sa/other';
const server = workload('server', { namespace: 'shop', ips: ['10.244.1.10'], labels: { app: 'server' } });

function req(over: Partial<AuthzRequest> = {}): AuthzRequest {
  return { sourceIdentity: CLIENT, sourceIp: '10.244.2.7', destinationIp: '10.244.1.10', destinationPort: 8080, ...over };
}

const denyClient = policy('deny-client', 'DENY', [{ from: [{ principals: ['cluster.local/ns/shop/sa/client'] }] }], { namespace: 'shop' });

test('request_over_hbone_uses_the_certificate_identity_and_the_tcp_peer', () => {
  const r = inboundAuthzRequest({ peerIdentity: CLIENT, peerIp: '::ffff:10.244.2.7', target: { ip: '10.244.1.10', port: 8080 } });
  assert.deepEqual(r, { sourceIdentity: CLIENT, sourceIp: '10.244.2.7', destinationIp: '10.244.1.10', destinationPort: 8080 });
});

test('request_for_plaintext_has_no_identity', () => {
  const r = inboundAuthzRequest({ peerIp: '10.244.2.7', target: { ip: '10.244.1.10', port: 8080 } });
  assert.equal(r.sourceIdentity, undefined);
  assert.equal(r.sourceIp, '10.244.2.7');
});

test('no_policy_allows_by_default', () => {
  const v = authorizeInbound(policyEngine, stateOf([server]), server, req());
  assert.equal(v.allow, true);
  assert.equal(v.reason, 'no policy: allowed by default');
  assert.deepEqual(v.enforced, { decision: 'ALLOW' });
  assert.equal(v.dryRun, undefined);
});

test('deny_by_principal_names_policy_and_rule', () => {
  const v = authorizeInbound(policyEngine, stateOf([server, denyClient]), server, req());
  assert.equal(v.allow, false);
  assert.equal(v.reason, 'denied by DENY policy shop/deny-client rules[0]');
  assert.deepEqual(v.enforced, { decision: 'DENY', policy: 'shop/deny-client', rule: 0, action: 'DENY' });
});

test('deny_by_principal_leaves_another_identity_allowed', () => {
  const v = authorizeInbound(policyEngine, stateOf([server, denyClient]), server, req({ sourceIdentity: OTHER }));
  assert.equal(v.allow, true);
});

test('allow_nothing_policy_denies_with_no_allow_rule_matched', () => {
  const v = authorizeInbound(policyEngine, stateOf([server, policy('allow-nothing', 'ALLOW', [], { namespace: 'shop' })]), server, req());
  assert.equal(v.allow, false);
  assert.equal(v.reason, 'no ALLOW rule matched');
  assert.deepEqual(v.enforced, { decision: 'DENY' });
});

test('policy_of_another_namespace_does_not_apply', () => {
  const v = authorizeInbound(policyEngine, stateOf([server, { ...denyClient, key: 'other/deny-client', namespace: 'other' }]), server, req());
  assert.equal(v.allow, true);
});

test('target_ref_policy_is_never_enforced_by_the_agent', () => {
  const targeted: Policy = { ...denyClient, scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'server' }] };
  const v = authorizeInbound(policyEngine, stateOf([server, targeted]), server, req());
  assert.equal(v.allow, true);
});

test('ip_block_deny_applies_to_plaintext', () => {
  const p = policy('deny-net', 'DENY', [{ from: [{ ipBlocks: ['10.244.2.0/24'] }] }], { namespace: 'shop' });
  const v = authorizeInbound(policyEngine, stateOf([server, p]), server, req({ sourceIdentity: undefined }));
  assert.equal(v.allow, false);
  assert.equal(v.reason, 'denied by DENY policy shop/deny-net rules[0]');
});

test('dry_run_deny_is_recorded_but_not_enforced', () => {
  const v = authorizeInbound(policyEngine, stateOf([server, { ...denyClient, dryRun: true }]), server, req());
  assert.equal(v.allow, true);
  assert.equal(v.enforced.decision, 'ALLOW');
  assert.deepEqual(v.dryRun, { decision: 'DENY', policy: 'shop/deny-client', rule: 0, action: 'DENY' });
});

test('engine_that_throws_denies_fail_closed', () => {
  const broken: AuthzEngine = {
    policiesFor: () => [],
    evaluate: () => {
      throw new Error('boom');
    },
  };
  const v = authorizeInbound(broken, stateOf([server]), server, req());
  assert.equal(v.allow, false);
  assert.equal(v.reason, 'authorization failed: boom');
  assert.equal(v.failed, 'authorization failed: boom');
  assert.deepEqual(v.enforced, { decision: 'DENY' });
});

test('engine_that_returns_no_decision_denies_fail_closed', () => {
  const broken = { policiesFor: () => [], evaluate: () => ({}) } as unknown as AuthzEngine;
  const v = authorizeInbound(broken, stateOf([server]), server, req());
  assert.equal(v.allow, false);
  assert.match(v.reason, /^authorization failed: /);
});

test('policies_are_selected_once_per_snapshot_and_workload', () => {
  let calls = 0;
  const counting: AuthzEngine = { ...policyEngine, policiesFor: (p, s) => (calls++, policyEngine.policiesFor(p, s)) };
  const state = stateOf([server, denyClient]);
  const own = state.workloadByUid(server.uid)!;
  policiesForWorkload(counting, state, own);
  policiesForWorkload(counting, state, own);
  assert.equal(calls, 1);
  policiesForWorkload(counting, stateOf([server, denyClient]), own);
  assert.equal(calls, 2, 'a new snapshot selects again');
});

test('revoked_message_names_the_policy_and_rule', () => {
  const v = authorizeInbound(policyEngine, stateOf([server, denyClient]), server, req());
  assert.equal(revokedMessage(v), 'connection closed: now denied by DENY policy shop/deny-client rules[0]');
  const none = authorizeInbound(policyEngine, stateOf([server, policy('allow-nothing', 'ALLOW', [], { namespace: 'shop' })]), server, req());
  assert.equal(revokedMessage(none), 'connection closed: now denied: no ALLOW rule matched');
});

function open(request: AuthzRequest, name: string): OpenInbound & { name: string } {
  return { name, destinationUid: server.uid, destination: server, request };
}

test('close_decision_picks_only_connections_the_new_snapshot_denies', () => {
  const conns = [open(req(), 'client'), open(req({ sourceIdentity: OTHER }), 'other')];
  const closing = connectionsToClose(policyEngine, stateOf([server, denyClient]), conns);
  assert.deepEqual(
    closing.map((c) => c.conn.name),
    ['client'],
  );
  assert.equal(closing[0]!.verdict.enforced.policy, 'shop/deny-client');
});

test('close_decision_closes_nothing_without_policies', () => {
  assert.deepEqual(connectionsToClose(policyEngine, stateOf([server]), [open(req(), 'client')]), []);
});

test('close_decision_ignores_dry_run_policies', () => {
  assert.deepEqual(connectionsToClose(policyEngine, stateOf([server, { ...denyClient, dryRun: true }]), [open(req(), 'client')]), []);
});

test('close_decision_uses_the_new_labels_of_the_destination', () => {
  const selective = { ...denyClient, selector: { tier: 'locked' } };
  assert.equal(connectionsToClose(policyEngine, stateOf([server, selective]), [open(req(), 'c')]).length, 0);
  const relabelled = { ...server, labels: { ...server.labels, tier: 'locked' } };
  assert.equal(connectionsToClose(policyEngine, stateOf([relabelled, selective]), [open(req(), 'c')]).length, 1);
});

test('close_decision_keeps_the_old_workload_when_the_snapshot_lost_it', () => {
  const closing = connectionsToClose(policyEngine, stateOf([denyClient]), [open(req(), 'c')]);
  assert.equal(closing.length, 1, 'its namespace policy still applies');
});
