// One allowed tunnel, served in-process (HboneServerOptions.serveTunnel): its protocol is
// the target port's appProtocol when that says, else detected from its first bytes; HTTP
// goes to the HTTP servers (http-front.ts), anything else is carried as TCP to an endpoint
// of the target once `authorizeTcp` allows it: the request chain's authorization never sees
// bytes carried as TCP, so they get the waypoint's policies as an L4 proxy applies them.
import type { Duplex } from 'node:stream';
import type { ServedTunnel } from '../../core/hbone/server.js';
import type { TunnelBytes } from '../../core/hbone/tunnel.js';
import { protocolFromAppProtocol, type TunnelProtocol } from './detect.js';
import type { HttpFront, TunnelInfo } from './http-front.js';
import { sniffStream } from './sniff.js';
import { socketLike } from '../upstream/connect.js';
import type { TcpConnection, TcpTelemetry } from '../observe/tcp-telemetry.js';

export interface TunnelServeOptions {
  front: HttpFront;
  /** Carries the tunnel as bytes to an endpoint of its target; `head` goes first; `conn` records it. */
  passthrough: (stream: Duplex, info: TunnelInfo, head: Buffer, done: (error?: string) => void, conn?: TcpConnection) => void;
  /** Istio's TCP metrics and the access log for tunnels carried as TCP (observe/tcp-telemetry.ts). */
  tcpTelemetry?: TcpTelemetry;
  /** Decides a tunnel about to be carried as TCP (the waypoint's policies, L4 projection); default allow. */
  authorizeTcp?: (info: TunnelInfo) => { allow: true } | { allow: false; reason: string };
  sniffMaxBytes: number;
  sniffTimeoutMs: number;
  onProtocol?: (protocol: TunnelProtocol, info: TunnelInfo) => void;
}

/** Counts the tunnel's bytes for its HBONE record (from here on: sniffed bytes are read again). */
function countBytes(stream: Duplex, bytes: TunnelBytes): void {
  stream.on('data', (c: Buffer) => (bytes.fromPeer += c.length));
  const write = stream.write;
  stream.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') bytes.toPeer += Buffer.byteLength(chunk);
    else if (chunk && typeof (chunk as Buffer).length === 'number') bytes.toPeer += (chunk as Buffer).length;
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Duplex['write'];
}

export async function serveTunnel(t: ServedTunnel, info: TunnelInfo, o: TunnelServeOptions): Promise<void> {
  const { stream } = t;
  const declared = protocolFromAppProtocol(info.target.appProtocol);
  let protocol: TunnelProtocol;
  let head: Buffer = Buffer.alloc(0);
  if (declared === 'tcp') protocol = 'tcp';
  else {
    const sniffed = await sniffStream(stream, { maxBytes: o.sniffMaxBytes, timeoutMs: o.sniffTimeoutMs });
    head = sniffed.head;
    // A port declared HTTP is served as HTTP whatever comes (node:http answers 400 to
    // bytes that are not); the bytes tell HTTP/1.1 from HTTP/2 (an h2 port's HTTP/1.1 client).
    protocol = declared === undefined ? sniffed.protocol : sniffed.protocol === 'tcp' ? declared : sniffed.protocol;
  }
  if (stream.destroyed) return;
  // node:http and node:http2 write to it as to a socket (see socketLike).
  socketLike(stream);
  o.onProtocol?.(protocol, info);
  if (protocol === 'tcp') {
    const conn = o.tcpTelemetry?.start(info);
    const decision = o.authorizeTcp?.(info) ?? { allow: true };
    if (!decision.allow) {
      conn?.refused('authz-denied', decision.reason);
      return t.control.close(decision.reason);
    }
    o.passthrough(
      stream,
      info,
      head,
      (error) => {
        if (error) t.control.close(error);
      },
      conn,
    );
    countBytes(stream, t.bytes);
    return;
  }
  countBytes(stream, t.bytes);
  if (protocol === 'http1') o.front.serveHttp1(stream, info);
  else o.front.serveH2(stream, info);
}
