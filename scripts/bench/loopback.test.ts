// The loopback benches' Redis helpers (loopback.ts): reading INFO's answer, and the bench's
// own redis-server on 127.0.0.1, counted and stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bulkComplete, infoField, redisCommand, startBenchRedis } from './loopback.js';

test('info_field_reads_a_counter_of_an_info_answer', () => {
  const info = '$60\r\n# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:42\r\n\r\n';
  assert.equal(infoField(info, 'total_commands_processed'), 42);
  assert.equal(infoField(info, 'total_connections_received'), 3);
  assert.equal(infoField(info, 'missing_field'), undefined);
});

test('bulk_complete_waits_for_the_announced_length', () => {
  assert.equal(bulkComplete('$5\r\nhel'), false);
  assert.equal(bulkComplete('$5\r\nhello'), false);
  assert.equal(bulkComplete('$5\r\nhello\r\n'), true);
  assert.equal(bulkComplete('$-1\r\n'), true);
  assert.equal(bulkComplete('-ERR unknown\r\n'), true);
  assert.equal(bulkComplete('$1'), false);
});

test('bench_redis_counts_commands_and_is_gone_after_stop', async () => {
  const children = new Set<ChildProcess>();
  const redis = await startBenchRedis(children);
  try {
    assert.equal(children.size, 1);
    const before = await redis.commands();
    assert.ok(before !== undefined);
    for (let i = 0; i < 3; i++) assert.equal(await redisCommand(redis.port, 'PING', (a) => a.includes('\r\n')), '+PONG\r\n');
    const after = await redis.commands();
    // The three PINGs and the first INFO.
    assert.equal(after! - before!, 4);
  } finally {
    await redis.stop();
  }
  assert.equal(children.size, 0);
  assert.notEqual(redis.child.exitCode ?? redis.child.signalCode, null);
  assert.equal(await redisCommand(redis.port, 'PING', (a) => a.includes('\r\n')), undefined);
  assert.equal(existsSync(`/proc/${redis.child.pid}`) && redis.child.exitCode === null, false);
});
