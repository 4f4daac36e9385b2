// The `ws` package (a WebSocket server and client), typed for the part the project uses:
// the package ships no type declarations of its own.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
// @ts-ignore -- untyped module; typed by the interfaces below.
import * as ws from 'ws';

export interface WebSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  readonly protocol: string;
  send(data: Buffer | string, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  on(event: 'open', fn: () => void): this;
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', fn: (code: number, reason: Buffer) => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'unexpected-response', fn: (req: unknown, res: IncomingMessage) => void): this;
  once(event: 'open', fn: () => void): this;
  once(event: 'close', fn: (code: number, reason: Buffer) => void): this;
  once(event: 'error', fn: (err: Error) => void): this;
}

export interface WebSocketServerOptions {
  noServer: true;
  clientTracking?: boolean;
  perMessageDeflate?: boolean;
  /** Largest message accepted; a larger one closes the connection with 1009. */
  maxPayload?: number;
  /** The subprotocol to answer with, or false for none. */
  handleProtocols?: (offered: Set<string>, req: IncomingMessage) => string | false;
}

export interface WebSocketServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket) => void): void;
}

export interface WebSocketClientOptions {
  headers?: Record<string, string>;
  maxPayload?: number;
  handshakeTimeout?: number;
}

const m = ws as unknown as {
  WebSocketServer: new (o: WebSocketServerOptions) => WebSocketServer;
  WebSocket: new (url: string, protocols?: string | string[], o?: WebSocketClientOptions) => WebSocket;
};

export const WebSocketServer = m.WebSocketServer;
export const WebSocket = m.WebSocket;
/** readyState of an open WebSocket. */
export const WS_OPEN = 1;
