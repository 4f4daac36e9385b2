// HTTP load for the waypoint benchmark (waypoint.ts), run inside the client pod's network
// namespace by mesh-load.ts: persistent connections speaking HTTP/1.1 (keep-alive, a small
// parser of our own so that the client costs the same on every path) or HTTP/2 cleartext
// with prior knowledge (node:http2), each carrying one request at a time, a POST of `size`
// bytes answered by the bench HTTP server (http-server.ts) with `size` bytes. Two shapes:
// a fixed rate (open loop, as Istio's published benchmark runs fortio) and a maximum rate
// (closed loop). Every loop is bounded by a count and a deadline.
import net from 'node:net';
import http2 from 'node:http2';
import { percentile } from './report.js';

const quantiles = (us: number[]) => ({ p50: percentile(us, 50), p90: percentile(us, 90), p99: percentile(us, 99), measured: us.length });

export type HttpProtocol = 'h1' | 'h2';

export interface HttpTarget {
  protocol: HttpProtocol;
  host: string;
  port: number;
  /** Host / :authority sent (the Service's name: the waypoint routes by it). */
  authority: string;
  size: number;
}

/** One connection; `request` is called again only after its callback ran. */
interface Conn {
  request(cb: (err?: Error) => void): void;
  close(): void;
}

/** At most this many bytes of response headers (a bound on the parser). */
const MAX_HEAD = 16 * 1024;

function h1Conn(t: HttpTarget, sock: net.Socket): Conn {
  const req = Buffer.concat([
    Buffer.from(`POST /bench HTTP/1.1\r\nHost: ${t.authority}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${t.size}\r\n\r\n`, 'latin1'),
    Buffer.alloc(t.size, 0x71),
  ]);
  let buf: Buffer = Buffer.alloc(0);
  let cb: ((err?: Error) => void) | undefined;
  const finish = (err?: Error) => {
    const c = cb;
    cb = undefined;
    c?.(err);
  };
  // Parses one complete response from buf; returns the bytes it took, 0 when incomplete.
  const parse = (): number | Error => {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return buf.length > MAX_HEAD ? new Error('response head too long') : 0;
    const head = buf.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (status !== 200) return new Error(`status ${Number.isFinite(status) ? status : head.split('\r\n')[0]}`);
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (cl) {
      const total = end + 4 + Number(cl[1]);
      return buf.length >= total ? total : 0;
    }
    if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) return new Error('response without length');
    let i = end + 4;
    for (let n = 0; n < 100_000; n++) {
      const lineEnd = buf.indexOf('\r\n', i);
      if (lineEnd < 0) return 0;
      const len = parseInt(buf.subarray(i, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(len)) return new Error('bad chunk size');
      if (len === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
        if (buf.length >= lineEnd + 4 && buf[lineEnd + 2] === 13 && buf[lineEnd + 3] === 10) return lineEnd + 4;
        return trailerEnd < 0 ? 0 : trailerEnd + 4;
      }
      i = lineEnd + 2 + len + 2;
      if (buf.length < i) return 0;
    }
    return new Error('too many chunks');
  };
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const took = parse();
    if (took instanceof Error) {
      finish(took);
      sock.destroy();
    } else if (took > 0) {
      buf = buf.subarray(took);
      finish();
    }
  });
  sock.on('error', (err) => finish(err));
  sock.on('close', () => finish(new Error('connection closed')));
  return {
    request(c) {
      cb = c;
      sock.write(req);
    },
    close: () => sock.destroy(),
  };
}

function h2Conn(t: HttpTarget, session: http2.ClientHttp2Session): Conn {
  const body = Buffer.alloc(t.size, 0x71);
  const headers = { ':method': 'POST', ':path': '/bench', ':authority': t.authority, 'content-type': 'application/octet-stream', 'content-length': String(t.size) };
  return {
    request(cb) {
      let done = false;
      const finish = (err?: Error) => {
        if (!done) {
          done = true;
          cb(err);
        }
      };
      const s = session.request(headers);
      s.on('response', (h) => {
        if (h[':status'] !== 200) finish(new Error(`status ${h[':status']}`));
      });
      s.on('data', () => undefined);
      s.on('end', () => finish());
      s.on('error', (err) => finish(err));
      s.on('close', () => finish(new Error('stream closed')));
      s.end(body);
    },
    close: () => session.destroy(),
  };
}

/** Opens `n` connections to the target, within 10 s. */
async function connectAll(t: HttpTarget, n: number): Promise<Conn[]> {
  const one = () =>
    new Promise<Conn>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connect to ${t.host}:${t.port}: no connection in 10 s`)), 10_000);
      if (t.protocol === 'h1') {
        const s = net.connect({ host: t.host, port: t.port, noDelay: true });
        s.once('connect', () => {
          clearTimeout(timer);
          resolve(h1Conn(t, s));
        });
        s.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      } else {
        const session = http2.connect(`http://${t.host}:${t.port}`, { createConnection: () => net.connect({ host: t.host, port: t.port, noDelay: true }) });
        session.once('connect', () => {
          clearTimeout(timer);
          resolve(h2Conn(t, session));
        });
        session.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      }
    });
  return Promise.all(Array.from({ length: n }, one));
}

export interface HttpResult {
  /** Latency percentiles of the measured requests, microseconds (the samples stay here:
   * a 20 s run at 1000 req/s would be a large line on the driver's pipe). */
  p50: number;
  p90: number;
  p99: number;
  measured: number;
  sent: number;
  completed: number;
  failed: number;
  unfinished: number;
  /** Measured requests per second. */
  achieved: number;
  firstError: string;
}

/**
 * `rate` requests/s over `conns` persistent connections for `warmupS + seconds` (the first
 * `warmupS` not measured): request i goes on connection i % conns at t0 + i / rate, or as
 * soon as that connection's previous request is answered; its latency counts from when it
 * was due (the wake-up that found it due: Node's timer lateness is the generator's).
 * Bounded by the count and a deadline 10 s after the last request is due.
 */
export async function httpFixedRate(t: HttpTarget, o: { rate: number; conns: number; seconds: number; warmupS: number }): Promise<HttpResult> {
  const conns = await connectAll(t, o.conns);
  const total = Math.round(o.rate * (o.warmupS + o.seconds));
  const warmN = Math.round(o.rate * o.warmupS);
  const stepNs = 1e9 / o.rate;
  const us: number[] = [];
  let completed = 0;
  let failed = 0;
  let sent = 0;
  let firstError = '';
  let firstMeasuredNs = 0n;
  let lastDoneNs = 0n;
  const queues = conns.map(() => [] as Array<{ due: bigint; i: number }>);
  const fire = (c: number): void => {
    const head = queues[c]![0]!;
    conns[c]!.request((err) => {
      const now = process.hrtime.bigint();
      queues[c]!.shift();
      completed++;
      if (err) {
        failed++;
        firstError ||= err.message;
      } else if (head.i >= warmN) {
        us.push(Number(now - head.due) / 1000);
        lastDoneNs = now;
      }
      if (queues[c]!.length > 0 && !err) fire(c);
    });
  };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total && failed === 0; ) {
    const now = process.hrtime.bigint();
    while (i < total) {
      const scheduled = t0 + BigInt(Math.round(i * stepNs));
      if (scheduled > now) break;
      const c = i % o.conns;
      queues[c]!.push({ due: now, i });
      if (i === warmN) firstMeasuredNs = now;
      if (queues[c]!.length === 1) fire(c);
      sent++;
      i++;
    }
    if (i >= total) break;
    const waitMs = Number(t0 + BigInt(Math.round(i * stepNs)) - process.hrtime.bigint()) / 1e6;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.floor(waitMs))));
  }
  const endBy = Date.now() + 10_000;
  while (failed === 0 && completed < sent && Date.now() < endBy) await new Promise((r) => setTimeout(r, 5));
  for (const c of conns) c.close();
  const windowS = lastDoneNs > firstMeasuredNs ? Number(lastDoneNs - firstMeasuredNs) / 1e9 : o.seconds;
  return { ...quantiles(us), sent, completed, failed, unfinished: sent - completed, achieved: us.length / Math.max(windowS, o.seconds), firstError };
}

/**
 * Closed loop: `conns` connections, each sending its next request as soon as the previous
 * one is answered, for `warmupS + seconds` (the first `warmupS` not measured). Bounded by
 * the deadline (and 10 s more for the last answers).
 */
export async function httpMaxRate(t: HttpTarget, o: { conns: number; seconds: number; warmupS: number }): Promise<HttpResult> {
  const conns = await connectAll(t, o.conns);
  const us: number[] = [];
  let sent = 0;
  let completed = 0;
  let failed = 0;
  let firstError = '';
  const start = Date.now();
  const measureFrom = start + o.warmupS * 1000;
  const stopAt = measureFrom + o.seconds * 1000;
  let inflight = 0;
  const loop = (c: number): void => {
    if (Date.now() >= stopAt || failed > 0) return;
    const t1 = process.hrtime.bigint();
    const measured = Date.now() >= measureFrom;
    sent++;
    inflight++;
    conns[c]!.request((err) => {
      inflight--;
      completed++;
      if (err) {
        failed++;
        firstError ||= err.message;
        return;
      }
      if (measured) us.push(Number(process.hrtime.bigint() - t1) / 1000);
      loop(c);
    });
  };
  for (let c = 0; c < conns.length; c++) loop(c);
  const endBy = stopAt + 10_000;
  while ((inflight > 0 || Date.now() < stopAt) && failed === 0 && Date.now() < endBy) await new Promise((r) => setTimeout(r, 20));
  for (const c of conns) c.close();
  return { ...quantiles(us), sent, completed, failed, unfinished: inflight, achieved: us.length / o.seconds, firstError };
}
