// The authorization layer: a denial is answered and the chain stops; an allowed request goes
// on; every outcome (dry run, AUDIT) is recorded once; a recorder that throws changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy } from '../../core/config/model.js';
import { authzLayer, type AuthRequest } from './authz.js';
import type { WaypointAuthzOutcome } from './authz-decide.js';

const GW = { namespace: 'shop', name: 'waypoint' };
const svcRef = [{ group: '', kind: 'Service' as const, name: 'web' }];
const p = (name: string, over: Partial<Policy>): Policy => ({ key: `shop/${name}`, name, namespace: 'shop', scope: 'targets', targetRefs: svcRef, action: 'ALLOW', rules: [{ from: [], to: [], when: [] }], ...over });

function request(path = '/'): AuthRequest & { answers: Array<{ status: number; headers: Record<string, string>; body: string }> } {
  const answers: Array<{ status: number; headers: Record<string, string>; body: string }> = [];
  return {
    method: 'GET',
    path,
    authority: 'web.shop',
    headers: {},
    sourceIdentity: 'spiffe://cluster.local/ns/shop/sa/frontend',
    destination: { ip: '10.96.0.20', port: 80 },
    service: 'shop/web.shop.svc.cluster.local',
    respond: (status, headers, body) => void answers.push({ status, headers, body }),
    answers,
  };
}

test('authz_layer_denial_answers_and_stops_the_chain', async () => {
  const recorded: WaypointAuthzOutcome[] = [];
  const layer = authzLayer({ gateway: GW, policies: () => [p('deny-admin', { action: 'DENY', rules: [{ from: [], to: [{ paths: ['/admin'] }], when: [] }] })], onDecision: (_r, o) => recorded.push(o) });
  let forwarded = 0;
  const denied = request('/admin');
  await layer(denied, async () => void forwarded++);
  assert.equal(forwarded, 0);
  assert.equal(denied.answers[0]?.status, 403);
  assert.equal(denied.authz?.policy, 'shop/deny-admin');
  const ok = request('/shop');
  await layer(ok, async () => void forwarded++);
  assert.equal(forwarded, 1);
  assert.equal(ok.answers.length, 0);
  assert.deepEqual(recorded.map((o) => o.decision), ['DENY', 'ALLOW']);
});

test('authz_layer_records_dry_run_and_audit_and_survives_a_throwing_recorder', async () => {
  const layer = authzLayer({
    gateway: GW,
    policies: () => [p('would-deny', { action: 'DENY', dryRun: true }), p('audit', { action: 'AUDIT' })],
    onDecision: () => {
      throw new Error('recorder broke');
    },
  });
  const r = request();
  let forwarded = 0;
  await layer(r, async () => void forwarded++);
  assert.equal(forwarded, 1);
  assert.equal(r.authz?.dryRun?.decision, 'DENY');
  assert.deepEqual(r.authz?.audits, [{ policy: 'shop/audit', rule: 0 }]);
});
