// The waypoint's CPU per request on loopback, without a cluster: what to measure before and
// after a change to the request path, and where the time goes (`--profile`: a V8 CPU profile
// of the waypoint, summarised by profile-summary.ts).
//
//   load (http-load.ts, the benchmark's own client) -> a small "node agent" here (TCP in,
//   HBONE out as the client's identity, to the Service VIP) -> the waypoint, a child process
//   running the program's data path as startWaypoint builds it (waypointDataPath: telemetry,
//   metrics, access log to a file, authn, authz, routes, pools) on a config held in-process
//   -> HBONE under the waypoint's identity -> an HboneServer here (the destination's agent)
//   -> the bench HTTP server (http-server.ts, a child).
//
// Only the waypoint's process is measured: user+system CPU from /proc over the whole run,
// divided by the requests it carried (warm-up included on both sides of the division).
//   node dist/scripts/bench/waypoint-profile.js [--protocol h1|h2] [--seconds N] [--conns N]
//        [--size N] [--rate N (fixed rate; default closed loop)] [--profile] [--perf] [--top N]
//        [--node-arg ARG]... (to the waypoint's node, e.g. V8 flags)
//        [--variant bare|policy|retries|outlier|global-limit|all] (a TrafficPolicy of the
//        layer comparison, waypoint-variants.ts; global-limit and all start a redis-server)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HboneClient } from '../../core/hbone/client.js';
import { HboneServer } from '../../core/hbone/server.js';
import { CertificateAuthority } from '../../core/identity/ca.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import { httpFixedRate, httpMaxRate, type HttpProtocol, type HttpResult } from './http-load.js';
import { clientAgent, freePort, issue, startBenchRedis, started, type BenchRedis } from './loopback.js';
import { cpuMs } from './procfs.js';
import { formatSummary, summarise, summarisePerf } from './profile-summary.js';
import { AUTHORITY, NAMESPACE, SERVICE, SVC_H1, SVC_H2, TD, VIP, type ChildConfig } from './waypoint-child.js';
import { LAYER_VARIANTS, needsRedis, variantObject, type LayerVariant } from './waypoint-variants.js';

const WAYPOINT_JS = fileURLToPath(new URL('./waypoint-child.js', import.meta.url));
const SERVER_JS = fileURLToPath(new URL('./http-server.js', import.meta.url));

async function driver(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      protocol: { type: 'string', default: 'h1' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      conns: { type: 'string', default: '16' },
      size: { type: 'string', default: '1024' },
      rate: { type: 'string' },
      profile: { type: 'boolean', default: false },
      perf: { type: 'boolean', default: false },
      'node-arg': { type: 'string', multiple: true, default: [] },
      top: { type: 'string', default: '25' },
      keep: { type: 'boolean', default: false },
      variant: { type: 'string', default: 'bare' },
    },
  });
  const variant = v.variant as LayerVariant;
  if (!LAYER_VARIANTS.includes(variant)) throw new Error(`--variant: one of ${LAYER_VARIANTS.join(', ')}, not ${v.variant}`);
  const protocol = v.protocol as HttpProtocol;
  if (protocol !== 'h1' && protocol !== 'h2') throw new Error(`--protocol: h1 or h2, not ${v.protocol}`);
  const seconds = Number(v.seconds);
  const warmupS = Number(v.warmup);
  const conns = Number(v.conns);
  const size = Number(v.size);
  const dir = mkdtempSync(join(os.tmpdir(), 'waypoint-profile-'));
  const children = new Set<ChildProcess>();
  const cleanups: Array<() => unknown> = [];
  let redis: BenchRedis | undefined;
  // Whatever ends this process (an uncaught error too): no child and no Redis dir left.
  const onExit = () => {
    redis?.killNow();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.on('exit', onExit);
  try {
    const ca = await CertificateAuthority.createSelfSigned({ trustDomain: TD });
    const [wp, cl, sv] = await Promise.all([issue(ca, 'bw-b', 'waypoint'), issue(ca, 'bw-a', 'client'), issue(ca, 'bw-b', 'server')]);
    const roots = ca.trustBundle.pems();

    // The bench HTTP server.
    const [h1Port, h2Port, hbonePort] = [await freePort(), await freePort(), await freePort()];
    const app = spawn(process.execPath, [SERVER_JS, String(h1Port), String(h2Port), String(size), '3600'], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.add(app);
    await started(app, 'bench HTTP server', (ok) => app.stdout!.on('data', (d: Buffer) => /ready/.test(d.toString()) && ok()));

    // The destination's node agent: HBONE in, to the app.
    const backend = new HboneServer({ credentials: sv, trustBundle: new TrustBundle(roots), trustDomain: TD, authorize: () => ({ allow: true }) });
    const backendAddr = await backend.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => backend.close());

    // The waypoint.
    const logFile = join(dir, 'waypoint.log');
    if (needsRedis(variant)) redis = await startBenchRedis(children);
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
      ...(redis && { redis: { host: '127.0.0.1', port: redis.port } }),
    };
    if (policy) console.log(`variant ${variant}: TrafficPolicy spec ${JSON.stringify(policy['spec'])}${redis ? `; redis-server 127.0.0.1:${redis.port}` : ''}`);
    const nodeArgs = [...(v.profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...(v.perf ? ['--perf-basic-prof'] : []), ...v['node-arg']];
    const w = spawn(process.execPath, [...nodeArgs, WAYPOINT_JS, JSON.stringify(cfg)], { stdio: ['ignore', openSync(logFile, 'w'), 'inherit', 'ipc'] });
    children.add(w);
    await started(w, 'waypoint', (ok) => w.on('message', (m) => m === 'ready' && ok()));

    // The client's node agent: TCP in, one HBONE tunnel per connection to the Service VIP.
    const hbone = new HboneClient({ credentials: () => cl, trustBundle: new TrustBundle(roots), trustDomain: TD });
    cleanups.push(() => hbone.destroy());
    const agent = await clientAgent(hbone, { source: cl.identity, waypoint: hbonePort, target: { host: VIP, port: protocol === 'h1' ? SVC_H1 : SVC_H2 } });
    cleanups.push(() => agent.close());
    const target = { protocol, host: '127.0.0.1', port: (agent.address() as net.AddressInfo).port, authority: AUTHORITY, size };

    // perf: on-CPU samples of the waypoint only (a V8 profile samples wall time while the
    // thread is busy, descheduled time included: misleading on a loaded machine).
    const perfFile = join(dir, 'waypoint.perf.data');
    const perf = v.perf ? spawn('perf', ['record', '-e', 'cpu-clock', '-F', '499', '-g', '-p', String(w.pid), '-o', perfFile], { stdio: ['ignore', 'ignore', 'ignore'] }) : undefined;
    w.send('start');
    const c0 = cpuMs(w.pid);
    const t0 = Date.now();
    const r: HttpResult = v.rate ? await httpFixedRate(target, { rate: Number(v.rate), conns, seconds, warmupS }) : await httpMaxRate(target, { conns, seconds, warmupS });
    const cpu = cpuMs(w.pid) - c0;
    const wall = (Date.now() - t0) / 1000;
    const us = (cpu * 1000) / Math.max(r.completed, 1);
    console.log(
      `${protocol} ${v.rate ? `fixed ${v.rate} req/s` : 'closed loop'}, ${conns} conns, ${size} B: ${r.completed} requests (${r.failed} failed${r.firstError ? `: ${r.firstError}` : ''}) in ${wall.toFixed(1)} s, ` +
        `${r.achieved.toFixed(0)} req/s measured, p50 ${(r.p50 / 1000).toFixed(3)} ms, p99 ${(r.p99 / 1000).toFixed(3)} ms`,
    );
    console.log(`waypoint CPU: ${(cpu / 1000).toFixed(2)} s = ${us.toFixed(0)} us per request = ${(us / 1000).toFixed(3)} cores per 1000 req/s; log ${statSync(logFile).size} B`);

    if (perf) {
      perf.kill('SIGINT');
      await once(perf, 'exit');
    }
    const heap = new Promise<{ allocated: number; gcs: number; gcMs: number }>((resolve) => w.on('message', (m) => typeof m === 'object' && resolve(m as { allocated: number; gcs: number; gcMs: number })));
    w.send('stop');
    const h = await heap;
    console.log(`waypoint heap: ${(h.allocated / Math.max(r.completed, 1) / 1024).toFixed(1)} KiB allocated per request; ${h.gcs} GCs, ${h.gcMs.toFixed(0)} ms in GC`);
    await once(w, 'exit');
    if (v.profile) {
      const prof = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!prof) throw new Error('no .cpuprofile written');
      console.log(formatSummary(summarise(join(dir, prof), Number(v.top))));
      console.log(`profile: ${join(dir, prof)}`);
    }
    if (perf) {
      const ps = summarisePerf(perfFile, Number(v.top));
      console.log(`perf ${ps.samples} samples`);
      for (const a of ps.areas) console.log(`  ${a.pct.toFixed(1).padStart(5)}%  ${a.area}`);
      for (const t of ps.top) console.log(`  ${t.pct.toFixed(1).padStart(5)}%  ${t.dso} ${t.sym}`);
      console.log(`perf data: ${perfFile}`);
    }
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    await redis?.stop();
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    if (!v.keep && !v.profile && !v.perf) rmSync(dir, { recursive: true, force: true });
  }
}

await driver().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`waypoint-profile: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
