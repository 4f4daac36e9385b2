// Unit tests of the client's pure parts: which upserts reach the application, what the
// client holds after an update (so what its next hello says), and reconnect delays.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reconnectDelay } from './backoff.js';
import { applyToHeld, knownRemoves, screenUpserts } from './held.js';

const policy = (name: string, version: string, action = 'ALLOW') => ({
  kind: 'Policy',
  key: `apps/${name}`,
  version,
  body: { key: `apps/${name}`, name, namespace: 'apps', scope: 'namespace', action, rules: [] },
});

describe('screenUpserts', () => {
  test('screen_passes_valid_resources_with_their_version', () => {
    const { valid, errors } = screenUpserts([policy('a', '3-0123456789abcdef')]);
    assert.deepEqual(errors, []);
    assert.equal(valid.length, 1);
    assert.equal(valid[0]!.version, '3-0123456789abcdef');
    assert.equal(valid[0]!.key, 'apps/a');
  });

  test('screen_rejects_an_invalid_resource_alone', () => {
    const bad = policy('b', '3-0123456789abcdef', 'MAYBE');
    const { valid, errors } = screenUpserts([policy('a', '3-0123456789abcdef'), bad, { kind: 'Gadget', key: 'x', version: '1', body: {} }]);
    assert.deepEqual(valid.map((v) => v.key), ['apps/a']);
    assert.equal(errors.length, 2);
    assert.deepEqual(errors.map((e) => `${e.kind}/${e.key}`), ['Policy/apps/b', 'Gadget/x']);
    assert.match(errors[0]!.error, /action/);
  });

  test('screen_rejects_an_upsert_without_version', () => {
    const { valid, errors } = screenUpserts([{ ...policy('a', ''), version: undefined }]);
    assert.equal(valid.length, 0);
    assert.match(errors[0]!.error, /version/);
  });

  test('known_removes_drops_unknown_kinds', () => {
    assert.deepEqual(knownRemoves([{ kind: 'Policy', key: 'a/b' }, { kind: 'Gadget' as 'Policy', key: 'x' }]), [{ kind: 'Policy', key: 'a/b' }]);
  });
});

describe('applyToHeld', () => {
  test('held_accepts_upserts_and_removals', () => {
    const held = new Map([['Policy/apps/old', '1-0123456789abcdef']]);
    const { valid } = screenUpserts([policy('a', '2-0123456789abcdef')]);
    applyToHeld(held, valid, [{ kind: 'Policy', key: 'apps/old' }], []);
    assert.deepEqual(Object.fromEntries(held), { 'Policy/apps/a': '2-0123456789abcdef' });
  });

  test('held_keeps_the_previous_version_of_a_refused_resource', () => {
    const held = new Map([['Policy/apps/a', '1-aaaaaaaaaaaaaaaa']]);
    const { valid } = screenUpserts([policy('a', '2-bbbbbbbbbbbbbbbb'), policy('b', '2-cccccccccccccccc')]);
    applyToHeld(held, valid, [], [{ kind: 'Policy', key: 'apps/a', error: 'no' }]);
    assert.deepEqual(Object.fromEntries(held), { 'Policy/apps/a': '1-aaaaaaaaaaaaaaaa', 'Policy/apps/b': '2-cccccccccccccccc' });
  });
});

describe('reconnectDelay', () => {
  test('backoff_doubles_from_min_to_max', () => {
    const top = (n: number) => reconnectDelay(n, 500, 30_000, () => 1);
    assert.deepEqual([0, 1, 2, 3, 6, 7, 50].map(top), [500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
  });

  test('backoff_jitter_stays_within_half_to_full', () => {
    assert.equal(reconnectDelay(2, 500, 30_000, () => 0), 1000);
    assert.equal(reconnectDelay(2, 500, 30_000, () => 0.5), 1500);
    for (let i = 0; i < 100; i++) {
      const d = reconnectDelay(3, 500, 30_000);
      assert.ok(d >= 2000 && d <= 4000, String(d));
    }
  });
});
