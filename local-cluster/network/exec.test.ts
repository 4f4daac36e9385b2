import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNetworkError } from './errors.js';
import { commandLine, runChecked, runCommand } from './exec.js';

const node = process.execPath;

test('run_command_feeds_stdin_and_returns_output_and_exit_code', async () => {
  const r = await runCommand(node, ['-e', 'process.stdin.pipe(process.stdout); process.stdin.on("end", () => process.exit(3))'], { input: 'hello' });
  assert.equal(r.stdout, 'hello');
  assert.equal(r.code, 3);
});

test('run_command_passes_exactly_the_given_environment', async () => {
  const r = await runCommand(node, ['-e', 'process.stdout.write(JSON.stringify(Object.keys(process.env).filter(k => k.startsWith("CNI_"))))'], {
    env: { CNI_COMMAND: 'ADD', PATH: '/usr/bin:/bin' },
  });
  assert.deepEqual(JSON.parse(r.stdout), ['CNI_COMMAND']);
});

test('run_command_times_out_and_kills', async () => {
  const started = Date.now();
  await assert.rejects(runCommand(node, ['-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 300 }), (e: unknown) => isNetworkError(e) && /timed out after 300 ms/.test((e as Error).message));
  assert.ok(Date.now() - started < 5000);
});

test('run_command_rejects_when_the_program_is_missing', async () => {
  await assert.rejects(runCommand('/nonexistent/prog', []), (e: unknown) => isNetworkError(e) && /could not start/.test((e as Error).message));
});

test('run_checked_names_the_command_and_its_stderr', async () => {
  await assert.rejects(runChecked(node, ['-e', 'console.error("nope"); process.exit(2)']), (e: unknown) => isNetworkError(e) && /failed \(exit 2\): nope/.test((e as Error).message));
});

test('command_line_quotes_arguments_with_spaces', () => {
  assert.equal(commandLine('ip', ['netns', 'exec', 'a b']), 'ip netns exec "a b"');
});
