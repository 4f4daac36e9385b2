// Waypoint benchmark on the 2-node local cluster: `npm run bench:waypoint [-- flags]` (see
// --help and docs/performance.md, "Waypoint: HTTP through the L7 proxy").
//
// One run brings up its own cluster (bench-cluster.ts), deploys the controller and the node
// agents from manifests/, and creates three pairs of pods, each a client on node1 and a
// server on node2 behind a Service `bench` (port 80: HTTP/1.1, appProtocol http; port 81:
// HTTP/2 cleartext, appProtocol kubernetes.io/h2c):
//   bp-a/client -> bp-b/bench   never enrolled: "direct" (to the Service's ClusterIP), and
//                               "nginx" (to an nginx in bp-b/nginx's netns on node2, which
//                               proxies to the server pod; nginx.ts)
//   bl-a/client -> bl-b/bench   enrolled, no waypoint: "l4" (the node agents, HBONE)
//   bw-a/client -> bw-b/bench   enrolled, and `ambientctl waypoint apply -n bw-b
//                               --enroll-namespace --wait`: "waypoint"
// The HTTP bench server (http-server.ts: a fixed answer of --size bytes) runs inside each
// server pod's netns, the load generator (http-load.ts, through mesh-load.ts) inside the
// client pod's netns, both with `ip netns exec`. Traffic stays between the cluster's
// namespaces. Phases, the paths interleaved within each: a fixed rate (open loop, --rate
// over --conns persistent connections) and a maximum rate (closed loop), for each protocol.
// CPU and RSS come from /proc of the waypoint's process (found as cluster-agents.ts finds
// the agents), of nginx, and of the node agents.
//
// `--layers` runs the other comparison instead, on loopback without a cluster: the cost of
// the TrafficPolicy resilience layers against the bare waypoint (waypoint-layers.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { benchCluster, captured, isReady, sleep } from './bench-cluster.js';
import { agentPids, clusterProcessPids } from './cluster-agents.js';
import type { HttpProtocol, HttpResult } from './http-load.js';
import type { LoadJob } from './mesh-load.js';
import { NGINX, NGINX_READY, nginxVersion, writeNginxConf } from './nginx.js';
import { numberFlag as num, parseFlags } from './options.js';
import { podProcesses } from './pod-processes.js';
import { cpuMs } from './procfs.js';
import { fmt, ratio, table } from './report.js';
import { layersMain } from './waypoint-layers.js';

const SERVER_JS = fileURLToPath(new URL('./http-server.js', import.meta.url));
const WAYPOINT_SCRIPT = 'dist/waypoint/main.js';
/** The bench server's ports in the server pods, and nginx's in its pod. */
const H1_PORT = 8080;
const H2_PORT = 8081;
/** The Service's ports. */
const SVC_H1 = 80;
const SVC_H2 = 81;
const WAIT_MS = 90_000;
const WAYPOINT_WAIT_S = 180;
/** Not measured at the start of every job (JIT, pools). */
const WARMUP_S = 2;
/** Idle CPU is sampled this long before each job and subtracted. */
const IDLE_MS = 2000;
/** Before the cluster starts: wait while other e2e clusters run (poll, at most). */
const OTHERS_POLL_MS = 20_000;
const OTHERS_MAX_MS = 8 * 60_000;
const OTHERS = 'gamma-conformance|e2e/waypoint';

type PathName = 'direct' | 'l4' | 'waypoint' | 'nginx';
const PATHS: PathName[] = ['direct', 'l4', 'waypoint', 'nginx'];
const PROTOCOLS: HttpProtocol[] = ['h1', 'h2'];

const HELP = `usage: npm run bench:waypoint -- [flags]
  --quick            short run (5 s per fixed-rate job, 3 s per maximum-rate job)
  --seconds N        measured seconds of each fixed-rate job (default 20); maximum-rate jobs: N/2 (at least 3)
  --rate N           requests/s of the fixed-rate phase (default 1000)
  --conns N          persistent connections, both phases (default 16)
  --size N           bytes of every request body and every answer (default 1024)
  --paths LIST       comma-separated: direct,l4,waypoint,nginx (default all; ratios need direct, waypoint, nginx)
  --protocols LIST   comma-separated: h1,h2 (default both)
  --keep             leave the cluster up afterwards (prints AMBIENT_HOME and the name)
  --layers           instead: the resilience layers' cost against the bare waypoint, on loopback
                     without a cluster (--layers --help for its flags)
Each job is preceded by ${WARMUP_S} s not measured; the paths are interleaved within each phase.`;

interface Options {
  quick: boolean;
  seconds: number;
  maxSeconds: number;
  rate: number;
  conns: number;
  size: number;
  paths: PathName[];
  protocols: HttpProtocol[];
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const v = parseFlags(
    argv,
    { rate: { type: 'string' }, conns: { type: 'string' }, size: { type: 'string' }, paths: { type: 'string' }, protocols: { type: 'string' }, keep: { type: 'boolean', default: false } },
    HELP,
  );
  const list = <T extends string>(flag: string, s: string | undefined, all: T[]): T[] => {
    if (s === undefined) return all;
    const xs = s.split(',').map((x) => x.trim()).filter(Boolean);
    for (const x of xs) if (!all.includes(x as T)) throw new Error(`--${flag}: unknown ${JSON.stringify(x)} (known: ${all.join(', ')})`);
    if (xs.length === 0) throw new Error(`--${flag}: empty`);
    return all.filter((a) => xs.includes(a));
  };
  const seconds = num('seconds', v.seconds, v.quick ? 5 : 20, 1, 300);
  return {
    quick: v.quick,
    seconds,
    maxSeconds: v.quick && v.seconds === undefined ? 3 : Math.max(3, Math.round(seconds / 2)),
    rate: num('rate', v.rate, 1000, 1, 20_000),
    conns: num('conns', v.conns, 16, 1, 256),
    size: num('size', v.size, 1024, 1, 1024 * 1024),
    paths: list('paths', v.paths, PATHS),
    protocols: list('protocols', v.protocols, PROTOCOLS),
    keep: v.keep,
  };
}

let cluster: ReturnType<typeof benchCluster> | undefined;

const PAIRS = [
  { prefix: 'bp', paths: ['direct', 'nginx'] as PathName[] },
  { prefix: 'bl', paths: ['l4'] as PathName[] },
  { prefix: 'bw', paths: ['waypoint'] as PathName[] },
];

function apps(): string {
  const docs: string[] = [];
  const pod = (ns: string, app: string, node: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${app}, namespace: ${ns}, labels: {app: ${app}}}\nspec:\n  nodeName: ${node}\n  serviceAccountName: ${app}\n  containers: [{name: ${app}, image: ambient-samples/client}]`;
  const sa = (ns: string, app: string) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${app}, namespace: ${ns}}`;
  for (const { prefix } of PAIRS) {
    const a = `${prefix}-a`;
    const b = `${prefix}-b`;
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${a}}`, `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${b}}`);
    docs.push(sa(a, 'client'), pod(a, 'client', 'node1'), sa(b, 'server'), pod(b, 'server', 'node2'));
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: bench, namespace: ${b}}\nspec:\n  selector: {app: server}\n  ports:\n` +
        `  - {name: http, port: ${SVC_H1}, targetPort: ${H1_PORT}, appProtocol: http}\n  - {name: h2c, port: ${SVC_H2}, targetPort: ${H2_PORT}, appProtocol: kubernetes.io/h2c}`,
    );
    if (prefix === 'bp') docs.push(sa(b, 'nginx'), pod(b, 'nginx', 'node2'));
  }
  return docs.join('\n---\n') + '\n';
}

interface Pod {
  ip: string;
  netns: string;
}

/** VmRSS in MiB; NaN when gone. */
function rssMiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

interface Target {
  path: PathName;
  netns: string;
  host: string;
  port: (p: HttpProtocol) => number;
  authority: string;
}

/** One measured job: the load's result and the CPU/RSS of the processes that matter. */
interface Measured {
  r?: HttpResult;
  error?: string;
  /** Cores (idle subtracted) per 1000 achieved requests/s, by process group. */
  cpuPer1k: Record<string, number>;
  /** Peak VmRSS during the job, MiB, by process group. */
  rssPeak: Record<string, number>;
}

async function othersDone(log: (s: string) => void): Promise<void> {
  const deadline = Date.now() + OTHERS_MAX_MS;
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('pgrep', ['-f', OTHERS], { encoding: 'utf8', timeout: 5000 });
    const pids = (r.stdout ?? '').split('\n').filter((p) => p && Number(p) !== process.pid);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      log(`other e2e clusters still running (pids ${pids.join(' ')}) after ${OTHERS_MAX_MS / 60000} min: going ahead`);
      return;
    }
    log(`waiting: other e2e clusters running (pids ${pids.join(' ')})`);
    await sleep(OTHERS_POLL_MS);
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  cluster = benchCluster({ homePrefix: 'ambient-bench-waypoint-', name: `bw${process.pid % 10000}`, waitMs: WAIT_MS });
  const { home, name: NAME, children, ctl, ok, until, listPods } = cluster;
  const { startInNetns, load } = podProcesses(children);
  cluster.state.keep = opts.keep;
  const log = (s: string) => console.log(s);
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  log(`waypoint benchmark: cluster ${NAME}, AMBIENT_HOME ${home}`);
  log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const withNginx = opts.paths.includes('nginx');
  if (withNginx) log(`nginx: ${nginxVersion()}`);
  log(
    `plan: protocols ${opts.protocols.join(',')}, paths ${opts.paths.join(',')}; ${opts.rate} req/s x ${opts.size} B over ${opts.conns} connections for ${opts.seconds} s, ` +
      `then maximum rate (closed loop, ${opts.conns} connections) for ${opts.maxSeconds} s; ${WARMUP_S} s warm-up before each`,
  );

  await othersDone(log);
  cluster.state.started = true;
  log(`${stamp()} cluster up --nodes 2`);
  ok(ctl(['cluster', 'up', '--nodes', '2'], 240_000), 'cluster up');
  cluster.installMesh();
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
    const p = await until(`a ready ${app} pod in ${ns}`, () => {
      const ps = listPods(ns, `app=${app}`);
      return ps.length === 1 && isReady(ps[0]!) ? ps[0]! : undefined;
    });
    if (!p.status.podIP) throw new Error(`${ns}/${app} has no IP`);
    return { ip: p.status.podIP, netns: podNetnsName(NAME, p.metadata.uid) };
  };
  const clusterIP = (ns: string) => {
    const svc = JSON.parse(ok(ctl(['get', 'service', 'bench', '-n', ns, '-o', 'json']), `get service bench -n ${ns}`)) as { spec?: { clusterIP?: string } };
    if (!svc.spec?.clusterIP) throw new Error(`service bench in ${ns} has no clusterIP`);
    return svc.spec.clusterIP;
  };

  const targets: Target[] = [];
  for (const pair of PAIRS) {
    if (!pair.paths.some((p) => opts.paths.includes(p))) continue;
    const client = await pod(`${pair.prefix}-a`, 'client');
    const server = await pod(`${pair.prefix}-b`, 'server');
    await startInNetns(server.netns, [process.execPath, SERVER_JS, String(H1_PORT), String(H2_PORT), String(opts.size), '7200'], /ready/, `bench HTTP server in ${pair.prefix}-b`);
    const vip = clusterIP(`${pair.prefix}-b`);
    const authority = `bench.${pair.prefix}-b.svc.cluster.local`;
    log(`${stamp()} ${pair.prefix}: client ${client.ip} (node1) -> Service bench ${vip} -> server ${server.ip} (node2)`);
    for (const path of pair.paths) {
      if (!opts.paths.includes(path)) continue;
      if (path === 'nginx') {
        const nginxPod = await pod(`${pair.prefix}-b`, 'nginx');
        const conf = writeNginxConf(join(home, 'nginx'), { h1Port: H1_PORT, h2Port: H2_PORT, upstream: `${server.ip}:${H1_PORT}`, generatedBy: 'scripts/bench/waypoint.ts' });
        const child = await startInNetns(nginxPod.netns, [NGINX, '-c', conf], NGINX_READY, 'nginx');
        nginxPid = child.pid;
        log(`${stamp()} nginx pid ${nginxPid} in ${pair.prefix}-b/nginx ${nginxPod.ip} (node2) -> ${server.ip}:${H1_PORT} (HTTP/1.1 keep-alive)`);
        targets.push({ path, netns: client.netns, host: nginxPod.ip, port: (p) => (p === 'h1' ? H1_PORT : H2_PORT), authority });
      } else targets.push({ path, netns: client.netns, host: vip, port: (p) => (p === 'h1' ? SVC_H1 : SVC_H2), authority });
    }
  }

  // Enrol the mesh pairs; the waypoint for bw-b.
  const natOf = (ns: string, p: string) => ok(ctl(['exec', p, '-n', ns, '--', 'iptables-save', '-t', 'nat']), `iptables-save in ${ns}/${p}`);
  const meshPrefixes = PAIRS.filter((p) => p.prefix !== 'bp' && p.paths.some((x) => opts.paths.includes(x))).map((p) => p.prefix);
  for (const prefix of meshPrefixes) {
    for (const side of ['a', 'b']) ok(ctl(['label', 'namespace', `${prefix}-${side}`, 'ambient.dev/dataplane-mode=ambient']), `label ${prefix}-${side}`);
    await until(`${prefix}-a/client to be captured`, () => captured(natOf(`${prefix}-a`, 'client')));
    await until(`${prefix}-b/server to be captured`, () => captured(natOf(`${prefix}-b`, 'server')));
  }
  if (meshPrefixes.length) log(`${stamp()} enrolled: ${meshPrefixes.map((p) => `${p}-a ${p}-b`).join(' ')} (capture rules in the pods)`);
  let waypointPid: number | undefined;
  if (opts.paths.includes('waypoint')) {
    log(`${stamp()} ambientctl waypoint apply -n bw-b --enroll-namespace --wait`);
    log(ok(ctl(['waypoint', 'apply', '-n', 'bw-b', '--enroll-namespace', '--wait', '--timeout', String(WAYPOINT_WAIT_S)], (WAYPOINT_WAIT_S + 30) * 1000), 'waypoint apply').trim());
    const pids = await until('the waypoint process', () => {
      const ps = clusterProcessPids(NAME, WAYPOINT_SCRIPT);
      return ps.length > 0 ? ps : undefined;
    });
    if (pids.length !== 1) throw new Error(`expected one waypoint process of cluster ${NAME}, found ${pids.join(' ')}`);
    waypointPid = pids[0];
    const wpPods = (JSON.parse(ok(ctl(['get', 'pods', '-n', 'bw-b', '-o', 'json']), 'get pods -n bw-b')) as Array<{ metadata: { name: string }; spec?: { nodeName?: string } }>)
      .filter((p) => p.metadata.name !== 'server')
      .map((p) => `${p.metadata.name} on ${p.spec?.nodeName ?? '?'}`);
    log(`${stamp()} waypoint pid ${waypointPid}, RSS ${fmt(rssMiB(waypointPid!))} MiB; pod ${wpPods.join(', ')}`);
  }
  const agents = [...agentPids(NAME).values()];
  if (agents.length !== 2) throw new Error(`expected 2 node-agent processes of cluster ${NAME}, found ${agents.length}`);

  /** The process groups whose CPU and RSS each path is charged. */
  const groups = (path: PathName): Record<string, number[]> =>
    path === 'waypoint' ? { waypoint: [waypointPid!], agents } : path === 'l4' ? { agents } : path === 'nginx' ? { nginx: [nginxPid!] } : {};

  async function measure(t: Target, job: LoadJob): Promise<Measured> {
    const g = groups(t.path);
    const cpu = (pids: number[]) => pids.reduce((a, p) => a + cpuMs(p), 0);
    const idle0 = Object.fromEntries(Object.entries(g).map(([k, ps]) => [k, cpu(ps)]));
    await sleep(IDLE_MS);
    const idle = Object.fromEntries(Object.entries(g).map(([k, ps]) => [k, (cpu(ps) - idle0[k]!) / IDLE_MS]));
    const rssPeak: Record<string, number> = Object.fromEntries(Object.entries(g).map(([k, ps]) => [k, ps.reduce((a, p) => a + rssMiB(p), 0)]));
    const sampler = setInterval(() => {
      for (const [k, ps] of Object.entries(g)) rssPeak[k] = Math.max(rssPeak[k]!, ps.reduce((a, p) => a + rssMiB(p), 0));
    }, 250);
    const c0 = Object.fromEntries(Object.entries(g).map(([k, ps]) => [k, cpu(ps)]));
    const w0 = Date.now();
    try {
      const r = await load<HttpResult>(t.netns, job);
      const wall = (Date.now() - w0) / 1000;
      const cpuPer1k: Record<string, number> = {};
      for (const [k, ps] of Object.entries(g)) cpuPer1k[k] = (((cpu(ps) - c0[k]!) / 1000 / wall - idle[k]!) / Math.max(r.achieved, 1e-9)) * 1000;
      if (r.failed > 0) return { r, error: `${r.failed} failed: ${r.firstError}`, cpuPer1k, rssPeak };
      return { r, cpuPer1k, rssPeak };
    } catch (e) {
      return { error: (e as Error).message.split('\n')[0]!.slice(0, 300), cpuPer1k: {}, rssPeak };
    } finally {
      clearInterval(sampler);
    }
  }

  const fixed = new Map<string, Measured>();
  const max = new Map<string, Measured>();
  const key = (p: HttpProtocol, path: PathName) => `${p}/${path}`;
  for (const protocol of opts.protocols) {
    for (const t of targets) {
      const base = { protocol, host: t.host, port: t.port(protocol), authority: t.authority, size: opts.size, conns: opts.conns, warmupS: WARMUP_S };
      const m = await measure(t, { kind: 'http-rate', ...base, rate: opts.rate, seconds: opts.seconds });
      fixed.set(key(protocol, t.path), m);
      const r = m.r;
      log(
        `${stamp()} ${protocol} fixed ${t.path.padEnd(8)} ` +
          (r ? `${fmt(r.achieved)} req/s, p50 ${fmt(r.p50 / 1000, 3)} ms, p90 ${fmt(r.p90 / 1000, 3)} ms, p99 ${fmt(r.p99 / 1000, 3)} ms` : '') +
          (Object.keys(m.cpuPer1k).length ? `; CPU/1000 req/s ${Object.entries(m.cpuPer1k).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ')}` : '') +
          (m.error ? `; ERROR ${m.error}` : ''),
      );
    }
  }
  for (const protocol of opts.protocols) {
    for (const t of targets) {
      const base = { protocol, host: t.host, port: t.port(protocol), authority: t.authority, size: opts.size, conns: opts.conns, warmupS: WARMUP_S };
      const m = await measure(t, { kind: 'http-max', ...base, seconds: opts.maxSeconds });
      max.set(key(protocol, t.path), m);
      const r = m.r;
      log(
        `${stamp()} ${protocol} max   ${t.path.padEnd(8)} ` +
          (r ? `${fmt(r.achieved)} req/s, p50 ${fmt(r.p50 / 1000, 3)} ms, p99 ${fmt(r.p99 / 1000, 3)} ms` : '') +
          (Object.keys(m.cpuPer1k).length ? `; CPU/1000 req/s ${Object.entries(m.cpuPer1k).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ')}` : '') +
          (m.error ? `; ERROR ${m.error}` : ''),
      );
    }
  }

  // ------------------------------------------------------------ report
  const proxyOf = (path: PathName) => (path === 'waypoint' ? 'waypoint' : path === 'nginx' ? 'nginx' : path === 'l4' ? 'agents' : undefined);
  for (const protocol of opts.protocols) {
    const f = (path: PathName) => fixed.get(key(protocol, path));
    const x = (path: PathName) => max.get(key(protocol, path));
    const rows: string[][] = [['figure', ...PATHS, 'waypoint/nginx', 'waypoint/direct']];
    const add = (label: string, get: (p: PathName) => number | undefined, digits = 3, ratios = true) => {
      const v = PATHS.map(get);
      rows.push([label, ...v.map((n) => fmt(n, digits)), ratios ? ratio(v[2], v[3]) : '-', ratios ? ratio(v[2], v[0]) : '-']);
    };
    const lbl = `${opts.rate} req/s x ${opts.size} B, ${opts.conns} conns`;
    add(`${lbl}: achieved (req/s)`, (p) => f(p)?.r?.achieved, 1, false);
    for (const q of ['p50', 'p90', 'p99'] as const) add(`${lbl}: ${q} (ms)`, (p) => (f(p)?.r ? f(p)!.r![q] / 1000 : undefined));
    for (const q of ['p50', 'p90', 'p99'] as const)
      add(`${lbl}: added ${q} over direct (ms)`, (p) => (f(p)?.r && f('direct')?.r ? (f(p)!.r![q] - f('direct')!.r![q]) / 1000 : undefined), 3, false);
    add(`proxy CPU per 1000 req/s (cores)`, (p) => (proxyOf(p) ? f(p)?.cpuPer1k[proxyOf(p)!] : undefined), 3);
    add(`node agents' CPU per 1000 req/s (cores)`, (p) => f(p)?.cpuPer1k['agents'], 3, false);
    add(`proxy RSS peak (MiB)`, (p) => (proxyOf(p) ? f(p)?.rssPeak[proxyOf(p)!] : undefined), 1);
    add(`max rate, ${opts.conns} conns closed loop (req/s)`, (p) => x(p)?.r?.achieved, 0);
    add(`max rate: p50 (ms)`, (p) => (x(p)?.r ? x(p)!.r!.p50 / 1000 : undefined));
    add(`max rate: p99 (ms)`, (p) => (x(p)?.r ? x(p)!.r!.p99 / 1000 : undefined));
    add(`max rate: proxy CPU per 1000 req/s (cores)`, (p) => (proxyOf(p) ? x(p)?.cpuPer1k[proxyOf(p)!] : undefined), 3);
    add(`max rate: proxy RSS peak (MiB)`, (p) => (proxyOf(p) ? x(p)?.rssPeak[proxyOf(p)!] : undefined), 1);
    log('');
    log(`${protocol === 'h1' ? 'HTTP/1.1' : 'HTTP/2 cleartext (prior knowledge)'}:`);
    log(table(rows));
    const errors = PATHS.flatMap((p) => [f(p)?.error && `fixed ${p}: ${f(p)!.error}`, x(p)?.error && `max ${p}: ${x(p)!.error}`].filter(Boolean));
    if (errors.length) log(`errors: ${errors.join('; ')}`);
  }
  log('');
  log(
    'proxy = the waypoint process (waypoint; the node agents on its path are the next row), nginx (one process), the two node agents (l4). ' +
      'CPU from /proc/<pid>/stat over the job (warm-up included), idle CPU subtracted, per 1000 achieved req/s; ' +
      'waypoint/direct divides by direct\'s figure where direct has one (latency), else shows -.',
  );
  if (withNginx) log('nginx: HTTP/1.1 keep-alive to the server pod on both protocols (nginx proxies no HTTP/2 upstream); the waypoint speaks HTTP/2 upstream for h2.');
  const wf = fixed.get(key(opts.protocols[0]!, 'waypoint'));
  if (wf?.r && fixed.get(key(opts.protocols[0]!, 'direct'))?.r) {
    const d = fixed.get(key(opts.protocols[0]!, 'direct'))!.r!;
    log(
      `anchor (Istio's waypoint: 0.25 vCPU and 60 MB per 1000 req/s, adds 0.40-0.50 ms at p90-p99): ours, ${opts.protocols[0]}, ` +
        `${fmt(wf.cpuPer1k['waypoint'], 3)} cores and ${fmt(wf.rssPeak['waypoint'], 1)} MiB per 1000 req/s, adds ${fmt((wf.r.p90 - d.p90) / 1000, 3)} ms at p90 and ${fmt((wf.r.p99 - d.p99) / 1000, 3)} ms at p99`,
    );
  }
  log(`total time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

let nginxPid: number | undefined;

const argv = process.argv.slice(2);
(argv.includes('--layers') ? layersMain(argv) : main())
  .then(() => {
    cluster?.teardown();
    process.exit(0);
  })
  .catch((err: Error) => {
    console.error(`bench:waypoint failed: ${err.stack ?? err.message}`);
    cluster?.teardown();
    process.exit(1);
  });
