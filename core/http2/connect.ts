// The mesh's one way to dial an HTTP/2 peer: TLS 1.3 with ALPN `h2`, the peer's chain
// verified against the mesh roots and its identity by its SPIFFE ID (never a DNS name or
// an IP: peers are named by identity), then the HTTP/2 session, ready once the peer's
// SETTINGS arrived (so a caller knows its real stream limit). Users: the HBONE client
// (core/hbone/client.ts), the controller client (node-agent/controller-client) and the
// waypoint's upstream. Each maps a failure's `kind` to its own error codes.
import http2, { type ClientHttp2Session, type SecureClientSessionOptions, type Settings } from 'node:http2';
import type net from 'node:net';
import tls, { type PeerCertificate } from 'node:tls';
import type { SpiffeId } from '../identity/spiffe.js';
import { startKeepalive } from './keepalive.js';

/** Why a dial failed: `timeout` (no SETTINGS within connectTimeoutMs), `identity` (verifyPeer refused the peer), `alpn` (no h2), `transport` (the TCP connection could not be opened), `network` (TLS or the connection failed), `goaway` (the peer refused us during set-up), `closed` (the connection ended during set-up). */
export type DialFailureKind = 'timeout' | 'identity' | 'alpn' | 'transport' | 'network' | 'goaway' | 'closed';

export interface DialFailure {
  kind: DialFailureKind;
  /** What happened, without the caller's context (the caller names the peer's role). */
  detail: string;
  /** errno code of a network failure (ECONNREFUSED...), or the GOAWAY's HTTP/2 code. */
  code?: string | number;
  cause?: unknown;
}

export interface Http2DialOptions<P = SpiffeId> {
  /** Where to connect (also used in messages). */
  address: { host: string; port: number };
  /** Opens the TCP connection (e.g. from a pod's network namespace); default a plain connect. */
  transport?: () => net.Socket | Promise<net.Socket>;
  /** Client certificate (leaf then intermediates) and key; none for a token-authenticated client. */
  credentials?: { key: string; cert: string };
  /** The roots the peer's chain must verify against (PEM). */
  roots: readonly string[];
  /** Decides who the peer is from its verified leaf (a SPIFFE ID, or what the caller names peers by); throws to refuse it. */
  verifyPeer: (cert: PeerCertificate) => P;
  /** TCP (after the transport), TLS and the peer's SETTINGS must complete within this. */
  connectTimeoutMs: number;
  /** Passed to http2.connect (settings, maxSessionMemory, maxHeaderListPairs...). */
  session?: Omit<SecureClientSessionOptions, 'createConnection'>;
  /** HTTP/2 PING keepalive once the session is ready: a peer that stops answering is cut off. */
  keepalive?: { intervalMs: number; timeoutMs: number; onTimeout: () => void };
  /** Turns a failure into the caller's error. */
  toError: (failure: DialFailure) => Error;
  /** Sees the session as soon as it exists (before it is ready), e.g. to track it for close(). */
  onSession?: (session: ClientHttp2Session) => void;
  /** Session errors after set-up (the session also emits 'close' then). */
  onError?: (err: Error) => void;
}

export interface Http2Dialed<P = SpiffeId> {
  session: ClientHttp2Session;
  /** The identity verifyPeer returned. */
  peer: P;
  /** The peer's first SETTINGS (maxConcurrentStreams is its stream limit). */
  remoteSettings: Settings;
}

export async function dialHttp2<P = SpiffeId>(o: Http2DialOptions<P>): Promise<Http2Dialed<P>> {
  let transport: net.Socket | undefined;
  if (o.transport) {
    try {
      transport = await o.transport();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw o.toError({ kind: 'transport', detail: e.message, ...(e.code && { code: e.code }), cause: err });
    }
  }
  const where = `${o.address.host.includes(':') ? `[${o.address.host}]` : o.address.host}:${o.address.port}`;
  return new Promise<Http2Dialed<P>>((resolve, reject) => {
    let settled = false;
    let peer: P | undefined;
    let identityError: unknown;
    const fail = (f: DialFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      reject(o.toError(f));
    };
    const tlsSocket = tls.connect({
      ...(transport ? { socket: transport } : { host: o.address.host, port: o.address.port }),
      ...(o.credentials && { key: o.credentials.key, cert: o.credentials.cert }),
      ca: [...o.roots],
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['h2'],
      rejectUnauthorized: true,
      // The peer is named by its SPIFFE ID, not by the DNS name or IP we dialled.
      checkServerIdentity: (_host, cert) => {
        try {
          peer = o.verifyPeer(cert);
          return undefined;
        } catch (err) {
          identityError = err;
          return err as Error;
        }
      },
    });
    const session = http2.connect(`https://${where}`, { ...o.session, createConnection: () => tlsSocket });
    o.onSession?.(session);
    const timer = setTimeout(() => fail({ kind: 'timeout', detail: `not established within ${o.connectTimeoutMs} ms` }), o.connectTimeoutMs);
    tlsSocket.once('secureConnect', () => {
      if (tlsSocket.alpnProtocol !== 'h2') fail({ kind: 'alpn', detail: 'the peer did not negotiate ALPN h2' });
    });
    session.on('error', (err: NodeJS.ErrnoException) => {
      if (identityError) return fail({ kind: 'identity', detail: (identityError as Error).message, cause: identityError });
      if (!settled) return fail({ kind: 'network', detail: err.message, ...(err.code && { code: err.code }), cause: err });
      o.onError?.(err);
    });
    session.once('remoteSettings', (settings) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (o.keepalive) startKeepalive(session, o.keepalive);
      resolve({ session, peer: peer as P, remoteSettings: settings });
    });
    session.once('goaway', (code) => fail({ kind: 'goaway', detail: `the peer closed the connection (GOAWAY ${code})`, code }));
    session.once('close', () => {
      if (identityError) return fail({ kind: 'identity', detail: (identityError as Error).message, cause: identityError });
      fail({ kind: 'closed', detail: 'the connection closed during set-up' });
    });
  });
}
