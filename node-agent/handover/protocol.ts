// The listener handover between an old node agent and the one replacing it, on the wire
// (docs/protocol.md "Agent handover"). Pure: frames and messages in, frames and messages
// out; the descriptors ride beside the bytes (SCM_RIGHTS) and are counted here, passed by
// channel.ts.
//
// A frame: 2 bytes "AH", version 1, the number of descriptors on the frame (0-253), the
// JSON body's length (u32 big-endian), the body. The descriptors ride on the frame's
// first byte, so the reader asks for exactly the bytes of the frame it is in: a read that
// ran into the next frame could drop that frame's descriptors.
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { HANDOVER_DEFAULTS } from '../../core/limits.js';

export const FRAME_MAGIC = 0x4148; // "AH"
export const FRAME_VERSION = 1;
export const HEADER_BYTES = 8;
export const MAX_FDS_PER_FRAME = 253;

/** What a handed-over socket is; the descriptor is the one at the same index. */
export interface SocketRef {
  proto: 'tcp' | 'udp';
  /** The address it is bound to (an IP literal) and its port. */
  host: string;
  port: number;
  /** The node-level servers: which one. */
  role?: NodeRole;
}

export type NodeRole = 'admin' | 'metrics' | 'readiness';
const NODE_ROLES: readonly NodeRole[] = ['admin', 'metrics', 'readiness'];

export type SocketOwner = { kind: 'pod'; uid: string; netnsPath: string } | { kind: 'node' };

export type HandoverMessage =
  /** new -> old: "I am the agent for this node; hand me your listeners." */
  | { t: 'hello'; node: string }
  /** old -> new: some of one owner's sockets (several frames when they exceed 253). */
  | { t: 'sockets'; owner: SocketOwner; sockets: SocketRef[] }
  /** old -> new: that was all. */
  | { t: 'end'; pods: number }
  /** new -> old: serving them now; the old agent stops accepting. */
  | { t: 'taken-over'; adopted: string[] }
  /** old -> new: stopped accepting; the node is the new agent's. */
  | { t: 'released' }
  | { t: 'error'; message: string };

export function protocolError(message: string): MeshError {
  return new MeshError(ErrorCodes.AGENT_HANDOVER_PROTOCOL, `agent handover: ${message}`);
}

/** One frame's bytes (descriptors go beside it: `fds` of them). */
export function encodeFrame(message: HandoverMessage, fds = 0): Buffer {
  if (!Number.isInteger(fds) || fds < 0 || fds > MAX_FDS_PER_FRAME) throw protocolError(`a frame carries 0-${MAX_FDS_PER_FRAME} descriptors, not ${fds}`);
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > HANDOVER_DEFAULTS.maxMessageBytes) throw protocolError(`message of ${body.length} bytes exceeds ${HANDOVER_DEFAULTS.maxMessageBytes}`);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(FRAME_MAGIC, 0);
  header.writeUInt8(FRAME_VERSION, 2);
  header.writeUInt8(fds, 3);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export interface Frame {
  message: HandoverMessage;
  fds: number[];
}

/**
 * Reassembles frames from reads. `wanted()` is how many bytes to read next (never past
 * the current frame); push what arrived with the descriptors that came with it. Throws
 * (protocolError) on a malformed frame; the caller closes the connection and every
 * descriptor it holds (`drain()`).
 */
export class FrameDecoder {
  #header: Buffer = Buffer.alloc(0);
  #body: Buffer[] = [];
  #bodyLen = -1;
  #got = 0;
  #fdsWanted = 0;
  #fds: number[] = [];

  wanted(): number {
    return this.#bodyLen < 0 ? HEADER_BYTES - this.#header.length : this.#bodyLen - this.#got;
  }

  /** Bytes of the current frame (at most wanted()) and the descriptors that rode on them;
   * a frame when it completes. */
  push(bytes: Buffer, fds: readonly number[] = []): Frame | undefined {
    if (bytes.length > this.wanted()) throw protocolError(`read ${bytes.length} bytes where ${this.wanted()} were wanted`);
    this.#fds.push(...fds);
    if (this.#bodyLen < 0) {
      this.#header = Buffer.concat([this.#header, bytes]);
      if (this.#header.length < HEADER_BYTES) return undefined;
      const magic = this.#header.readUInt16BE(0);
      const version = this.#header.readUInt8(2);
      if (magic !== FRAME_MAGIC) throw protocolError(`not a handover frame (magic 0x${magic.toString(16)})`);
      if (version !== FRAME_VERSION) throw protocolError(`frame version ${version}; this agent speaks ${FRAME_VERSION}`);
      this.#fdsWanted = this.#header.readUInt8(3);
      if (this.#fdsWanted > MAX_FDS_PER_FRAME) throw protocolError(`a frame claims ${this.#fdsWanted} descriptors; at most ${MAX_FDS_PER_FRAME}`);
      this.#bodyLen = this.#header.readUInt32BE(4);
      if (this.#bodyLen === 0 || this.#bodyLen > HANDOVER_DEFAULTS.maxMessageBytes) throw protocolError(`a frame of ${this.#bodyLen} bytes (1-${HANDOVER_DEFAULTS.maxMessageBytes})`);
      // The descriptors ride on the header's bytes: all of them are here by now.
      if (this.#fds.length !== this.#fdsWanted) throw protocolError(`the frame announces ${this.#fdsWanted} descriptors and ${this.#fds.length} arrived`);
      return undefined;
    }
    if (fds.length > 0) throw protocolError('descriptors arrived in the middle of a frame');
    this.#body.push(bytes);
    this.#got += bytes.length;
    if (this.#got < this.#bodyLen) return undefined;
    const text = Buffer.concat(this.#body).toString('utf8');
    const fdsOut = this.#fds;
    this.#header = Buffer.alloc(0);
    this.#body = [];
    this.#bodyLen = -1;
    this.#got = 0;
    this.#fds = [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // The caller closes what it got.
      this.#fds = fdsOut;
      throw protocolError('a frame body is not JSON');
    }
    try {
      const message = parseMessage(parsed);
      if (message.t === 'sockets' ? message.sockets.length !== fdsOut.length : fdsOut.length !== 0) {
        throw protocolError(`a ${message.t} message came with ${fdsOut.length} descriptors`);
      }
      return { message, fds: fdsOut };
    } catch (err) {
      this.#fds = fdsOut;
      throw err;
    }
  }

  /** Descriptors received and not handed out in a frame (the caller closes them). */
  drain(): number[] {
    const fds = this.#fds;
    this.#fds = [];
    return fds;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;
const IP = /^[0-9a-fA-F:.]{2,45}$/;

function parseSocketRef(v: unknown, at: string): SocketRef {
  if (!isObject(v)) throw protocolError(`${at} is not an object`);
  if (v['proto'] !== 'tcp' && v['proto'] !== 'udp') throw protocolError(`${at}.proto must be tcp or udp`);
  if (!isText(v['host'], 45) || !IP.test(v['host'])) throw protocolError(`${at}.host must be an IP literal`);
  if (!isPort(v['port'])) throw protocolError(`${at}.port must be 0-65535`);
  const ref: SocketRef = { proto: v['proto'], host: v['host'], port: v['port'] };
  if (v['role'] !== undefined) {
    if (!NODE_ROLES.includes(v['role'] as NodeRole)) throw protocolError(`${at}.role must be one of ${NODE_ROLES.join(', ')}`);
    ref.role = v['role'] as NodeRole;
  }
  return ref;
}

/** A message from its JSON, checked field by field (the peer is root, but a bug in it must
 * not become one in this agent). */
export function parseMessage(v: unknown): HandoverMessage {
  if (!isObject(v)) throw protocolError('a message is not an object');
  switch (v['t']) {
    case 'hello':
      if (!isText(v['node'], 253)) throw protocolError('hello.node must be a node name');
      return { t: 'hello', node: v['node'] };
    case 'sockets': {
      const owner = v['owner'];
      if (!isObject(owner)) throw protocolError('sockets.owner is not an object');
      let o: SocketOwner;
      if (owner['kind'] === 'node') o = { kind: 'node' };
      else if (owner['kind'] === 'pod') {
        if (!isText(owner['uid'], 128)) throw protocolError('sockets.owner.uid must be a pod uid');
        if (!isText(owner['netnsPath']) || !owner['netnsPath'].startsWith('/')) throw protocolError('sockets.owner.netnsPath must be an absolute path');
        o = { kind: 'pod', uid: owner['uid'], netnsPath: owner['netnsPath'] };
      } else throw protocolError('sockets.owner.kind must be pod or node');
      const sockets = v['sockets'];
      if (!Array.isArray(sockets) || sockets.length === 0 || sockets.length > MAX_FDS_PER_FRAME) throw protocolError(`sockets.sockets must list 1-${MAX_FDS_PER_FRAME} sockets`);
      const refs = sockets.map((s, i) => parseSocketRef(s, `sockets.sockets[${i}]`));
      if (o.kind === 'node' && refs.some((r) => r.role === undefined)) throw protocolError('a node socket must say its role');
      return { t: 'sockets', owner: o, sockets: refs };
    }
    case 'end':
      if (!Number.isInteger(v['pods']) || (v['pods'] as number) < 0) throw protocolError('end.pods must be a count');
      return { t: 'end', pods: v['pods'] as number };
    case 'taken-over': {
      const adopted = v['adopted'];
      if (!Array.isArray(adopted) || !adopted.every((u) => isText(u, 128))) throw protocolError('taken-over.adopted must list pod uids');
      return { t: 'taken-over', adopted: adopted as string[] };
    }
    case 'released':
      return { t: 'released' };
    case 'error':
      return { t: 'error', message: isText(v['message']) ? v['message'] : 'unspecified' };
    default:
      throw protocolError(`unknown message type ${JSON.stringify(v['t'])}`.slice(0, 200));
  }
}
