import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rolloutClaim, serviceDriver, type RolloutClaim } from './rollout-claims.js';
import { rolloutRevision } from './rollout-plan.js';

const spec = (service = 'echo', canary = 'echo-v2') => ({ service, stable: 'echo-v1', canary, steps: [20, 50, 100] });
const revision = (s: ReturnType<typeof spec>) => rolloutRevision(s);
const obj = (name: string, s: ReturnType<typeof spec>, status?: Record<string, unknown>, created = '2026-12-01T00:00:00Z') => ({ metadata: { name, creationTimestamp: created }, spec: s, ...(status ? { status } : {}) });
const status = (phase: string, s: ReturnType<typeof spec>) => ({ phase, canaryWeight: 20, step: 0, revision: revision(s) });

test('a_new_or_running_rollout_claims_its_service', () => {
  assert.deepEqual(rolloutClaim(obj('a', spec())), { name: 'a', service: 'echo', active: false, createdAt: Date.parse('2026-12-01T00:00:00Z') });
  assert.equal(rolloutClaim(obj('a', spec(), status('Progressing', spec())))?.active, true);
  assert.equal(rolloutClaim(obj('a', spec(), status('Paused', spec())))?.active, true);
});

test('a_finished_invalid_or_deleted_rollout_claims_nothing', () => {
  assert.equal(rolloutClaim(obj('a', spec(), status('Succeeded', spec()))), undefined);
  assert.equal(rolloutClaim(obj('a', spec(), status('RolledBack', spec()))), undefined);
  assert.equal(rolloutClaim(obj('a', { ...spec(), steps: [50, 20] })), undefined);
  assert.equal(rolloutClaim({ ...obj('a', spec()), metadata: { name: 'a', deletionTimestamp: '2026-12-01T00:00:00Z' } }), undefined);
});

test('a_finished_rollout_whose_spec_changed_claims_again_as_not_yet_running', () => {
  const c = rolloutClaim(obj('a', spec('echo', 'echo-v3'), status('Succeeded', spec())));
  assert.equal(c?.active, false);
});

test('the_running_rollout_drives_before_an_older_one_that_restarts', () => {
  const claims: RolloutClaim[] = [
    { name: 'old', service: 'echo', active: false, createdAt: 1 },
    { name: 'running', service: 'echo', active: true, createdAt: 5 },
  ];
  assert.equal(serviceDriver(claims, 'echo')?.name, 'running');
});

test('of_rollouts_not_yet_running_the_oldest_drives_then_by_name', () => {
  assert.equal(serviceDriver([{ name: 'b', service: 'echo', active: false, createdAt: 2 }, { name: 'a', service: 'echo', active: false, createdAt: 3 }], 'echo')?.name, 'b');
  assert.equal(serviceDriver([{ name: 'b', service: 'echo', active: false, createdAt: 2 }, { name: 'a', service: 'echo', active: false, createdAt: 2 }], 'echo')?.name, 'a');
});

test('rollouts_of_other_services_do_not_count', () => {
  assert.equal(serviceDriver([{ name: 'a', service: 'cart', active: true, createdAt: 1 }], 'echo'), undefined);
});
