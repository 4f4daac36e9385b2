// The node agent's command line as an operator meets it: a drain deadline that is not one
// is refused, naming the flag or the variable, before the agent touches the cluster.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function agent(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '', ...env } });
  return { code: r.status, stderr: r.stderr };
}

test('drain_deadline_flag_that_is_not_a_duration_is_refused_naming_the_flag', () => {
  const r = agent(['--node', 'n1', '--drain-deadline', '1x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--drain-deadline: "1x" is not a duration \(e\.g\. 30s, 10m, 2h, 1h30m, 500ms\)/);
});

test('drain_deadline_variable_longer_than_a_timer_waits_is_refused_naming_the_variable', () => {
  const r = agent(['--node', 'n1'], { AMBIENT_DRAIN_DEADLINE: '900h' });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'ambient-node-agent: AMBIENT_DRAIN_DEADLINE: "900h" is longer than 596h\n');
});
