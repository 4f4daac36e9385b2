// A message body moved from one stream to another and counted, as `src.pipe(dest)` plus a
// byte-counting 'data' listener did, with fewer listeners per request: pipe() attaches
// seven (data, end, drain, unpipe, error, close, finish) and detaches them again for every
// body, which for small bodies costs more than moving the bytes.
//
// What it keeps from pipe(): backpressure (the source pauses while the destination is
// full and resumes on 'drain', or when the destination closes); the destination ended when
// the source ends (unless `end` is false); no write after the destination closed or ended.
// What it keeps from the counter: every chunk the source emits is counted, also after
// stop() or once the destination is gone (the body keeps flowing and being counted, as the
// counting listener kept it after an unpipe).
import type { Readable, Writable } from 'node:stream';

type Source = Pick<Readable, 'on' | 'once' | 'off' | 'pause' | 'resume' | 'readableFlowing' | 'readableEnded'>;
type Destination = Pick<Writable, 'write' | 'end' | 'once' | 'off' | 'writableEnded'> & { destroyed?: boolean };

/**
 * Moves `src`'s chunks to `dest`, counting each with `count`; ends `dest` after the last one
 * when `end` (default). Returns stop(): no more writes to `dest` (the counting goes on).
 */
export function relayBody(src: Source, dest: Destination, count: (bytes: number) => void, end = true): () => void {
  let writing = true;
  let waiting = false;
  let closed = false;
  const onClose = () => {
    closed = true;
    resume();
  };
  const resume = () => {
    if (!waiting) return;
    waiting = false;
    dest.off('drain', resume);
    src.resume();
  };
  const onData = (chunk: Buffer | string) => {
    count(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);
    if (!writing || closed || dest.destroyed === true || dest.writableEnded) return;
    if (!dest.write(chunk) && !waiting) {
      waiting = true;
      src.pause();
      dest.once('drain', resume);
    }
  };
  const onEnd = () => {
    dest.off('close', onClose);
    if (end && writing && !closed && dest.destroyed !== true && !dest.writableEnded) dest.end();
  };
  dest.once('close', onClose);
  src.on('data', onData);
  src.once('end', onEnd);
  if (src.readableFlowing !== true) src.resume();
  return () => {
    writing = false;
    resume();
  };
}
