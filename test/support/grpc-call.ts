// A tiny gRPC client for tests (Node's standard library only): unary calls over cleartext
// HTTP/2 with metadata, printing what a gRPC client sees. The e2e tests run it inside a
// pod's network namespace (`ambientctl exec POD -- node dist/test/support/grpc-call.js ...`),
// as the Gateway API suite's echo client makes its gRPC calls from the echo pod.
//
//   node dist/test/support/grpc-call.js [--method /pkg.Service/Method] [--authority A]
//        [-H name:value]... [--count N] [--timeout MS] http://HOST:PORT
//
// One JSON line per call on stdout: {httpStatus, grpcStatus, grpcMessage, headers,
// trailers, message (the decoded answer: JSON when it parses, else text), error}. Exit 0
// when every call ended (whatever its status), 2 on bad arguments.
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';

/** The method the Gateway API conformance suite's gRPC echo serves. */
export const CONFORMANCE_ECHO_METHOD = '/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo';
/** Calls made at once with --count (the suite's weight sampler sends 10 at a time). */
export const CONCURRENT_CALLS = 10;
const MAX_COUNT = 10_000;

export interface GrpcCallOptions {
  /** http://host:port */
  target: string;
  method?: string;
  authority?: string;
  metadata?: Array<[string, string]>;
  timeoutMs?: number;
  /** The request message (default `{}`), sent as one uncompressed message. */
  message?: Buffer;
}

export interface GrpcResult {
  httpStatus: number;
  grpcStatus: number | null;
  grpcMessage: string;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  message: unknown;
  error?: string;
}

function flat(h: http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}

/** Decodes the length-prefixed messages of a gRPC response body; the first one as JSON or text. */
export function firstMessage(body: Buffer): unknown {
  if (body.length < 5) return null;
  const len = body.readUInt32BE(1);
  const bytes = body.subarray(5, 5 + len).toString('utf8');
  try {
    return JSON.parse(bytes) as unknown;
  } catch {
    return bytes;
  }
}

/** One unary call on `session` (opened on `opts.target`). Never rejects: failures are in `error`. */
export function callOn(session: http2.ClientHttp2Session, opts: GrpcCallOptions): Promise<GrpcResult> {
  return new Promise((resolve) => {
    const result: GrpcResult = { httpStatus: 0, grpcStatus: null, grpcMessage: '', headers: {}, trailers: {}, message: null };
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': opts.method ?? CONFORMANCE_ECHO_METHOD,
      'content-type': 'application/grpc+json',
      te: 'trailers',
    };
    if (opts.authority) headers[':authority'] = opts.authority;
    for (const [k, v] of opts.metadata ?? []) {
      const name = k.toLowerCase();
      const prev = headers[name];
      headers[name] = prev === undefined ? v : `${String(prev)},${v}`;
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch (err) {
      resolve({ ...result, error: (err as Error).message });
      return;
    }
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      result.message = firstMessage(Buffer.concat(chunks));
      // Trailers-Only answers carry grpc-status in the headers.
      const status = result.trailers['grpc-status'] ?? result.headers['grpc-status'];
      result.grpcStatus = status === undefined ? null : Number(status);
      result.grpcMessage = decodeURIComponent(result.trailers['grpc-message'] ?? result.headers['grpc-message'] ?? '');
      resolve(error ? { ...result, error } : result);
    };
    stream.setTimeout(opts.timeoutMs ?? 5_000, () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      done('timeout');
    });
    stream.on('response', (h) => {
      result.httpStatus = Number(h[':status']);
      result.headers = flat(h);
    });
    stream.on('trailers', (t) => (result.trailers = flat(t)));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => done());
    stream.on('error', (err: Error) => done(err.message));
    stream.on('close', () => done(stream.rstCode ? `stream reset (${stream.rstCode})` : undefined));
    const body = opts.message ?? Buffer.from('{}');
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(body.length, 1);
    stream.end(Buffer.concat([prefix, body]));
  });
}

/** `count` calls over one HTTP/2 connection, CONCURRENT_CALLS at a time, in order of issue. */
export async function grpcCalls(opts: GrpcCallOptions, count = 1): Promise<GrpcResult[]> {
  const session = http2.connect(opts.target);
  session.on('error', () => {});
  try {
    const results: GrpcResult[] = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        results[i] = await callOn(session, opts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_CALLS, count) }, worker));
    return results;
  } finally {
    session.destroy();
  }
}

/** Parses the command line; a string is the usage error. */
export function parseArgs(argv: string[]): { opts: GrpcCallOptions; count: number } | string {
  const opts: GrpcCallOptions = { target: '', metadata: [] };
  let count = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--method') opts.method = value();
      else if (a === '--authority') opts.authority = value();
      else if (a === '-H') {
        const v = value();
        const colon = v.indexOf(':');
        if (colon <= 0) return `-H ${JSON.stringify(v)}: want name:value`;
        opts.metadata!.push([v.slice(0, colon).trim(), v.slice(colon + 1).trim()]);
      } else if (a === '--count') {
        count = Number(value());
        if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) return `--count: want an integer 1..${MAX_COUNT}`;
      } else if (a === '--timeout') {
        opts.timeoutMs = Number(value());
        if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs < 1) return '--timeout: want milliseconds';
      } else if (a.startsWith('http://')) opts.target = a;
      else return `unexpected argument ${JSON.stringify(a)}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (!opts.target) return 'name the server: http://HOST:PORT';
  return { opts, count };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(`grpc-call: ${parsed}\n`);
    process.exit(2);
  }
  const results = await grpcCalls(parsed.opts, parsed.count);
  process.stdout.write(results.map((r) => JSON.stringify(r)).join('\n') + '\n');
}
