// Unit tests of versions and differences: the table bumps the global version only when
// content changes, and computeDelta gives a client exactly what it lacks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isMeshError } from '../../core/errors.js';
import type { Policy, Resource } from '../../core/config/model.js';
import { ResourceTable, applyDelta, computeDelta, sameContent, versionDigest } from './resync.js';

function policy(name: string, action: Policy['action'] = 'ALLOW'): Resource<'Policy'> {
  const key = `apps/${name}`;
  return { kind: 'Policy', key, body: { key, name, namespace: 'apps', scope: 'namespace', action, rules: [] } };
}

const ids = (d: { upserts: Array<{ id: string }>; removes: Array<{ kind: string; key: string }> }) => ({
  upserts: d.upserts.map((u) => u.id),
  removes: d.removes.map((r) => `${r.kind}/${r.key}`),
});

describe('ResourceTable', () => {
  test('table_is_not_ready_until_the_first_set', () => {
    const t = new ResourceTable();
    assert.equal(t.ready, false);
    const r = t.replace([]);
    assert.equal(t.ready, true);
    assert.equal(r.changed, true, 'the first set is news even when empty');
    assert.equal(r.version, 1);
  });

  test('table_bumps_the_version_once_per_change_and_stamps_changed_resources', () => {
    const t = new ResourceTable();
    t.replace([policy('a'), policy('b')]);
    const a1 = t.get('Policy/apps/a')!.resource.version;
    assert.match(a1, /^1-[0-9a-f]{16}$/);
    const r = t.replace([policy('a', 'DENY'), policy('b')]);
    assert.deepEqual({ v: r.version, up: r.upserted, rm: r.removed }, { v: 2, up: ['Policy/apps/a'], rm: [] });
    assert.match(t.get('Policy/apps/a')!.resource.version, /^2-/);
    assert.match(t.get('Policy/apps/b')!.resource.version, /^1-/, 'unchanged resource keeps the version it last changed at');
  });

  test('table_same_content_is_no_change', () => {
    const t = new ResourceTable();
    t.replace([policy('a')]);
    // Same content, keys in another order.
    const p = policy('a');
    const reordered = { kind: 'Policy', key: p.key, body: { rules: [], action: 'ALLOW', scope: 'namespace', namespace: 'apps', name: 'a', key: p.key } } as Resource;
    const r = t.replace([reordered]);
    assert.equal(r.changed, false);
    assert.equal(r.version, 1);
  });

  test('table_removal_is_a_change', () => {
    const t = new ResourceTable();
    t.replace([policy('a'), policy('b')]);
    const r = t.replace([policy('a')]);
    assert.deepEqual({ v: r.version, rm: r.removed }, { v: 2, rm: ['Policy/apps/b'] });
    assert.equal(t.size, 1);
  });

  test('table_rejects_a_duplicate_and_applies_nothing', () => {
    const t = new ResourceTable();
    t.replace([policy('a')]);
    assert.throws(() => t.replace([policy('b'), policy('b')]), (e: unknown) => isMeshError(e, ErrorCodes.XDS_INVALID_RESOURCE) && /more than once/.test(e.message));
    assert.equal(t.version, 1);
    assert.ok(t.get('Policy/apps/a'));
    assert.equal(t.get('Policy/apps/b'), undefined);
  });

  test('table_rejects_a_key_that_is_not_the_bodys', () => {
    const t = new ResourceTable();
    const p = policy('a');
    assert.throws(() => t.replace([{ ...p, key: 'apps/other' }]), (e: unknown) => isMeshError(e, ErrorCodes.XDS_INVALID_RESOURCE));
    assert.throws(() => t.replace([{ kind: 'Pod', key: 'x', body: {} } as unknown as Resource]), /unknown kind/);
  });

  test('table_keeps_a_private_copy', () => {
    const t = new ResourceTable();
    const p = policy('a');
    t.replace([p]);
    p.body.action = 'DENY';
    assert.equal((t.get('Policy/apps/a')!.resource.body as Policy).action, 'ALLOW');
    assert.equal(JSON.parse(t.get('Policy/apps/a')!.wire).body.action, 'ALLOW');
  });
});

describe('computeDelta', () => {
  function table(...ps: Resource[]) {
    const t = new ResourceTable();
    t.replace(ps);
    return t;
  }

  test('delta_first_start_gets_everything', () => {
    const t = table(policy('b'), policy('a'));
    assert.deepEqual(ids(computeDelta(new Map(), t.entries())), { upserts: ['Policy/apps/a', 'Policy/apps/b'], removes: [] });
  });

  test('delta_resync_sends_lacking_changed_and_removals_only', () => {
    const t = table(policy('a'), policy('b'), policy('c'));
    const held = new Map<string, string>();
    for (const e of t.entries()) held.set(e.id, e.resource.version);
    held.delete('Policy/apps/c'); // lacks c
    t.replace([policy('a'), policy('b', 'DENY'), policy('c')]); // b changed
    held.set('Workload/gone', '1-0123456789abcdef'); // holds something that no longer exists
    assert.deepEqual(ids(computeDelta(held, t.entries())), { upserts: ['Policy/apps/b', 'Policy/apps/c'], removes: ['Workload/gone'] });
  });

  test('delta_same_content_from_another_controller_is_not_resent', () => {
    const t = table(policy('a'));
    const mine = t.get('Policy/apps/a')!.resource.version;
    // Another replica stamped the same content at another global version.
    const theirs = `999-${versionDigest(mine)}`;
    assert.ok(sameContent(theirs, mine));
    assert.deepEqual(ids(computeDelta(new Map([['Policy/apps/a', theirs]]), t.entries())), { upserts: [], removes: [] });
  });

  test('delta_unknown_version_format_is_resent', () => {
    const t = table(policy('a'));
    assert.deepEqual(ids(computeDelta(new Map([['Policy/apps/a', 'v1']]), t.entries())), { upserts: ['Policy/apps/a'], removes: [] });
  });

  test('delta_applied_leaves_nothing_to_send', () => {
    const t = table(policy('a'), policy('b'));
    const held = new Map<string, string>([['Policy/apps/x', '1-0123456789abcdef']]);
    applyDelta(held, computeDelta(held, t.entries()));
    assert.deepEqual(ids(computeDelta(held, t.entries())), { upserts: [], removes: [] });
    assert.deepEqual([...held.keys()].sort(), ['Policy/apps/a', 'Policy/apps/b']);
  });

  test('delta_orders_kinds_workload_service_policy', () => {
    const t = new ResourceTable();
    const w = { kind: 'Workload', key: 'u1', body: { uid: 'u1' } } as unknown as Resource;
    const s = { kind: 'Service', key: 'apps/web', body: { key: 'apps/web' } } as unknown as Resource;
    t.replace([policy('a'), s, w]);
    assert.deepEqual(ids(computeDelta(new Map(), t.entries())).upserts, ['Workload/u1', 'Service/apps/web', 'Policy/apps/a']);
  });
});

describe('ResourceTable.apply', () => {
  test('apply_changes_only_what_it_is_given_and_keeps_unchanged_content_at_its_version', () => {
    const t = new ResourceTable();
    t.replace([policy('a'), policy('b'), policy('c')]);
    const r = t.apply([policy('a', 'DENY'), policy('b')], [{ kind: 'Policy', key: 'apps/c' }, { kind: 'Policy', key: 'apps/never' }]);
    assert.deepEqual({ v: r.version, up: r.upserted, rm: r.removed }, { v: 2, up: ['Policy/apps/a'], rm: ['Policy/apps/c'] });
    assert.deepEqual(r.changes.map((c) => [c.id, !!c.before, !!c.after]), [['Policy/apps/c', true, false], ['Policy/apps/a', true, true]]);
    assert.match(t.get('Policy/apps/a')!.resource.version, /^2-/);
    assert.match(t.get('Policy/apps/b')!.resource.version, /^1-/);
    assert.equal(t.get('Policy/apps/c'), undefined);
    assert.equal(t.size, 2);
  });

  test('apply_of_nothing_new_is_no_change', () => {
    const t = new ResourceTable();
    t.replace([policy('a')]);
    assert.deepEqual(t.apply([policy('a')], [{ kind: 'Policy', key: 'apps/gone' }]), { version: 1, changed: false, upserted: [], removed: [], changes: [] });
  });

  test('apply_first_call_makes_the_table_ready', () => {
    const t = new ResourceTable();
    const r = t.apply([], []);
    assert.deepEqual({ ready: t.ready, changed: r.changed, v: r.version }, { ready: true, changed: true, v: 1 });
  });

  test('apply_refuses_a_duplicate_a_malformed_resource_or_one_both_upserted_and_removed_and_applies_nothing', () => {
    const t = new ResourceTable();
    t.replace([policy('a')]);
    for (const [upserts, removes] of [
      [[policy('b'), policy('b')], []],
      [[policy('b'), { kind: 'Policy', key: 'apps/x', body: policy('y').body } as Resource], []],
      [[policy('b')], [{ kind: 'Policy' as const, key: 'apps/b' }]],
    ] as const) {
      assert.throws(() => t.apply(upserts as readonly Resource[], removes), (e: unknown) => isMeshError(e, ErrorCodes.XDS_INVALID_RESOURCE));
    }
    assert.equal(t.get('Policy/apps/b'), undefined);
    assert.equal(t.version, 1);
  });

  test('apply_stamps_the_same_digest_as_replace', () => {
    const a = new ResourceTable();
    const b = new ResourceTable();
    a.replace([policy('a', 'DENY')]);
    b.replace([]);
    b.apply([policy('a', 'DENY')], []);
    assert.equal(versionDigest(a.get('Policy/apps/a')!.resource.version), versionDigest(b.get('Policy/apps/a')!.resource.version));
    assert.equal(a.get('Policy/apps/a')!.wire.replace(/"version":"\d+-/, ''), b.get('Policy/apps/a')!.wire.replace(/"version":"\d+-/, ''));
  });
});
