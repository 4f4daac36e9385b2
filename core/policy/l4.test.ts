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

test('l4_only_rule_is_kept_as_is', () => {
  const r = rule({ from: [{ principals: ['a'] }], to: [{ ports: [1] }], when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] });
  const p = projectForNodeAgent(r, 'ALLOW');
  assert.equal(p.rule, r);
  assert.deepEqual(p.notes, []);
  assert.deepEqual(l7FieldsOf(r), []);
});

test('every_l7_source_and_operation_field_is_listed', () => {
  const r = rule({
    from: [{ requestPrincipals: ['a'], notRequestPrincipals: ['b'], remoteIpBlocks: ['1.1.1.1'], notRemoteIpBlocks: ['2.2.2.2'] }],
    to: [{ hosts: ['h'], notHosts: ['h'], methods: ['GET'], notMethods: ['PUT'], paths: ['/'], notPaths: ['/x'] }],
  });
  assert.equal(l7FieldsOf(r).length, 10);
});

test('audit_rule_with_l7_field_is_dropped_like_allow', () => {
  assert.equal(projectForNodeAgent(rule({ to: [{ paths: ['/x'] }] }), 'AUDIT').rule, undefined);
});

test('deny_rule_with_only_l7_to_has_no_effect_as_istiod_says', () => {
  const p = projectForNodeAgent(rule({ from: [{ namespaces: ['a'] }], to: [{ methods: ['GET'] }] }), 'DENY');
  assert.equal(p.rule, undefined);
  assert.match(p.notes.join('\n'), /to\[0\]\.operation held only L7 fields/);
  assert.match(p.notes.join('\n'), /no operation of this DENY rule is left at L4/);
});

test('deny_rule_with_l7_when_matches_nothing', () => {
  const p = projectForNodeAgent(rule({ when: [{ key: 'request.headers[x]', values: ['1'] }] }), 'DENY');
  assert.equal(p.rule, undefined);
  assert.match(p.notes.join('\n'), /when\[0\] \(request\.headers\[x\]\) cannot be evaluated at the node agent/);
});

test('deny_rule_keeps_a_mixed_entry_and_an_emptied_one_in_place', () => {
  const p = projectForNodeAgent(rule({ from: [{ requestPrincipals: ['*'] }, { namespaces: ['a'], remoteIpBlocks: ['1.2.3.4'] }] }), 'DENY');
  assert.deepEqual(p.rule?.from, [{}, { namespaces: ['a'] }]);
});

test('projection_does_not_change_its_input', () => {
  const r = rule({ to: [{ ports: [1], methods: ['GET'] }] });
  projectForNodeAgent(r, 'DENY');
  assert.deepEqual(r.to, [{ ports: [1], methods: ['GET'] }]);
});
