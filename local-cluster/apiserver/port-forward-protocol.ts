// The pods/portforward WebSocket protocol, pure: which ports a request asks for, which
// subprotocol is spoken, and how bytes are framed. It is the kubelet's:
//
// - `?ports=P` (repeatable, or comma-separated) names the pod's ports; port i gets two
//   channels, data 2i and error 2i+1;
// - every message starts with its channel byte (`v4.channel.k8s.io`, or no subprotocol),
//   or with the channel as one ASCII digit followed by the payload in base64
//   (`v4.base64.channel.k8s.io`, text messages);
// - the server's first message on each channel carries the port, 2 bytes little-endian;
// - the client writes the data channels only; the server writes an error channel once, a
//   message saying why that port's stream failed, before the WebSocket closes.
import { badRequest } from './api-errors.js';

export const BINARY_PROTOCOL = 'v4.channel.k8s.io';
export const BASE64_PROTOCOL = 'v4.base64.channel.k8s.io';

export type Encoding = 'binary' | 'base64';

/**
 * The subprotocol to answer with, from the client's offer (Sec-WebSocket-Protocol, in the
 * client's order of preference); '' (binary framing) when it offered none; undefined when
 * it offered only ones this server does not speak.
 */
export function chooseProtocol(offered: readonly string[]): { protocol: string; encoding: Encoding } | undefined {
  if (offered.length === 0) return { protocol: '', encoding: 'binary' };
  for (const p of offered) {
    if (p === BINARY_PROTOCOL) return { protocol: p, encoding: 'binary' };
    if (p === BASE64_PROTOCOL) return { protocol: p, encoding: 'base64' };
  }
  return undefined;
}

/** The Sec-WebSocket-Protocol header's list. */
export function offeredProtocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The ports of `?ports=`, in order; a 400 that says which value is wrong. */
export function parsePorts(q: URLSearchParams, maxPorts: number): number[] {
  const values = q.getAll('ports');
  if (values.length === 0) throw badRequest('query parameter "ports" is required: the pod port(s) to forward to, e.g. ?ports=8080');
  const ports: number[] = [];
  for (const value of values) {
    if (value === '') throw badRequest('query parameter "ports" cannot be empty');
    for (const p of value.split(',')) {
      if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw badRequest(`unable to parse ${JSON.stringify(p)} as a port (ports=${JSON.stringify(value)}): expected 1 to 65535`);
      ports.push(Number(p));
    }
  }
  if (ports.length > maxPorts) throw badRequest(`at most ${maxPorts} ports may be forwarded in one request, not ${ports.length}`);
  return ports;
}

export const dataChannel = (portIndex: number): number => 2 * portIndex;
export const errorChannel = (portIndex: number): number => 2 * portIndex + 1;

/** A message for `channel` carrying `payload`. */
export function encodeFrame(encoding: Encoding, channel: number, payload: Buffer): Buffer | string {
  if (encoding === 'base64') return String.fromCharCode(48 + channel) + payload.toString('base64');
  const out = Buffer.allocUnsafe(payload.length + 1);
  out[0] = channel;
  payload.copy(out, 1);
  return out;
}

/** The first message on each of a port's channels: the port, little-endian. */
export function portFrame(encoding: Encoding, channel: number, port: number): Buffer | string {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port, 0);
  return encodeFrame(encoding, channel, b);
}

export type ClientFrame = { channel: number; data: Buffer } | { error: string };

/** A message from the client, as channel and payload; an error for one that is malformed. */
export function decodeFrame(encoding: Encoding, message: Buffer, isBinary: boolean): ClientFrame {
  if (message.length === 0) return { error: 'an empty message carries no channel' };
  if (encoding === 'binary') {
    if (!isBinary) return { error: `a text message on ${BINARY_PROTOCOL} (binary messages only)` };
    return { channel: message[0]!, data: message.subarray(1) };
  }
  if (isBinary) return { error: `a binary message on ${BASE64_PROTOCOL} (text messages only)` };
  const text = message.toString('latin1');
  const body = text.slice(1);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) return { error: 'the payload is not base64' };
  return { channel: text.charCodeAt(0) - 48, data: Buffer.from(body, 'base64') };
}

/** What the client's message means for the forward of `portCount` ports. */
export function routeFrame(frame: ClientFrame, portCount: number): { portIndex: number; data: Buffer } | { ignore: string } | { error: string } {
  if ('error' in frame) return frame;
  if (frame.channel < 0 || frame.channel >= 2 * portCount) return { error: `channel ${frame.channel} does not exist (${portCount} port(s): channels 0 to ${2 * portCount - 1})` };
  if (frame.channel % 2 === 1) return { ignore: 'the error channels are written by the server only' };
  return { portIndex: frame.channel / 2, data: frame.data };
}
