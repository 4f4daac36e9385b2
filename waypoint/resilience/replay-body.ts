// A request body that can be sent again: each try reads a fresh stream that replays the
// bytes already read, then goes on with the client's body as it arrives (streamed, with
// backpressure: the client's body is read only as fast as the current try takes it).
// Bytes are held up to `maxBytes`; past that, nothing is held any more and the body is no
// longer replayable (a retry would send a truncated body: the retry layer then never
// retries). Between tries (backoff) the client's body is paused.
import { PassThrough, type Readable } from 'node:stream';

export class ReplayableBody {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private overflow = false;
  private ended = false;
  private failed: Error | undefined;
  private current: PassThrough | undefined;

  constructor(
    private readonly src: Readable,
    private readonly maxBytes: number,
  ) {}

  /** Whether every byte read so far is still held (a retry can send the same body). */
  get replayable(): boolean {
    return !this.overflow && this.failed === undefined;
  }

  /** The body for the next try; the previous try's stream is destroyed. */
  next(): Readable {
    const first = this.current === undefined;
    if (this.current && !this.current.destroyed) this.current.destroy();
    const out = new PassThrough();
    for (const b of this.held) out.write(b);
    this.current = out;
    if (this.failed) out.destroy(this.failed);
    else if (this.ended) out.end();
    if (first) this.attach();
    else if (!this.ended && this.src.isPaused()) this.src.resume();
    return out;
  }

  private attach(): void {
    this.src.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (!this.overflow) {
        if (this.heldBytes + b.length > this.maxBytes) {
          this.overflow = true;
          this.held = [];
          this.heldBytes = 0;
        } else {
          this.held.push(b);
          this.heldBytes += b.length;
        }
      }
      const out = this.current;
      if (!out || out.destroyed) {
        this.src.pause();
        return;
      }
      if (!out.write(b)) {
        this.src.pause();
        out.once('drain', () => {
          if (this.current === out) this.src.resume();
        });
      }
    });
    this.src.once('end', () => {
      this.ended = true;
      this.current?.end();
    });
    this.src.once('error', (err: Error) => {
      this.failed = err;
      this.current?.destroy(err);
    });
  }
}
