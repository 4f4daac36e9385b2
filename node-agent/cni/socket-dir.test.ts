import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeAncestor, judgeExistingSocket, judgeSocketDir, type PathFacts } from './socket-dir.js';

const dir = (over: Partial<PathFacts> = {}): PathFacts => ({ isDirectory: true, isSymbolicLink: false, isSocket: false, uid: 0, mode: 0o700, ...over });

test('socket_dir_of_root_with_mode_0700_is_kept', () => {
  assert.deepEqual(judgeSocketDir('/d', dir()), { ok: true, tighten: false });
});

test('socket_dir_of_root_readable_by_others_is_tightened', () => {
  assert.deepEqual(judgeSocketDir('/d', dir({ mode: 0o755 })), { ok: true, tighten: true });
});

test('socket_dir_writable_by_others_is_refused', () => {
  for (const mode of [0o777, 0o1777, 0o770, 0o702]) {
    const v = judgeSocketDir('/d', dir({ mode }));
    assert.equal(v.ok, false, mode.toString(8));
    assert.match(v.ok ? '' : v.reason, /squatting/);
  }
});

test('socket_dir_of_another_user_is_refused', () => {
  const v = judgeSocketDir('/d', dir({ uid: 65534 }));
  assert.match(v.ok ? '' : v.reason, /owned by uid 65534/);
});

test('socket_dir_that_is_a_link_or_a_file_is_refused', () => {
  assert.equal(judgeSocketDir('/d', dir({ isSymbolicLink: true, isDirectory: false })).ok, false);
  assert.equal(judgeSocketDir('/d', dir({ isDirectory: false })).ok, false);
});

test('ancestors_must_be_roots_and_not_writable_by_others_unless_sticky', () => {
  assert.equal(judgeAncestor('/var', dir({ mode: 0o755 })), undefined);
  assert.equal(judgeAncestor('/tmp', dir({ mode: 0o1777 })), undefined, 'sticky: others cannot rename root entries');
  assert.match(judgeAncestor('/x', dir({ mode: 0o777 }))!, /without the sticky bit/);
  assert.match(judgeAncestor('/home/a', dir({ uid: 1000, mode: 0o755 }))!, /owned by uid 1000/);
});

test('a_leftover_socket_is_replaced_only_when_it_is_a_roots_socket', () => {
  assert.equal(judgeExistingSocket('/d/s', dir({ isDirectory: false, isSocket: true, mode: 0o600 })), undefined);
  assert.match(judgeExistingSocket('/d/s', dir({ isDirectory: false, mode: 0o600 }))!, /not a socket/);
  assert.match(judgeExistingSocket('/d/s', dir({ isDirectory: false, isSocket: true, uid: 7 }))!, /uid 7/);
});
