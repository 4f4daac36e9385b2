import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRolloutAction, rolloutActionPatch, rolloutsPath } from './rollout-actions.js';

test('pause_sets_paused_abort_sets_abort_resume_clears_both', () => {
  assert.deepEqual(rolloutActionPatch('pause'), { spec: { paused: true } });
  assert.deepEqual(rolloutActionPatch('abort'), { spec: { abort: true } });
  assert.deepEqual(rolloutActionPatch('resume'), { spec: { paused: false, abort: false } });
});

test('only_the_three_actions_are_actions', () => {
  assert.equal(isRolloutAction('pause'), true);
  assert.equal(isRolloutAction('toString'), false);
  assert.equal(isRolloutAction('delete'), false);
});

test('rollout_paths_escape_their_names', () => {
  assert.equal(rolloutsPath('apps'), '/apis/ambient.dev/v1/namespaces/apps/rollouts');
  assert.equal(rolloutsPath('apps', 'a b'), '/apis/ambient.dev/v1/namespaces/apps/rollouts/a%20b');
});
