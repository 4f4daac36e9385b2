// Copies bytes both ways between two connections (a tunnel's TCP passthrough, a WebSocket
// after its 101), with the semantics of core/hbone/tunnel.ts: an end is forwarded as an
// end (half-close both ways), a reset or error on one side resets the other (RST_STREAM
// CONNECT_ERROR on an HBONE stream, a TCP RST on a socket), backpressure through `pipe`.
import type { Duplex } from 'node:stream';
import { resetConnection } from '../http/downstream.js';

export interface RelayBytes {
  /** a -> b */
  forward: number;
  /** b -> a */
  backward: number;
}

function brokenOff(s: Duplex): boolean {
  const h2 = s as Duplex & { rstCode?: number; aborted?: boolean };
  return (h2.rstCode !== undefined && h2.rstCode !== 0) || h2.aborted === true || (s.destroyed && !(s.readableEnded && s.writableFinished));
}

/** Relays until both directions ended or one side broke; `done` once, with why when it broke. */
export function relay(a: Duplex, b: Duplex, bytes: RelayBytes, done: (error?: string) => void): void {
  let error: string | undefined;
  let left = 2;
  const closed = () => {
    if (--left === 0) done(error);
  };
  a.on('data', (c: Buffer) => (bytes.forward += c.length));
  b.on('data', (c: Buffer) => (bytes.backward += c.length));
  a.pipe(b);
  b.pipe(a);
  const watch = (side: Duplex, other: Duplex, name: string) => {
    side.on('error', (err: Error) => {
      error ??= `${name}: ${(err as NodeJS.ErrnoException).code ?? err.message}`;
    });
    side.once('close', () => {
      if (brokenOff(side) || error) {
        error ??= `${name} reset`;
        if (!other.destroyed) resetConnection(other);
      } else if (!other.destroyed && other.writableFinished && other.readableEnded) other.destroy();
      closed();
    });
    // Both directions of this side finished cleanly: release it.
    const release = () => {
      if (side.readableEnded && side.writableFinished && !side.destroyed) side.destroy();
    };
    side.on('end', release);
    side.on('finish', release);
  };
  watch(a, b, 'downstream');
  watch(b, a, 'upstream');
}
