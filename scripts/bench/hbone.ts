// HBONE benchmark: `npm run bench [-- flags]` (see --help and docs/performance.md).
//
// Compares, in one run and on 127.0.0.1 only, three paths from the same load generator to
// the same bench server (a byte-counting sink and an echo server, bench-server.ts):
//   direct   load generator -> bench server
//   stunnel  load generator -> stunnel (client=yes) =mTLS 1.3=> stunnel (server) -> bench server
//   hbone    load generator -> TCP listener + HboneClient =HBONE=> HboneServer -> bench server
// Process arrangement (the same for every path; the machine has 2 cores and all of these
// share them): this process is the load generator; the bench server is one child process;
// each path's two proxies are two further processes (two stunnel processes, or two Node
// processes running roles.ts), like a source and a destination node agent.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HBONE_DEFAULTS, type HboneLimits } from '../../core/limits.js';
import type { ChildMessage, ParentMessage, PkiFiles, RoleConfig } from './common.js';
import { MiB, newConnections, parallelTransfers, pingPong, sinkPayload, sinkTransfer } from './load.js';
import { commonOptions, numberFlag as num, parseFlags, type CommonOptions } from './options.js';
import { writePki } from './pki.js';
import { CLK_TCK, cpuMs } from './procfs.js';
import { formatPerf, formatSummary, summarise, summarisePerf } from './profile-summary.js';
import { fmt, median, percentile, ratio, table } from './report.js';
import { STUNNEL, stunnelVersion, writeStunnelPairConfs } from './stunnel.js';

const LOCALHOST = '127.0.0.1';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const PERF_HZ = 999;

type PathName = 'direct' | 'stunnel' | 'hbone';
const ALL_PATHS: PathName[] = ['direct', 'stunnel', 'hbone'];

// ---------------------------------------------------------------- options

interface Options extends CommonOptions {
  size: number;
  paths: PathName[];
  only: 'all' | 'throughput' | 'latency';
  limits: Partial<HboneLimits> | undefined;
  profile: 'cpu' | 'perf' | undefined;
  profileDir: string | undefined;
  sweep: boolean;
  workersCompare: boolean;
  quietWait: number;
  maxOther: number;
  retries: number;
}

const HELP = `usage: npm run bench -- [flags]
  --quick            small run (32 MiB single, 16 x 4 MiB, 1000 round-trips, 1 repetition)
  --mb N             MiB sent on the single stream (default 200)
  --par-mb N         MiB sent by each parallel stream (default 32)
  --streams N        parallel streams (default 16)
  --iters N          ping-pong round-trips (default 5000) ...
  --seconds N        ... or at most this many seconds per path (default 10)
  --size N           ping-pong request/response bytes (default 64)
  --setup-iters N    new-connection + first echo samples per path (default 200, at most 5 s)
  --repeat N         throughput repetitions, the median is reported (default 3)
  --timeout N        seconds allowed for one throughput transfer (default 120)
  --paths LIST       comma-separated subset of direct,stunnel,hbone (default all)
  --only WHAT        throughput | latency (default both)
  --limits JSON      HboneLimits overrides for both HBONE sides, e.g. '{"streamWindowBytes":1048576}'
  --sweep            afterwards, re-run HBONE with several flow-control settings
  --workers-compare  afterwards, HBONE with 1 and with 2 threads per proxy (SO_REUSEPORT
                     listeners, as the node agent's data-path workers), interleaved with stunnel
  --profile cpu      V8 CPU profile (--cpu-prof) of both HBONE processes, summarised
  --profile perf     \`perf record\` (on-CPU, user + kernel) of every process during the
                     measurements, summarised per process (stunnel's too)
  --profile-dir DIR  keep the raw profiles there (default: a temp dir, deleted)
  --quiet-wait N     before each measurement wait up to N s until other programs use < 10% of
                     the cores (default 10; 0: do not wait)
  --max-other P      measure again when other programs used more than P% of the cores
  --retries N        ... at most N times (default P=20, N=3)`;

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  try {
    return parseOptionsOrThrow(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseOptionsOrThrow(argv: string[]): Options {
  const values = parseFlags(
    argv,
    {
      size: { type: 'string' },
      paths: { type: 'string' },
      only: { type: 'string' },
      limits: { type: 'string' },
      sweep: { type: 'boolean', default: false },
      'workers-compare': { type: 'boolean', default: false },
      'quiet-wait': { type: 'string' },
      'max-other': { type: 'string' },
      retries: { type: 'string' },
      profile: { type: 'string' },
      'profile-dir': { type: 'string' },
    },
    HELP,
  );
  const paths = (values.paths ?? ALL_PATHS.join(',')).split(',').map((s) => s.trim()) as PathName[];
  for (const p of paths) if (!ALL_PATHS.includes(p)) throw new Error(`--paths: unknown path ${p}`);
  const only = (values.only ?? 'all') as Options['only'];
  if (!['all', 'throughput', 'latency'].includes(only)) throw new Error(`--only must be throughput or latency`);
  let limits: Partial<HboneLimits> | undefined;
  if (values.limits) {
    limits = JSON.parse(values.limits) as Partial<HboneLimits>;
    for (const k of Object.keys(limits)) if (!(k in HBONE_DEFAULTS)) throw new Error(`--limits: ${k} is not an HboneLimits field`);
  }
  const profile = values.profile as Options['profile'];
  if (profile !== undefined && profile !== 'cpu' && profile !== 'perf') throw new Error('--profile must be cpu or perf');
  return {
    ...commonOptions(values, { mbMax: 100_000, streams: 16, streamsMax: 256, iters: 5000, itersMax: 10_000_000, secondsMax: 3600, setupItersMin: 0, repeatMax: 100 }),
    size: num('size', values.size, 64, 1, MiB),
    paths,
    only,
    limits,
    profile,
    profileDir: values['profile-dir'],
    sweep: values.sweep,
    workersCompare: values['workers-compare'],
    quietWait: num('quiet-wait', values['quiet-wait'], 10, 0, 600),
    maxOther: num('max-other', values['max-other'], 20, 0, 100),
    retries: num('retries', values.retries, 3, 0, 20),
  };
}

// ---------------------------------------------------------------- processes and cleanup

interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  /** Last lines of its stderr (stunnel) or its IPC error reports (Node roles); bounded. */
  log: string[];
  exited: Promise<void>;
}

const procs = new Set<Proc>();
const tempDirs: string[] = [];
let hboneErrors = 0;
const tlsSeen = new Map<string, string>();

function alive(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

function pushLog(p: Proc, line: string): void {
  p.log.push(line);
  if (p.log.length > 200) p.log.shift();
}

function killAllSync(): void {
  for (const p of procs) if (alive(p)) p.child.kill('SIGKILL');
}

function removeTempSync(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

async function stopProc(p: Proc): Promise<void> {
  if (alive(p)) {
    if (p.child.connected) p.child.send({ type: 'stop' } satisfies ParentMessage);
    else p.child.kill('SIGTERM');
    const timedOut = await Promise.race([p.exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut && alive(p)) {
      p.child.kill('SIGKILL');
      await Promise.race([p.exited, sleep(2000)]);
    }
  }
  procs.delete(p);
}

async function stopAll(): Promise<void> {
  await Promise.all([...procs].map(stopProc));
}

process.on('exit', () => {
  killAllSync();
  removeTempSync();
});
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(130); // second signal: no more waiting ('exit' still cleans up)
    stopping = true;
    console.error(`\n${sig}: stopping the benchmark's processes`);
    const hard = setTimeout(() => process.exit(130), STOP_TIMEOUT_MS + 3000);
    void stopAll().finally(() => {
      clearTimeout(hard);
      process.exit(130);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function track(name: string, child: ChildProcess): Proc {
  const p: Proc = {
    name,
    child,
    port: 0,
    log: [],
    exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
  };
  procs.add(p);
  child.on('error', (err) => pushLog(p, `spawn error: ${err.message}`));
  return p;
}

const ROLES_JS = fileURLToPath(new URL('./roles.js', import.meta.url));

async function startRole(name: string, cfg: RoleConfig, execArgv: string[] = []): Promise<Proc> {
  const child = fork(ROLES_JS, [JSON.stringify(cfg)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const p = track(name, child);
  const ready = new Promise<number>((resolve, reject) => {
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') resolve(m.port);
      else if (m.type === 'tls') tlsSeen.set('hbone', `${m.protocol} ${m.cipher}`);
      else if (m.type === 'error') {
        hboneErrors++;
        pushLog(p, m.message);
        if (hboneErrors <= 5) console.error(`  [${name}] ${m.message}`);
        reject(new Error(`${name}: ${m.message}`));
      }
    });
    child.once('exit', (code, sig) => reject(new Error(`${name} exited (${code ?? sig}) before it was ready`)));
  });
  p.port = await withTimeout(ready, READY_TIMEOUT_MS, `${name} start-up`);
  return p;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '127.0.0.1' }, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const t = setTimeout(() => done(false), 1000);
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitForPort(p: Proc, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (!alive(p)) throw new Error(`${p.name} exited:\n${p.log.slice(-20).join('\n')}`);
    if (await tryConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`${p.name}: port ${port} did not accept within ${timeoutMs} ms:\n${p.log.slice(-20).join('\n')}`);
}

async function startStunnel(name: string, confPath: string, port: number): Promise<Proc> {
  const child = spawn(STUNNEL, [confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = track(name, child);
  p.port = port;
  let partial = '';
  const onText = (buf: Buffer) => {
    const lines = (partial + buf.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      pushLog(p, line);
      const m = /(TLSv1\.\d) ciphersuite: (\S+)/.exec(line);
      if (m) tlsSeen.set('stunnel', `${m[1]} ${m[2]}`);
    }
  };
  child.stdout!.on('data', onText);
  child.stderr!.on('data', onText);
  await waitForPort(p, port, READY_TIMEOUT_MS);
  return p;
}

// ---------------------------------------------------------------- CPU accounting

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms used by this benchmark's processes (load generator, bench server, all proxies). */
function benchCpuMs(): number {
  let sum = selfCpuMs();
  for (const p of procs) sum += cpuMs(p.child.pid);
  return sum;
}

/** Busy (non-idle, non-iowait) CPU ms of the whole machine, all cores, from /proc/stat. */
function systemBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return ((total - f[3]! - f[4]!) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** What share of the machine the benchmark's own processes and everything else used. */
class CpuWindow {
  readonly #t0 = process.hrtime.bigint();
  readonly #sys0 = systemBusyMs();
  readonly #bench0 = benchCpuMs();
  end(): { benchPct: number; foreignPct: number } {
    const ms = Number(process.hrtime.bigint() - this.#t0) / 1e6;
    const cores = os.availableParallelism();
    const bench = benchCpuMs() - this.#bench0;
    const sys = systemBusyMs() - this.#sys0;
    return { benchPct: (100 * bench) / ms / cores, foreignPct: Math.max(0, (100 * (sys - bench)) / ms / cores) };
  }
}

/**
 * Other programs may share the machine (here: other engineers' builds and tests). Before a
 * measurement, wait (bounded) until they use less than `maxPct` of the cores.
 */
async function waitQuiet(maxSeconds: number, maxPct = 10): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let pct = 0;
  for (let i = 0; i < 10_000; i++) {
    const w = new CpuWindow();
    await sleep(300);
    pct = w.end().foreignPct;
    if (pct < maxPct || Date.now() >= deadline) break;
  }
  return pct;
}

// ---------------------------------------------------------------- load generator

interface BenchPath {
  name: PathName;
  port: number;
  proxies: Proc[];
}

interface ThroughputSample {
  mibps: number;
  /** CPU of the path's two proxy processes per GiB moved, in seconds. */
  proxyCpuPerGiB: number;
  /** CPU of all benchmark processes (load generator, bench server, proxies) as % of all cores. */
  benchPct: number;
  /** CPU of every other process on the machine during the run, as % of all cores. */
  foreignPct: number;
}

async function measureThroughput(path: BenchPath, streams: number, bytesEach: number, opts: Options): Promise<ThroughputSample> {
  const proxyCpu = () => path.proxies.reduce((a: number, p) => a + cpuMs(p.child.pid), 0);
  const proxy0 = proxyCpu();
  const cpu = new CpuWindow();
  const secs = await parallelTransfers(LOCALHOST, path.port, streams, bytesEach, opts.timeoutS);
  const proxy1 = proxyCpu();
  const { benchPct, foreignPct } = cpu.end();
  const total = streams * bytesEach;
  return {
    mibps: total / MiB / secs,
    proxyCpuPerGiB: (proxy1 - proxy0) / 1000 / (total / (1024 * MiB)),
    benchPct,
    foreignPct,
  };
}

// ---------------------------------------------------------------- statistics and output

interface PathResult {
  thr1: ThroughputSample[];
  thrN: ThroughputSample[];
  rtt: number[];
  /** Other processes' CPU share during the ping-pong run. */
  rttForeignPct: number;
  setup: number[];
}

// ---------------------------------------------------------------- the run

async function startHbone(pki: PkiFiles, sinkPort: number, limits: Partial<HboneLimits> | undefined, execArgv: (role: string) => string[], workers?: number): Promise<BenchPath> {
  const base = { pki, ...(limits ? { limits } : {}), ...(workers !== undefined && { workers }) };
  const inbound = await startRole('hbone-in', { role: 'hbone-in', targetPort: sinkPort, ...base }, execArgv('hbone-in'));
  const outbound = await startRole('hbone-out', { role: 'hbone-out', peerPort: inbound.port, targetPort: sinkPort, ...base }, execArgv('hbone-out'));
  return { name: 'hbone', port: outbound.port, proxies: [outbound, inbound] };
}

async function startStunnelPair(pki: PkiFiles, dir: string, sinkPort: number): Promise<BenchPath> {
  const [srvPort, cliPort] = [await freePort(), await freePort()];
  const conf = writeStunnelPairConfs(dir, pki, {
    generatedBy: 'scripts/bench/hbone.ts',
    debug: 6, // one line per connection with the negotiated cipher suite (tlsSeen)
    prefix: 'bench-stunnel',
    server: { accept: `127.0.0.1:${srvPort}`, connect: `127.0.0.1:${sinkPort}` },
    client: { accept: `127.0.0.1:${cliPort}`, connect: `127.0.0.1:${srvPort}` },
  });
  const server = await startStunnel('stunnel-server', conf.server, srvPort);
  const client = await startStunnel('stunnel-client', conf.client, cliPort);
  return { name: 'stunnel', port: cliPort, proxies: [client, server] };
}

/** Lets the JIT compile the hot paths and the heaps grow before anything is measured. */
async function warmUp(path: BenchPath, opts: Options): Promise<void> {
  await pingPong(LOCALHOST, path.port, opts.size, 1000, 5, 0);
  const payload = sinkPayload();
  const deadline = Date.now() + opts.timeoutS * 1000;
  await sinkTransfer(LOCALHOST, path.port, 64 * MiB, payload, deadline);
  await Promise.all(Array.from({ length: opts.streams }, () => sinkTransfer(LOCALHOST, path.port, 4 * MiB, payload, deadline)));
}

async function measurePaths(paths: BenchPath[], opts: Options, log: (s: string) => void): Promise<Map<PathName, PathResult>> {
  const res = new Map<PathName, PathResult>();
  for (const p of paths) res.set(p.name, { thr1: [], thrN: [], rtt: [], rttForeignPct: NaN, setup: [] });
  if (opts.only !== 'latency') {
    // Interleaved repetitions, so that a noisy moment does not fall on one path only.
    for (let r = 0; r < opts.repeat; r++) {
      for (const p of paths) {
        const s = await calm(opts, log, () => measureThroughput(p, 1, opts.mb * MiB, opts), (x) => x.foreignPct);
        res.get(p.name)!.thr1.push(s);
        log(`  [${r + 1}/${opts.repeat}] ${p.name.padEnd(7)} 1 stream   ${sampleLine(s)}`);
      }
      for (const p of paths) {
        const s = await calm(opts, log, () => measureThroughput(p, opts.streams, opts.parMb * MiB, opts), (x) => x.foreignPct);
        res.get(p.name)!.thrN.push(s);
        log(`  [${r + 1}/${opts.repeat}] ${p.name.padEnd(7)} ${opts.streams} streams ${sampleLine(s)}`);
      }
    }
  }
  if (opts.only !== 'throughput') {
    // Repetitions interleaved like the throughput runs; percentiles over all round-trips.
    for (let r = 0; r < opts.repeat; r++) {
      for (const p of paths) {
        const { rtt, foreignPct } = await calm(
          opts,
          log,
          async () => {
            const cpu = new CpuWindow();
            const rtt = await pingPong(LOCALHOST, p.port, opts.size, opts.iters, opts.seconds, Math.min(500, opts.iters));
            return { rtt, foreignPct: cpu.end().foreignPct };
          },
          (x) => x.foreignPct,
        );
        const pr = res.get(p.name)!;
        pr.rtt.push(...rtt);
        pr.rttForeignPct = Math.max(foreignPct, Number.isNaN(pr.rttForeignPct) ? 0 : pr.rttForeignPct);
        log(`  [${r + 1}/${opts.repeat}] ${p.name.padEnd(7)} ping-pong ${rtt.length} round-trips: p50 ${fmt(percentile(rtt, 50))} us, p99 ${fmt(percentile(rtt, 99))} us  (other processes ${foreignPct.toFixed(0)}%)`);
      }
    }
    if (opts.setupIters > 0) {
      for (const p of paths) {
        await waitQuiet(opts.quietWait);
        const setup = await newConnections(LOCALHOST, p.port, opts.size, opts.setupIters, 5000);
        res.get(p.name)!.setup = setup;
        log(`  ${p.name.padEnd(7)} new connection + first echo, ${setup.length} samples: p50 ${fmt(percentile(setup, 50), 2)} ms`);
      }
    }
  }
  return res;
}

/**
 * Runs a measurement while the machine is quiet: waits (bounded) for other programs to
 * calm down, and measures again (at most --retries times) when they used more than
 * --max-other % of the cores meanwhile. The last attempt is kept whatever happened.
 */
async function calm<T>(opts: Options, log: (s: string) => void, run: () => Promise<T>, foreign: (t: T) => number): Promise<T> {
  let last: T | undefined;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    await waitQuiet(opts.quietWait);
    last = await run();
    const f = foreign(last);
    if (f <= opts.maxOther) return last;
    if (attempt < opts.retries) log(`    (other processes used ${f.toFixed(0)}% of the cores during that measurement: measuring again)`);
  }
  return last!;
}

function sampleLine(s: ThroughputSample): string {
  return `${fmt(s.mibps).padStart(7)} MiB/s  proxy CPU ${s.proxyCpuPerGiB.toFixed(2)} s/GiB  bench processes ${s.benchPct.toFixed(0)}%  other processes ${s.foreignPct.toFixed(0)}% of the cores`;
}

function report(res: Map<PathName, PathResult>, opts: Options): string {
  const names = [...res.keys()];
  const get = (n: PathName, f: (r: PathResult) => number) => (res.has(n) ? f(res.get(n)!) : NaN);
  const rows: string[][] = [['figure', ...names, 'hbone/direct', 'hbone/stunnel']];
  const add = (label: string, f: (r: PathResult) => number, digits = 1, ratios = true) => {
    const v = (n: PathName) => get(n, f);
    const r = (a: number, b: number) => (ratios ? ratio(a, b) : '-');
    rows.push([label, ...names.map((n) => fmt(v(n), digits)), r(v('hbone'), v('direct')), r(v('hbone'), v('stunnel'))]);
  };
  const med = (xs: ThroughputSample[], k: keyof ThroughputSample) => median(xs.map((x) => x[k]));
  if (opts.only !== 'latency') {
    add(`throughput, 1 stream x ${opts.mb} MiB (MiB/s)`, (r) => med(r.thr1, 'mibps'));
    add(`throughput, ${opts.streams} streams x ${opts.parMb} MiB (MiB/s)`, (r) => med(r.thrN, 'mibps'));
    add('proxy CPU per GiB, 1 stream (s)', (r) => med(r.thr1, 'proxyCpuPerGiB'), 2);
    add(`proxy CPU per GiB, ${opts.streams} streams (s)`, (r) => med(r.thrN, 'proxyCpuPerGiB'), 2);
    add('bench processes CPU, 1 stream (% of cores)', (r) => med(r.thr1, 'benchPct'), 0, false);
    add(`bench processes CPU, ${opts.streams} streams (% of cores)`, (r) => med(r.thrN, 'benchPct'), 0, false);
    add('other programs CPU, 1 stream (% of cores)', (r) => med(r.thr1, 'foreignPct'), 0, false);
    add(`other programs CPU, ${opts.streams} streams (% of cores)`, (r) => med(r.thrN, 'foreignPct'), 0, false);
  }
  if (opts.only !== 'throughput') {
    add(`latency ${opts.size} B ping-pong p50 (us)`, (r) => percentile(r.rtt, 50));
    add(`latency ${opts.size} B ping-pong p99 (us)`, (r) => percentile(r.rtt, 99));
    add('other programs CPU, ping-pong, worst run (% of cores)', (r) => r.rttForeignPct, 0, false);
    if (opts.setupIters > 0) {
      add('new connection + first echo p50 (ms)', (r) => percentile(r.setup, 50), 2);
      add('new connection + first echo p99 (ms)', (r) => percentile(r.setup, 99), 2);
    }
  }
  const out = [table(rows)];
  if (res.has('hbone') && res.has('stunnel')) {
    const h = res.get('hbone')!;
    const s = res.get('stunnel')!;
    const verdict = (label: string, ratio: number, ok: boolean, target: string) =>
      `  ${label.padEnd(34)} ${Number.isFinite(ratio) ? ratio.toFixed(3) + 'x' : '-'} of stunnel (target ${target})  ${Number.isFinite(ratio) ? (ok ? 'MET' : 'NOT MET') : 'not measured'}`;
    out.push('', 'targets:');
    if (opts.only !== 'latency') {
      const r1 = med(h.thr1, 'mibps') / med(s.thr1, 'mibps');
      const rN = med(h.thrN, 'mibps') / med(s.thrN, 'mibps');
      out.push(verdict('throughput, 1 stream', r1, r1 >= 0.8, '>= 0.80x'));
      out.push(verdict(`throughput, ${opts.streams} streams`, rN, rN >= 0.8, '>= 0.80x'));
    }
    if (opts.only !== 'throughput') {
      const rl = percentile(h.rtt, 50) / percentile(s.rtt, 50);
      out.push(verdict('latency p50', rl, rl <= 1.5, '<= 1.50x'));
    }
  }
  return out.join('\n');
}

const SWEEP: { name: string; limits: Partial<HboneLimits> }[] = [
  { name: 'defaults (stream 4 MiB, conn 16 MiB)', limits: {} },
  { name: 'stream 64 KiB, conn 64 KiB (HTTP/2 initial)', limits: { streamWindowBytes: 65_535, connectionWindowBytes: 65_535 } },
  { name: 'stream 256 KiB, conn 1 MiB', limits: { streamWindowBytes: 256 * 1024, connectionWindowBytes: 1 * MiB } },
  { name: 'stream 1 MiB, conn 16 MiB', limits: { streamWindowBytes: 1 * MiB, connectionWindowBytes: 16 * MiB } },
  { name: 'stream 16 MiB, conn 64 MiB', limits: { streamWindowBytes: 16 * MiB, connectionWindowBytes: 64 * MiB } },
  { name: 'stream 4 MiB, conn 128 MiB', limits: { streamWindowBytes: 4 * MiB, connectionWindowBytes: 128 * MiB } },
  { name: 'stream 32 MiB, conn 256 MiB, session mem 256 MiB', limits: { streamWindowBytes: 32 * MiB, connectionWindowBytes: 256 * MiB, maxSessionMemoryMiB: 256 } },
  // Fewer streams per connection: the client pool opens more TLS connections (stunnel: one per stream).
  { name: 'maxConcurrentStreams 4 (16 streams -> >= 4 connections)', limits: { maxConcurrentStreams: 4 } },
  { name: 'maxConcurrentStreams 1 (one connection per stream)', limits: { maxConcurrentStreams: 1 } },
];

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const tmp = mkdtempSync(join(os.tmpdir(), 'hbone-bench-'));
  tempDirs.push(tmp);
  const log = (s: string) => console.log(s);

  const stunnelLine = stunnelVersion();
  log(`HBONE benchmark: node ${process.version} (OpenSSL ${process.versions.openssl}), ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}`);
  if (opts.paths.includes('stunnel')) log(`stunnel: ${stunnelLine || 'not found at ' + STUNNEL}`);
  log(
    `settings: single ${opts.mb} MiB; ${opts.streams} x ${opts.parMb} MiB; ${opts.repeat} repetition(s), median; ping-pong ${opts.size} B, ${opts.iters} round-trips or ${opts.seconds} s; ` +
      `HBONE limits ${JSON.stringify({ ...HBONE_DEFAULTS, ...opts.limits }, (k, v) => (k === '' || /^(streamWindowBytes|connectionWindowBytes|maxSessionMemoryMiB|maxConcurrentStreams)$/.test(k) ? v : undefined))}`,
  );
  log('arrangement: load generator = this process; bench server (sink + echo) = 1 Node child; each path\'s 2 proxies = 2 processes (stunnel x2 | Node x2)');

  log('generating certificates ...');
  const pki = await writePki(tmp, { ns: 'bench', sa: 'server' }, { ns: 'bench', sa: 'client' });
  const sink = await startRole('sink', { role: 'sink', pki });

  let profileDir: string | undefined;
  if (opts.profile) {
    profileDir = opts.profileDir ?? join(tmp, 'profiles');
    mkdirSync(profileDir, { recursive: true });
  }
  const profArgs = (role: string): string[] =>
    profileDir && opts.profile === 'cpu' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role}.cpuprofile`] : [];

  const paths: BenchPath[] = [];
  for (const name of opts.paths) {
    if (name === 'direct') paths.push({ name, port: sink.port, proxies: [] });
    if (name === 'stunnel') paths.push(await startStunnelPair(pki, tmp, sink.port));
    if (name === 'hbone') paths.push(await startHbone(pki, sink.port, opts.limits, profArgs));
  }
  log('warming up ...');
  for (const p of paths) await warmUp(p, opts);
  log(`negotiated: ${[...tlsSeen.entries()].map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`);

  const perfs: { label: string; file: string; proc: Proc }[] = [];
  if (opts.profile === 'perf') {
    const targets: [string, number | undefined][] = [
      ['load generator', process.pid],
      ['bench server', sink.child.pid],
      ...paths.flatMap((p) => p.proxies.map((x): [string, number | undefined] => [x.name, x.child.pid])),
    ];
    for (const [label, pid] of targets) {
      if (pid === undefined) continue;
      const file = join(profileDir!, `${label.replace(/\s+/g, '-')}.perf.data`);
      const child = spawn('perf', ['record', '-F', String(PERF_HZ), '--no-buildid', '-q', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      const proc = track(`perf ${label}`, child);
      child.stderr!.on('data', (b: Buffer) => pushLog(proc, b.toString('utf8').trimEnd()));
      perfs.push({ label, file, proc });
    }
    await sleep(1000); // let perf attach
    for (const p of perfs) if (!alive(p.proc)) throw new Error(`perf record for ${p.label} exited: ${p.proc.log.join(' ')}`);
  }

  log('measuring ...');
  const res = await measurePaths(paths, opts, log);
  for (const p of perfs) await stopProc(p.proc);
  log('');
  log(report(res, opts));
  if (hboneErrors > 0) log(`\nWARNING: the HBONE processes reported ${hboneErrors} error(s) during the run`);

  if (opts.profile === 'perf') {
    log(`\nperf profiles (on-CPU time during the measurements, per process)${opts.profileDir ? `, raw files in ${opts.profileDir}` : ''}:`);
    for (const p of perfs) {
      try {
        log('\n' + formatPerf(summarisePerf(p.file, 15), p.label, PERF_HZ));
      } catch (err) {
        log(`\n${p.label}: ${(err as Error).message}`);
      }
    }
  }

  if (opts.profile === 'cpu') {
    const hb = paths.find((p) => p.name === 'hbone');
    if (hb) {
      for (const p of hb.proxies) await stopProc(p);
      log(`\nprofiles (${opts.profile}) of the HBONE processes${opts.profileDir ? ` in ${opts.profileDir}` : ''}:`);
      for (const f of readdirSync(profileDir!).sort()) {
        const file = join(profileDir!, f);
        if (f.endsWith('.cpuprofile')) log('\n' + formatSummary(summarise(file, 25)));
      }
      paths.splice(paths.indexOf(hb), 1);
    }
  }

  if (opts.sweep) await sweep(opts, pki, sink.port, paths, log, 'HBONE limits sweep (documented `limits` of HboneServer/HboneClient, applied to both sides), interleaved with stunnel:', SWEEP);
  if (opts.workersCompare) {
    await sweep(opts, pki, sink.port, paths, log, 'HBONE with 1 and 2 threads per proxy (each thread its own SO_REUSEPORT listener, TLS connections and HTTP/2 sessions, as the node agent\'s data-path workers), interleaved with stunnel:', [
      { name: 'hbone, 1 thread per proxy', limits: {}, workers: 1 },
      { name: 'hbone, 2 threads per proxy', limits: {}, workers: 2 },
    ]);
  }
}

/**
 * HBONE with each SWEEP setting, plus stunnel as the reference, measured interleaved (all
 * pairs are started first and sit idle while another is measured), so that the machine's
 * ups and downs fall on every setting alike.
 */
async function sweep(
  opts: Options,
  pki: PkiFiles,
  sinkPort: number,
  paths: BenchPath[],
  log: (s: string) => void,
  title: string,
  settings: { name: string; limits: Partial<HboneLimits>; workers?: number }[],
): Promise<void> {
  log(`\n${title}`);
  const old = paths.find((p) => p.name === 'hbone');
  if (old) for (const p of old.proxies) await stopProc(p);
  interface Variant {
    name: string;
    path?: BenchPath;
    thr1: ThroughputSample[];
    thrN: ThroughputSample[];
    rtt: number[];
    failed?: string;
  }
  const variants: Variant[] = [];
  const stunnel = paths.find((p) => p.name === 'stunnel');
  if (stunnel) variants.push({ name: 'stunnel (reference)', path: stunnel, thr1: [], thrN: [], rtt: [] });
  for (const v of settings) {
    const entry: Variant = { name: v.name, thr1: [], thrN: [], rtt: [] };
    variants.push(entry);
    try {
      entry.path = await startHbone(pki, sinkPort, { ...opts.limits, ...v.limits }, () => [], v.workers);
      await warmUp(entry.path, opts);
    } catch (err) {
      entry.failed = `start-up or warm-up: ${(err as Error).message}`;
    }
  }
  const each = async (what: string, f: (v: Variant, p: BenchPath) => Promise<void>) => {
    for (const v of variants) {
      if (v.failed || !v.path) continue;
      try {
        await f(v, v.path);
      } catch (err) {
        v.failed = `${what}: ${(err as Error).message}`;
      }
    }
  };
  if (opts.only !== 'latency') {
    for (let r = 0; r < opts.repeat; r++) {
      await each('1 stream', async (v, p) => {
        v.thr1.push(await calm(opts, () => {}, () => measureThroughput(p, 1, opts.mb * MiB, opts), (x) => x.foreignPct));
      });
      await each(`${opts.streams} streams`, async (v, p) => {
        v.thrN.push(await calm(opts, () => {}, () => measureThroughput(p, opts.streams, opts.parMb * MiB, opts), (x) => x.foreignPct));
      });
      log(`  repetition ${r + 1}/${opts.repeat} done`);
    }
  }
  if (opts.only !== 'throughput') {
    for (let r = 0; r < opts.repeat; r++) {
      await each('ping-pong', async (v, p) => {
        const { rtt } = await calm(
          opts,
          () => {},
          async () => {
            const cpu = new CpuWindow();
            const rtt = await pingPong(LOCALHOST, p.port, opts.size, opts.iters, opts.seconds, Math.min(500, opts.iters));
            return { rtt, foreignPct: cpu.end().foreignPct };
          },
          (x) => x.foreignPct,
        );
        v.rtt.push(...rtt);
      });
    }
  }
  const rows: string[][] = [['setting', '1 stream MiB/s', `${opts.streams} streams MiB/s`, `proxy CPU s/GiB (1 / ${opts.streams})`, 'p50 us', 'p99 us']];
  for (const v of variants) {
    const m = (xs: ThroughputSample[], k: keyof ThroughputSample) => median(xs.map((x) => x[k]));
    const row = [
      v.name,
      fmt(m(v.thr1, 'mibps')),
      fmt(m(v.thrN, 'mibps')),
      `${fmt(m(v.thr1, 'proxyCpuPerGiB'), 2)} / ${fmt(m(v.thrN, 'proxyCpuPerGiB'), 2)}`,
      fmt(percentile(v.rtt, 50)),
      fmt(percentile(v.rtt, 99)),
    ];
    rows.push(row);
    if (v.failed) rows.push([`  ^ failed: ${v.failed}`, '', '', '', '', '']);
  }
  log('\n' + table(rows));
  for (const v of variants) if (v.path && v.path.name === 'hbone') for (const p of v.path.proxies) await stopProc(p);
}

main()
  .then(async () => {
    await stopAll();
    process.exit(0);
  })
  .catch(async (err: Error) => {
    if (stopping) return; // interrupted: the signal handler stops everything and exits
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message}\n${HELP}`);
      await stopAll();
      process.exit(2);
    }
    console.error(`\nbenchmark failed: ${err.stack ?? err.message}`);
    for (const p of procs) if (p.log.length) console.error(`--- last log lines of ${p.name}:\n${p.log.slice(-15).join('\n')}`);
    await Promise.race([stopAll(), sleep(STOP_TIMEOUT_MS + 3000)]);
    process.exit(1);
  });
