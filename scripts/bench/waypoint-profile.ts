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
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Resource } from '../../core/config/model.js';
import { waypointServiceKey } from '../../core/config/waypoint.js';
import { HboneClient } from '../../core/hbone/client.js';
import { HboneServer } from '../../core/hbone/server.js';
import { CertificateAuthority } from '../../core/identity/ca.js';
import { spiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import { createCsr, generateKeyPem } from '../../core/identity/x509.js';
import { createLogger } from '../../core/log.js';
import { endpoint, resources, service, workload } from '../../node-agent/proxy/fixtures.js';
import type { CertificateManager } from '../../core/identity/cert-manager.js';
import { waypointDataPath } from '../../waypoint/start.js';
import { WaypointState } from '../../waypoint/state/store.js';
import { httpFixedRate, httpMaxRate, type HttpProtocol, type HttpResult } from './http-load.js';
import { cpuMs } from './procfs.js';
import { formatSummary, summarise, summarisePerf } from './profile-summary.js';

const TD = 'cluster.local';
const VIP = '10.96.0.10';
const SVC_H1 = 80;
const SVC_H2 = 81;
const AUTHORITY = 'bench.bw-b.svc.cluster.local';
const SELF_THIS = fileURLToPath(import.meta.url);
const SERVER_JS = fileURLToPath(new URL('./http-server.js', import.meta.url));

interface ChildConfig {
  key: string;
  cert: string;
  roots: string[];
  hbonePort: number;
  endpointHbonePort: number;
  h1Port: number;
  h2Port: number;
}

// ------------------------------------------------------------------ the waypoint (child)
async function child(cfg: ChildConfig): Promise<void> {
  const identity: SpiffeId = spiffeId('bw-b', 'waypoint', TD);
  const self = waypointServiceKey('bw-b', 'waypoint', TD);
  const state = new WaypointState();
  const server = workload('server', { namespace: 'bw-b', ips: ['127.0.0.1'], node: 'node2' });
  const clientW = workload('client', { namespace: 'bw-a', ips: ['10.244.1.5'], node: 'node1' });
  const bench = service('bench', {
    namespace: 'bw-b',
    vips: [VIP],
    ports: [
      { name: 'http', port: SVC_H1, targetPort: cfg.h1Port, protocol: 'TCP', appProtocol: 'http' },
      { name: 'h2c', port: SVC_H2, targetPort: cfg.h2Port, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
    ],
    endpoints: [endpoint(server)],
    waypoint: { service: self, port: 15008 },
  });
  state.apply({ version: '1', upserts: resources([server, clientW, bench]) as Resource[], removes: [] });
  const log = createLogger('waypoint');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The certificate is given, not signed over 15012: the data path reads only these two.
  const certificates = { current: () => ({ key: cfg.key, cert: cfg.cert }), on: () => certificates } as unknown as CertificateManager;
  const dataPath = await waypointDataPath({
    namespace: 'bw-b',
    serviceAccount: 'waypoint',
    gateway: 'waypoint',
    node: 'node2',
    controller: { address: { host: '127.0.0.1', port: 1 }, identity: 'x', roots: cfg.roots, token: () => '' },
    servers: { hbone: { host: '127.0.0.1', port: cfg.hbonePort } },
    endpointHbonePort: cfg.endpointHbonePort,
  })({ identity, self, state, certificates, trustBundle: new TrustBundle(cfg.roots), trustDomain: TD, registry, logger: log });
  process.send!('ready');
  // Bytes allocated on the JS heap over the run (freed by each GC, plus what is still in
  // use at the end): a count of work, steadier than CPU time on a shared machine.
  let gc: v8.GCProfiler | undefined;
  // WAYPOINT_PROFILE_ALLOC=FILE: a sampling profile of every allocation (also those the
  // GC collected) over the run, written to FILE (.heapprofile: Chrome DevTools reads it).
  const session = new inspector.Session();
  let used0 = 0;
  process.on('message', (m) => {
    if (m === 'start') {
      if (process.env['WAYPOINT_PROFILE_ALLOC']) {
        session.connect();
        session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true } as object);
      }
      used0 = v8.getHeapStatistics().used_heap_size;
      gc = new v8.GCProfiler();
      gc.start();
      return;
    }
    if (m !== 'stop') return;
    const stats = (gc?.stop() as unknown as { statistics: Array<{ cost: number; beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }> } | undefined)?.statistics ?? [];
    let freed = 0;
    let cost = 0;
    for (const g of stats) {
      freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
      cost += g.cost;
    }
    const allocated = freed + v8.getHeapStatistics().used_heap_size - used0;
    if (process.env['WAYPOINT_PROFILE_ALLOC']) {
      session.post('HeapProfiler.stopSampling', (err, r) => {
        if (!err) writeFileSync(process.env['WAYPOINT_PROFILE_ALLOC']!, JSON.stringify(r.profile));
      });
    }
    process.send!({ allocated, gcs: stats.length, gcMs: cost / 1000 }, () => void dataPath.close(1000).finally(() => process.exit(0)));
  });
}

// ------------------------------------------------------------------ the driver
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function issue(ca: CertificateAuthority, ns: string, sa: string): Promise<{ key: string; cert: string; identity: SpiffeId }> {
  const identity = spiffeId(ns, sa, TD);
  const key = await generateKeyPem();
  return { key, cert: ca.sign(createCsr(key, identity), { identity }).chain.join(''), identity };
}

function started(c: ChildProcess, what: string, ready: (resolve: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not ready within 30 s`)), 30_000);
    c.once('exit', (code) => reject(new Error(`${what} exited (${code})`)));
    ready(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

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
    },
  });
  const protocol = v.protocol as HttpProtocol;
  if (protocol !== 'h1' && protocol !== 'h2') throw new Error(`--protocol: h1 or h2, not ${v.protocol}`);
  const seconds = Number(v.seconds);
  const warmupS = Number(v.warmup);
  const conns = Number(v.conns);
  const size = Number(v.size);
  const dir = mkdtempSync(join(os.tmpdir(), 'waypoint-profile-'));
  const children: ChildProcess[] = [];
  const cleanups: Array<() => unknown> = [];
  try {
    const ca = await CertificateAuthority.createSelfSigned({ trustDomain: TD });
    const [wp, cl, sv] = await Promise.all([issue(ca, 'bw-b', 'waypoint'), issue(ca, 'bw-a', 'client'), issue(ca, 'bw-b', 'server')]);
    const roots = ca.trustBundle.pems();

    // The bench HTTP server.
    const [h1Port, h2Port, hbonePort] = [await freePort(), await freePort(), await freePort()];
    const app = spawn(process.execPath, [SERVER_JS, String(h1Port), String(h2Port), String(size), '3600'], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(app);
    await started(app, 'bench HTTP server', (ok) => app.stdout!.on('data', (d: Buffer) => /ready/.test(d.toString()) && ok()));

    // The destination's node agent: HBONE in, to the app.
    const backend = new HboneServer({ credentials: sv, trustBundle: new TrustBundle(roots), trustDomain: TD, authorize: () => ({ allow: true }) });
    const backendAddr = await backend.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => backend.close());

    // The waypoint.
    const logFile = join(dir, 'waypoint.log');
    const cfg: ChildConfig = { key: wp.key, cert: wp.cert, roots, hbonePort, endpointHbonePort: backendAddr.port, h1Port, h2Port };
    const nodeArgs = [...(v.profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...(v.perf ? ['--perf-basic-prof'] : []), ...v['node-arg']];
    const w = spawn(process.execPath, [...nodeArgs, SELF_THIS, '--child', JSON.stringify(cfg)], { stdio: ['ignore', openSync(logFile, 'w'), 'inherit', 'ipc'] });
    children.push(w);
    await started(w, 'waypoint', (ok) => w.on('message', (m) => m === 'ready' && ok()));

    // The client's node agent: TCP in, one HBONE tunnel per connection to the Service VIP.
    const hbone = new HboneClient({ credentials: () => cl, trustBundle: new TrustBundle(roots), trustDomain: TD });
    cleanups.push(() => hbone.destroy());
    const agent = net.createServer({ noDelay: true }, (sock) => {
      sock.pause();
      sock.on('error', () => sock.destroy());
      hbone
        .connect({ source: cl.identity, peer: { host: '127.0.0.1', port: hbonePort }, target: { host: VIP, port: protocol === 'h1' ? SVC_H1 : SVC_H2 }, forwardedFor: { host: '10.244.1.5', port: sock.remotePort ?? 0 } })
        .then((t) => {
          t.stream.on('error', () => sock.destroy());
          sock.on('close', () => t.stream.destroy());
          sock.pipe(t.stream);
          t.stream.pipe(sock);
          sock.resume();
        })
        .catch(() => sock.destroy());
    });
    agent.listen(0, '127.0.0.1');
    await once(agent, 'listening');
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
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    if (!v.keep && !v.profile && !v.perf) rmSync(dir, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(JSON.parse(process.argv[i + 1]!) as ChildConfig);
else
  await driver().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`waypoint-profile: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
