// The handover's socket layer: frames (protocol.ts) with descriptors beside them over a
// connected Unix stream socket, one non-blocking sendmsg/recvmsg at a time
// (core/syscalls.ts sendFds/recvFds). Node never reads this socket (it would swallow the
// descriptors), so readiness is polled, briefly: a handover is a handful of frames once
// per agent start.
import { closeSync } from 'node:fs';
import type net from 'node:net';
import { isWouldBlock, recvFds, sendFds, socketFd } from '../../core/syscalls.js';
import { encodeFrame, FrameDecoder, protocolError, type Frame, type HandoverMessage } from './protocol.js';

const POLL_MS = { first: 1, max: 20 };

export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

export class FdChannel {
  readonly #socket: net.Socket;
  readonly #fd: number;
  readonly #decoder = new FrameDecoder();
  #closed = false;

  /** `socket`: connected, and not reading (paused before it connected, or accepted with pauseOnCreate). */
  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#fd = socketFd(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one message with `fds` riding on it (this process keeps its own descriptors). */
  async send(message: HandoverMessage, fds: readonly number[] = [], timeoutMs = 10_000): Promise<void> {
    const frame = encodeFrame(message, fds.length);
    const deadline = Date.now() + timeoutMs;
    let sent = 0;
    let wait = POLL_MS.first;
    while (sent < frame.length) {
      if (this.#closed) throw protocolError('the connection closed while sending');
      try {
        // The descriptors go with the first byte only.
        sent += sendFds(this.#fd, frame.subarray(sent), sent === 0 ? fds : []);
        wait = POLL_MS.first;
      } catch (err) {
        if (!isWouldBlock(err)) throw err;
        if (Date.now() >= deadline) throw protocolError(`the peer did not read a ${message.t} message within ${timeoutMs} ms`);
        await sleep(wait);
        wait = Math.min(wait * 2, POLL_MS.max);
      }
    }
  }

  /** The next message and its descriptors (now this process's: the caller owns them). */
  async receive(timeoutMs: number): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    let wait = POLL_MS.first;
    for (;;) {
      if (this.#closed) throw protocolError('the connection is closed');
      let got: { data: Buffer; fds: number[] };
      try {
        got = recvFds(this.#fd, this.#decoder.wanted());
      } catch (err) {
        if (!isWouldBlock(err)) throw err;
        if (Date.now() >= deadline) throw protocolError(`no message from the peer within ${timeoutMs} ms`);
        await sleep(wait);
        wait = Math.min(wait * 2, POLL_MS.max);
        continue;
      }
      wait = POLL_MS.first;
      if (got.data.length === 0) {
        closeFds(got.fds);
        throw protocolError('the peer closed the connection');
      }
      let frame: Frame | undefined;
      try {
        frame = this.#decoder.push(got.data, got.fds);
      } catch (err) {
        closeFds(this.#decoder.drain());
        throw err;
      }
      if (frame) return frame;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFds(this.#decoder.drain());
    this.#socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
