// Pod-to-pod benchmark on the 2-node local cluster: `npm run bench:mesh [-- flags]`
// (see --help and docs/performance.md, "Pod to pod on the local cluster (L4 mesh)").
//
// One run brings up its own cluster (`ambientctl cluster up --nodes 2`, AMBIENT_HOME in a
// temp dir), deploys the controller and the node agents from manifests/, and creates two
// pairs of idle pods, each a client on node1 and a server on node2:
//   bp-a/client -> bp-b/server   namespaces never enrolled: the "direct" path (plain TCP
//                                pod to pod) and the "stunnel" path (an stunnel client in
//                                the client pod's netns, an stunnel server in the server
//                                pod's netns, TLS 1.3 with certificates from our CA)
//   bm-a/client -> bm-b/server   namespaces labelled ambient.dev/dataplane-mode=ambient:
//                                the "mesh" path (captured by both node agents, HBONE mTLS)
// The bench server (mesh-server.ts) runs inside each server pod's netns and the load
// generator (mesh-load.ts) inside the client pod's netns, both via `ip netns exec`. All
// traffic stays between network namespaces this run's cluster created. The paths are
// measured interleaved within each repetition.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { MiB } from './load.js';
import { podProcesses } from './pod-processes.js';
import { benchCluster, captured, isReady, sleep } from './bench-cluster.js';
import { agentPids } from './cluster-agents.js';
import { commonOptions, numberFlag as num, parseFlags, type CommonOptions } from './options.js';
import { writePki } from './pki.js';
import { cpuMs, syscallCounts } from './procfs.js';
import { fmt, median, percentile, ratio, table } from './report.js';
import { formatSummary, summarise } from './profile-summary.js';
import { STUNNEL, stunnelVersion, writeStunnelPairConfs } from './stunnel.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const SERVER_JS = fileURLToPath(new URL('./mesh-server.js', import.meta.url));
const SINK_PORT = 9090; // captured by the pod rules (not one of 15000/15001/15006/15008/15020/15021/15053)
const STUNNEL_SERVER_PORT = 9443;
const STUNNEL_CLIENT_PORT = 9444; // on the client pod's 127.0.0.1
const WAIT_MS = 90_000;

type PathName = 'direct' | 'stunnel' | 'mesh';
const PATHS: PathName[] = ['direct', 'stunnel', 'mesh'];

// ---------------------------------------------------------------- options

const HELP = `usage: npm run bench:mesh -- [flags]
  --quick            small run (32 MiB single, 8 x 4 MiB, 1000 round-trips, 1 repetition, 5 s rate phase)
  --mb N             MiB sent on the single stream (default 200)
  --par-mb N         MiB sent by each parallel stream (default 32)
  --streams N        parallel streams (default 8)
  --iters N          ping-pong round-trips per repetition (default 3000) ...
  --seconds N        ... or at most N seconds (default 10)
  --setup-iters N    sequential new-connection samples per repetition (default 200, at most 10 s)
  --repeat N         repetitions, paths interleaved; throughput: median (default 3)
  --rate N           connections/s in the fixed-rate phase (default 200)
  --rate-seconds N   length of the fixed-rate phase (default 15)
  --timeout N        seconds allowed for one throughput transfer (default 120)
  --req-rate N       requests/s in the fixed-rate request phase (default 1000)
  --req-conns N      persistent connections of that phase (default 16)
  --req-size N       bytes per request and per answer (default 1024)
  --req-seconds N    measured seconds of that phase (default 20; --quick: 5), after 2 s not measured
  --only LIST        phases to run, comma-separated: throughput,latency,setup,rate,requests (default all)
  --paths LIST       paths to run, comma-separated: direct,stunnel,mesh (default all; targets need all three)
  --profile cpu      V8 CPU profile of both node agents (node --cpu-prof as their container command),
                     written when they stop at the end of the run and summarised
  --profile-dir DIR  keep the raw .cpuprofile files there (default: inside AMBIENT_HOME, deleted)
  --workers N        the agents' data-path worker threads (AMBIENT_WORKERS; default the manifest's: one per core)
  --keep             leave the cluster up afterwards (prints AMBIENT_HOME and the name)`;

type Phase = 'throughput' | 'latency' | 'setup' | 'rate' | 'requests';
const PHASES: Phase[] = ['throughput', 'latency', 'setup', 'rate', 'requests'];

interface Options extends CommonOptions {
  rate: number;
  rateSeconds: number;
  reqRate: number;
  reqConns: number;
  reqSize: number;
  reqSeconds: number;
  only: Set<Phase>;
  paths: PathName[];
  profile: 'cpu' | undefined;
  profileDir: string | undefined;
  /** The agents' data-path workers (AMBIENT_WORKERS); undefined: the manifest's (one per core). */
  workers: number | undefined;
  keep: boolean;
  quick: boolean;
}

function parseOptions(argv: string[]): Options {
  const values = parseFlags(
    argv,
    {
      rate: { type: 'string' },
      'rate-seconds': { type: 'string' },
      'req-rate': { type: 'string' },
      'req-conns': { type: 'string' },
      'req-size': { type: 'string' },
      'req-seconds': { type: 'string' },
      only: { type: 'string' },
      paths: { type: 'string' },
      profile: { type: 'string' },
      'profile-dir': { type: 'string' },
      workers: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
    HELP,
  );
  const q = values.quick;
  const list = <T extends string>(flag: string, v: string | undefined, all: T[]): T[] => {
    if (v === undefined) return all;
    const xs = v.split(',').map((x) => x.trim()).filter(Boolean);
    for (const x of xs) if (!all.includes(x as T)) throw new Error(`--${flag}: unknown ${JSON.stringify(x)} (known: ${all.join(', ')})`);
    return all.filter((a) => xs.includes(a));
  };
  if (values.profile !== undefined && values.profile !== 'cpu') throw new Error(`--profile must be cpu, got ${values.profile}`);
  return {
    ...commonOptions(values, { mbMax: 10_000, streams: 8, streamsMax: 64, iters: 3000, itersMax: 1_000_000, secondsMax: 600, setupItersMin: 1, repeatMax: 20 }),
    rate: num('rate', values.rate, 200, 1, 5000),
    rateSeconds: num('rate-seconds', values['rate-seconds'], q ? 5 : 15, 1, 300),
    reqRate: num('req-rate', values['req-rate'], 1000, 1, 20_000),
    reqConns: num('req-conns', values['req-conns'], 16, 1, 256),
    reqSize: num('req-size', values['req-size'], 1024, 1, 1024 * 1024),
    reqSeconds: num('req-seconds', values['req-seconds'], q ? 5 : 20, 1, 300),
    only: new Set(list('only', values.only, PHASES)),
    paths: list('paths', values.paths, PATHS),
    profile: values.profile as 'cpu' | undefined,
    profileDir: values['profile-dir'],
    workers: values.workers === undefined ? undefined : num('workers', values.workers, 1, 1, 64),
    keep: values.keep,
    quick: q,
  };
}

// ---------------------------------------------------------------- cluster and cleanup

const cluster = benchCluster({ homePrefix: 'ambient-bench-mesh-', name: `bm${process.pid % 10000}`, waitMs: WAIT_MS });
const { home, name: NAME, children, ctl, ok, until, listPods, teardown } = cluster;
const readyPod = (ns: string, app: string) =>
  until(`a ready ${app} pod in ${ns}`, () => {
    const ps = listPods(ns, `app=${app}`);
    return ps.length === 1 && isReady(ps[0]!) ? ps[0]! : undefined;
  });
const natOf = (pod: string, ns: string) => ok(ctl(['exec', pod, '-n', ns, '--', 'iptables-save', '-t', 'nat']), `iptables-save in ${ns}/${pod}`);

function apps(): string {
  const docs: string[] = [];
  for (const pair of ['bm', 'bp']) {
    for (const [side, node] of [['a', 'node1'], ['b', 'node2']] as const) {
      const ns = `${pair}-${side}`;
      const app = side === 'a' ? 'client' : 'server';
      docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`);
      docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${app}, namespace: ${ns}}`);
      docs.push(
        `apiVersion: v1\nkind: Pod\nmetadata: {name: ${app}, namespace: ${ns}, labels: {app: ${app}}}\nspec:\n  nodeName: ${node}\n  serviceAccountName: ${app}\n  containers: [{name: ${app}, image: ambient-samples/client}]`,
      );
    }
  }
  return docs.join('\n---\n') + '\n';
}

interface Pod {
  ns: string;
  name: string;
  ip: string;
  netns: string;
}

// ---------------------------------------------------------------- processes in pod netns

/** Starts `argv` inside a network namespace; the caller waits for `readyText` on stdout/stderr. */
const { startInNetns, load } = podProcesses(children);

// ---------------------------------------------------------------- stunnel

async function startStunnelPair(dir: string, client: Pod, server: Pod): Promise<ChildProcess[]> {
  const pki = await writePki(dir, { ns: 'bp-b', sa: 'server' }, { ns: 'bp-a', sa: 'client' });
  const conf = writeStunnelPairConfs(dir, pki, {
    generatedBy: 'scripts/bench/mesh.ts',
    debug: 5, // "Configuration successful" is the ready signal; nothing per connection
    prefix: 'bench-mesh-stunnel',
    server: { accept: `0.0.0.0:${STUNNEL_SERVER_PORT}`, connect: `127.0.0.1:${SINK_PORT}` },
    client: { accept: `127.0.0.1:${STUNNEL_CLIENT_PORT}`, connect: `${server.ip}:${STUNNEL_SERVER_PORT}` },
  });
  const s = await startInNetns(server.netns, [STUNNEL, conf.server], /Configuration successful/, 'stunnel server');
  const c = await startInNetns(client.netns, [STUNNEL, conf.client], /Configuration successful/, 'stunnel client');
  return [c, s];
}

// ---------------------------------------------------------------- /proc accounting

/** VmRSS and VmHWM in MiB. */
function memMiB(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

// ---------------------------------------------------------------- the run

interface Target {
  name: PathName;
  netns: string; // where the load generator runs
  host: string;
  port: number;
  /** Processes whose CPU is the path's cost: the two stunnels, or the two node agents. */
  proxyPids: () => number[];
}

interface Result {
  thr1: number[];
  thrN: number[];
  cpuPerGiB1: number[];
  cpuPerGiBN: number[];
  /** write-type syscalls of the two proxy processes per MiB carried, 1 stream. */
  writesPerMiB1: number[];
  rtt: number[];
  setup: number[];
  setupRate: number[];
  rate?: {
    achieved: number;
    p50: number;
    p99: number;
    failed: number;
    skipped: number;
    cpuPer1k: number;
    idleCores: number;
    perAgent: string;
    /** CPU ms per connection of the busier proxy process (one side). */
    maxSideMs: number;
    rss: string;
    firstError: string;
  };
  req?: {
    achieved: number;
    us: number[];
    unfinished: number;
    /** Proxy CPU (both processes, idle subtracted) per 1000 requests/s, in cores. */
    cpuPer1k: number;
    idleCores: number;
    perProc: string;
    /** Highest VmRSS sampled during the phase, per process. */
    rssPeak: string;
    rssMax: number;
  };
}

async function measureThroughput(t: Target, streams: number, bytesEach: number, opts: Options): Promise<{ mibps: number; cpuPerGiB: number; writesPerMiB: number }> {
  const pids = t.proxyPids();
  const cpu = () => pids.reduce((a, p) => a + cpuMs(p), 0);
  const writes = () => pids.reduce((a, p) => a + syscallCounts(p).writes, 0);
  const c0 = cpu();
  const w0 = writes();
  const r = await load<{ mibps: number; bytes: number }>(t.netns, { kind: 'throughput', host: t.host, port: t.port, streams, bytesEach, timeoutS: opts.timeoutS });
  const c1 = cpu();
  return { mibps: r.mibps, cpuPerGiB: (c1 - c0) / 1000 / (r.bytes / (1024 * MiB)), writesPerMiB: (writes() - w0) / (r.bytes / MiB) };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  cluster.state.keep = opts.keep;
  const log = (s: string) => console.log(s);
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  log(`pod-to-pod benchmark: cluster ${NAME}, AMBIENT_HOME ${home}`);
  log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`);
  log(`stunnel: ${stunnelVersion()}`);
  log(
    `plan: 1 x ${opts.mb} MiB, ${opts.streams} x ${opts.parMb} MiB, ${opts.iters} round-trips (<= ${opts.seconds} s), ${opts.setupIters} new connections, ${opts.repeat} repetition(s); ` +
      `then ${opts.rate} connections/s for ${opts.rateSeconds} s per path`,
  );

  cluster.state.started = true;
  log(`${stamp()} cluster up --nodes 2`);
  ok(ctl(['cluster', 'up', '--nodes', '2'], 240_000), 'cluster up');
  const sets = opts.workers !== undefined ? [`workers=${opts.workers}`] : [];
  let profileDir: string | undefined;
  if (opts.profile === 'cpu') {
    // Both agents write a V8 CPU profile when they exit (the driver stops them before the
    // cluster goes down).
    profileDir = opts.profileDir ?? join(home, 'profiles');
    mkdirSync(profileDir, { recursive: true });
    cluster.installMesh({ sets, agentCommand: [process.execPath, '--cpu-prof', `--cpu-prof-dir=${profileDir}`, join(REPO, 'dist/node-agent/main.js')] });
  } else {
    cluster.installMesh({ sets });
  }
  const appsFile = join(home, 'bench-apps.yaml');
  writeFileSync(appsFile, apps());
  ok(ctl(['apply', '-f', appsFile]), 'apply bench pods');
  await until('the controller', () => listPods('ambient-system', 'app=ambient-controller').some(isReady));
  await until('2 ready node agents', () => {
    const ps = listPods('ambient-system', 'app=ambient-node-agent');
    return ps.length === 2 && ps.every(isReady);
  });
  for (const node of ['node1', 'node2']) {
    await until(`the agent on ${node} to be ready`, () => ctl(['exec', '--node', node, '--', 'curl', '-sf', '--max-time', '2', 'http://127.0.0.1:15021/healthz/ready']).code === 0, 180_000);
  }
  const pod = async (ns: string, app: string): Promise<Pod> => {
    const p = await readyPod(ns, app);
    if (!p.status.podIP) throw new Error(`${ns}/${app} has no IP`);
    return { ns, name: app, ip: p.status.podIP, netns: podNetnsName(NAME, p.metadata.uid) };
  };
  const meshClient = await pod('bm-a', 'client');
  const meshServer = await pod('bm-b', 'server');
  const plainClient = await pod('bp-a', 'client');
  const plainServer = await pod('bp-b', 'server');
  log(`${stamp()} pods: mesh ${meshClient.ip} (node1) -> ${meshServer.ip} (node2); plain ${plainClient.ip} (node1) -> ${plainServer.ip} (node2)`);

  // Bench servers in both server pods, stunnel on the plain pair.
  await startInNetns(meshServer.netns, [process.execPath, SERVER_JS, String(SINK_PORT), '7200'], /ready/, 'bench server (mesh pair)');
  await startInNetns(plainServer.netns, [process.execPath, SERVER_JS, String(SINK_PORT), '7200'], /ready/, 'bench server (plain pair)');
  const stunnels = await startStunnelPair(home, plainClient, plainServer);

  const agents = () => agentPids(NAME);
  const initialAgents = agents();
  if (initialAgents.size !== 2) throw new Error(`expected 2 node-agent processes of cluster ${NAME}, found ${JSON.stringify([...initialAgents])}`);
  log(`${stamp()} node agents: ${[...initialAgents].map(([n, p]) => `${n} pid ${p}, RSS ${fmt(memMiB(p).rss)} MiB`).join('; ')}`);

  // Sanity: the mesh pair before enrolment is plain TCP too (same pods as the mesh path).
  const before = await load<{ mibps: number }>(meshClient.netns, { kind: 'throughput', host: meshServer.ip, port: SINK_PORT, streams: 1, bytesEach: 32 * MiB, timeoutS: opts.timeoutS });
  const beforeLat = await load<{ rtts: number[] }>(meshClient.netns, { kind: 'latency', host: meshServer.ip, port: SINK_PORT, size: 64, iters: 1000, seconds: 5, warmup: 200 });
  log(`${stamp()} mesh pods before enrolment (plain TCP): 1 x 32 MiB ${fmt(before.mibps)} MiB/s, ping-pong p50 ${fmt(median(beforeLat.rtts))} us`);

  // Enrol the mesh pair and wait for the capture rules in both pods.
  ok(ctl(['label', 'namespace', 'bm-a', 'ambient.dev/dataplane-mode=ambient']), 'label bm-a');
  ok(ctl(['label', 'namespace', 'bm-b', 'ambient.dev/dataplane-mode=ambient']), 'label bm-b');
  await until('the client pod to be captured', () => captured(natOf('client', 'bm-a')));
  await until('the server pod to be captured', () => captured(natOf('server', 'bm-b')));
  if (/AMB-/.test(natOf('client', 'bp-a')) || /AMB-/.test(natOf('server', 'bp-b'))) throw new Error('the plain pair has capture rules');
  log(`${stamp()} bm-a and bm-b enrolled: AMB-OUTPUT/AMB-PREROUTING in both pods; bp-a/bp-b have no AMB- rules`);

  const stunnelPids = stunnels.map((c) => c.pid!).filter(Boolean);
  const allTargets: Target[] = [
    { name: 'direct', netns: plainClient.netns, host: plainServer.ip, port: SINK_PORT, proxyPids: () => [] },
    { name: 'stunnel', netns: plainClient.netns, host: '127.0.0.1', port: STUNNEL_CLIENT_PORT, proxyPids: () => stunnelPids },
    { name: 'mesh', netns: meshClient.netns, host: meshServer.ip, port: SINK_PORT, proxyPids: () => [...agents().values()] },
  ];
  const targets = allTargets.filter((t) => opts.paths.includes(t.name));
  const phase = (p: Phase) => opts.only.has(p);
  const results = new Map<PathName, Result>(PATHS.map((p) => [p, { thr1: [], thrN: [], cpuPerGiB1: [], cpuPerGiBN: [], writesPerMiB1: [], rtt: [], setup: [], setupRate: [] }]));

  // Warm-up: JIT and heaps of the agents (and of the HBONE pool), stunnel's threads.
  for (const t of targets) {
    log(`${stamp()} warm-up ${t.name}`);
    await load(t.netns, { kind: 'latency', host: t.host, port: t.port, size: 64, iters: 500, seconds: 5, warmup: 0 });
    if (phase('throughput')) {
      await load(t.netns, { kind: 'throughput', host: t.host, port: t.port, streams: 1, bytesEach: (opts.quick ? 16 : 64) * MiB, timeoutS: opts.timeoutS });
      await load(t.netns, { kind: 'throughput', host: t.host, port: t.port, streams: opts.streams, bytesEach: 4 * MiB, timeoutS: opts.timeoutS });
    }
    await load(t.netns, { kind: 'setup', host: t.host, port: t.port, size: 64, iters: 50, seconds: 5 });
  }

  for (let rep = 1; rep <= opts.repeat; rep++) {
    for (const t of targets) {
      const r = results.get(t.name)!;
      const parts: string[] = [];
      if (phase('throughput')) {
        const a = await measureThroughput(t, 1, opts.mb * MiB, opts);
        const b = await measureThroughput(t, opts.streams, opts.parMb * MiB, opts);
        r.thr1.push(a.mibps);
        r.cpuPerGiB1.push(a.cpuPerGiB);
        r.thrN.push(b.mibps);
        r.cpuPerGiBN.push(b.cpuPerGiB);
        r.writesPerMiB1.push(a.writesPerMiB);
        parts.push(`1 stream ${fmt(a.mibps)} MiB/s, ${opts.streams} streams ${fmt(b.mibps)} MiB/s`);
      }
      if (phase('latency')) {
        const lat = await load<{ rtts: number[] }>(t.netns, { kind: 'latency', host: t.host, port: t.port, size: 64, iters: opts.iters, seconds: opts.seconds, warmup: 200 });
        r.rtt.push(...lat.rtts);
        parts.push(`p50 ${fmt(median(lat.rtts))} us`);
      }
      if (phase('setup')) {
        const su = await load<{ ms: number[]; secs: number }>(t.netns, { kind: 'setup', host: t.host, port: t.port, size: 64, iters: opts.setupIters, seconds: 10 });
        r.setup.push(...su.ms);
        r.setupRate.push(su.ms.length / su.secs);
        parts.push(`new conn p50 ${fmt(median(su.ms), 2)} ms`);
      }
      if (parts.length) log(`${stamp()} rep ${rep} ${t.name.padEnd(7)} ${parts.join(', ')}`);
    }
  }

  // Fixed connection rate: proxy CPU (agents / stunnels) and RSS.
  for (const t of phase('rate') ? targets : []) {
    const pids = t.proxyPids();
    const cpu = () => pids.reduce((a, p) => a + cpuMs(p), 0);
    const idle0 = cpu();
    await sleep(3000);
    const idleCores = (cpu() - idle0) / 3000;
    const per0 = new Map(pids.map((p) => [p, cpuMs(p)]));
    const c0 = cpu();
    const w0 = Date.now();
    const r = await load<{ ms: number[]; achieved: number; failed: number; skipped: number; secs: number; firstError: string }>(t.netns, {
      kind: 'rate',
      host: t.host,
      port: t.port,
      size: 64,
      rate: opts.rate,
      seconds: opts.rateSeconds,
      maxInflight: 256,
    });
    const wall = (Date.now() - w0) / 1000;
    const cores = (cpu() - c0) / 1000 / wall;
    const byPid = new Map(pids.map((p) => [p, (cpuMs(p) - per0.get(p)!) / 1000 / wall]));
    const names = t.name === 'mesh' ? new Map([...agents()].map(([n, p]) => [p, `agent ${n}`])) : new Map(pids.map((p, i) => [p, i === 0 ? 'stunnel client' : 'stunnel server']));
    const perAgent = pids.map((p) => `${names.get(p) ?? p} ${fmt((byPid.get(p)! / r.achieved) * 1000, 3)}`).join(', ');
    const maxSideMs = pids.length ? Math.max(...pids.map((p) => (byPid.get(p)! / r.achieved) * 1000)) : NaN;
    const rss = pids.map((p) => `${names.get(p) ?? p} ${fmt(memMiB(p).rss)} MiB (peak ${fmt(memMiB(p).hwm)})`).join(', ');
    results.get(t.name)!.rate = {
      achieved: r.achieved,
      p50: median(r.ms),
      p99: percentile(r.ms, 99),
      failed: r.failed,
      skipped: r.skipped,
      cpuPer1k: pids.length ? ((cores - idleCores) / r.achieved) * 1000 : NaN,
      idleCores,
      perAgent,
      maxSideMs,
      rss,
      firstError: r.firstError,
    };
    log(`${stamp()} rate ${t.name}: ${fmt(r.achieved)} conn/s achieved, p50 ${fmt(median(r.ms), 2)} ms, ${r.failed} failed${r.firstError ? ` (${r.firstError})` : ''}, ${r.skipped} skipped; proxy CPU ${fmt(cores, 3)} cores (idle ${fmt(idleCores, 3)})`);
  }

  // Fixed request rate over persistent connections (as Istio's published benchmark runs it):
  // added latency over direct, proxy CPU per 1000 requests/s, RSS during the phase.
  const REQ_WARMUP_S = 2;
  for (const t of phase('requests') ? targets : []) {
    const pids = t.proxyPids();
    const cpu = () => pids.reduce((a, p) => a + cpuMs(p), 0);
    const idle0 = cpu();
    await sleep(3000);
    const idleCores = (cpu() - idle0) / 3000;
    const per0 = new Map(pids.map((p) => [p, cpuMs(p)]));
    const rssPeak = new Map(pids.map((p) => [p, memMiB(p).rss]));
    const sampler = setInterval(() => {
      for (const p of pids) rssPeak.set(p, Math.max(rssPeak.get(p)!, memMiB(p).rss));
    }, 250);
    const c0 = cpu();
    const w0 = Date.now();
    let r: { us: number[]; achieved: number; unfinished: number; secs: number };
    try {
      r = await load(t.netns, { kind: 'requests', host: t.host, port: t.port, size: opts.reqSize, rate: opts.reqRate, conns: opts.reqConns, seconds: opts.reqSeconds, warmupS: REQ_WARMUP_S });
    } finally {
      clearInterval(sampler);
    }
    const wall = (Date.now() - w0) / 1000;
    const cores = (cpu() - c0) / 1000 / wall;
    const names = t.name === 'mesh' ? new Map([...agents()].map(([n, p]) => [p, `agent ${n}`])) : new Map(pids.map((p, i) => [p, i === 0 ? 'stunnel client' : 'stunnel server']));
    const perProc = pids.map((p) => `${names.get(p) ?? p} ${fmt((((cpuMs(p) - per0.get(p)!) / 1000 / wall - idleCores / pids.length) / opts.reqRate) * 1000, 3)}`).join(', ');
    results.get(t.name)!.req = {
      achieved: r.achieved,
      us: r.us,
      unfinished: r.unfinished,
      cpuPer1k: pids.length ? ((cores - idleCores) / opts.reqRate) * 1000 : NaN,
      idleCores,
      perProc,
      rssPeak: pids.map((p) => `${names.get(p) ?? p} ${fmt(rssPeak.get(p))} MiB`).join(', '),
      rssMax: pids.length ? Math.max(...pids.map((p) => rssPeak.get(p)!)) : NaN,
    };
    log(
      `${stamp()} requests ${t.name}: ${fmt(r.achieved)} req/s over ${opts.reqConns} connections, p50 ${fmt(median(r.us))} us, p99 ${fmt(percentile(r.us, 99))} us, ` +
        `${r.unfinished} unfinished; proxy CPU ${fmt(cores, 3)} cores (idle ${fmt(idleCores, 3)})`,
    );
  }

  // The mesh path really was HBONE with mTLS: the destination agent's access log.
  const podsDir = join(home, 'clusters', NAME, 'pods');
  let inboundHbone = 0;
  let mtls = 0;
  for (const d of readdirSync(podsDir).filter((x) => x.startsWith('ambient-system_ambient-node-agent-'))) {
    let text = '';
    try {
      text = readFileSync(join(podsDir, d, 'node-agent.log'), 'utf8');
    } catch {
      continue;
    }
    for (const l of text.split('\n')) {
      if (!l.includes('"msg":"connection"') || !l.includes('inbound-hbone')) continue;
      try {
        const rec = JSON.parse(l) as Record<string, unknown>;
        if (rec['direction'] === 'inbound-hbone' && String(rec['dst.addr'] ?? '').startsWith(meshServer.ip)) {
          inboundHbone++;
          if (rec['mtls'] === true) mtls++;
        }
      } catch {
        // partial line
      }
    }
  }

  // ---------------------------------------------------------------- report
  const R = (p: PathName) => results.get(p)!;
  const rows: string[][] = [['figure', 'direct', 'stunnel', 'mesh', 'mesh/direct', 'mesh/stunnel']];
  const add = (label: string, f: (r: Result) => number | undefined, digits = 1, withDirectRatio = true) => {
    const [d, s, m] = PATHS.map((p) => f(R(p)));
    rows.push([label, fmt(d, digits), fmt(s, digits), fmt(m, digits), withDirectRatio ? ratio(m, d) : '-', ratio(m, s)]);
  };
  add(`throughput, 1 stream x ${opts.mb} MiB (MiB/s)`, (r) => median(r.thr1));
  add(`throughput, ${opts.streams} streams x ${opts.parMb} MiB (MiB/s)`, (r) => median(r.thrN));
  add('proxy CPU per GiB, 1 stream (s)', (r) => median(r.cpuPerGiB1), 2, false);
  add(`proxy CPU per GiB, ${opts.streams} streams (s)`, (r) => median(r.cpuPerGiBN), 2, false);
  add('proxy write syscalls per MiB, 1 stream', (r) => median(r.writesPerMiB1), 1, false);
  add('latency 64 B ping-pong p50 (us)', (r) => median(r.rtt));
  add('latency 64 B ping-pong p99 (us)', (r) => percentile(r.rtt, 99));
  add('new connection + 64 B echo p50 (ms)', (r) => median(r.setup), 2);
  add('new connection + 64 B echo p99 (ms)', (r) => percentile(r.setup, 99), 2);
  add('sequential new connections per s', (r) => median(r.setupRate));
  add(`fixed rate ${opts.rate}/s: achieved (conn/s)`, (r) => r.rate?.achieved);
  add(`fixed rate ${opts.rate}/s: connection p50 (ms)`, (r) => r.rate?.p50, 2);
  add(`fixed rate ${opts.rate}/s: connection p99 (ms)`, (r) => r.rate?.p99, 2);
  add('proxy CPU per 1000 conn/s (cores)', (r) => r.rate?.cpuPer1k, 3, false);
  const reqP = (r: Result, q: number) => (r.req ? percentile(r.req.us, q) : undefined);
  const directReq = (q: number) => reqP(R('direct'), q);
  const added = (r: Result, q: number) => {
    const v = reqP(r, q);
    const d = directReq(q);
    return v === undefined || d === undefined ? undefined : v - d;
  };
  const reqLabel = `${opts.reqRate} req/s x ${opts.reqSize} B / ${opts.reqConns} conns`;
  add(`${reqLabel}: achieved (req/s)`, (r) => r.req?.achieved);
  for (const q of [50, 90, 99]) add(`${reqLabel}: p${q} (us)`, (r) => reqP(r, q));
  for (const q of [50, 90, 99]) add(`${reqLabel}: added p${q} over direct (us)`, (r) => added(r, q), 1, false);
  add(`proxy CPU per 1000 req/s (cores)`, (r) => r.req?.cpuPer1k, 3, false);
  add(`proxy RSS peak during requests (MiB)`, (r) => r.req?.rssMax, 1, false);
  log('');
  log(table(rows));
  log('');
  log('proxy = the two node agents (mesh) or the two stunnel processes; CPU from /proc/<pid>/stat, idle CPU subtracted for the rate phases.');
  const m = R('mesh');
  const st = R('stunnel');
  if (m.rate) log(`mesh, fixed rate ${opts.rate}/s for ${opts.rateSeconds} s: agent CPU per 1000 connections/s (cores): ${m.rate.perAgent}; total ${fmt(m.rate.cpuPer1k, 3)} (idle agents ${fmt(m.rate.idleCores, 3)} cores)`);
  if (m.rate) log(`mesh agents' RSS after the rate phase: ${m.rate.rss}`);
  if (st.rate) log(`stunnel, same phase: CPU per 1000 connections/s (cores): ${st.rate.perAgent}; RSS ${st.rate.rss}`);
  if (m.rate || st.rate)
    log(`failures in the rate phase: ${opts.paths.map((p) => `${p} ${R(p).rate?.failed ?? '-'}`).join(', ')}; skipped (256 in flight): ${opts.paths.map((p) => R(p).rate?.skipped ?? '-').join(' / ')}`);
  if (m.req) log(`mesh, ${reqLabel} for ${opts.reqSeconds} s: CPU per 1000 req/s (cores): ${m.req.perProc}; RSS peak ${m.req.rssPeak}; ${m.req.unfinished} unfinished`);
  if (st.req) log(`stunnel, same phase: CPU per 1000 req/s (cores): ${st.req.perProc}; RSS peak ${st.req.rssPeak}; ${st.req.unfinished} unfinished`);
  log(`mesh path check: the destination agent logged ${inboundHbone} inbound-hbone connections to ${meshServer.ip}, ${mtls} of them mTLS`);

  // The issue's targets, from this run's side-by-side figures.
  const targetRows: string[][] = [['target (issue 11)', 'measured', 'limit', '']];
  const check = (label: string, v: number | undefined, limit: number, atLeast: boolean, digits = 2, unit = '') => {
    const okay = v !== undefined && Number.isFinite(v) ? (atLeast ? v >= limit : v <= limit) : undefined;
    targetRows.push([label, v !== undefined && Number.isFinite(v) ? `${fmt(v, digits)}${unit}` : '-', `${atLeast ? '>=' : '<='} ${limit}${unit}`, okay === undefined ? 'not measured' : okay ? 'MET' : 'NOT MET']);
  };
  const rt = (f: (r: Result) => number | undefined) => {
    const a = f(m);
    const b = f(st);
    return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  };
  const has = (r: Result, k: 'thr1' | 'rtt') => r[k].length > 0;
  check('throughput 1 stream, mesh/stunnel', has(m, 'thr1') ? rt((r) => median(r.thr1)) : undefined, 0.9, true, 2, 'x');
  check(`throughput ${opts.streams} streams, mesh/stunnel`, has(m, 'thr1') ? rt((r) => median(r.thrN)) : undefined, 1.0, true, 2, 'x');
  check('proxy CPU per GiB 1 stream, mesh/stunnel', has(m, 'thr1') ? rt((r) => median(r.cpuPerGiB1)) : undefined, 1.3, false, 2, 'x');
  check(`proxy CPU per GiB ${opts.streams} streams, mesh/stunnel`, has(m, 'thr1') ? rt((r) => median(r.cpuPerGiBN)) : undefined, 1.3, false, 2, 'x');
  check('ping-pong p50, mesh/stunnel', has(m, 'rtt') ? rt((r) => median(r.rtt)) : undefined, 1.2, false, 2, 'x');
  check('ping-pong p99, mesh/stunnel', has(m, 'rtt') ? rt((r) => percentile(r.rtt, 99)) : undefined, 1.3, false, 2, 'x');
  check('agent CPU per new connection, busier side (ms)', m.rate?.maxSideMs, 0.25, false, 3);
  check(`${reqLabel}: added p99 over direct (ms)`, m.req ? (added(m, 99) ?? NaN) / 1000 : undefined, 0.3, false, 3);
  check('agent CPU per 1000 req/s, both agents (cores)', m.req?.cpuPer1k, 0.1, false, 3);
  check('agent RSS peak during requests (MiB)', m.req?.rssMax, 100, false, 1);
  log('');
  log(table(targetRows));
  if (profileDir) await summariseAgentProfiles(profileDir, log);
  log(`total time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** Stops both agents (SIGTERM: they exit cleanly, so V8 writes their profiles) and prints a summary of each. */
async function summariseAgentProfiles(dir: string, log: (s: string) => void): Promise<void> {
  const pids = agentPids(NAME);
  for (const pid of pids.values()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
  }
  await until('the profiled agents to exit', () => [...pids.values()].every((p) => !existsSync(`/proc/${p}`)), 30_000).catch(() => undefined);
  await sleep(500);
  for (const [node, pid] of pids) {
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
    if (files.length === 0) log(`\nno CPU profile of the agent on ${node} (pid ${pid}) in ${dir}`);
    for (const f of files) {
      log(`\nCPU profile of the agent on ${node} (pid ${pid}, ${f}):`);
      log(formatSummary(summarise(join(dir, f), 30)));
    }
  }
}

main()
  .then(() => {
    teardown();
    process.exit(0);
  })
  .catch((err: Error) => {
    console.error(`bench:mesh failed: ${err.stack ?? err.message}`);
    teardown();
    process.exit(1);
  });
