// Load-generating clients of the bench server (protocol: common.ts), shared by the HBONE
// benchmark (hbone.ts, on 127.0.0.1) and the pod-to-pod benchmark's load generator
// (mesh-load.ts, inside a client pod). Each takes the host and port to connect to; every
// loop is bounded by a count and a deadline.
import net from 'node:net';
import { MODE_ECHO, MODE_SINK, SINK_ACK_BYTES } from './common.js';

export const MiB = 1024 * 1024;
/** Bytes per write of a sink transfer. */
const CHUNK = 256 * 1024;

const connect = (host: string, port: number): net.Socket => net.connect({ host, port, noDelay: true });

/** What a sink transfer writes: one CHUNK, reused for every write. */
export const sinkPayload = (): Buffer => Buffer.alloc(CHUNK, 0xab);

/**
 * One connection to host:port that ends exactly once: when `start`'s code calls `done`, on
 * a socket error, or after `timeoutMs` (with `timeoutMessage`). Ending clears the timer and
 * destroys the socket, then rejects with the error or resolves with `result()`.
 */
function exchange<T>(
  host: string,
  port: number,
  timeoutMs: number,
  timeoutMessage: string,
  result: () => T,
  start: (sock: net.Socket, done: (err?: Error) => void, settled: () => boolean) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const sock = connect(host, port);
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(result());
    };
    const timer = setTimeout(() => done(new Error(timeoutMessage)), timeoutMs);
    start(sock, done, () => settled);
    sock.on('error', (err) => done(err));
  });
}

/** Sends `bytes` to the sink at host:port; resolves once the sink acknowledged all of them. */
export function sinkTransfer(host: string, port: number, bytes: number, payload: Buffer, deadline: number): Promise<void> {
  const timeoutMs = Math.max(1, deadline - Date.now());
  return exchange(host, port, timeoutMs, `transfer of ${bytes} bytes not acknowledged in time`, () => undefined, (sock, finish, settled) => {
    let sent = 0;
    const pump = () => {
      // Bounded: at most bytes/CHUNK writes in total, and it stops as soon as the socket is full.
      while (sent < bytes && !settled()) {
        const n = Math.min(CHUNK, bytes - sent);
        sent += n;
        if (!sock.write(n === CHUNK ? payload : payload.subarray(0, n))) {
          sock.once('drain', pump);
          return;
        }
      }
    };
    sock.once('connect', () => {
      const header = Buffer.alloc(9);
      header[0] = MODE_SINK;
      header.writeBigUInt64BE(BigInt(bytes), 1);
      sock.write(header);
      pump();
    });
    let ack = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      ack = Buffer.concat([ack, chunk]);
      if (ack.length < SINK_ACK_BYTES) return;
      const got = Number(ack.readBigUInt64BE(0));
      finish(got === bytes ? undefined : new Error(`sink counted ${got} bytes, expected ${bytes}`));
    });
    sock.on('close', () => finish(new Error('connection closed before the sink acknowledged')));
  });
}

/** `streams` sink transfers of `bytesEach` at once, all within `timeoutS`; resolves with the seconds taken. */
export async function parallelTransfers(host: string, port: number, streams: number, bytesEach: number, timeoutS: number): Promise<number> {
  const payload = sinkPayload();
  const deadline = Date.now() + timeoutS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: streams }, () => sinkTransfer(host, port, bytesEach, payload, deadline)));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Sequential ping-pong on one connection; returns round-trip times in microseconds. */
export async function pingPong(host: string, port: number, size: number, iters: number, seconds: number, warmup: number): Promise<number[]> {
  const sock = connect(host, port);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const deadline = Date.now() + seconds * 1000;
  // One watchdog for the whole run instead of a timer per round-trip.
  const watchdog = setTimeout(() => sock.destroy(new Error('ping-pong: no echo in time')), seconds * 1000 + 10_000);
  let got = 0;
  let waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  sock.on('data', (chunk: Buffer) => {
    got += chunk.length;
    if (got >= size && waiting) {
      got -= size;
      const w = waiting;
      waiting = undefined;
      w.resolve();
    }
  });
  const fail = (err: Error) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(err);
  };
  sock.on('error', fail);
  sock.on('close', () => fail(new Error('ping-pong: connection closed')));
  const payload = Buffer.alloc(size, 0x61);
  sock.write(Buffer.from([MODE_ECHO]));
  const rtts: number[] = [];
  try {
    for (let i = 0; i < warmup + iters; i++) {
      if (i >= warmup && Date.now() > deadline) break;
      if (sock.destroyed) throw new Error('ping-pong: connection closed');
      const t = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        waiting = { resolve, reject };
        sock.write(payload);
      });
      if (i >= warmup) rtts.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  } finally {
    clearTimeout(watchdog);
    sock.destroy();
  }
  return rtts;
}

/** An echo request of `size` bytes (after the mode byte), filled with `fill`. */
export const echoRequest = (size: number, fill: number): Buffer => Buffer.concat([Buffer.from([MODE_ECHO]), Buffer.alloc(size, fill)]);

/** New connection, one request/response (`req` from echoRequest), close. Resolves with the time in ms. */
export function oneExchange(host: string, port: number, req: Buffer, size: number): Promise<number> {
  const t = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - t) / 1e6;
  return exchange(host, port, 10_000, 'new connection: no echo within 10 s', elapsedMs, (sock, done) => {
    let got = 0;
    sock.once('connect', () => sock.write(req));
    sock.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= size) done();
    });
    sock.on('close', () => done(new Error('new connection: closed before the echo')));
  });
}

/**
 * Sequential new connections, each with a first request/response and a close (what a
 * short-lived client pays): at most `iters`, for at most `maxMs`. Times in ms.
 */
export async function newConnections(host: string, port: number, size: number, iters: number, maxMs: number): Promise<number[]> {
  const out: number[] = [];
  const deadline = Date.now() + maxMs;
  const req = echoRequest(size, 0x62);
  for (let i = 0; i < iters && Date.now() < deadline; i++) out.push(await oneExchange(host, port, req, size));
  return out;
}

export interface FixedRateOptions {
  /** Bytes per request (and per response: the server echoes). */
  size: number;
  /** Requests per second over all connections. */
  rate: number;
  /** Persistent connections the requests are spread over (round robin). */
  conns: number;
  /** Measured seconds ... */
  seconds: number;
  /** ... after this many seconds at the same rate that are not recorded. */
  warmupS: number;
}

export interface FixedRateResult {
  /** Latency of each measured request in microseconds, from its intended send time. */
  us: number[];
  sent: number;
  completed: number;
  /** Requests still queued behind a busy connection or unanswered at the end. */
  unfinished: number;
  /** Requests per second achieved in the measured window. */
  achieved: number;
  /** Seconds of the whole run, warm-up included. */
  secs: number;
}

/**
 * Open-loop requests: request i is due at t0 + i / rate on connection i % conns. A request
 * due while its connection still waits for an earlier answer is queued, and its latency
 * runs from when it was due, not from when it could be sent, so a slow answer delays
 * what follows in the figures as it would for a real client (no coordinated omission).
 * "When it was due" is the later of its scheduled time and the timer wake-up that found
 * it due: Node's timers wake up to a millisecond late, and that lateness is the
 * generator's, not the path's (it would otherwise add ~0.5 ms to every figure). Bounded by the count
 * (rate x (warmupS + seconds)) and a deadline 10 s after the last request is due.
 */
export async function fixedRateRequests(host: string, port: number, o: FixedRateOptions): Promise<FixedRateResult> {
  const payload = Buffer.alloc(o.size, 0x72);
  const socks = await Promise.all(
    Array.from(
      { length: o.conns },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = connect(host, port);
          s.once('connect', () => {
            s.write(Buffer.from([MODE_ECHO]));
            resolve(s);
          });
          s.once('error', reject);
        }),
    ),
  );
  const total = Math.round(o.rate * (o.warmupS + o.seconds));
  const warmN = Math.round(o.rate * o.warmupS);
  const stepNs = 1e9 / o.rate;
  const us: number[] = [];
  let completed = 0;
  let sent = 0;
  let firstMeasuredNs = 0n;
  let lastDoneNs = 0n;
  // Per connection: due times (ns) of the requests sent or queued, oldest first.
  const queues = socks.map(() => [] as Array<{ due: bigint; i: number }>);
  const got = socks.map(() => 0);
  let failure: Error | undefined;
  socks.forEach((s, c) => {
    s.on('error', (err) => (failure ??= err));
    s.on('close', () => (failure ??= new Error('fixed rate: a connection closed')));
    s.on('data', (chunk: Buffer) => {
      got[c]! += chunk.length;
      const q = queues[c]!;
      while (got[c]! >= o.size && q.length > 0) {
        got[c]! -= o.size;
        const head = q.shift()!;
        const now = process.hrtime.bigint();
        completed++;
        if (head.i >= warmN) {
          us.push(Number(now - head.due) / 1000);
          lastDoneNs = now;
        }
        // The next queued request goes out as soon as its connection is free.
        if (q.length > 0) s.write(payload);
      }
    });
  });
  const t0 = process.hrtime.bigint();
  const wallStart = Date.now();
  for (let i = 0; i < total && !failure; ) {
    const now = process.hrtime.bigint();
    // Send every request whose time has come (a late timer sends a small burst).
    while (i < total) {
      const scheduled = t0 + BigInt(Math.round(i * stepNs));
      if (scheduled > now) break;
      const c = i % o.conns;
      const q = queues[c]!;
      q.push({ due: now, i });
      if (i === warmN) firstMeasuredNs = now;
      if (q.length === 1) socks[c]!.write(payload);
      sent++;
      i++;
    }
    if (i >= total) break;
    const nextDue = t0 + BigInt(Math.round(i * stepNs));
    const waitMs = Number(nextDue - process.hrtime.bigint()) / 1e6;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.floor(waitMs))));
  }
  const endBy = Date.now() + 10_000;
  while (!failure && completed < sent && Date.now() < endBy) await new Promise((r) => setTimeout(r, 5));
  for (const s of socks) s.destroy();
  if (failure && completed < sent) throw failure;
  const measured = us.length;
  const windowS = lastDoneNs > firstMeasuredNs ? Number(lastDoneNs - firstMeasuredNs) / 1e9 : o.seconds;
  return { us, sent, completed, unfinished: sent - completed, achieved: measured / Math.max(windowS, o.seconds), secs: (Date.now() - wallStart) / 1000 };
}
