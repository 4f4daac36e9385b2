// ambient-samples/echo: answers every HTTP request with JSON describing the request as the
// pod saw it (who answered, which client address arrived, which headers), over HTTP/1.1
// and h2c on one port, and gRPC calls (on HTTP/2) with the same JSON in one gRPC message.
// See samples/README.md.
import http from 'node:http';
import http2 from 'node:http2';
import { ProtocolMux, type Peer } from './transport.js';
import { GRPC_ANSWER_CONTENT_TYPE, GrpcStatus, grpcFrame, grpcMessages, grpcMethod, isGrpcContentType, requestedStatus } from './grpc.js';
import { isFaulty, NO_FAULT, parseFault, type Fault } from './fault.js';
import { listenAll, log, normaliseAddress, onShutdown, parseDuration, podName, portFromEnv } from '../shared/runtime.js';

const MAX_BODY = 64 * 1024;
const MAX_DELAY_MS = 30_000;

const POD = podName();
const NAMESPACE = process.env.POD_NAMESPACE ?? '';
const NODE = process.env.NODE_NAME ?? '';
const POD_IP = process.env.POD_IP ?? '';

/** The injected fault (./fault.ts): from FAULT_* at start, changed through FAULT_PATH. */
const FAULT_PATH = '/_echo/fault';
const initialFault = parseFault((name) => process.env[`FAULT_${name.toUpperCase()}`]);
if (typeof initialFault === 'string') {
  log(`FAULT_*: ${initialFault}`);
  process.exit(2);
}
let fault: Fault = initialFault;
/** Requests since the fault was set, for its even spread. */
let faultCount = 0;

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** Header fields as received: names lower-cased, a repeated field as an array in order. */
function receivedHeaders(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

interface Options {
  status: number;
  delayMs: number;
}

/** `?status=` and `?delay=`, or the reason they are invalid. */
function options(query: URLSearchParams): Options | string {
  let status = 200;
  const s = query.get('status');
  if (s !== null) {
    if (!/^\d{3}$/.test(s) || Number(s) < 100 || Number(s) > 599) return `invalid status ${JSON.stringify(s)}: want an integer 100..599`;
    status = Number(s);
    if (status < 200) return `invalid status ${s}: 1xx are informational, not a final answer; want 200..599`;
  }
  let delayMs = 0;
  const d = query.get('delay');
  if (d !== null) {
    const ms = parseDuration(d, 'ms');
    if (ms === undefined) return `invalid delay ${JSON.stringify(d)}: want a duration like 200ms, 1.5s or 250 (ms)`;
    if (ms > MAX_DELAY_MS) return `invalid delay ${JSON.stringify(d)}: at most ${MAX_DELAY_MS / 1000}s`;
    delayMs = ms;
  }
  return { status, delayMs };
}

/** The request target as a URL (origin-form or absolute-form); unparsable ones as "/". */
function parseTarget(target: string): URL {
  try {
    return new URL(target, 'http://echo.invalid');
  } catch {
    return new URL('http://echo.invalid/');
  }
}

const h1 = http.createServer();
// Answer requests whose client half-closed after sending them (printf ... | nc -N, tunnels
// that forward FIN) instead of aborting them; the connection closes after the last answer.
(h1 as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
const h2 = http2.createServer();
const mux = new ProtocolMux(h1, h2);

function handle(req: Request, res: Response): void {
  const started = Date.now();
  const method = req.method ?? '';
  const path = req.url ?? '';
  let status = 0;
  let endHttp1: () => void = () => {};
  if (req.httpVersionMajor === 1) endHttp1 = mux.http1RequestStarted(req.socket as import('node:net').Socket);
  let timer: NodeJS.Timeout | undefined;
  let logged = false;
  const finished = () => {
    if (timer) clearTimeout(timer);
    endHttp1();
    if (logged) return;
    logged = true;
    log(`${method} ${path} ${status || 'aborted'} ${Date.now() - started}ms`);
  };
  res.on('finish', finished);
  res.on('close', finished);
  res.on('error', () => {});
  req.on('error', () => {});

  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  req.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (kept < MAX_BODY) {
      const part = chunk.subarray(0, MAX_BODY - kept);
      chunks.push(part);
      kept += part.length;
    }
  });
  req.on('end', () => {
    const url = parseTarget(path);
    const send = (code: number, type: string, body: string) => {
      status = code;
      const headers: Record<string, string | number> = { 'content-type': type, 'x-echo-pod': POD };
      if (req.httpVersionMajor === 1 && mux.isStopping) headers.connection = 'close';
      const noBody = method === 'HEAD' || code === 204 || code === 205 || code === 304;
      if (!noBody) headers['content-length'] = Buffer.byteLength(body);
      (res as http.ServerResponse).writeHead(code, headers);
      if (noBody) res.end();
      else res.end(body);
    };
    if (url.pathname === '/healthz') {
      send(200, 'text/plain; charset=utf-8', 'ok');
      return;
    }
    if (url.pathname === FAULT_PATH) {
      if (method === 'PUT' || method === 'POST') {
        const next = parseFault((name) => url.searchParams.get(name));
        if (typeof next === 'string') return send(400, 'text/plain; charset=utf-8', next + '\n');
        fault = next;
      } else if (method === 'DELETE') fault = NO_FAULT;
      faultCount = 0;
      log(`fault now ${JSON.stringify(fault)}`);
      return send(200, 'application/json', JSON.stringify(fault) + '\n');
    }
    const opts = options(url.searchParams);
    if (typeof opts === 'string') {
      send(400, 'text/plain; charset=utf-8', opts + '\n');
      return;
    }
    const grpc = req.httpVersionMajor === 2 && isGrpcContentType(req.headers['content-type']);
    const body = Buffer.concat(chunks).toString('utf8');
    if (grpc) {
      // gRPC: every outcome is HTTP 200 with the status in the trailers (PROTOCOL-HTTP2.md).
      const sendGrpc = (code: number, message: string, reply?: object) => {
        status = 200;
        const r = res as http2.Http2ServerResponse;
        r.writeHead(200, { 'content-type': GRPC_ANSWER_CONTENT_TYPE, 'x-echo-pod': POD });
        r.addTrailers(code === GrpcStatus.OK ? { 'grpc-status': '0' } : { 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) });
        if (reply) r.end(grpcFrame(Buffer.from(JSON.stringify(reply, null, 2) + '\n', 'utf8')));
        else r.end();
      };
      if (total > kept) return sendGrpc(GrpcStatus.RESOURCE_EXHAUSTED, `request larger than ${MAX_BODY} bytes`);
      const decoded = grpcMessages(Buffer.concat(chunks));
      if ('status' in decoded) return sendGrpc(decoded.status, decoded.message);
      const asked = requestedStatus(req.headers['x-echo-grpc-status']);
      if (typeof asked === 'string') return sendGrpc(GrpcStatus.INVALID_ARGUMENT, asked);
      if (asked !== undefined && asked !== GrpcStatus.OK) return sendGrpc(asked, `status ${asked} requested by x-echo-grpc-status`);
      const call = grpcMethod(url.pathname) ?? { service: '', method: '' };
      return sendGrpc(GrpcStatus.OK, '', { ...describe(decoded.messages.map((m) => m.toString('utf8')).join('')), grpc: { ...call, messages: decoded.messages.length } });
    }
    const answer = describe(body);
    let code = opts.status;
    let delayMs = opts.delayMs;
    if (fault.percent > 0 && isFaulty(fault, ++faultCount)) {
      if (fault.status > 0) code = fault.status;
      delayMs = Math.max(delayMs, fault.delayMs);
    }
    const reply = () => send(code, 'application/json', JSON.stringify(answer, null, 2) + '\n');
    if (delayMs > 0) timer = setTimeout(reply, delayMs);
    else reply();
  });

  function describe(body: string) {
    const session = req.httpVersionMajor === 2 ? (req as http2.Http2ServerRequest).stream.session : undefined;
    const peer: Peer = mux.peerOf(session) ?? { address: req.socket.remoteAddress, port: req.socket.remotePort };
    return {
      pod: POD,
      namespace: NAMESPACE,
      node: NODE,
      ip: POD_IP,
      method,
      path,
      httpVersion: req.httpVersion,
      headers: receivedHeaders(req.rawHeaders),
      client: { address: normaliseAddress(peer.address), port: peer.port ?? 0 },
      body,
      bodyBytes: total,
      bodyTruncated: total > kept,
    };
  }
}

h1.on('request', handle);
h2.on('request', handle);
h2.on('sessionError', () => {});

const port = portFromEnv(8080);
onShutdown(() => mux.stop());
listenAll(mux.server, port, 'http/1.1 + h2c').catch(
  (err: Error) => {
    log(`cannot listen on :${port}: ${err.message}`);
    process.exit(1);
  },
);
