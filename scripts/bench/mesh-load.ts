// Load generator for the pod-to-pod benchmark (mesh.ts). The driver runs it inside the
// client pod's network namespace (`ip netns exec <pod netns> node mesh-load.js '<json>'`),
// so that its connections leave from the pod exactly as an application's would (and are
// captured by the node agent when the namespace is enrolled). One job per process; the
// result is one JSON line on stdout. Every loop is bounded by a count and a deadline.
import net from 'node:net';
import { MODE_ECHO, MODE_SINK, SINK_ACK_BYTES } from './common.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;

export type LoadJob =
  | { kind: 'throughput'; host: string; port: number; streams: number; bytesEach: number; timeoutS: number }
  | { kind: 'latency'; host: string; port: number; size: number; iters: number; seconds: number; warmup: number }
  | { kind: 'setup'; host: string; port: number; size: number; iters: number; seconds: number }
  | { kind: 'rate'; host: string; port: number; size: number; rate: number; seconds: number; maxInflight: number };

const connect = (host: string, port: number) => net.connect({ host, port, noDelay: true });

function sinkTransfer(host: string, port: number, bytes: number, payload: Buffer, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(host, port);
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`transfer of ${bytes} bytes not acknowledged in time`)), Math.max(1, deadline - Date.now()));
    let sent = 0;
    const pump = () => {
      while (sent < bytes && !settled) {
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
    sock.on('error', (err) => finish(err));
    sock.on('close', () => finish(new Error('connection closed before the sink acknowledged')));
  });
}

async function throughput(j: Extract<LoadJob, { kind: 'throughput' }>) {
  const payload = Buffer.alloc(CHUNK, 0xab);
  const deadline = Date.now() + j.timeoutS * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: j.streams }, () => sinkTransfer(j.host, j.port, j.bytesEach, payload, deadline)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { secs, mibps: (j.streams * j.bytesEach) / MiB / secs, bytes: j.streams * j.bytesEach };
}

/** Sequential ping-pong on one connection: round-trip times in microseconds. */
async function latency(j: Extract<LoadJob, { kind: 'latency' }>) {
  const sock = connect(j.host, j.port);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const deadline = Date.now() + j.seconds * 1000;
  const watchdog = setTimeout(() => sock.destroy(new Error('ping-pong: no echo in time')), j.seconds * 1000 + 10_000);
  let got = 0;
  let waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  sock.on('data', (chunk: Buffer) => {
    got += chunk.length;
    if (got >= j.size && waiting) {
      got -= j.size;
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
  const payload = Buffer.alloc(j.size, 0x61);
  sock.write(Buffer.from([MODE_ECHO]));
  const rtts: number[] = [];
  try {
    for (let i = 0; i < j.warmup + j.iters; i++) {
      if (i >= j.warmup && Date.now() > deadline) break;
      if (sock.destroyed) throw new Error('ping-pong: connection closed');
      const t = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        waiting = { resolve, reject };
        sock.write(payload);
      });
      if (i >= j.warmup) rtts.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  } finally {
    clearTimeout(watchdog);
    sock.destroy();
  }
  return { rtts };
}

/** New connection, one small request/response, close. Resolves with the time in ms. */
function oneExchange(host: string, port: number, req: Buffer, size: number): Promise<number> {
  const t = process.hrtime.bigint();
  return new Promise<number>((resolve, reject) => {
    const sock = connect(host, port);
    const timer = setTimeout(() => done(new Error('new connection: no echo within 10 s')), 10_000);
    let got = 0;
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(Number(process.hrtime.bigint() - t) / 1e6);
    };
    sock.once('connect', () => sock.write(req));
    sock.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= size) done();
    });
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('new connection: closed before the echo')));
  });
}

async function setup(j: Extract<LoadJob, { kind: 'setup' }>) {
  const req = Buffer.concat([Buffer.from([MODE_ECHO]), Buffer.alloc(j.size, 0x62)]);
  const ms: number[] = [];
  const deadline = Date.now() + j.seconds * 1000;
  const t0 = Date.now();
  for (let i = 0; i < j.iters && Date.now() < deadline; i++) ms.push(await oneExchange(j.host, j.port, req, j.size));
  return { ms, secs: (Date.now() - t0) / 1000 };
}

/** Opens connections at a fixed rate (each: connect, one exchange, close) for `seconds`. */
async function rate(j: Extract<LoadJob, { kind: 'rate' }>) {
  const req = Buffer.concat([Buffer.from([MODE_ECHO]), Buffer.alloc(j.size, 0x63)]);
  const total = Math.round(j.rate * j.seconds);
  const t0 = Date.now();
  let inflight = 0;
  let completed = 0;
  let failed = 0;
  let skipped = 0;
  const ms: number[] = [];
  const pending: Promise<void>[] = [];
  let firstError = '';
  for (let i = 0; i < total; i++) {
    // Open-loop schedule: connection i starts at t0 + i / rate.
    const due = t0 + (i * 1000) / j.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inflight >= j.maxInflight) {
      skipped++;
      continue;
    }
    inflight++;
    pending.push(
      oneExchange(j.host, j.port, req, j.size).then(
        (t) => {
          ms.push(t);
          completed++;
        },
        (err: Error) => {
          failed++;
          firstError ||= err.message;
        },
      ).finally(() => inflight--),
    );
  }
  await Promise.all(pending);
  const secs = (Date.now() - t0) / 1000;
  return { ms, completed, failed, skipped, secs, achieved: completed / secs, firstError };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
  // Last line of defence: whatever happens, this process is gone after its deadline.
  const limitS = job.kind === 'throughput' ? job.timeoutS + 30 : job.seconds + 60;
  setTimeout(() => {
    process.stderr.write(`mesh-load: ${job.kind} exceeded ${limitS} s\n`);
    process.exit(3);
  }, limitS * 1000).unref();
  let out: unknown;
  if (job.kind === 'throughput') out = await throughput(job);
  else if (job.kind === 'latency') out = await latency(job);
  else if (job.kind === 'setup') out = await setup(job);
  else if (job.kind === 'rate') out = await rate(job);
  else throw new Error(`unknown job ${JSON.stringify(job)}`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

main().catch((err: Error) => {
  process.stderr.write(`mesh-load: ${err.message}\n`);
  process.exit(2);
});
