// The L4 projection of rules holding L7 fields, as istiod converts policies for ztunnel
// (https://istio.io/latest/docs/ambient/usage/l4-policy/; istio/istio
// pilot/pkg/serviceregistry/ambient/authorization.go handleRule).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PolicyRule } from '../config/model.js';
import { l7FieldsOf, projectForNodeAgent } from './l4.js';

const rule = (r: Partial<PolicyRule>): PolicyRule => ({ from: r.from ?? [], to: r.to ?? [], when: r.when ?? [] });

test('l7_fields_are_named_by_stable_paths', () => {
  const r = rule({ from: [{ requestPrincipals: ['*'] }], to: [{ ports: [80] }, { methods: ['GET'] }], when: [{ key: 'request.headers[x-user]', values: ['a'] }] });
  assert.deepEqual(l7FieldsOf(r), ['from[0].source.requestPrincipals', 'to[1].operation.methods', 'when[0].key request.headers[x-user]']);
});

test('deny_rule_keeps_its_ports_and_loses_methods', () => {
  const r = projectForNodeAgent(rule({ to: [{ ports: [8080], methods: ['GET'] }] }), 'DENY');
  assert.deepEqual(r.rule?.to, [{ ports: [8080] }]);
});

test('allow_rule_with_l7_field_is_dropped', () => {
  assert.equal(projectForNodeAgent(rule({ to: [{ methods: ['GET'] }] }), 'ALLOW').rule, undefined);
});
