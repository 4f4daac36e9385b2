import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { PassThrough, Writable } from 'node:stream';
import { relayBody } from './body-relay.js';

/** A writable that keeps what it got; `full` makes write() ask for a drain. */
function sink(o: { highWaterMark?: number; slow?: boolean } = {}) {
  const got: Buffer[] = [];
  const pending: Array<() => void> = [];
  const w = new Writable({
    highWaterMark: o.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      if (o.slow) pending.push(cb);
      else cb();
    },
  });
  return { w, got, release: () => pending.splice(0).forEach((cb) => cb()) };
}

test('relay_moves_every_chunk_counts_bytes_and_ends_the_destination', async () => {
  const src = new PassThrough();
  const { w, got } = sink();
  let n = 0;
  relayBody(src, w, (b) => (n += b));
  src.write('abc');
  src.end(Buffer.from('defg'));
  await once(w, 'finish');
  assert.equal(Buffer.concat(got).toString(), 'abcdefg');
  assert.equal(n, 7);
});

test('relay_with_end_false_leaves_the_destination_open', async () => {
  const src = new PassThrough();
  const { w, got } = sink();
  relayBody(src, w, () => {}, false);
  src.end('body');
  await once(src, 'end');
  await new Promise((r) => setImmediate(r));
  assert.equal(w.writableEnded, false);
  assert.equal(Buffer.concat(got).toString(), 'body');
});

test('relay_pauses_the_source_while_the_destination_is_full_and_resumes_on_drain', async () => {
  const src = new PassThrough();
  const { w, got, release } = sink({ highWaterMark: 4, slow: true });
  relayBody(src, w, () => {});
  src.write('12345678');
  await new Promise((r) => setImmediate(r));
  assert.equal(src.isPaused(), true, 'paused while the destination asks for a drain');
  src.write('more');
  release();
  await new Promise((r) => setImmediate(r));
  release();
  await new Promise((r) => setImmediate(r));
  release();
  assert.equal(Buffer.concat(got).toString(), '12345678more');
});

test('relay_stops_writing_to_a_closed_destination_but_keeps_counting', async () => {
  const src = new PassThrough();
  const { w, got } = sink();
  let n = 0;
  relayBody(src, w, (b) => (n += b));
  src.write('one');
  await new Promise((r) => setImmediate(r));
  w.destroy();
  await once(w, 'close');
  src.end('two');
  await once(src, 'end');
  assert.equal(Buffer.concat(got).toString(), 'one');
  assert.equal(n, 6, 'the body is still read and counted');
});

test('relay_stop_ends_writing_and_resumes_a_paused_source', async () => {
  const src = new PassThrough();
  const { w, got } = sink({ highWaterMark: 2, slow: true });
  let n = 0;
  const stop = relayBody(src, w, (b) => (n += b));
  src.write('abcd');
  await new Promise((r) => setImmediate(r));
  assert.equal(src.isPaused(), true);
  stop();
  src.end('ef');
  await once(src, 'end');
  assert.equal(Buffer.concat(got).toString(), 'abcd', 'nothing written after stop');
  assert.equal(n, 6);
  assert.equal(w.writableEnded, false, 'a stopped relay does not end the destination');
});
