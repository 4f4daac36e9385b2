// Opens the byte stream to one endpoint: an HBONE tunnel under the waypoint's own identity
// (the endpoint is in the mesh: its node agent terminates it and applies L4 policy to the
// waypoint's identity, DESIGN.md section 2), or a plain TCP connection (not enrolled).
// Both come back as a Duplex that node:http's Agent and http2.connect accept as a socket.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { HboneClient } from '../../core/hbone/client.js';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { parseSpiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import type { SocketAddress } from '../../core/hbone/wire.js';
import type { UpstreamEndpoint } from '../http/chain.js';

export interface ConnectorOptions {
  hbone: HboneClient;
  /** The identity the waypoint presents upstream. */
  identity: SpiffeId;
  /** The HBONE port on endpoints (15008). */
  hbonePort: number;
  connectTimeoutMs: number;
}

/** What a new connection carries besides its target: the original client (`forwarded`),
 * and the trace context of the request that opens it (traceparent, tracestate). */
export interface ConnectExtra {
  forwardedFor?: SocketAddress;
  traceparent?: string;
  tracestate?: string;
  /** The connect deadline for this connection (a TrafficPolicy's connectionPool.connectTimeout);
   * default the connector's. Covers the TCP connect, or the HBONE dial and its 200. */
  connectTimeoutMs?: number;
}

export type Connector = (endpoint: UpstreamEndpoint, extra?: ConnectExtra) => Promise<Duplex>;

const noop = () => {};

/**
 * An HTTP/2 stream made usable as node:http's socket: the socket methods the client and
 * its Agent call (setKeepAlive, setNoDelay, ref, unref) as no-ops, and strings written as
 * Buffers. The latter works around a Node.js defect seen on v20: node:http's client writes
 * a request head as a latin1 string, corked with its body, and an HTTP/2 stream's writev
 * sent the head's first bytes corrupted on a reused connection (pinned by
 * test/waypoint-proxy.test.ts, keep-alive reuse).
 */
export function socketLike<T extends Duplex>(stream: T): T {
  const s = stream as unknown as Record<string, unknown>;
  for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref']) if (typeof s[m] !== 'function') s[m] = () => stream;
  if (typeof s['setTimeout'] !== 'function') s['setTimeout'] = noop;
  const write = stream.write;
  stream.write = function (this: Duplex, chunk: unknown, encoding?: unknown, cb?: unknown) {
    if (typeof chunk === 'string') {
      const enc = (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding;
      return (write as (...a: unknown[]) => boolean).call(this, Buffer.from(chunk, enc), typeof encoding === 'function' ? encoding : cb);
    }
    return (write as (...a: unknown[]) => boolean).call(this, chunk, encoding, cb);
  } as Duplex['write'];
  return stream;
}

export function createConnector(o: ConnectorOptions): Connector {
  return async (ep, extra = {}) => {
    const where = `${ep.ip}:${ep.port}`;
    const timeoutMs = extra.connectTimeoutMs ?? o.connectTimeoutMs;
    if (ep.mesh) {
      let expected: SpiffeId;
      try {
        expected = parseSpiffeId(ep.identity);
      } catch (err) {
        throw new MeshError(ErrorCodes.WAYPOINT_UPSTREAM_CONNECT, `endpoint ${where} has no valid identity (${JSON.stringify(ep.identity)}): ${(err as Error).message}`);
      }
      // Bounded by the HBONE client's own connectTimeoutMs (the handshake and the 200), and
      // by this connection's deadline when it is shorter (a policy's connectTimeout).
      const ac = timeoutMs < o.connectTimeoutMs ? new AbortController() : undefined;
      let timer: NodeJS.Timeout | undefined;
      try {
        const connecting = o.hbone.connect({
          source: o.identity,
          peer: { host: ep.ip, port: o.hbonePort },
          expectedIdentities: [expected],
          target: { host: ep.ip, port: ep.port },
          ...(extra.forwardedFor && { forwardedFor: extra.forwardedFor }),
          ...(extra.traceparent && { traceparent: extra.traceparent, ...(extra.tracestate && { tracestate: extra.tracestate }) }),
          ...(ac && { signal: ac.signal }),
        });
        const tunnel = ac
          ? await Promise.race([
              connecting,
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => {
                  ac.abort();
                  // A tunnel that comes after all is not used.
                  connecting.then((t) => t.stream.destroy(), noop);
                  reject(new Error(`no HBONE tunnel within ${timeoutMs} ms (connectTimeout)`));
                }, timeoutMs);
              }),
            ])
          : await connecting;
        // Errors after the answer belong to whoever uses the stream; this keeps a late one from crashing us.
        tunnel.stream.on('error', noop);
        return socketLike(tunnel.stream);
      } catch (err) {
        throw new MeshError(ErrorCodes.WAYPOINT_UPSTREAM_CONNECT, `HBONE to endpoint ${where} (${ep.identity}) failed: ${(err as Error).message}`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
    }
    return new Promise<Duplex>((resolve, reject) => {
      const sock = net.connect({ host: ep.ip, port: ep.port, allowHalfOpen: true });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new MeshError(ErrorCodes.WAYPOINT_UPSTREAM_CONNECT, `endpoint ${where} did not accept a connection within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        sock.on('error', noop);
        sock.setNoDelay(true);
        resolve(sock);
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new MeshError(ErrorCodes.WAYPOINT_UPSTREAM_CONNECT, `endpoint ${where} (not in the mesh, plain TCP): ${err.code ?? err.message}`, { cause: err }));
      });
    });
  };
}
