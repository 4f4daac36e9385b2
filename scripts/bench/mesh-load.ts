// Load generator for the pod-to-pod benchmark (mesh.ts). The driver runs it inside the
// client pod's network namespace (`ip netns exec <pod netns> node mesh-load.js '<json>'`),
// so that its connections leave from the pod exactly as an application's would (and are
// captured by the node agent when the namespace is enrolled). One job per process; the
// result is one JSON line on stdout. Every loop is bounded by a count and a deadline.
import { MiB, echoRequest, fixedRateRequests, newConnections, oneExchange, parallelTransfers, pingPong } from './load.js';
import { httpFixedRate, httpMaxRate, type HttpTarget } from './http-load.js';

export type LoadJob =
  | { kind: 'throughput'; host: string; port: number; streams: number; bytesEach: number; timeoutS: number }
  | { kind: 'latency'; host: string; port: number; size: number; iters: number; seconds: number; warmup: number }
  | { kind: 'setup'; host: string; port: number; size: number; iters: number; seconds: number }
  | { kind: 'rate'; host: string; port: number; size: number; rate: number; seconds: number; maxInflight: number }
  | { kind: 'requests'; host: string; port: number; size: number; rate: number; conns: number; seconds: number; warmupS: number }
  // HTTP requests (http-load.ts), for the waypoint benchmark (waypoint.ts).
  | ({ kind: 'http-rate'; rate: number; conns: number; seconds: number; warmupS: number } & HttpTarget)
  | ({ kind: 'http-max'; conns: number; seconds: number; warmupS: number } & HttpTarget);

async function throughput(j: Extract<LoadJob, { kind: 'throughput' }>) {
  const secs = await parallelTransfers(j.host, j.port, j.streams, j.bytesEach, j.timeoutS);
  return { secs, mibps: (j.streams * j.bytesEach) / MiB / secs, bytes: j.streams * j.bytesEach };
}

/** Sequential ping-pong on one connection: round-trip times in microseconds. */
async function latency(j: Extract<LoadJob, { kind: 'latency' }>) {
  return { rtts: await pingPong(j.host, j.port, j.size, j.iters, j.seconds, j.warmup) };
}

async function setup(j: Extract<LoadJob, { kind: 'setup' }>) {
  const t0 = Date.now();
  const ms = await newConnections(j.host, j.port, j.size, j.iters, j.seconds * 1000);
  return { ms, secs: (Date.now() - t0) / 1000 };
}

/** Opens connections at a fixed rate (each: connect, one exchange, close) for `seconds`. */
async function rate(j: Extract<LoadJob, { kind: 'rate' }>) {
  const req = echoRequest(j.size, 0x63);
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

/** Requests at a fixed rate over persistent connections (open loop): latencies in microseconds. */
async function requests(j: Extract<LoadJob, { kind: 'requests' }>) {
  return fixedRateRequests(j.host, j.port, { size: j.size, rate: j.rate, conns: j.conns, seconds: j.seconds, warmupS: j.warmupS });
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
  // Last line of defence: whatever happens, this process is gone after its deadline.
  const limitS = job.kind === 'throughput' ? job.timeoutS + 30 : job.seconds + (job.kind === 'requests' || job.kind === 'http-rate' || job.kind === 'http-max' ? job.warmupS : 0) + 60;
  setTimeout(() => {
    process.stderr.write(`mesh-load: ${job.kind} exceeded ${limitS} s\n`);
    process.exit(3);
  }, limitS * 1000).unref();
  let out: unknown;
  if (job.kind === 'throughput') out = await throughput(job);
  else if (job.kind === 'latency') out = await latency(job);
  else if (job.kind === 'setup') out = await setup(job);
  else if (job.kind === 'rate') out = await rate(job);
  else if (job.kind === 'requests') out = await requests(job);
  else if (job.kind === 'http-rate') out = await httpFixedRate(job, job);
  else if (job.kind === 'http-max') out = await httpMaxRate(job, job);
  else throw new Error(`unknown job ${JSON.stringify(job)}`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

main().catch((err: Error) => {
  process.stderr.write(`mesh-load: ${err.message}\n`);
  process.exit(2);
});
