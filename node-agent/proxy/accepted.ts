// An app connection the agent accepted, from accept until it is joined to its upstream.
// Until then, an error or close of the app's socket ends the connection's record; a
// failure resets the app (it sees a refused or reset connection, as without the mesh);
// once the upstream is there, both are piped and the record is written when both close.
// Shared by the outbound (15001) and plaintext inbound (15006) listeners.
import type net from 'node:net';
import { pipeSockets, type PipeBytes } from './pipe.js';
import type { ConnectionTracker } from './record.js';

export interface Accepted {
  /** Stops watching the app socket: the caller (or pipeTo) owns it now. */
  handOver(): void;
  /** Records `error` and resets the app. */
  fail(error: string): void;
  /** Pipes the app and `upstream`; an app that left meanwhile gets its upstream reset. */
  pipeTo(upstream: net.Socket): void;
  /** True when the app left (or the record was written) before the upstream was ready. */
  readonly gone: boolean;
}

export function watchAccepted(socket: net.Socket, tracker: ConnectionTracker, onEarlyClose?: () => void): Accepted {
  const onError = (err: NodeJS.ErrnoException) => tracker.finish(`client: ${err.code ?? err.message}`);
  const onClose = () => {
    onEarlyClose?.();
    tracker.finish('client closed before the upstream connected');
  };
  socket.on('error', onError);
  socket.once('close', onClose);
  const handOver = () => {
    socket.off('error', onError);
    socket.off('close', onClose);
  };
  return {
    handOver,
    fail(error) {
      handOver();
      tracker.finish(error);
      if (!socket.destroyed) socket.resetAndDestroy();
    },
    pipeTo(upstream) {
      if (socket.destroyed || tracker.finished) {
        upstream.resetAndDestroy();
        return;
      }
      handOver();
      const bytes: PipeBytes = { aToB: 0, bToA: 0 };
      pipeSockets(socket, upstream, bytes, (error) => {
        tracker.bytesSent = bytes.aToB;
        tracker.bytesReceived = bytes.bToA;
        tracker.finish(error);
      });
    },
    get gone() {
      return socket.destroyed || tracker.finished;
    },
  };
}
