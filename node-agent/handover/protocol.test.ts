import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, HEADER_BYTES, parseMessage, type HandoverMessage } from './protocol.js';

/** Feeds a frame to a decoder in reads of at most `chunk` bytes, as channel.ts does (never past wanted()). */
function feed(d: FrameDecoder, bytes: Buffer, fds: number[], chunk = 1 << 20) {
  let off = 0;
  let out;
  while (off < bytes.length) {
    const n = Math.min(chunk, d.wanted(), bytes.length - off);
    out = d.push(bytes.subarray(off, off + n), off === 0 ? fds : []);
    off += n;
  }
  return out;
}

const sockets: HandoverMessage = { t: 'sockets', owner: { kind: 'pod', uid: 'u1', netnsPath: '/var/run/netns/p1' }, sockets: [{ proto: 'tcp', host: '127.0.0.1', port: 15001 }, { proto: 'udp', host: '127.0.0.1', port: 15053 }] };

test('frame_round_trips_with_its_descriptors', () => {
  const d = new FrameDecoder();
  const f = feed(d, encodeFrame(sockets, 2), [7, 8]);
  assert.deepEqual(f, { message: sockets, fds: [7, 8] });
  assert.equal(d.wanted(), HEADER_BYTES, 'ready for the next frame');
});

test('frame_reassembles_from_one_byte_reads', () => {
  const d = new FrameDecoder();
  const f = feed(d, encodeFrame({ t: 'hello', node: 'node1' }), [], 1);
  assert.deepEqual(f?.message, { t: 'hello', node: 'node1' });
});

test('frame_reader_never_asks_past_the_current_frame', () => {
  const d = new FrameDecoder();
  const frame = encodeFrame({ t: 'end', pods: 3 });
  d.push(frame.subarray(0, HEADER_BYTES));
  assert.equal(d.wanted(), frame.length - HEADER_BYTES);
  assert.throws(() => d.push(Buffer.alloc(frame.length)), /wanted/);
});

test('frame_with_fewer_descriptors_than_announced_is_refused_and_the_arrived_ones_returned', () => {
  const d = new FrameDecoder();
  assert.throws(() => feed(d, encodeFrame(sockets, 2), [7]), /announces 2 descriptors and 1 arrived/);
  assert.deepEqual(d.drain(), [7]);
});

test('sockets_message_whose_descriptors_do_not_match_its_list_is_refused', () => {
  const d = new FrameDecoder();
  const one: HandoverMessage = { ...sockets, sockets: [{ proto: 'tcp', host: '127.0.0.1', port: 15001 }] } as HandoverMessage;
  assert.throws(() => feed(d, encodeFrame(one, 2), [7, 8]), /came with 2 descriptors/);
  assert.deepEqual(d.drain(), [7, 8], 'the caller closes them');
});

test('frame_with_wrong_magic_is_refused', () => {
  const d = new FrameDecoder();
  const bad = encodeFrame({ t: 'released' });
  bad.writeUInt16BE(0x4745, 0); // "GE"T ...
  assert.throws(() => feed(d, bad, []), /not a handover frame/);
});

test('frame_of_another_version_is_refused', () => {
  const bad = encodeFrame({ t: 'released' });
  bad.writeUInt8(2, 2);
  assert.throws(() => feed(new FrameDecoder(), bad, []), /version 2/);
});

test('oversized_frame_is_refused_before_its_body_is_read', () => {
  const bad = encodeFrame({ t: 'released' });
  bad.writeUInt32BE(64 * 1024 * 1024, 4);
  assert.throws(() => new FrameDecoder().push(bad.subarray(0, HEADER_BYTES)), /a frame of 67108864 bytes/);
});

test('frame_body_that_is_not_json_is_refused', () => {
  const bad = encodeFrame({ t: 'released' });
  bad.write('{{{{', HEADER_BYTES);
  assert.throws(() => feed(new FrameDecoder(), bad, []), /not JSON/);
});

test('descriptors_in_the_middle_of_a_frame_are_refused', () => {
  const d = new FrameDecoder();
  const f = encodeFrame({ t: 'hello', node: 'n' });
  d.push(f.subarray(0, HEADER_BYTES));
  assert.throws(() => d.push(f.subarray(HEADER_BYTES), [9]), /middle of a frame/);
  assert.deepEqual(d.drain(), [9]);
});

test('message_of_unknown_type_is_refused', () => {
  assert.throws(() => parseMessage({ t: 'rm -rf' }), /unknown message type/);
  assert.throws(() => parseMessage([1]), /not an object/);
});

test('sockets_message_fields_are_checked', () => {
  const ok = { t: 'sockets', owner: { kind: 'pod', uid: 'u', netnsPath: '/n' }, sockets: [{ proto: 'tcp', host: '::', port: 15008 }] };
  assert.deepEqual(parseMessage(ok), ok);
  assert.throws(() => parseMessage({ ...ok, owner: { kind: 'pod', uid: 'u', netnsPath: 'relative' } }), /absolute path/);
  assert.throws(() => parseMessage({ ...ok, sockets: [{ proto: 'sctp', host: '::', port: 1 }] }), /tcp or udp/);
  assert.throws(() => parseMessage({ ...ok, sockets: [{ proto: 'tcp', host: 'example.com', port: 1 }] }), /IP literal/);
  assert.throws(() => parseMessage({ ...ok, sockets: [{ proto: 'tcp', host: '::', port: 70000 }] }), /0-65535/);
  assert.throws(() => parseMessage({ ...ok, sockets: [] }), /1-253 sockets/);
  assert.throws(() => parseMessage({ t: 'sockets', owner: { kind: 'node' }, sockets: [{ proto: 'tcp', host: '127.0.0.1', port: 15000 }] }), /role/);
});

test('taken_over_lists_uids', () => {
  assert.deepEqual(parseMessage({ t: 'taken-over', adopted: ['a', 'b'] }), { t: 'taken-over', adopted: ['a', 'b'] });
  assert.throws(() => parseMessage({ t: 'taken-over', adopted: [1] }), /pod uids/);
});
