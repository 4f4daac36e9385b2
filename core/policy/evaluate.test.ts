// The authorization decision, case by case, after Istio's documented semantics. Each group
// names the Istio page it follows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy, PolicyRule } from '../config/model.js';
import { evaluate } from './evaluate.js';
import type { AuthzRequest } from './types.js';

const TD = 'spiffe://cluster.local';
function policy(name: string, action: Policy['action'], rules: Array<Partial<PolicyRule>>, over: Partial<Policy> = {}): Policy {
  const ns = over.namespace ?? 'shop';
  return {
    key: `${ns}/${name}`,
    name,
    namespace: ns,
    scope: 'namespace',
    action,
    rules: rules.map((r) => ({ from: r.from ?? [], to: r.to ?? [], when: r.when ?? [] })),
    ...over,
  };
}
function req(over: Partial<AuthzRequest> = {}): AuthzRequest {
  return { sourceIdentity: `${TD}/ns/shop/sa/client`, sourceIp: '10.0.0.7', destinationIp: '10.0.1.9', destinationPort: 8080, ...over };
}

// Precedence: https://istio.io/latest/docs/concepts/security/#authorization-policy-precedence
test('no_policy_allows_by_default', () => {
  const r = evaluate([], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.enforced.reason, 'no-policy');
  assert.equal(r.enforced.message, 'no policy applies: allowed by default');
  assert.equal(r.dryRun, undefined);
});

test('deny_by_principal_denies_that_client_and_names_the_rule', () => {
  const p = policy('deny-client', 'DENY', [{ from: [{ principals: ['cluster.local/ns/shop/sa/client'] }] }]);
  const r = evaluate([p], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.equal(r.enforced.reason, 'deny-matched');
  assert.equal(r.enforced.policy, 'shop/deny-client');
  assert.equal(r.enforced.rule, 0);
  assert.equal(r.enforced.message, 'denied by DENY policy shop/deny-client rules[0]');
  const other = evaluate([p], req({ sourceIdentity: `${TD}/ns/shop/sa/other` }), 'node-agent');
  assert.equal(other.enforced.decision, 'ALLOW');
  assert.match(other.enforced.considered[0]!.reasons[0]!, /rules\[0\]\.from\[0\]\.source\.principals: "cluster\.local\/ns\/shop\/sa\/other" is not one of \["cluster\.local\/ns\/shop\/sa\/client"\]/);
});

test('allow_policy_without_rules_denies_everything', () => {
  const r = evaluate([policy('allow-nothing', 'ALLOW', [])], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.equal(r.enforced.reason, 'no-allow-matched');
  assert.equal(r.enforced.message, 'no ALLOW rule matched (considered: shop/allow-nothing)');
});

test('allow_with_empty_rule_allows_everything', () => {
  const r = evaluate([policy('allow-all', 'ALLOW', [{}])], req({ sourceIdentity: undefined }), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.enforced.message, 'allowed by ALLOW policy shop/allow-all rules[0]');
});

test('allow_rule_with_l7_field_is_dropped_at_node_agent', () => {
  const p = policy('allow-get', 'ALLOW', [{ to: [{ methods: ['GET'] }] }]);
  const r = evaluate([p], req({ http: { method: 'GET' } }), 'node-agent');
  assert.equal(r.enforced.decision, 'DENY');
  assert.match(r.enforced.considered[0]!.reasons.join('\n'), /rules\[0\] holds the L7 field to\[0\]\.operation\.methods/);
  assert.equal(evaluate([p], req({ http: { method: 'GET' } }), 'waypoint').enforced.decision, 'ALLOW');
});

test('dry_run_policy_is_not_enforced_but_its_decision_is_reported', () => {
  const p = policy('deny-all', 'DENY', [{}], { dryRun: true });
  const r = evaluate([p], req(), 'node-agent');
  assert.equal(r.enforced.decision, 'ALLOW');
  assert.equal(r.dryRun?.decision, 'DENY');
  assert.equal(r.dryRun?.policy, 'shop/deny-all');
});
