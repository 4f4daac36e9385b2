import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildQuery, buildResponse, decodeAddress, encodeName, frameTcp, ipv6Bytes, parseMessage, parseQuery,
  QTYPE, RCODE, readName, sameQuestion, TcpFrameReader,
} from './codec.js';

test('query round trip: id, RD, question echoed verbatim (case kept), EDNS0 size', () => {
  const q = parseQuery(buildQuery(0x1234, 'ReViews.default.svc.cluster.local.', QTYPE.A, { ednsUdpSize: 1232 }));
  assert.ok(q.ok);
  assert.equal(q.value.id, 0x1234);
  assert.equal(q.value.rd, true);
  assert.deepEqual(q.value.question, { name: 'ReViews.default.svc.cluster.local', type: QTYPE.A, class: 1 });
  assert.equal(q.value.edns?.udpSize, 1232);
  assert.equal(q.value.edns?.version, 0);
});

test('response round trip: A and AAAA answers named by pointer, flags, TTL, OPT', () => {
  const q = parseQuery(buildQuery(7, 'a.b', QTYPE.AAAA, { ednsUdpSize: 4096 }));
  assert.ok(q.ok);
  const { packet, truncated } = buildResponse({
    id: 7, rd: true, aa: true, rcode: RCODE.NOERROR, questionWire: q.value.questionWire, ednsUdpSize: 1232,
    answers: [{ type: QTYPE.AAAA, ttl: 30, address: 'fd00::1' }, { type: QTYPE.A, ttl: 5, address: '10.96.0.1' }],
  });
  assert.equal(truncated, false);
  const m = parseMessage(packet);
  assert.ok(m.ok);
  const h = m.value.header;
  assert.deepEqual([h.qr, h.aa, h.ra, h.rd, h.tc, h.rcode, h.id], [true, true, true, true, false, 0, 7]);
  assert.equal(m.value.answers.length, 2);
  assert.equal(m.value.answers[0]!.name, 'a.b');
  assert.equal(decodeAddress(QTYPE.AAAA, m.value.answers[0]!.data), 'fd00:0:0:0:0:0:0:1');
  assert.equal(m.value.answers[0]!.ttl, 30);
  assert.equal(decodeAddress(QTYPE.A, m.value.answers[1]!.data), '10.96.0.1');
  assert.equal(m.value.edns?.udpSize, 1232);
  assert.ok(sameQuestion(packet, q.value.questionWire));
});

test('NXDOMAIN and SERVFAIL responses carry the rcode and the question', () => {
  const q = parseQuery(buildQuery(9, 'x.y', QTYPE.A));
  assert.ok(q.ok);
  for (const rcode of [RCODE.NXDOMAIN, RCODE.SERVFAIL]) {
    const m = parseMessage(buildResponse({ id: 9, rcode, questionWire: q.value.questionWire }).packet);
    assert.ok(m.ok);
    assert.equal(m.value.header.rcode, rcode);
    assert.equal(m.value.questions[0]!.name, 'x.y');
    assert.equal(m.value.edns, undefined);
  }
});

test('BADVERS puts the upper rcode bits into OPT', () => {
  const m = parseMessage(buildResponse({ id: 1, rcode: RCODE.BADVERS, ednsUdpSize: 1232 }).packet);
  assert.ok(m.ok);
  assert.equal(m.value.header.rcode, 0);
  assert.equal(m.value.edns?.extendedRcode, 1);
});

test('compression pointers are followed', () => {
  // header | question "www.example.com" | answer named "mail" + pointer to "example.com"
  const q = buildQuery(1, 'www.example.com', QTYPE.A);
  const rr = Buffer.concat([Buffer.from([4, ...Buffer.from('mail'), 0xc0, 16]), Buffer.from([0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 1, 2, 3, 4])]);
  const msg = Buffer.concat([q, rr]);
  msg.writeUInt16BE(0x8180, 2);
  msg.writeUInt16BE(1, 6);
  const m = parseMessage(msg);
  assert.ok(m.ok, JSON.stringify(m));
  assert.equal(m.value.answers[0]!.name, 'mail.example.com');
  assert.equal(decodeAddress(QTYPE.A, m.value.answers[0]!.data), '1.2.3.4');
});

test('pointer loops, forward pointers and self-pointers are rejected', () => {
  const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const self = Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  const fwd = Buffer.concat([header, Buffer.from([0xc0, 14, 0, 0, 1, 0, 1])]);
  const loop = Buffer.concat([header, Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])]);
  for (const b of [self, fwd, loop]) {
    const r = parseQuery(b);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.id, 1);
  }
  // a two-pointer ping-pong inside a record
  const pingpong = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0xc0, 12]);
  assert.equal(readName(pingpong, 14).ok, false);
});

test('malformed input gives a typed failure, never an exception', () => {
  const good = buildQuery(5, 'reviews.default', QTYPE.A, { ednsUdpSize: 1232 });
  const cases: Buffer[] = [Buffer.alloc(0), Buffer.alloc(5), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])])];
  for (let i = 0; i < good.length; i++) cases.push(good.subarray(0, i));
  const lengthy = Buffer.from(good); lengthy[12] = 200; cases.push(lengthy);
  const label = Buffer.from(good); label[12] = 0x80; cases.push(label);
  const counts = Buffer.from(good); counts.writeUInt16BE(0xffff, 6); cases.push(counts);
  const two = Buffer.from(good); two.writeUInt16BE(2, 4); cases.push(two);
  const resp = Buffer.from(good); resp[2]! |= 0x80; cases.push(resp);
  const opcode = Buffer.from(good); opcode[2] = (opcode[2]! & 0x87) | (2 << 3); cases.push(opcode);
  for (let seed = 1; seed < 2000; seed++) {
    const b = Buffer.from(good);
    b[(seed * 7919) % b.length] = (seed * 31) & 0xff;
    cases.push(b);
  }
  for (const c of cases) assert.doesNotThrow(() => parseQuery(c));
  for (const c of cases.slice(0, 12)) assert.equal(parseQuery(c).ok, false);
  const op = parseQuery(opcode);
  assert.ok(!op.ok && op.rcode === RCODE.NOTIMP);
  const r = parseQuery(resp);
  assert.ok(!r.ok && r.id === undefined, 'responses are dropped, not answered');
});

test('names longer than 255 octets are rejected', () => {
  const labels = Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.');
  assert.throws(() => encodeName(labels));
  const wire = Buffer.concat([Buffer.alloc(12), ...Array.from({ length: 5 }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)])), Buffer.from([0])]);
  assert.equal(readName(wire, 12).ok, false);
});

test('UDP truncation: over the limit drops the answers and sets TC', () => {
  const q = parseQuery(buildQuery(3, 'big.ns.svc.cluster.local', QTYPE.A));
  assert.ok(q.ok);
  const answers = Array.from({ length: 40 }, (_, i) => ({ type: QTYPE.A, ttl: 30, address: `10.244.0.${i + 1}` }) as const);
  const small = buildResponse({ id: 3, rcode: 0, questionWire: q.value.questionWire, answers, maxBytes: 512 });
  assert.equal(small.truncated, true);
  assert.ok(small.packet.length <= 512);
  const m = parseMessage(small.packet);
  assert.ok(m.ok);
  assert.equal(m.value.header.tc, true);
  assert.equal(m.value.answers.length, 0);
  const big = buildResponse({ id: 3, rcode: 0, questionWire: q.value.questionWire, answers, maxBytes: 1232 });
  assert.equal(big.truncated, false);
  const mb = parseMessage(big.packet);
  assert.ok(mb.ok);
  assert.equal(mb.value.answers.length, 40);
});

test('IPv6 addresses encode in every spelling', () => {
  assert.equal(ipv6Bytes('::1')!.toString('hex'), '00000000000000000000000000000001');
  assert.equal(ipv6Bytes('fd00:10:96::a')!.toString('hex'), 'fd000010009600000000000000000000'.slice(0, 28) + '000a');
  assert.equal(ipv6Bytes('::ffff:10.0.0.1')!.toString('hex'), '00000000000000000000ffff0a000001');
  assert.equal(ipv6Bytes('1:2:3:4:5:6:7:8')!.toString('hex'), '00010002000300040005000600070008');
  assert.equal(ipv6Bytes('10.0.0.1'), undefined);
});

test('TCP framing: split, coalesced, zero-length', () => {
  const a = buildQuery(1, 'a', QTYPE.A);
  const b = buildQuery(2, 'bb', QTYPE.A);
  const stream = Buffer.concat([frameTcp(a), frameTcp(b)]);
  const r = new TcpFrameReader();
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 3) out.push(...r.push(stream.subarray(i, i + 3)).frames);
  assert.deepEqual(out, [a, b]);
  assert.equal(r.buffered, 0);
  assert.deepEqual(new TcpFrameReader().push(stream).frames, [a, b]);
  assert.ok(new TcpFrameReader().push(Buffer.from([0, 0, 1])).error);
});
