// Small socket helpers for tests: servers on loopback, reading until end, bounded waits.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';

export interface TcpServer {
  server: net.Server;
  port: number;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** A loopback TCP server with `handler` for each connection; half-open allowed. */
export async function tcpServer(handler: (s: net.Socket) => void): Promise<TcpServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    handler(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    sockets,
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An echo server: every byte comes back; FIN is answered with FIN once echoed. */
export function echoServer(): Promise<TcpServer> {
  return tcpServer((s) => s.pipe(s));
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Reads a stream to its end, failing after `timeoutMs`. */
export async function readAll(stream: NodeJS.ReadableStream, timeoutMs = 30_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const timer = setTimeout(() => (stream as unknown as { destroy(e: Error): void }).destroy(new Error(`readAll: no end within ${timeoutMs} ms`)), timeoutMs);
  try {
    for await (const c of stream) chunks.push(c as Buffer);
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}

/** Resolves when `cond()` holds, polling; rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
