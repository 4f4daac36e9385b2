// Reads a tunnel's first bytes until detect.ts can tell its protocol, bounded by a size
// and a time (WAYPOINT_DEFAULTS.sniffMaxBytes, sniffTimeoutMs), then puts them back
// (`unshift`) so that whoever serves the tunnel reads it from its first byte.
import type { Duplex } from 'node:stream';
import { sniff, type TunnelProtocol } from './detect.js';

export interface SniffOptions {
  maxBytes: number;
  timeoutMs: number;
}

export interface Sniffed {
  protocol: TunnelProtocol;
  /** The bytes read, when they could not be put back (the client had already ended): the
   * relay sends them first. Empty otherwise. */
  head: Buffer;
}

/** Resolves with the protocol; the bytes read are back in the stream, paused. Never
 * rejects: a stream that errors or ends before telling is TCP (the relay then sees its end
 * or error itself). */
export function sniffStream(stream: Duplex, opts: SniffOptions): Promise<Sniffed> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (final: boolean, ended = false) => {
      const buf = Buffer.concat(chunks, size);
      const result = ended ? 'tcp' : sniff(buf, final || size >= opts.maxBytes);
      if (result === 'more') return;
      done = true;
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onEnd);
      stream.off('close', onEnd);
      stream.pause();
      if (ended || stream.destroyed) return resolve({ protocol: result, head: buf });
      if (buf.length > 0) stream.unshift(buf);
      resolve({ protocol: result, head: Buffer.alloc(0) });
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (!done && size < opts.maxBytes && (chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
        finish(false);
      }
    };
    // Ended, failed or closed before telling: carried as TCP with what arrived.
    const onEnd = () => {
      if (!done) finish(true, true);
    };
    const timer = setTimeout(() => {
      if (!done) finish(true);
    }, opts.timeoutMs);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onEnd);
    stream.once('close', onEnd);
  });
}
