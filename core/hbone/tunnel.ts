// Copies bytes between an HTTP/2 CONNECT stream and a TCP socket, the way RFC 9113
// section 8.5 asks of a CONNECT proxy: FIN maps to END_STREAM and back (half-close both
// ways), a TCP reset becomes RST_STREAM(CONNECT_ERROR) and a stream reset becomes a TCP
// reset. `pipe` gives backpressure: a side that cannot keep up pauses the other, and
// HTTP/2 flow control bounds what the peer may send meanwhile.
import http2, { type Http2Stream } from 'node:http2';
import type net from 'node:net';

export interface TunnelBytes {
  /** Bytes that arrived on the stream and went to the socket. */
  fromPeer: number;
  /** Bytes that arrived on the socket and went to the stream. */
  toPeer: number;
}

export function pipeTunnel(stream: Http2Stream, socket: net.Socket, bytes: TunnelBytes, done: (error?: string) => void): void {
  let error: string | undefined;
  let open = 2;
  const closed = () => {
    if (--open === 0) done(error);
  };
  // Half-close: the socket's FIN must not end our writing side before the stream ends.
  socket.allowHalfOpen = true;
  // HTTP/2 hands over DATA frames one by one (at most one TLS record, 16 KiB, each), and
  // one poll of the event loop delivers several socket reads, each its own callback and
  // tick: corking until the poll phase is over (setImmediate) turns all of them into one
  // writev instead of a write(2) each (a tick-long cork gave about 8 KiB per write).
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  // This handler runs anyway (for the cork), so it also counts what the peer sent.
  stream.on('data', (chunk: Buffer) => {
    bytes.fromPeer += chunk.length;
    if (corked) return;
    corked = true;
    socket.cork();
    setImmediate(uncork);
  });
  // A proxy must not add Nagle delay to what the app already chose to send.
  socket.setNoDelay(true);
  // The stream's end is forwarded by hand: Node emits 'end' just before 'aborted' on a
  // reset stream, and a socket whose FIN is queued can no longer be reset.
  stream.pipe(socket, { end: false });
  socket.pipe(stream);
  let aborted = false;
  stream.on('aborted', () => {
    aborted = true;
    if (!socket.destroyed) socket.resetAndDestroy();
  });
  stream.on('end', () =>
    setImmediate(() => {
      if (!aborted && !socket.destroyed) socket.end();
    }),
  );

  socket.on('error', (err: NodeJS.ErrnoException) => {
    error ??= `tcp: ${err.code ?? err.message}`;
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CONNECT_ERROR);
  });
  stream.on('error', (err: Error) => {
    error ??= `stream: ${err.message}`;
  });
  stream.once('close', () => {
    if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
      error ??= `stream reset (HTTP/2 error ${stream.rstCode})`;
      // A socket whose FIN is already queued cannot be reset (libuv: EINVAL); close it.
      if (!socket.destroyed) socket.writableEnded ? socket.destroy() : socket.resetAndDestroy();
    } else if (!socket.destroyed && socket.writableFinished && socket.readableEnded) {
      socket.destroy();
    }
    closed();
  });
  socket.once('close', () => {
    // The socket's own count (kept after close): no per-chunk handler on this side.
    bytes.toPeer = socket.bytesRead;
    // The socket is gone; a stream still open in either direction cannot complete.
    if (!stream.closed && !stream.destroyed && error) stream.close(http2.constants.NGHTTP2_CONNECT_ERROR);
    closed();
  });
  // Both directions finished cleanly: release the socket once its FIN is flushed.
  socket.on('end', () => {
    if (socket.writableFinished) socket.destroy();
  });
  socket.on('finish', () => {
    if (socket.readableEnded) socket.destroy();
  });
}
