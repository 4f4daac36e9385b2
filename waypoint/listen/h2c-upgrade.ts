// HTTP/2 over cleartext by upgrade from HTTP/1.1 (RFC 7540 section 3.2; RFC 9113 deprecated
// it, the mesh serves it because clients such as curl --http2 still use it). Pure: whether
// a request asks for it, and the bytes that make node:http2's server see the upgraded
// request as the client's stream 1.
//
// After its `101 Switching Protocols` the server speaks HTTP/2 and owes the answer to the
// HTTP/1.1 request on stream 1, which the client considers half-closed. node:http2 has no
// way to answer a stream it did not receive, so the request is given to it as if the
// client had sent it: right after the client's connection preface, the client's first
// SETTINGS frame (with the request's HTTP2-Settings values put first, which the server must
// apply as if sent in a SETTINGS frame; the client's own values, later in the frame, win,
// and there is one SETTINGS to acknowledge, as the client expects), then a HEADERS frame
// for stream 1 with END_STREAM, its header block in HPACK literals without indexing (so
// the client's own HPACK state is untouched). Only requests without a body are switched.
import type { IncomingHttpHeaders } from 'node:http';
import { H2_PREFACE } from './detect.js';

/** Bounds of what an upgrade carries (a SETTINGS payload is 6 bytes per setting). */
export const H2C_LIMITS = {
  /** HTTP2-Settings / the client's first SETTINGS: at most this many bytes of payload. */
  maxSettingsBytes: 6 * 64,
  /** Frame payloads we write (the default SETTINGS_MAX_FRAME_SIZE, RFC 9113 section 4.2). */
  maxFramePayload: 16_384,
} as const;

const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_ACK = 0x1;

function tokens(v: string | string[] | undefined): string[] {
  const all = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return all.flatMap((s) => s.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean);
}

/** The decoded HTTP2-Settings payload, when the request asks for h2c and may be switched:
 * `Upgrade: h2c`, `Connection` naming Upgrade and HTTP2-Settings, one valid HTTP2-Settings
 * (base64url of whole settings), and no body. Undefined otherwise (served as HTTP/1.1). */
export function h2cUpgradeSettings(headers: IncomingHttpHeaders): Buffer | undefined {
  if (!tokens(headers['upgrade']).includes('h2c')) return undefined;
  const conn = tokens(headers['connection']);
  if (!conn.includes('upgrade') || !conn.includes('http2-settings')) return undefined;
  if (requestHasBody(headers)) return undefined;
  const raw = headers['http2-settings'];
  if (typeof raw !== 'string') return undefined; // absent, or more than one
  const v = raw.trim();
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(v)) return undefined;
  const payload = Buffer.from(v.replace(/=+$/, ''), 'base64url');
  if (payload.length % 6 !== 0 || payload.length > H2C_LIMITS.maxSettingsBytes) return undefined;
  return payload;
}

/** Whether an HTTP/1.1 request head declares a body (RFC 9112 section 6.3). */
export function requestHasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const cl = headers['content-length'];
  return cl !== undefined && cl !== '0';
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'te']);

/** The upgraded request as HTTP/2 header fields: pseudo-headers first (RFC 9113 section
 * 8.3), then the fields minus the connection-specific ones; `rawHeaders` as node:http gives them. */
export function upgradedRequestFields(method: string, path: string, rawHeaders: readonly string[]): Array<[string, string]> {
  let authority = '';
  const named = new Set(tokens(rawHeaders.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'connection' ? [rawHeaders[i + 1]!] : []))));
  const rest: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name === 'host') authority ||= value;
    if (HOP_BY_HOP.has(name) || named.has(name)) {
      if (name === 'te' && tokens(value).includes('trailers')) rest.push(['te', 'trailers']);
      continue;
    }
    rest.push([name, value]);
  }
  return [[':method', method], [':scheme', 'http'], [':authority', authority], [':path', path], ...rest];
}

/** An HPACK integer with an N-bit prefix (RFC 7541 section 5.1); `first` holds the pattern bits. */
function hpackInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(hpackInteger(b.length, 7, 0)), b]);
}

/** A header block of literals without indexing, new names (RFC 7541 section 6.2.2). */
export function hpackLiterals(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value));
  return Buffer.concat(parts);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HEADERS (and CONTINUATION when the block is large) for stream 1 with END_STREAM. */
export function requestFrames(block: Buffer, maxPayload: number = H2C_LIMITS.maxFramePayload): Buffer {
  const out: Buffer[] = [];
  let off = 0;
  let first = true;
  do {
    const piece = block.subarray(off, off + maxPayload);
    off += piece.length;
    const last = off >= block.length;
    out.push(frame(first ? FRAME_HEADERS : FRAME_CONTINUATION, (first ? FLAG_END_STREAM : 0) | (last ? FLAG_END_HEADERS : 0), 1, piece));
    first = false;
  } while (off < block.length);
  return Buffer.concat(out);
}

export type PrefaceStep = { kind: 'more' } | { kind: 'bad'; reason: string } | { kind: 'done'; bytes: Buffer };

/**
 * The client's first bytes after the 101, rewritten: its preface, its first SETTINGS with
 * `settings` (HTTP2-Settings) first, `frames` (the upgraded request), then whatever else
 * came. `more` until the preface and that SETTINGS frame are all there.
 */
export function rewritePreface(buf: Buffer, settings: Buffer, frames: Buffer): PrefaceStep {
  const p = H2_PREFACE.length;
  const n = Math.min(buf.length, p);
  if (!buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return { kind: 'bad', reason: 'not the HTTP/2 connection preface' };
  if (buf.length < p + 9) return { kind: 'more' };
  const length = buf.readUIntBE(p, 3);
  const type = buf[p + 3]!;
  const flags = buf[p + 4]!;
  const stream = buf.readUInt32BE(p + 5) & 0x7fffffff;
  if (type !== FRAME_SETTINGS || flags & FLAG_ACK || stream !== 0) return { kind: 'bad', reason: 'the preface is not followed by SETTINGS' };
  if (length % 6 !== 0 || length > H2C_LIMITS.maxSettingsBytes) return { kind: 'bad', reason: `SETTINGS of ${length} bytes` };
  if (buf.length < p + 9 + length) return { kind: 'more' };
  const merged = frame(FRAME_SETTINGS, 0, 0, Buffer.concat([settings, buf.subarray(p + 9, p + 9 + length)]));
  return { kind: 'done', bytes: Buffer.concat([H2_PREFACE, merged, frames, buf.subarray(p + 9 + length)]) };
}

/** The answer that switches (RFC 7540 section 3.2). */
export const SWITCHING_TO_H2C = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';
