// The config stream's wire format (docs/protocol.md, "The controller protocol"): one JSON
// object per line (newline-delimited JSON) in each direction of an HTTP/2 stream. This
// module is pure: message types, their strict parsers, the encoder, and a line decoder
// that never holds more than one line's worth of bytes. The node agent's client and the
// controller's server both use it, so the two sides cannot drift apart.
//
// Lines, not length-prefixed frames: a human can read a capture, and `curl --http2` plus
// `jq` is a debugging client. JSON.stringify never writes a raw newline (it escapes them
// inside strings), so a newline always ends a message.
import { ErrorCodes, MeshError } from '../errors.js';
import { RESOURCE_KINDS, resourceId, type Resource, type ResourceKind } from './model.js';

export { RESOURCE_KINDS, resourceId };

/** The endpoints of the protocol. */
export const PATHS = { certificates: '/v1/certificates', config: '/v1/config', telemetry: '/v1/telemetry' } as const;

/** Request header naming the node the caller runs on. */
export const NODE_HEADER = 'x-ambient-node';

/** Content type of the config stream (both directions). */
export const NDJSON = 'application/x-ndjson';

/** A resource by identity: what a removal names. */
export interface ResourceRef {
  kind: ResourceKind;
  key: string;
}

/** A resource as sent: the model's resource plus the version it last changed at. */
export type VersionedResource<K extends ResourceKind = ResourceKind> = Resource<K> & { version: string };

/** One resource a client could not apply, and why. */
export interface ResourceError {
  kind: string;
  key: string;
  error: string;
}

// client -> server
export interface HelloMessage {
  type: 'hello';
  node: string;
  /** `<kind>/<key>` -> version, for every resource the client holds (empty on first start). */
  versions: Record<string, string>;
}
export interface AckMessage {
  type: 'ack';
  version: string;
}
export interface NackMessage {
  type: 'nack';
  version: string;
  errors: ResourceError[];
}
export type ClientMessage = HelloMessage | AckMessage | NackMessage;

// server -> client
export interface UpdateMessage {
  type: 'update';
  version: string;
  /** True on the first update of a stream: after it, the client holds exactly the server's set. */
  full: boolean;
  upserts: VersionedResource[];
  removes: ResourceRef[];
}
export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
}
export type ServerMessage = UpdateMessage | ErrorMessage;

export function parseResourceId(id: string): ResourceRef | undefined {
  const slash = id.indexOf('/');
  if (slash <= 0) return undefined;
  const kind = id.slice(0, slash) as ResourceKind;
  const key = id.slice(slash + 1);
  if (!RESOURCE_KINDS.includes(kind) || key === '') return undefined;
  return { kind, key };
}

/** A global version on the wire: a decimal integer, as a string (JSON numbers lose precision past 2^53). */
const VERSION = /^(0|[1-9][0-9]{0,15})$/;

export function parseVersion(v: unknown): number | undefined {
  return typeof v === 'string' && VERSION.test(v) ? Number(v) : undefined;
}

function malformed(why: string): MeshError {
  return new MeshError(ErrorCodes.XDS_MALFORMED, `malformed config stream message: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonObject(line: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw malformed(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(v)) throw malformed('not a JSON object');
  if (typeof v['type'] !== 'string') throw malformed('no "type" field');
  return v;
}

/** Parses what a client sends; throws MeshError(AMB_XDS_MALFORMED) naming the problem. */
export function parseClientMessage(line: string): ClientMessage {
  const m = parseJsonObject(line);
  switch (m['type']) {
    case 'hello': {
      if (typeof m['node'] !== 'string' || m['node'] === '') throw malformed('hello without a "node"');
      const versions = m['versions'] ?? {};
      if (!isObject(versions)) throw malformed('hello "versions" is not an object of "<kind>/<key>": "<version>"');
      for (const [id, version] of Object.entries(versions)) {
        if (!parseResourceId(id)) throw malformed(`hello names ${JSON.stringify(id.slice(0, 100))}, not "<Workload|Service|Policy|Route|RequestAuthn|TrafficPolicy>/<key>"`);
        if (typeof version !== 'string' || version.length > 64) throw malformed(`hello version of ${id} is not a string of at most 64 characters`);
      }
      return { type: 'hello', node: m['node'], versions: versions as Record<string, string> };
    }
    case 'ack':
    case 'nack': {
      if (parseVersion(m['version']) === undefined) throw malformed(`${m['type']} without a "version" (a decimal string)`);
      if (m['type'] === 'ack') return { type: 'ack', version: m['version'] as string };
      const errors = m['errors'];
      if (!Array.isArray(errors) || errors.length === 0) throw malformed('nack without "errors" (a non-empty array)');
      for (const e of errors) {
        if (!isObject(e) || typeof e['kind'] !== 'string' || typeof e['key'] !== 'string' || typeof e['error'] !== 'string') {
          throw malformed('nack error entries must be {"kind", "key", "error"} strings');
        }
      }
      return { type: 'nack', version: m['version'] as string, errors: errors as ResourceError[] };
    }
    default:
      throw malformed(`unknown type ${JSON.stringify(String(m['type']).slice(0, 40))} (a client sends hello, ack or nack)`);
  }
}

/**
 * Parses what the server sends. The envelope must be well formed (else the stream is
 * abandoned); each upsert is only checked to be an object here: a bad resource is
 * rejected alone by the client (core/config/validate.ts), not the whole update.
 */
export function parseServerMessage(line: string): ServerMessage {
  const m = parseJsonObject(line);
  switch (m['type']) {
    case 'update': {
      if (parseVersion(m['version']) === undefined) throw malformed('update without a "version" (a decimal string)');
      if (typeof m['full'] !== 'boolean') throw malformed('update without a boolean "full"');
      const upserts = m['upserts'];
      const removes = m['removes'];
      if (!Array.isArray(upserts) || !upserts.every(isObject)) throw malformed('update "upserts" is not an array of objects');
      if (!Array.isArray(removes)) throw malformed('update "removes" is not an array');
      for (const r of removes) {
        if (!isObject(r) || typeof r['kind'] !== 'string' || typeof r['key'] !== 'string') throw malformed('update removes must be {"kind", "key"}');
      }
      return { type: 'update', version: m['version'] as string, full: m['full'], upserts: upserts as unknown as VersionedResource[], removes: removes as ResourceRef[] };
    }
    case 'error':
      return { type: 'error', code: String(m['code'] ?? ''), message: String(m['message'] ?? '') };
    default:
      throw malformed(`unknown type ${JSON.stringify(String(m['type']).slice(0, 40))} (the server sends update or error)`);
  }
}

export function encodeMessage(m: ClientMessage | ServerMessage): string {
  return `${JSON.stringify(m)}\n`;
}

/**
 * Encodes an update from resources already serialised one by one (`wire`), so that a
 * resource pushed to many clients is stringified once, not once per client.
 */
export function encodeUpdate(version: number, full: boolean, upsertsJson: readonly string[], removes: readonly ResourceRef[]): string {
  return `{"type":"update","version":"${version}","full":${full},"upserts":[${upsertsJson.join(',')}],"removes":${JSON.stringify(removes)}}\n`;
}

/**
 * Splits a byte stream into lines (UTF-8, '\n'-terminated; a trailing '\r' and empty lines
 * are ignored). Throws MeshError(AMB_XDS_MESSAGE_TOO_LARGE) as soon as a line grows past
 * `maxLineBytes`, without waiting for its end: a peer cannot make us buffer more.
 */
export class LineDecoder {
  readonly maxLineBytes: number;
  #parts: Buffer[] = [];
  #size = 0;

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes held of an unfinished line. */
  get buffered(): number {
    return this.#size;
  }

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      this.#check(this.#size + piece.length);
      const bytes = this.#parts.length ? Buffer.concat([...this.#parts, piece]) : piece;
      this.#parts = [];
      this.#size = 0;
      start = nl + 1;
      const line = decodeLine(bytes);
      if (line !== '') lines.push(line);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#check(this.#size + rest.length);
      // Copy: the caller may reuse its buffer.
      this.#parts.push(Buffer.from(rest));
      this.#size += rest.length;
    }
    return lines;
  }

  #check(size: number): void {
    if (size > this.maxLineBytes) {
      this.#parts = [];
      this.#size = 0;
      throw new MeshError(ErrorCodes.XDS_MESSAGE_TOO_LARGE, `config stream message longer than ${this.maxLineBytes} bytes`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeLine(bytes: Buffer): string {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw malformed('not valid UTF-8');
  }
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
