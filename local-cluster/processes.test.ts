import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withUmask } from './processes.js';

test('with_umask_runs_the_program_through_a_shell_that_sets_the_mask_then_execs', () => {
  assert.deepEqual(withUmask(['redis-server', '--dir', '/x y'], 0o077), ['/bin/sh', '-c', 'umask 077 && exec "$@"', 'sh', 'redis-server', '--dir', '/x y']);
  assert.deepEqual(withUmask(['a'], undefined), ['a']);
  assert.throws(() => withUmask(['a'], 0o1000), RangeError);
  assert.throws(() => withUmask(['a'], -1), RangeError);
});
