// pods/portforward: the WebSocket (port-forward-protocol.ts) joined to TCP connections
// opened to 127.0.0.1:<port> inside the pod's network namespace, as the kubelet does it.
//
// One WebSocket forwards one connection per port it names. A port whose connection cannot
// be opened, or fails, gets the reason on its error channel. The WebSocket closes (1000)
// once every port's connection has ended; a closed WebSocket closes the connections.
// Bounded: open forwards (429 beyond), ports per request, message size (1009 beyond),
// bytes queued each way (the slower side is paused), connect and idle timeouts.
import type { IncomingMessage } from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../core/log.js';
import { connectInNetns } from '../../core/syscalls.js';
import { WebSocketServer, type WebSocket } from '../../core/ws.js';
import { ApiError } from './api-errors.js';
import { dataChannel, decodeFrame, encodeFrame, errorChannel, portFrame, routeFrame, type Encoding } from './port-forward-protocol.js';

export interface PortForwardLimits {
  /** Port-forward WebSockets open at once; more get 429. */
  portForwardMaxConcurrent: number;
  /** Ports one request may name. */
  portForwardMaxPorts: number;
  /** Largest message accepted from a client; a larger one closes the WebSocket (1009). */
  portForwardMaxMessageBytes: number;
  /** Bytes queued toward either side before the other is paused. */
  portForwardMaxBufferedBytes: number;
  /** Opening the connection inside the pod. */
  portForwardConnectTimeoutMs: number;
  /** A forward that carried nothing either way for this long is closed. */
  portForwardIdleTimeoutMs: number;
}

/** Opens the connection to 127.0.0.1:port inside the network namespace at `netnsPath`. */
export type PodDialer = (netnsPath: string, port: number, timeoutMs: number) => Promise<net.Socket>;

export const dialInNetns: PodDialer = (netnsPath, port, timeoutMs) => connectInNetns(netnsPath, { host: '127.0.0.1', port, timeoutMs });

export interface ForwardTarget {
  /** ns/name, uid: for the messages on the error channels. */
  pod: string;
  uid: string;
  netnsPath: string;
  ports: number[];
  encoding: Encoding;
}

export class PortForwarder {
  private readonly wss: WebSocketServer;
  private open = 0;
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly limits: PortForwardLimits,
    private readonly logger: Logger,
    private readonly dial: PodDialer = dialInNetns,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: limits.portForwardMaxMessageBytes,
      // The protocol was chosen (and refused when none fits) before the upgrade.
      handleProtocols: (offered, req) => {
        const chosen = (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol;
        return chosen && offered.has(chosen) ? chosen : false;
      },
    });
  }

  /** A 429 when no more forwards may open; checked before the pod is looked up. */
  checkCapacity(): void {
    if (this.open >= this.limits.portForwardMaxConcurrent) {
      throw new ApiError(429, 'TooManyRequests', `too many port-forwards open at once (limit ${this.limits.portForwardMaxConcurrent}); close one and try again`);
    }
  }

  /** Closes every forward (the API server is stopping). */
  closeAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  /** Completes the WebSocket handshake (answering `protocol`) and forwards. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, target: ForwardTarget): void {
    this.checkCapacity();
    this.open++;
    (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = protocol;
    let released = false;
    const release = () => {
      if (!released) this.open--;
      released = true;
    };
    // A client that goes away during the handshake never reaches the callback.
    socket.once('close', release);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', release);
      this.sockets.add(ws);
      ws.on('close', () => {
        this.sockets.delete(ws);
        release();
      });
      this.forward(ws, target);
    });
  }

  private forward(ws: WebSocket, t: ForwardTarget): void {
    const L = this.limits;
    const log = this.logger.child({ pod: t.pod, ports: t.ports });
    let closed = false;
    ws.on('error', (err) => log.debug({ err: err.message }, 'port-forward WebSocket error'));

    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        log.debug('port-forward idle, closing');
        ws.close(1000, 'idle');
      }, L.portForwardIdleTimeoutMs);
    };
    touch();

    // Client messages stop being read while a port's connection does not drain: a paused
    // WebSocket stops reading its socket, so the client slows down.
    const blocked = new Set<number>();
    const block = (i: number) => {
      if (blocked.size === 0) ws.pause();
      blocked.add(i);
    };
    const unblock = (i: number) => {
      if (blocked.delete(i) && blocked.size === 0 && !closed) ws.resume();
    };

    interface Stream {
      port: number;
      i: number;
      socket?: net.Socket;
      /** What the client sent before the connection was open. */
      pending: Buffer[];
      pendingBytes: number;
      done: boolean;
    }
    const streams: Stream[] = t.ports.map((port, i) => ({ port, i, pending: [], pendingBytes: 0, done: false }));
    const finish = (s: Stream, err?: Error) => {
      if (s.done) return;
      s.done = true;
      unblock(s.i);
      if (err) s.socket?.destroy();
      else s.socket?.end();
      if (closed) return;
      if (err) ws.send(encodeFrame(t.encoding, errorChannel(s.i), Buffer.from(`error forwarding port ${s.port} to pod ${t.pod}, uid ${t.uid}: ${err.message}`)));
      // Queued messages go out before the close frame.
      if (streams.every((x) => x.done)) ws.close(1000);
    };
    const protocolError = (why: string) => {
      log.debug({ why }, 'port-forward protocol error');
      ws.close(1002, why.slice(0, 120));
    };

    ws.on('close', () => {
      closed = true;
      clearTimeout(idle);
      for (const s of streams) {
        s.done = true;
        s.socket?.destroy();
      }
    });
    ws.on('message', (message, isBinary) => {
      touch();
      const route = routeFrame(decodeFrame(t.encoding, message, isBinary), t.ports.length);
      if ('error' in route) return protocolError(route.error);
      if ('ignore' in route) return;
      const s = streams[route.portIndex]!;
      if (s.done || route.data.length === 0) return;
      if (!s.socket) {
        s.pendingBytes += route.data.length;
        if (s.pendingBytes > L.portForwardMaxBufferedBytes) return protocolError(`more than ${L.portForwardMaxBufferedBytes} bytes sent before port ${s.port} was connected`);
        s.pending.push(Buffer.from(route.data));
        return;
      }
      if (!s.socket.write(route.data)) block(s.i);
    });

    for (const s of streams) {
      ws.send(portFrame(t.encoding, dataChannel(s.i), s.port));
      ws.send(portFrame(t.encoding, errorChannel(s.i), s.port));
    }
    for (const s of streams) {
      this.dial(t.netnsPath, s.port, L.portForwardConnectTimeoutMs).then(
        (socket) => {
          if (s.done) {
            socket.destroy();
            return;
          }
          s.socket = socket;
          socket.setNoDelay(true);
          socket.on('drain', () => unblock(s.i));
          socket.on('data', (chunk: Buffer) => {
            touch();
            if (closed) return;
            ws.send(encodeFrame(t.encoding, dataChannel(s.i), chunk), () => {
              if (ws.bufferedAmount <= L.portForwardMaxBufferedBytes / 2 && socket.isPaused()) socket.resume();
            });
            if (ws.bufferedAmount > L.portForwardMaxBufferedBytes) socket.pause();
          });
          // v4 has no half-close: the pod's end of the connection ends the stream.
          socket.on('end', () => finish(s));
          socket.on('error', (err) => finish(s, err));
          socket.on('close', () => finish(s));
          for (const b of s.pending) if (!socket.write(b)) block(s.i);
          s.pending = [];
        },
        (err: Error) => finish(s, err),
      );
    }
  }
}
