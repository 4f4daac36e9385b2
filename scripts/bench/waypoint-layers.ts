// What the resilience layers cost in the waypoint: `npm run bench:waypoint -- --layers`
// (see --layers --help and docs/performance.md, "Waypoint: cost of the resilience layers").
//
// The same load goes through waypoints that differ only in their TrafficPolicy
// (waypoint-variants.ts): none (the bare waypoint), retries, outlier detection, a global
// rate limit through a real redis-server, and all three, each layer on and never
// triggering (the backend answers 200 at once; the limit is far above the rate). Beside
// them the baselines of the cluster run, on loopback: direct (load -> the bench HTTP
// server) and nginx (one worker, HTTP/1.1 keep-alive upstream). Everything runs on
// 127.0.0.1, no cluster:
//
//   load (mesh-load.ts, a child) -> client agent (here: TCP in, HBONE out as bw-a/client)
//     -> waypoint (waypoint-child.ts, one child per variant, as startWaypoint wires it)
//     -> HBONE -> destination agent (here: an HboneServer) -> bench HTTP server (a child)
//   global-limit, all: waypoint -> redis-server (a child, 127.0.0.1, no persistence)
//
// The paths are measured in rounds, rotated each round (roundOrder); each job is a fixed
// rate (open loop) after 1 s of idle CPU (subtracted) and a warm-up not measured. CPU is
// user+system of the waypoint's process (or nginx's, and redis-server's on its own row)
// from /proc, per request carried. A figure of a variant is the median over the rounds;
// its ratio to the bare waypoint is the median of the per-round ratios (pairedRatio), so
// a loaded machine moves both sides of each ratio together.
//
// Safety: loopback only; every loop and wait bounded (rounds x paths jobs, each with a
// deadline in mesh-load.ts and pod-processes.ts); every child (waypoints, nginx, redis,
// HTTP server, load) is killed and the temp dir removed on exit, on an error and on
// SIGINT/SIGTERM/SIGHUP; the waypoints also exit when the driver's IPC channel closes, the
// HTTP server when its stdin does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HboneClient } from '../../core/hbone/client.js';
import { HboneServer } from '../../core/hbone/server.js';
import { CertificateAuthority } from '../../core/identity/ca.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import type { HttpProtocol, HttpResult } from './http-load.js';
import { clientAgent, freePort, issue, startBenchRedis, started, type BenchRedis } from './loopback.js';
import { NGINX, NGINX_READY, nginxVersion, writeNginxConf } from './nginx.js';
import { numberFlag as num, parseFlags } from './options.js';
import { podProcesses } from './pod-processes.js';
import { cpuMs } from './procfs.js';
import { fmt, table } from './report.js';
import { AUTHORITY, NAMESPACE, SERVICE, SVC_H1, SVC_H2, TD, VIP, type ChildConfig } from './waypoint-child.js';
import { MAX_LAYER_RATE, flowStyle, middle, needsRedis, pairedRatio, parseVariants, roundOrder, variantObject, variantSpec, type LayerVariant } from './waypoint-variants.js';

const WAYPOINT_JS = fileURLToPath(new URL('./waypoint-child.js', import.meta.url));
const SERVER_JS = fileURLToPath(new URL('./http-server.js', import.meta.url));
/** Idle CPU of the measured processes is sampled this long before each job and subtracted. */
const IDLE_MS = 1000;
/** Seconds of every job not measured (JIT, pools), and of the unmeasured pass before round 1. */
const WARMUP_S = 1;
const FIRST_PASS_S = 2;
/** Most rounds and seconds a run may ask for. */
const MAX_ROUNDS = 50;
const MAX_SECONDS = 300;
/** A child that ignores SIGTERM this long gets SIGKILL. */
const KILL_GRACE_MS = 2000;

type Baseline = 'direct' | 'nginx';
type PathName = Baseline | LayerVariant;
const BASELINES: Baseline[] = ['direct', 'nginx'];
const PROTOCOLS: HttpProtocol[] = ['h1', 'h2'];

export const LAYERS_HELP = `usage: npm run bench:waypoint -- --layers [flags]
The cost of the waypoint's resilience layers, on loopback (no cluster): the same fixed-rate
load through waypoints that differ only in their TrafficPolicy, each layer on and never
triggering, as ratios to the bare waypoint measured in the same rounds; direct and nginx
as the baselines.
  --quick            2 rounds of 3 s jobs (about 1.5 min)
  --rounds N         rounds, each path once per round, rotated (default 3)
  --seconds N        measured seconds of each job (default 5; ${WARMUP_S} s warm-up and ${IDLE_MS / 1000} s idle before each)
  --rate N           requests/s of every job (default 300: below the waypoint's saturation on 2 shared cores)
  --conns N          persistent connections (default 16)
  --size N           bytes of every request body and every answer (default 1024)
  --variants LIST    comma-separated: bare,policy,retries,outlier,global-limit,all
                     (default bare,retries,outlier,global-limit,all; policy: a TrafficPolicy with
                     no layer, the cost of holding one)
  --baselines LIST   comma-separated: direct,nginx (default both; "none" for neither)
  --protocols LIST   comma-separated: h1,h2 (default h1)
  --keep             keep the temp dir (the waypoints' access logs, nginx.conf)
Default run: 7 paths x 3 rounds x about 8 s, about 3-4 min.`;

interface LayerOptions {
  rounds: number;
  seconds: number;
  rate: number;
  conns: number;
  size: number;
  variants: LayerVariant[];
  baselines: Baseline[];
  protocols: HttpProtocol[];
  keep: boolean;
}

function parseLayerOptions(argv: string[]): LayerOptions {
  const v = parseFlags(
    argv.filter((a) => a !== '--layers'),
    {
      rounds: { type: 'string' },
      rate: { type: 'string' },
      conns: { type: 'string' },
      size: { type: 'string' },
      variants: { type: 'string' },
      baselines: { type: 'string' },
      protocols: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
    LAYERS_HELP,
  );
  const list = <T extends string>(flag: string, s: string | undefined, all: T[], dflt: T[]): T[] => {
    if (s === undefined) return dflt;
    if (s.trim() === 'none') return [];
    const xs = s.split(',').map((x) => x.trim()).filter(Boolean);
    for (const x of xs) if (!all.includes(x as T)) throw new Error(`--${flag}: unknown ${JSON.stringify(x)} (known: ${all.join(', ')})`);
    if (xs.length === 0) throw new Error(`--${flag}: empty`);
    return all.filter((a) => xs.includes(a));
  };
  const protocols = list('protocols', v.protocols, PROTOCOLS, ['h1']);
  if (protocols.length === 0) throw new Error('--protocols: at least one');
  return {
    rounds: num('rounds', v.rounds, v.quick ? 2 : 3, 1, MAX_ROUNDS),
    seconds: num('seconds', v.seconds, v.quick ? 3 : 5, 1, MAX_SECONDS),
    rate: num('rate', v.rate, 300, 1, MAX_LAYER_RATE),
    conns: num('conns', v.conns, 16, 1, 256),
    size: num('size', v.size, 1024, 1, 1024 * 1024),
    variants: parseVariants(v.variants),
    baselines: list('baselines', v.baselines, BASELINES, BASELINES),
    protocols,
    keep: v.keep,
  };
}

/** VmRSS in MiB; NaN when gone. */
function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

/** Times the waypoint logged that its global limit's Redis did not answer (one line per
 * change, not per request: waypoint/resilience/ratelimit-layer.ts). */
function unavailableEpisodes(logFile: string): number {
  try {
    return readFileSync(logFile, 'utf8').split('global rate limit unavailable').length - 1;
  } catch {
    return NaN;
  }
}

/** One measured job. */
interface Job {
  r?: HttpResult;
  error?: string;
  /** The proxy's (waypoint's or nginx's) CPU per request carried, µs, idle subtracted. */
  proxyUs?: number;
  /** redis-server's CPU per request, µs, and the commands it processed per request. */
  redisUs?: number;
  redisCmds?: number;
  /** The proxy's peak VmRSS, MiB. */
  rss?: number;
  /** JS heap bytes the waypoint allocated per request (V8's GC profiler over the job): a
   * count of work, steadier than CPU time on a shared machine. */
  heapBytes?: number;
}

interface HeapAnswer {
  allocated: number;
  gcs: number;
  gcMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function layersMain(argv: string[]): Promise<void> {
  const opts = parseLayerOptions(argv);
  const log = (s: string) => console.log(s);
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  const loadavg = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
  const paths: PathName[] = [...opts.baselines, ...opts.variants];
  log(`waypoint layer benchmark (loopback, no cluster)`);
  log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}, load average ${loadavg()}`);
  const withNginx = opts.baselines.includes('nginx');
  if (withNginx) log(`nginx: ${nginxVersion()}`);
  log(
    `plan: protocols ${opts.protocols.join(',')}, paths ${paths.join(',')}; ${opts.rounds} rounds (rotated); each job ${opts.rate} req/s x ${opts.size} B over ${opts.conns} connections, ` +
      `${opts.seconds} s measured after ${WARMUP_S} s warm-up and ${IDLE_MS / 1000} s idle; one unmeasured ${FIRST_PASS_S} s pass per path first`,
  );

  const dir = mkdtempSync(join(os.tmpdir(), 'bench-waypoint-layers-'));
  const children = new Set<ChildProcess>();
  const closers: Array<() => unknown> = [];
  const { startInNetns, load } = podProcesses(children);
  let tornDown = false;
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
  };
  let redis: BenchRedis | undefined;
  const onExit = () => {
    redis?.killNow();
    killAll();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: stopping the benchmark`);
    onExit();
    process.exit(130);
  };
  process.on('exit', onExit);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
    // Gently first (the waypoints close their pools, redis its port), then SIGKILL.
    const live = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of live) c.kill('SIGTERM');
    const deadline = Date.now() + KILL_GRACE_MS;
    while (live.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(50);
    onExit();
    process.off('exit', onExit);
    if (opts.keep) log(`kept: ${dir}`);
  };

  try {
    const ca = await CertificateAuthority.createSelfSigned({ trustDomain: TD });
    const [cl, sv] = await Promise.all([issue(ca, 'bw-a', 'client'), issue(ca, 'bw-b', 'server')]);
    const roots = ca.trustBundle.pems();

    // The bench HTTP server (exits when its stdin closes).
    const [h1Port, h2Port] = [await freePort(), await freePort()];
    const app = await startInNetns(undefined, [process.execPath, SERVER_JS, String(h1Port), String(h2Port), String(opts.size), String(60 * 60)], /ready/, 'bench HTTP server');
    log(`${stamp()} bench HTTP server pid ${app.pid} on 127.0.0.1:${h1Port} (h1), :${h2Port} (h2c)`);

    // The destination's node agent: HBONE in, to the app.
    const backend = new HboneServer({ credentials: sv, trustBundle: new TrustBundle(roots), trustDomain: TD, authorize: () => ({ allow: true }) });
    const backendAddr = await backend.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => backend.close());

    if (opts.variants.some(needsRedis)) {
      redis = await startBenchRedis(children);
      closers.push(() => redis?.stop());
      log(`${stamp()} redis-server pid ${redis.child.pid} on 127.0.0.1:${redis.port} (no persistence)`);
    }

    // One waypoint per variant, each its own process and HBONE port.
    const waypoints = new Map<LayerVariant, { pid: number; hbonePort: number; child: ChildProcess }>();
    for (const variant of opts.variants) {
      const wp = await issue(ca, NAMESPACE, 'waypoint');
      const hbonePort = await freePort();
      const policy = variantObject(variant, NAMESPACE, SERVICE);
      const cfg: ChildConfig = {
        key: wp.key,
        cert: wp.cert,
        roots,
        hbonePort,
        endpointHbonePort: backendAddr.port,
        h1Port,
        h2Port,
        ...(policy && { trafficPolicy: policy }),
        ...(redis && needsRedis(variant) && { redis: { host: '127.0.0.1', port: redis.port } }),
      };
      const w = spawn(process.execPath, [WAYPOINT_JS, JSON.stringify(cfg)], { stdio: ['ignore', openSync(join(dir, `waypoint-${variant}.log`), 'w'), 'inherit', 'ipc'] });
      children.add(w);
      w.once('exit', () => children.delete(w));
      await started(w, `waypoint ${variant}`, (ok) => w.on('message', (m) => m === 'ready' && ok()));
      waypoints.set(variant, { pid: w.pid!, hbonePort, child: w });
      log(`${stamp()} waypoint ${variant.padEnd(12)} pid ${w.pid} HBONE 127.0.0.1:${hbonePort}${redis && needsRedis(variant) ? ` --redis-address 127.0.0.1:${redis.port}` : ''}`);
    }

    // nginx: loopback ports, to the bench server over HTTP/1.1 keep-alive.
    let nginx: { pid: number; h1: number; h2: number } | undefined;
    if (withNginx) {
      const [n1, n2] = [await freePort(), await freePort()];
      const conf = writeNginxConf(join(dir, 'nginx'), { h1Port: n1, h2Port: n2, upstream: `127.0.0.1:${h1Port}`, generatedBy: 'scripts/bench/waypoint-layers.ts' });
      const child = await startInNetns(undefined, [NGINX, '-c', conf], NGINX_READY, 'nginx');
      nginx = { pid: child.pid!, h1: n1, h2: n2 };
      log(`${stamp()} nginx pid ${nginx.pid} on 127.0.0.1:${n1} (h1), :${n2} (h2c) -> 127.0.0.1:${h1Port} (HTTP/1.1 keep-alive)`);
    }

    // The client's node agent: one listener per waypoint and protocol.
    const hbone = new HboneClient({ credentials: () => cl, trustBundle: new TrustBundle(roots), trustDomain: TD });
    closers.push(() => hbone.destroy());
    const agents = new Map<string, number>();
    for (const [variant, w] of waypoints) {
      for (const protocol of opts.protocols) {
        const agent: net.Server = await clientAgent(hbone, { source: cl.identity, waypoint: w.hbonePort, target: { host: VIP, port: protocol === 'h1' ? SVC_H1 : SVC_H2 } });
        closers.push(() => new Promise<void>((r) => agent.close(() => r())));
        agents.set(`${variant}/${protocol}`, (agent.address() as net.AddressInfo).port);
      }
    }

    const portOf = (path: PathName, protocol: HttpProtocol): number =>
      path === 'direct' ? (protocol === 'h1' ? h1Port : h2Port) : path === 'nginx' ? (protocol === 'h1' ? nginx!.h1 : nginx!.h2) : agents.get(`${path}/${protocol}`)!;
    const proxyPid = (path: PathName): number | undefined => (path === 'direct' ? undefined : path === 'nginx' ? nginx!.pid : waypoints.get(path)!.pid);
    const redisOf = (path: PathName): BenchRedis | undefined => (path !== 'direct' && path !== 'nginx' && needsRedis(path) ? redis : undefined);

    /** The waypoint's JS heap allocation over a job: 'start' before, 'measure' after (waypoint-child.ts). */
    const heapOf = (path: PathName) => {
      const w = path === 'direct' || path === 'nginx' ? undefined : waypoints.get(path)!.child;
      return {
        start: () => w?.send('start'),
        measure: () =>
          w
            ? new Promise<HeapAnswer | undefined>((resolve) => {
                const timer = setTimeout(() => done(undefined), 5000);
                const onMessage = (m: unknown) => typeof m === 'object' && m !== null && done(m as HeapAnswer);
                const done = (a: HeapAnswer | undefined) => {
                  clearTimeout(timer);
                  w.off('message', onMessage);
                  resolve(a);
                };
                w.on('message', onMessage);
                w.send('measure');
              })
            : Promise.resolve(undefined),
      };
    };

    async function measure(path: PathName, protocol: HttpProtocol, seconds: number): Promise<Job> {
      const pid = proxyPid(path);
      const heap = heapOf(path);
      const rd = redisOf(path);
      const pids = [pid, rd?.child.pid];
      const i0 = pids.map(cpuMs);
      await sleep(IDLE_MS);
      const idle = pids.map((p, i) => (cpuMs(p) - i0[i]!) / IDLE_MS);
      let rss = rssMiB(pid);
      const sampler = setInterval(() => (rss = Math.max(rss, rssMiB(pid))), 250);
      const cmd0 = rd ? await rd.commands() : undefined;
      heap.start();
      const c0 = pids.map(cpuMs);
      const w0 = Date.now();
      try {
        const r = await load<HttpResult>(undefined, { kind: 'http-rate', protocol, host: '127.0.0.1', port: portOf(path, protocol), authority: AUTHORITY, size: opts.size, conns: opts.conns, rate: opts.rate, seconds, warmupS: WARMUP_S });
        const wall = Date.now() - w0;
        const cpu = pids.map((p, i) => cpuMs(p) - c0[i]! - idle[i]! * wall);
        const cmd1 = rd ? await rd.commands() : undefined;
        const h = await heap.measure();
        const n = Math.max(r.completed, 1);
        const job: Job = { r, rss };
        if (h) job.heapBytes = h.allocated / n;
        if (pid !== undefined) job.proxyUs = (cpu[0]! * 1000) / n;
        if (rd) job.redisUs = (cpu[1]! * 1000) / n;
        // One INFO of ours is among the commands counted.
        if (cmd0 !== undefined && cmd1 !== undefined) job.redisCmds = (cmd1 - cmd0 - 1) / n;
        if (r.failed > 0) job.error = `${r.failed} failed: ${r.firstError}`;
        return job;
      } catch (e) {
        return { error: (e as Error).message.split('\n')[0]!.slice(0, 300) };
      } finally {
        clearInterval(sampler);
      }
    }

    for (const protocol of opts.protocols) {
      log(`${stamp()} ${protocol}: unmeasured first pass, ${FIRST_PASS_S} s per path`);
      for (const path of paths) {
        const j = await measure(path, protocol, FIRST_PASS_S);
        if (j.error) throw new Error(`${protocol} ${path}: the first pass failed: ${j.error}`);
      }
      const jobs = new Map<PathName, Job[]>(paths.map((p) => [p, []]));
      const loads: string[] = [];
      for (let round = 0; round < opts.rounds; round++) {
        loads.push(loadavg().split(' ')[0]!);
        for (const path of roundOrder(paths, round)) {
          const j = await measure(path, protocol, opts.seconds);
          jobs.get(path)![round] = j;
          const r = j.r;
          log(
            `${stamp()} ${protocol} round ${round + 1}/${opts.rounds} ${path.padEnd(12)} ` +
              (r ? `${fmt(r.achieved)} req/s, p50 ${fmt(r.p50 / 1000, 3)} ms, p90 ${fmt(r.p90 / 1000, 3)} ms, p99 ${fmt(r.p99 / 1000, 3)} ms` : '') +
              (j.proxyUs !== undefined ? `; proxy ${fmt(j.proxyUs, 0)} µs/req` : '') +
              (j.heapBytes !== undefined ? `, ${fmt(j.heapBytes / 1024)} KiB heap/req` : '') +
              (j.redisUs !== undefined ? `; redis ${fmt(j.redisUs, 0)} µs/req, ${fmt(j.redisCmds, 2)} cmds/req` : '') +
              (j.error ? `; ERROR ${j.error}` : ''),
          );
        }
      }
      report(protocol, jobs, loads);
    }

    function report(protocol: HttpProtocol, jobs: Map<PathName, Job[]>, loads: string[]): void {
      const col = (path: PathName, f: (j: Job) => number | undefined) => (jobs.get(path) ?? []).map((j) => (j && !j.error ? f(j) : undefined));
      const ms = (q: 'p50' | 'p90' | 'p99') => (j: Job) => (j.r ? j.r[q] / 1000 : undefined);
      const x = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(2)}x`);
      const rows: string[][] = [
        ['path', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'proxy CPU µs/req', 'cores/1000 req/s', 'redis µs/req', 'redis cmds/req', 'heap KiB/req', 'RSS MiB', 'CPU vs bare', 'heap vs bare', 'p50 vs bare', 'p90 vs bare', 'p99 vs bare'],
      ];
      for (const path of paths) {
        const cpu = col(path, (j) => j.proxyUs);
        const isBare = path === 'bare';
        rows.push([
          path,
          fmt(middle(col(path, (j) => j.r?.achieved)), 0),
          fmt(middle(col(path, ms('p50'))), 3),
          fmt(middle(col(path, ms('p90'))), 3),
          fmt(middle(col(path, ms('p99'))), 3),
          fmt(middle(cpu), 0),
          fmt(middle(cpu) !== undefined ? middle(cpu)! / 1000 : undefined, 3),
          fmt(middle(col(path, (j) => j.redisUs)), 0),
          fmt(middle(col(path, (j) => j.redisCmds)), 2),
          fmt(middle(col(path, (j) => (j.heapBytes !== undefined ? j.heapBytes / 1024 : undefined))), 1),
          fmt(middle(col(path, (j) => j.rss)), 0),
          path === 'direct' || isBare ? (isBare ? '1.00x' : '-') : x(pairedRatio(cpu, col('bare', (j) => j.proxyUs))),
          isBare ? '1.00x' : x(pairedRatio(col(path, (j) => j.heapBytes), col('bare', (j) => j.heapBytes))),
          ...(['p50', 'p90', 'p99'] as const).map((q) => (isBare ? '1.00x' : x(pairedRatio(col(path, ms(q)), col('bare', ms(q)))))),
        ]);
      }
      log('');
      log(`${protocol === 'h1' ? 'HTTP/1.1' : 'HTTP/2 cleartext (prior knowledge)'}, ${opts.rate} req/s x ${opts.size} B over ${opts.conns} connections, ${opts.rounds} rounds of ${opts.seconds} s (load average at each round's start: ${loads.join(', ')}):`);
      log(table(rows));
      log('');
      log('configuration of each path (the TrafficPolicy spec each waypoint holds, targetRefs [{group: "", kind: Service, name: bench}] left out):');
      for (const path of paths) {
        const what =
          path === 'direct'
            ? 'load -> bench HTTP server, no proxy'
            : path === 'nginx'
              ? `nginx, 1 worker, HTTP/1.1 keep-alive upstream (h2c downstream for h2): load -> nginx -> bench HTTP server`
              : path === 'bare'
                ? 'no TrafficPolicy: load -> client agent -> waypoint -> destination agent -> bench HTTP server'
                : flowStyle(variantSpec(path));
        log(`  ${path.padEnd(12)} ${what}`);
      }
      const episodes = opts.variants.filter(needsRedis).map((v) => `${v} ${unavailableEpisodes(join(dir, `waypoint-${v}.log`))}`);
      if (episodes.length)
        log(`global limit: episodes of "Redis unavailable" (no answer within the limiter's command timeout; failureMode allow let those requests through), whole run so far: ${episodes.join(', ')}`);
      const errors = paths.flatMap((p) => (jobs.get(p) ?? []).map((j, i) => j?.error && `${p} round ${i + 1}: ${j.error}`).filter(Boolean));
      if (errors.length) log(`errors (those jobs are left out of the figures): ${errors.join('; ')}`);
    }
    log('');
    log(
      'proxy CPU = user+system of the waypoint process (nginx for nginx) from /proc over the job, idle subtracted, per request carried (warm-up included); heap = JS bytes the waypoint allocated per request (V8 GC profiler), a count of work that moves little with the load of the machine; ' +
        'redis = redis-server\'s CPU and commands per request (the global limit\'s share, on top of the waypoint\'s). Figures: median over the rounds; ' +
        '"vs bare": median of the per-round ratios to the bare waypoint. Latency is the whole path (load -> agents -> waypoint -> backend), from when each request was due.',
    );
    log(`load average at the end: ${loadavg()}; total time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await teardown();
  }
}
