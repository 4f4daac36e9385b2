// The small HTTP/2 pieces every endpoint of the controller protocol shares: a refusal
// with its status and error code (what the caller reads), answering one, reading a
// bounded request body, and reading one header.
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { ErrorCodes, MeshError, isMeshError, type ErrorCode } from '../../core/errors.js';

const { constants: C } = http2;

/** A refusal with its HTTP status; its message is what the caller reads. */
export class Refused extends MeshError {
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string) {
    super(code, message);
    this.status = status;
  }
}

export function headerValue(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Answers `err` as JSON {code, message} with its status (500 for anything not a Refused). */
export function respondError(stream: ServerHttp2Stream, err: unknown): void {
  const refused =
    err instanceof Refused
      ? err
      : isMeshError(err)
        ? new Refused(500, err.code, err.message)
        : new Refused(500, ErrorCodes.CTRL_UNAVAILABLE, `internal error: ${(err as Error)?.message ?? String(err)}`);
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.end();
    return;
  }
  stream.respond({ ':status': refused.status, 'content-type': 'application/json' });
  stream.end(JSON.stringify({ code: refused.code, message: refused.message }), () => {
    // The answer is complete; a body still being uploaded is not wanted (RFC 9113 8.1).
    if (!stream.readableEnded && !stream.closed) stream.close(C.NGHTTP2_NO_ERROR);
  });
}

/** Reads a request body of at most `limit` bytes (413 beyond, leaving the stream open for the answer). */
export function readBody(stream: ServerHttp2Stream, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      if (err) {
        stream.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return done(new Refused(413, ErrorCodes.CTRL_BAD_REQUEST, `request body larger than ${limit} bytes`));
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onClose = () => done(new Error('the client closed the stream before its body ended'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
  });
}
