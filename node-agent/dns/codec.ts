// DNS wire format (RFC 1035, EDNS0 from RFC 6891, TCP framing from RFC 7766): just what
// the node agent's DNS proxy needs. Pure: buffers in, values out.
//
// Parsing is bounded and total: every read is checked against the buffer, names are at
// most 255 octets, compression pointers must point strictly backwards (so a pointer loop
// cannot exist) and are followed at most MAX_POINTER_HOPS times, and record counts are
// limited by the bytes actually present. Malformed input gives `{ ok: false }`, never an
// exception.

import net from 'node:net';

export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const QCLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

/** Classic DNS over UDP: the largest message without EDNS0 (RFC 1035 4.2.1). */
export const CLASSIC_UDP_MAX = 512;
/** Largest DNS message at all (TCP's two-byte length prefix). */
export const MAX_MESSAGE = 65535;
const HEADER_LEN = 12;
const MAX_NAME_OCTETS = 255;
const MAX_POINTER_HOPS = 64;

export interface Header {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  /** The header's 4-bit RCODE (the OPT record holds the upper bits). */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface Question {
  /** Presentation form without the trailing dot, case as sent; bytes outside printable
   * ASCII, '.' and '\' inside a label are escaped (`\DDD`, `\.`). The root is ''. */
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
}

export interface Edns {
  /** Requestor's UDP payload size, as sent (RFC 6891: values below 512 mean 512). */
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** Upper 8 bits of the extended RCODE. */
  extendedRcode: number;
}

export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
  edns?: Edns;
}

export interface Query {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  question: Question;
  /** The question section exactly as sent (name, type, class): echoed in the answer so the
   * client's case (0x20 randomisation) is preserved. */
  questionWire: Buffer;
  edns?: Edns;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; id?: number; rcode?: number };

const fail = (error: string, id?: number, rcode?: number): { ok: false; error: string; id?: number; rcode?: number } => {
  const r: { ok: false; error: string; id?: number; rcode?: number } = { ok: false, error };
  if (id !== undefined) r.id = id;
  if (rcode !== undefined) r.rcode = rcode;
  return r;
};

export function parseHeader(buf: Uint8Array): Parsed<Header> {
  if (buf.length < HEADER_LEN) return fail('message shorter than a header');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const flags = b.readUInt16BE(2);
  return {
    ok: true,
    value: {
      id: b.readUInt16BE(0),
      qr: (flags & 0x8000) !== 0,
      opcode: (flags >> 11) & 0xf,
      aa: (flags & 0x0400) !== 0,
      tc: (flags & 0x0200) !== 0,
      rd: (flags & 0x0100) !== 0,
      ra: (flags & 0x0080) !== 0,
      ad: (flags & 0x0020) !== 0,
      cd: (flags & 0x0010) !== 0,
      rcode: flags & 0xf,
      qdcount: b.readUInt16BE(4),
      ancount: b.readUInt16BE(6),
      nscount: b.readUInt16BE(8),
      arcount: b.readUInt16BE(10),
    },
  };
}

/** Reads a (possibly compressed) name at `offset`; `end` is where the name's bytes end at
 * that position (after the first pointer, if any). */
export function readName(buf: Buffer, offset: number): Parsed<{ name: string; end: number }> {
  const labels: string[] = [];
  let pos = offset;
  let segmentStart = offset;
  let end = -1;
  let octets = 0;
  let hops = 0;
  for (;;) {
    if (pos >= buf.length) return fail('name runs past the end of the message');
    const len = buf[pos]!;
    if (len === 0) {
      octets += 1;
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return fail('compression pointer runs past the end of the message');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      // Strictly backwards from where this stretch of the name started: every hop moves
      // to a smaller offset, so the walk ends (no loops, no self-reference).
      if (target >= segmentStart) return fail('compression pointer does not point backwards');
      if (++hops > MAX_POINTER_HOPS) return fail('too many compression pointers');
      if (end < 0) end = pos + 2;
      pos = target;
      segmentStart = target;
      continue;
    }
    if (kind !== 0) return fail('unsupported label type');
    if (pos + 1 + len > buf.length) return fail('label runs past the end of the message');
    octets += 1 + len;
    if (octets > MAX_NAME_OCTETS) return fail('name longer than 255 octets');
    labels.push(labelText(buf, pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  if (octets > MAX_NAME_OCTETS) return fail('name longer than 255 octets');
  return { ok: true, value: { name: labels.join('.'), end } };
}

function labelText(buf: Buffer, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s;
}

/** Wire form of a name in plain presentation form (no escapes; a trailing dot is allowed). */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  let total = 1;
  for (const label of trimmed.split('.')) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`invalid DNS label in ${JSON.stringify(name)}`);
    parts.push(Buffer.from([bytes.length]), bytes);
    total += 1 + bytes.length;
  }
  if (total > MAX_NAME_OCTETS) throw new RangeError(`DNS name longer than 255 octets: ${name}`);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function readRecord(buf: Buffer, offset: number): Parsed<{ rr: ResourceRecord; end: number }> {
  const n = readName(buf, offset);
  if (!n.ok) return n;
  const p = n.value.end;
  if (p + 10 > buf.length) return fail('record header runs past the end of the message');
  const rdlen = buf.readUInt16BE(p + 8);
  if (p + 10 + rdlen > buf.length) return fail('record data runs past the end of the message');
  return {
    ok: true,
    value: {
      rr: {
        name: n.value.name,
        type: buf.readUInt16BE(p),
        class: buf.readUInt16BE(p + 2),
        ttl: buf.readUInt32BE(p + 4),
        data: buf.subarray(p + 10, p + 10 + rdlen),
      },
      end: p + 10 + rdlen,
    },
  };
}

/** Parses any DNS message (query or response). */
export function parseMessage(input: Uint8Array): Parsed<Message> {
  if (input.length > MAX_MESSAGE) return fail('message longer than 65535 bytes');
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const h = parseHeader(buf);
  if (!h.ok) return h;
  const header = h.value;
  const id = header.id;
  // Each question takes at least 5 bytes and each record 11: a count that cannot fit is
  // rejected before any work.
  const rrCount = header.ancount + header.nscount + header.arcount;
  if (HEADER_LEN + header.qdcount * 5 + rrCount * 11 > buf.length) return fail('section counts exceed the message', id, RCODE.FORMERR);
  let pos = HEADER_LEN;
  const questions: Question[] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const n = readName(buf, pos);
    if (!n.ok) return fail(n.error, id, RCODE.FORMERR);
    if (n.value.end + 4 > buf.length) return fail('question runs past the end of the message', id, RCODE.FORMERR);
    questions.push({ name: n.value.name, type: buf.readUInt16BE(n.value.end), class: buf.readUInt16BE(n.value.end + 2) });
    pos = n.value.end + 4;
  }
  const sections: ResourceRecord[][] = [[], [], []];
  const counts = [header.ancount, header.nscount, header.arcount];
  let edns: Edns | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const r = readRecord(buf, pos);
      if (!r.ok) return fail(r.error, id, RCODE.FORMERR);
      pos = r.value.end;
      const rr = r.value.rr;
      if (rr.type === QTYPE.OPT) {
        if (s !== 2 || rr.name !== '' || edns !== undefined) return fail('misplaced or repeated OPT record', id, RCODE.FORMERR);
        edns = { udpSize: rr.class, extendedRcode: rr.ttl >>> 24, version: (rr.ttl >>> 16) & 0xff, dnssecOk: (rr.ttl & 0x8000) !== 0 };
      }
      sections[s]!.push(rr);
    }
  }
  if (pos !== buf.length) return fail('trailing bytes after the last record', id, RCODE.FORMERR);
  const message: Message = { header, questions, answers: sections[0]!, authorities: sections[1]!, additionals: sections[2]! };
  if (edns !== undefined) message.edns = edns;
  return { ok: true, value: message };
}

/** Parses a query the proxy may answer: QR=0, one question. Failures carry the id (when the
 * header was readable) and the RCODE to answer with (FORMERR, NOTIMP); no id means drop. */
export function parseQuery(input: Uint8Array): Parsed<Query> {
  const m = parseMessage(input);
  if (!m.ok) return m;
  const { header, questions, edns } = m.value;
  if (header.qr) return fail('not a query (QR is set)');
  if (header.opcode !== 0) return fail(`unsupported opcode ${header.opcode}`, header.id, RCODE.NOTIMP);
  if (questions.length !== 1) return fail(`expected one question, got ${questions.length}`, header.id, RCODE.FORMERR);
  if (header.ancount !== 0 || header.nscount !== 0) return fail('query carries answer or authority records', header.id, RCODE.FORMERR);
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  // The question name of a well-formed query starts at 12 and is never compressed (there
  // is nothing before it to point to), so its wire form is the bytes up to its end + 4.
  const n = readName(buf, HEADER_LEN);
  if (!n.ok) return fail(n.error, header.id, RCODE.FORMERR);
  const query: Query = {
    id: header.id,
    opcode: header.opcode,
    rd: header.rd,
    cd: header.cd,
    question: questions[0]!,
    questionWire: Buffer.from(buf.subarray(HEADER_LEN, n.value.end + 4)),
  };
  if (edns !== undefined) query.edns = edns;
  return { ok: true, value: query };
}

export interface AddressRecord {
  type: typeof QTYPE.A | typeof QTYPE.AAAA;
  ttl: number;
  address: string;
}

export interface ResponseSpec {
  id: number;
  opcode?: number;
  rd?: boolean;
  cd?: boolean;
  /** Authoritative answer: set for names the mesh answers itself. */
  aa?: boolean;
  /** Up to 12 bits; the upper 8 go into the OPT record, so BADVERS needs `edns`. */
  rcode: number;
  /** The question section to echo (Query.questionWire); absent for FORMERR without a
   * readable question. Answers are named by a pointer to it. */
  questionWire?: Buffer;
  answers?: readonly AddressRecord[];
  /** Include an OPT record advertising this UDP payload size (when the query had one). */
  ednsUdpSize?: number;
  /** Largest message the client accepts (512 for UDP without EDNS0): when the answer is
   * larger its records are dropped and TC is set, so the client retries over TCP. */
  maxBytes?: number;
}

/** Builds a response. RA is set (the proxy recurses for the client through its upstream);
 * RD and CD are echoed from the query. */
export function buildResponse(spec: ResponseSpec): { packet: Buffer; truncated: boolean } {
  const full = encodeResponse(spec, spec.answers ?? [], false);
  const max = spec.maxBytes ?? MAX_MESSAGE;
  if (full.length <= max) return { packet: full, truncated: false };
  return { packet: encodeResponse(spec, [], true), truncated: true };
}

function encodeResponse(spec: ResponseSpec, answers: readonly AddressRecord[], tc: boolean): Buffer {
  if (spec.questionWire === undefined && answers.length > 0) throw new RangeError('answers need the question they answer');
  const header = Buffer.alloc(HEADER_LEN);
  header.writeUInt16BE(spec.id & 0xffff, 0);
  let flags = 0x8000 | ((spec.opcode ?? 0) & 0xf) << 11 | 0x0080 | (spec.rcode & 0xf);
  if (spec.aa === true) flags |= 0x0400;
  if (tc) flags |= 0x0200;
  if (spec.rd === true) flags |= 0x0100;
  if (spec.cd === true) flags |= 0x0010;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(spec.questionWire === undefined ? 0 : 1, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(spec.ednsUdpSize === undefined ? 0 : 1, 10);
  const parts: Buffer[] = [header];
  if (spec.questionWire !== undefined) parts.push(spec.questionWire);
  for (const a of answers) {
    const data = addressBytes(a);
    const rr = Buffer.alloc(12 + data.length);
    rr.writeUInt16BE(0xc000 | HEADER_LEN, 0); // the question's name
    rr.writeUInt16BE(a.type, 2);
    rr.writeUInt16BE(QCLASS_IN, 4);
    rr.writeUInt32BE(Math.max(0, Math.min(0x7fffffff, Math.floor(a.ttl))), 6);
    rr.writeUInt16BE(data.length, 10);
    data.copy(rr, 12);
    parts.push(rr);
  }
  if (spec.ednsUdpSize !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt8(0, 0);
    opt.writeUInt16BE(QTYPE.OPT, 1);
    opt.writeUInt16BE(Math.max(CLASSIC_UDP_MAX, Math.min(MAX_MESSAGE, spec.ednsUdpSize)), 3);
    opt.writeUInt32BE(((spec.rcode >> 4) & 0xff) << 24, 5); // extended RCODE, version 0, DO clear
    opt.writeUInt16BE(0, 9);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

function addressBytes(a: AddressRecord): Buffer {
  if (a.type === QTYPE.A) {
    if (!net.isIPv4(a.address)) throw new RangeError(`not an IPv4 address: ${a.address}`);
    return Buffer.from(a.address.split('.').map(Number));
  }
  const bytes = ipv6Bytes(a.address);
  if (bytes === undefined) throw new RangeError(`not an IPv6 address: ${a.address}`);
  return bytes;
}

/** 16 bytes of an IPv6 address (`::`, embedded IPv4 allowed), or undefined. */
export function ipv6Bytes(ip: string): Buffer | undefined {
  if (!net.isIPv6(ip)) return undefined;
  let s = ip.split('%')[0]!;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4 !== null) {
    const o = v4.slice(1, 5).map(Number);
    s = s.slice(0, v4.index) + ((o[0]! << 8) | o[1]!).toString(16) + ':' + ((o[2]! << 8) | o[3]!).toString(16);
  }
  const halves = s.split('::');
  const parse = (x: string) => (x === '' ? [] : x.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length > 1 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The address in an A or AAAA record's data (for tests and logs). */
export function decodeAddress(type: number, data: Buffer): string | undefined {
  if (type === QTYPE.A && data.length === 4) return [...data].join('.');
  if (type === QTYPE.AAAA && data.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(data.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return undefined;
}

/** Builds a query (tests and health checks). */
export function buildQuery(id: number, name: string, type: number, opts: { rd?: boolean; ednsUdpSize?: number } = {}): Buffer {
  const header = Buffer.alloc(HEADER_LEN);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(opts.rd === false ? 0 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(opts.ednsUdpSize === undefined ? 0 : 1, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(QCLASS_IN, 2);
  const parts = [header, encodeName(name), q];
  if (opts.ednsUdpSize !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(QTYPE.OPT, 1);
    opt.writeUInt16BE(opts.ednsUdpSize, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

/** The same message with another id (forwarding remaps ids). */
export function withId(msg: Buffer, id: number): Buffer {
  const copy = Buffer.from(msg);
  if (copy.length >= 2) copy.writeUInt16BE(id & 0xffff, 0);
  return copy;
}

/** Whether two messages carry the same question section bytes, ignoring ASCII case.
 * Used to match an upstream response to the query it answers. */
export function sameQuestion(a: Buffer, qwire: Buffer): boolean {
  if (a.length < HEADER_LEN + qwire.length || a.readUInt16BE(4) !== 1) return false;
  for (let i = 0; i < qwire.length; i++) {
    const x = a[HEADER_LEN + i]!;
    const y = qwire[i]!;
    if (x !== y && lower(x) !== lower(y)) return false;
  }
  return true;
}

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

/** DNS over TCP: a two-byte length prefix. */
export function frameTcp(msg: Buffer): Buffer {
  if (msg.length > MAX_MESSAGE) throw new RangeError('DNS message longer than 65535 bytes');
  const out = Buffer.alloc(2 + msg.length);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

/** Splits a TCP byte stream into DNS messages. Holds at most one partial message
 * (< 65537 bytes). A zero-length frame is an error: the connection should be closed. */
export class TcpFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { frames: Buffer[]; error?: string } {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let pos = 0;
    while (this.pending.length - pos >= 2) {
      const len = this.pending.readUInt16BE(pos);
      if (len === 0) {
        this.pending = Buffer.alloc(0);
        return { frames, error: 'zero-length DNS message' };
      }
      if (this.pending.length - pos - 2 < len) break;
      frames.push(Buffer.from(this.pending.subarray(pos + 2, pos + 2 + len)));
      pos += 2 + len;
    }
    this.pending = Buffer.from(this.pending.subarray(pos));
    return { frames };
  }

  /** Bytes of an incomplete message held. */
  get buffered(): number {
    return this.pending.length;
  }
}
