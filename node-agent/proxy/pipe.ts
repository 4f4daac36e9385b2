// Copies bytes between two TCP sockets, the plain-TCP counterpart of core/hbone/tunnel.ts:
// a FIN on one side becomes a FIN on the other (half-close both ways), a reset or error
// on one side resets the other, and `pipe` gives backpressure. `done` is called once,
// when both sockets are closed, with the first error seen and `bytes` filled in.
import type net from 'node:net';

export interface PipeBytes {
  /** Bytes read from `a` and written to `b`. */
  aToB: number;
  /** Bytes read from `b` and written to `a`. */
  bToA: number;
}

export function pipeSockets(a: net.Socket, b: net.Socket, bytes: PipeBytes, done: (error?: string) => void): void {
  let error: string | undefined;
  let open = 2;
  const closed = () => {
    if (--open === 0) done(error);
  };
  for (const s of [a, b]) {
    s.allowHalfOpen = true;
    s.setNoDelay(true);
  }
  // No JavaScript per chunk beyond pipe's own: the counts are the sockets' own (bytes read
  // from each), taken when it closes (Node keeps bytesRead after the handle is gone).
  a.pipe(b);
  b.pipe(a);
  const wire = (self: net.Socket, other: net.Socket, name: string) => {
    self.on('error', (err: NodeJS.ErrnoException) => {
      error ??= `${name}: ${err.code ?? err.message}`;
      if (!other.destroyed) other.resetAndDestroy();
    });
    // Released once both of its directions are over.
    self.on('end', () => {
      if (self.writableFinished) self.destroy();
    });
    self.on('finish', () => {
      if (self.readableEnded) self.destroy();
    });
    self.once('close', (hadError: boolean) => {
      if (self === a) bytes.aToB = a.bytesRead;
      else bytes.bToA = b.bytesRead;
      // Closed without a clean end in both directions (destroyed by us or reset): the
      // other side cannot complete either.
      if (!other.destroyed && (hadError || !self.readableEnded)) {
        error ??= `${name}: closed before the connection completed`;
        other.resetAndDestroy();
      }
      closed();
    });
  };
  wire(a, b, 'client');
  wire(b, a, 'upstream');
}
