import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { ReplayableBody } from './replay-body.js';

async function readAll(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts).toString();
}

test('each_try_reads_the_whole_body', async () => {
  const b = new ReplayableBody(Readable.from([Buffer.from('hel'), Buffer.from('lo')]), 1024);
  assert.equal(await readAll(b.next()), 'hello');
  assert.equal(b.replayable, true);
  assert.equal(await readAll(b.next()), 'hello');
  assert.equal(await readAll(b.next()), 'hello');
});

test('an_empty_body_replays_as_empty', async () => {
  const b = new ReplayableBody(Readable.from([]), 1024);
  assert.equal(await readAll(b.next()), '');
  assert.equal(await readAll(b.next()), '');
});

test('a_retry_mid_body_replays_what_was_read_then_continues', async () => {
  const src = new PassThrough();
  const b = new ReplayableBody(src, 1024);
  const first = b.next();
  src.write('abc');
  await new Promise((r) => first.once('data', r));
  const second = b.next();
  assert.equal(first.destroyed, true);
  src.end('def');
  assert.equal(await readAll(second), 'abcdef');
});

test('a_body_larger_than_the_buffer_is_not_replayable', async () => {
  const b = new ReplayableBody(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), 1000);
  assert.equal((await readAll(b.next())).length, 1200, 'the first try still gets all of it');
  assert.equal(b.replayable, false);
});

test('a_failed_client_body_is_not_replayable', async () => {
  const src = new PassThrough();
  const b = new ReplayableBody(src, 1000);
  const s = b.next();
  s.on('error', () => undefined);
  src.destroy(new Error('client went away'));
  await new Promise((r) => setImmediate(r));
  assert.equal(b.replayable, false);
});
