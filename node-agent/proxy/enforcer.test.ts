// Unit tests of the enforcer: decisions reach the sink, open connections are tracked, and a
// new snapshot closes exactly those it denies (the closer is a fake here; the sockets are
// in test/node-agent-authz.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthzRequest } from '../../core/policy/types.js';
import type { ProxyState } from '../state/snapshot.js';
import { authzRecordOf, decisionMetricInput, InboundEnforcer, type DecisionEvent } from './enforcer.js';
import { policyEngine } from './engine.js';
import { policy, stateOf, workload } from './fixtures.js';

const CLIENT = 'spiffe://cluster.local/ns/shop/sa/client';
const server = workload('server', { namespace: 'shop', ips: ['10.244.1.10'] });
const denyClient = policy('deny-client', 'DENY', [{ from: [{ principals: ['cluster.local/ns/shop/sa/client'] }] }], { namespace: 'shop' });
const audit = policy('audit-all', 'AUDIT', [{}], { namespace: 'shop' });

function req(over: Partial<AuthzRequest> = {}): AuthzRequest {
  return { sourceIdentity: CLIENT, sourceIp: '10.244.2.7', destinationIp: '10.244.1.10', destinationPort: 8080, ...over };
}

function setUp(initial: ProxyState) {
  let state = initial;
  const events: DecisionEvent[] = [];
  const enforcer = new InboundEnforcer({ engine: policyEngine, getState: () => state, onDecision: (e) => events.push(e) });
  return { enforcer, events, set: (s: ProxyState) => (state = s), get: () => state };
}

test('decide_reports_each_decision_to_the_sink', () => {
  const { enforcer, events, get } = setUp(stateOf([server, denyClient]));
  const v = enforcer.decide(get(), server, req());
  assert.equal(v.allow, false);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.kind, 'connect');
  assert.equal(events[0]!.verdict, v);
});

test('a_sink_that_throws_does_not_change_the_decision', () => {
  const enforcer = new InboundEnforcer({
    engine: policyEngine,
    getState: () => stateOf([server]),
    onDecision: () => {
      throw new Error('sink broke');
    },
  });
  assert.equal(enforcer.decide(stateOf([server]), server, req()).allow, true);
});

test('reevaluate_closes_what_the_new_snapshot_denies_and_keeps_the_rest', () => {
  const { enforcer, events, set, get } = setUp(stateOf([server]));
  const closed: string[] = [];
  for (const [name, identity] of [
    ['client', CLIENT],
    ['other', 'spiffe://cluster.local/ns/shop/sa/other'],
  ] as const) {
    const request = req({ sourceIdentity: identity });
    assert.equal(enforcer.decide(get(), server, request).allow, true);
    enforcer.track({ destinationUid: server.uid, destination: server, request, decidedWith: get(), close: (m) => closed.push(`${name}: ${m}`) });
  }
  assert.equal(enforcer.open, 2);
  set(stateOf([server, denyClient]));
  assert.equal(enforcer.reevaluate(), 1);
  assert.deepEqual(closed, ['client: connection closed: now denied by DENY policy shop/deny-client rules[0]']);
  assert.equal(enforcer.open, 1);
  assert.equal(events.at(-1)!.kind, 'revoke');
  // Once closed it is no longer tracked: a second change closes nothing more.
  assert.equal(enforcer.reevaluate(), 0);
});

test('untracked_connections_are_not_reevaluated', () => {
  const { enforcer, set, get } = setUp(stateOf([server]));
  let closed = 0;
  const untrack = enforcer.track({ destinationUid: server.uid, destination: server, request: req(), decidedWith: get(), close: () => closed++ });
  untrack();
  set(stateOf([server, denyClient]));
  assert.equal(enforcer.reevaluate(), 0);
  assert.equal(closed, 0);
});

test('a_connection_decided_on_an_older_snapshot_is_checked_when_tracked', async () => {
  const { enforcer, set } = setUp(stateOf([server]));
  const old = stateOf([server]);
  set(stateOf([server, denyClient]));
  let message = '';
  enforcer.track({ destinationUid: server.uid, destination: server, request: req(), decidedWith: old, close: (m) => (message = m) });
  await new Promise((r) => setImmediate(r));
  assert.match(message, /now denied by DENY policy shop\/deny-client/);
});

test('record_carries_enforced_and_dry_run_decisions', () => {
  const { enforcer, get } = setUp(stateOf([server, { ...denyClient, dryRun: true }]));
  const r = authzRecordOf(enforcer.decide(get(), server, req()));
  assert.deepEqual(r, { decision: 'ALLOW', dryRun: { decision: 'DENY', policy: 'shop/deny-client', rule: 0 } });
});

test('metric_input_lists_audit_matches', () => {
  const { enforcer, events, get } = setUp(stateOf([server, audit]));
  enforcer.decide(get(), server, req());
  const input = decisionMetricInput(events[0]!);
  assert.deepEqual(input.audits, ['shop/audit-all']);
  assert.deepEqual(input.enforced, { decision: 'ALLOW' });
});
