import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { sniffStream } from './sniff.js';

function pair(): { stream: Duplex; input: PassThrough } {
  const input = new PassThrough();
  const stream = Duplex.from({ readable: input, writable: new PassThrough() });
  return { stream, input };
}

async function readSome(stream: Duplex, n: number): Promise<string> {
  let got = '';
  for await (const c of stream) {
    got += (c as Buffer).toString('latin1');
    if (got.length >= n) break;
  }
  return got;
}

test('sniffed_bytes_are_put_back_for_the_server', async () => {
  const { stream, input } = pair();
  const sniffed = sniffStream(stream, { maxBytes: 1024, timeoutMs: 5000 });
  input.write('GET / HT');
  input.write('TP/1.1\r\nHost: x\r\n\r\n');
  const r = await sniffed;
  assert.equal(r.protocol, 'http1');
  assert.equal(await readSome(stream, 27), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
});

test('silent_client_is_tcp_after_the_sniff_timeout', async () => {
  const { stream } = pair();
  assert.equal((await sniffStream(stream, { maxBytes: 1024, timeoutMs: 10 })).protocol, 'tcp');
});

test('client_that_ends_before_telling_is_tcp_with_its_bytes_handed_over', async () => {
  const { stream, input } = pair();
  const sniffed = sniffStream(stream, { maxBytes: 1024, timeoutMs: 5000 });
  input.end('GE');
  const r = await sniffed;
  assert.equal(r.protocol, 'tcp');
  assert.equal(r.head.toString(), 'GE');
});

test('sniff_stops_at_the_size_bound', async () => {
  const { stream, input } = pair();
  const sniffed = sniffStream(stream, { maxBytes: 16, timeoutMs: 5000 });
  input.write(`GET /${'a'.repeat(40)}`);
  assert.equal((await sniffed).protocol, 'http1');
});
