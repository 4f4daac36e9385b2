// Node-agent memory benchmark on the 2-node local cluster: `npm run bench:memory [-- flags]`
// (see --help and docs/performance.md, the memory section).
//
// One run brings up its own cluster (`ambientctl cluster up --nodes 2`, AMBIENT_HOME in a
// temp dir), deploys the controller and the node agents from manifests/ (so the agents run
// with the manifest's heap settings), and creates, in namespaces labelled
// ambient.dev/dataplane-mode=ambient from the start:
//   mm-a: 10 idle client pods on node1   (node1's agent holds 10 enrolled pods)
//   mm-b: 1 server pod on node2          (runs the bench server, mesh-server.ts, on 9090)
// Load comes from the first client pod's netns (mesh-load.ts via `ip netns exec`), so every
// connection crosses both agents over HBONE. It reports the agents' RSS (VmRSS from /proc)
// idle, during short-connection and bulk load, before and right after a churn of
// `--churn` short connections and `--settle` seconds later, with the agents' own heap
// figures (/metrics on 15020), against the targets of the performance issue. All traffic
// stays between network namespaces this run's cluster created; every phase is bounded.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { MiB } from './load.js';
import { podProcesses } from './pod-processes.js';
import { benchCluster, captured, isReady, sleep } from './bench-cluster.js';
import { agentPids } from './cluster-agents.js';
import { numberFlag as num, parseFlags } from './options.js';
import { cpuMs } from './procfs.js';
import { fmt, table } from './report.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(REPO, 'bin/ambientctl.js');
const SERVER_JS = fileURLToPath(new URL('./mesh-server.js', import.meta.url));
const SINK_PORT = 9090;
const WAIT_MS = 120_000;
const CLIENT_PODS = 10;
/** The issue's targets (MiB, and % growth after the churn). */
const TARGET = { idleMiB: 60, loadMiB: 100, growthPct: 10 } as const;

const HELP = `usage: npm run bench:memory -- [flags]
  --quick            short run: 2,000-connection churn, 10 s settle, shorter load phases
  --churn N          short connections in the churn (default 20000)
  --churn-rate N     connections/s during the churn (default 200)
  --rate N           connections/s in the short-connection load phase (default 200)
  --rate-seconds N   length of that phase (default 15)
  --streams N        parallel streams in the bulk phase (default 8)
  --par-mb N         MiB per stream in the bulk phase (default 64)
  --settle N         seconds after the churn before the last reading (default 30)
  --idle N           seconds the agents sit idle before the idle reading (default 20)
  --node-options=S   the agents' NODE_OPTIONS instead of the manifest's ("" for V8's defaults), to compare heap settings
  --workers N        the agents' data-path worker threads (AMBIENT_WORKERS; default the manifest's: one per core)
  --keep             leave the cluster up afterwards (prints AMBIENT_HOME and the name)`;

interface Options {
  churn: number;
  churnRate: number;
  rate: number;
  rateSeconds: number;
  streams: number;
  parMb: number;
  settle: number;
  idle: number;
  keep: boolean;
  quick: boolean;
  /** Replaces the manifest's NODE_OPTIONS for the agents; undefined keeps it. */
  nodeOptions: string | undefined;
  /** The agents' AMBIENT_WORKERS; undefined keeps the manifest's. */
  workers: number | undefined;
}

function parseOptions(argv: string[]): Options {
  const extra = {
    churn: { type: 'string' },
    'churn-rate': { type: 'string' },
    rate: { type: 'string' },
    'rate-seconds': { type: 'string' },
    settle: { type: 'string' },
    idle: { type: 'string' },
    'node-options': { type: 'string' },
    workers: { type: 'string' },
    keep: { type: 'boolean', default: false },
  } as const;
  const v = parseFlags(argv, extra, HELP) as Record<string, string | boolean | undefined>;
  const q = v['quick'] === true;
  const s = (k: string) => v[k] as string | undefined;
  return {
    churn: num('churn', s('churn'), q ? 2000 : 20_000, 100, 200_000),
    churnRate: num('churn-rate', s('churn-rate'), 200, 10, 2000),
    rate: num('rate', s('rate'), 200, 1, 2000),
    rateSeconds: num('rate-seconds', s('rate-seconds'), q ? 5 : 15, 1, 300),
    streams: num('streams', s('streams'), 8, 1, 64),
    parMb: num('par-mb', s('par-mb'), q ? 16 : 64, 1, 1024),
    settle: num('settle', s('settle'), q ? 10 : 30, 1, 600),
    idle: num('idle', s('idle'), q ? 10 : 20, 1, 600),
    keep: v['keep'] === true,
    quick: q,
    nodeOptions: s('node-options'),
    workers: s('workers') === undefined ? undefined : num('workers', s('workers'), 1, 1, 64),
  };
}

// ---------------------------------------------------------------- cluster and cleanup

const cluster = benchCluster({ homePrefix: 'ambient-bench-memory-', name: `bmm${process.pid % 1000}`, waitMs: WAIT_MS });
const { home, name: NAME, children, ctl, ok, until, listPods, teardown } = cluster;

function apps(): string {
  const docs: string[] = [];
  for (const [ns, sa] of [['mm-a', 'client'], ['mm-b', 'server']] as const) {
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: {ambient.dev/dataplane-mode: ambient}}`);
    docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${sa}, namespace: ${ns}}`);
  }
  for (let i = 0; i < CLIENT_PODS; i++) {
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata: {name: client-${i}, namespace: mm-a, labels: {app: client}}\nspec:\n  nodeName: node1\n  serviceAccountName: client\n  containers: [{name: client, image: ambient-samples/client}]`,
    );
  }
  docs.push(
    `apiVersion: v1\nkind: Pod\nmetadata: {name: server, namespace: mm-b, labels: {app: server}}\nspec:\n  nodeName: node2\n  serviceAccountName: server\n  containers: [{name: server, image: ambient-samples/client}]`,
  );
  return docs.join('\n---\n') + '\n';
}

// ---------------------------------------------------------------- processes in pod netns

const { startInNetns, load } = podProcesses(children);

// ---------------------------------------------------------------- /proc and /metrics

/** VmRSS, VmHWM, and the RSS split: anonymous (the process's own) and file-backed (the node binary's pages, shared with every node process). */
function memMiB(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN, anon: NaN, file: NaN };
  }
}
const split = (pid: number) => {
  const m = memMiB(pid);
  return `${fmt(m.rss)} MiB (anonymous ${fmt(m.anon)}, file-backed ${fmt(m.file)})`;
};

/** The agent's own memory figures from its /metrics (prom-client's default metrics), in MiB. Asynchronous, so that RSS sampling goes on meanwhile. */
async function agentHeap(node: string): Promise<string> {
  const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, [BIN, '--cluster', NAME, 'exec', '--node', node, '--', 'curl', '-sf', '--max-time', '5', 'http://127.0.0.1:15020/metrics'], { env: { ...process.env, AMBIENT_HOME: home }, timeout: 20_000, maxBuffer: 8 * MiB }, (err, stdout) =>
      resolve({ code: err ? 1 : 0, stdout: String(stdout) }),
    );
  });
  if (r.code !== 0) return '(metrics unavailable)';
  const get = (name: string, label = '') => {
    const m = new RegExp(`^${name}${label ? `\\{[^}]*${label}[^}]*\\}` : ''}\\s+([0-9.e+]+)`, 'm').exec(r.stdout);
    return m ? Number(m[1]) / MiB : NaN;
  };
  return (
    `heap used ${fmt(get('nodejs_heap_size_used_bytes'))} of ${fmt(get('nodejs_heap_size_total_bytes'))} MiB ` +
    `(new space ${fmt(get('nodejs_heap_space_size_total_bytes', 'space="new"'))}, old ${fmt(get('nodejs_heap_space_size_total_bytes', 'space="old"'))}, ` +
    `code ${fmt(get('nodejs_heap_space_size_total_bytes', 'space="code"'))}), external ${fmt(get('nodejs_external_memory_bytes'))} MiB`
  );
}

/** Resets the kernel's peak-RSS mark (VmHWM) of `pid`, so that it measures the next phase alone. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // an older kernel: the sampled peak stands alone
  }
}

/** Runs `work` while sampling the agents' RSS every 250 ms; resolves with its result and the peak RSS per pid (the larger of the samples and VmHWM, reset at the start). */
async function sampled<T>(pids: number[], work: Promise<T>): Promise<{ result: T; peak: Map<number, number> }> {
  for (const p of pids) resetPeak(p);
  const peak = new Map(pids.map((p) => [p, memMiB(p).rss]));
  const timer = setInterval(() => {
    for (const p of pids) peak.set(p, Math.max(peak.get(p)!, memMiB(p).rss));
  }, 250);
  try {
    return { result: await work, peak };
  } finally {
    clearInterval(timer);
    for (const p of pids) peak.set(p, Math.max(peak.get(p)!, memMiB(p).hwm));
  }
}

// ---------------------------------------------------------------- the run

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  cluster.state.keep = opts.keep;
  const log = (s: string) => console.log(s);
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  log(`agent memory benchmark: cluster ${NAME}, AMBIENT_HOME ${home}`);
  log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`);
  log(
    `plan: ${CLIENT_PODS} enrolled pods on node1, 1 on node2; idle ${opts.idle} s; ${opts.rate} conn/s for ${opts.rateSeconds} s; ` +
      `${opts.streams} x ${opts.parMb} MiB; churn ${opts.churn} connections at ${opts.churnRate}/s; settle ${opts.settle} s`,
  );

  cluster.state.started = true;
  log(`${stamp()} cluster up --nodes 2`);
  ok(ctl(['cluster', 'up', '--nodes', '2'], 240_000), 'cluster up');
  cluster.installMesh({
    sets: [...(opts.workers !== undefined ? [`workers=${opts.workers}`] : []), ...(opts.nodeOptions !== undefined ? [`nodeAgent.env.NODE_OPTIONS=${opts.nodeOptions}`] : [])],
  });
  const appsFile = join(home, 'bench-apps.yaml');
  writeFileSync(appsFile, apps());
  ok(ctl(['apply', '-f', appsFile]), 'apply bench pods');
  await until('the controller', () => listPods('ambient-system', 'app=ambient-controller').some(isReady));
  await until('2 ready node agents', () => {
    const ps = listPods('ambient-system', 'app=ambient-node-agent');
    return ps.length === 2 && ps.every(isReady);
  });
  const clients = await until(`${CLIENT_PODS} ready client pods`, () => {
    const ps = listPods('mm-a', 'app=client');
    return ps.length === CLIENT_PODS && ps.every(isReady) ? ps : undefined;
  }, 240_000);
  const server = await until('a ready server pod', () => {
    const ps = listPods('mm-b', 'app=server');
    return ps.length === 1 && isReady(ps[0]!) ? ps[0]! : undefined;
  });
  for (const p of clients) await until(`${p.metadata.name} captured`, () => captured(ok(ctl(['exec', p.metadata.name, '-n', 'mm-a', '--', 'iptables-save', '-t', 'nat']), 'iptables-save')));
  await until('server captured', () => captured(ok(ctl(['exec', 'server', '-n', 'mm-b', '--', 'iptables-save', '-t', 'nat']), 'iptables-save')));
  const client = clients.find((p) => p.metadata.name === 'client-0')!;
  const clientNetns = podNetnsName(NAME, client.metadata.uid);
  const serverIp = server.status.podIP!;
  await startInNetns(podNetnsName(NAME, server.metadata.uid), [process.execPath, SERVER_JS, String(SINK_PORT), '7200'], /ready/, 'bench server');
  log(`${stamp()} ${CLIENT_PODS} client pods on node1 and the server pod (${serverIp}) on node2 enrolled (capture rules in every pod)`);

  const agents = agentPids(NAME);
  if (agents.size !== 2) throw new Error(`expected 2 node-agent processes of cluster ${NAME}, found ${JSON.stringify([...agents])}`);
  const nodes = ['node1', 'node2'];
  const pids = nodes.map((n) => agents.get(n)!);
  const cmdline = readFileSync(`/proc/${pids[0]}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
  const nodeOptions = readFileSync(`/proc/${pids[0]}/environ`, 'latin1').split('\0').find((e) => e.startsWith('NODE_OPTIONS=')) ?? 'NODE_OPTIONS unset';
  log(`${stamp()} agents: ${nodes.map((n, i) => `${n} pid ${pids[i]}`).join(', ')}; ${cmdline}; ${nodeOptions}`);
  const rss = () => pids.map((p) => memMiB(p).rss);
  const cpu = () => pids.reduce((a, p) => a + cpuMs(p), 0);
  const heaps = async (what: string) => {
    for (const n of nodes) log(`         ${what} ${n}: ${await agentHeap(n)}`);
  };

  // Idle: enrolled, one HBONE-less agent at rest (no traffic yet).
  await sleep(opts.idle * 1000);
  const idle = rss();
  log(`${stamp()} idle after ${opts.idle} s: ${nodes.map((n, i) => `${n} ${split(pids[i]!)}`).join(', ')}`);
  await heaps('idle');

  // Load: short connections at a fixed rate, then bulk transfer (with the agents' CPU, to
  // see what a heap setting costs).
  const cpu0 = cpu();
  const sc = await sampled(
    pids,
    load<{ completed: number; failed: number; achieved: number; firstError: string }>(clientNetns, {
      kind: 'rate',
      host: serverIp,
      port: SINK_PORT,
      size: 64,
      rate: opts.rate,
      seconds: opts.rateSeconds,
      maxInflight: 256,
    }),
  );
  const cpu1 = cpu();
  log(`${stamp()} short connections: ${sc.result.completed} done (${fmt(sc.result.achieved)}/s), ${sc.result.failed} failed${sc.result.firstError ? ` (${sc.result.firstError})` : ''}; agents' CPU ${fmt((cpu1 - cpu0) / Math.max(1, sc.result.completed), 2)} ms per connection (both); peak RSS ${pids.map((p, i) => `${nodes[i]} ${fmt(sc.peak.get(p))}`).join(', ')} MiB`);
  const bulkJob = load<{ mibps: number }>(clientNetns, { kind: 'throughput', host: serverIp, port: SINK_PORT, streams: opts.streams, bytesEach: opts.parMb * MiB, timeoutS: 180 });
  // What the heap holds while the bytes flow (one look, 1.5 s in; the transfer goes on meanwhile).
  let bulkDone = false;
  void bulkJob.then(
    () => (bulkDone = true),
    () => (bulkDone = true),
  );
  const during = sleep(1500).then(() =>
    Promise.all(nodes.map(async (n, i) => `         ${bulkDone ? 'after' : 'during'} bulk ${n}: RSS ${split(pids[i]!)}; ${await agentHeap(n)}`)),
  );
  const bulk = await sampled(pids, bulkJob);
  for (const r of await during) log(r);
  const cpu2 = cpu();
  log(`${stamp()} bulk ${opts.streams} x ${opts.parMb} MiB: ${fmt(bulk.result.mibps)} MiB/s, agents' CPU ${fmt((cpu2 - cpu1) / 1000 / ((opts.streams * opts.parMb) / 1024), 2)} s per GiB (both); peak RSS ${pids.map((p, i) => `${nodes[i]} ${fmt(bulk.peak.get(p))}`).join(', ')} MiB`);
  await heaps('after load');

  // Churn: many short connections; RSS just before, right after and `settle` s later.
  await sleep(5000);
  const before = rss();
  const churnSeconds = opts.churn / opts.churnRate;
  const ch = await sampled(
    pids,
    load<{ completed: number; failed: number; skipped: number; achieved: number; firstError: string }>(clientNetns, {
      kind: 'rate',
      host: serverIp,
      port: SINK_PORT,
      size: 64,
      rate: opts.churnRate,
      seconds: churnSeconds,
      maxInflight: 512,
    }),
  );
  const right = rss();
  log(
    `${stamp()} churn: ${ch.result.completed} connections (${fmt(ch.result.achieved)}/s), ${ch.result.failed} failed${ch.result.firstError ? ` (${ch.result.firstError})` : ''}, ${ch.result.skipped} skipped; ` +
      `RSS before ${nodes.map((n, i) => `${n} ${fmt(before[i])}`).join(', ')}, right after ${nodes.map((n, i) => `${n} ${fmt(right[i])}`).join(', ')} MiB`,
  );
  await sleep(opts.settle * 1000);
  const settled = rss();
  const hwm = pids.map((p) => memMiB(p).hwm);
  log(`${stamp()} ${opts.settle} s after the churn: ${nodes.map((n, i) => `${n} ${split(pids[i]!)}`).join(', ')}`);
  await heaps('after the churn');

  const peakLoad = pids.map((p) => Math.max(sc.peak.get(p)!, bulk.peak.get(p)!, ch.peak.get(p)!));
  const growth = pids.map((_, i) => ((settled[i]! - before[i]!) / before[i]!) * 100);
  const verdict = (okay: boolean) => (okay ? 'MET' : 'NOT MET');
  const rows: string[][] = [['figure (MiB)', 'node1 (10 pods)', 'node2 (1 pod)', 'target', 'node1', 'node2']];
  rows.push(['idle RSS', fmt(idle[0]), fmt(idle[1]), `<= ${TARGET.idleMiB}`, ...idle.map((x) => verdict(x! <= TARGET.idleMiB))]);
  rows.push([`peak RSS, ${opts.rate} conn/s`, fmt(sc.peak.get(pids[0]!)), fmt(sc.peak.get(pids[1]!)), '', '', '']);
  rows.push([`peak RSS, ${opts.streams} x ${opts.parMb} MiB bulk`, fmt(bulk.peak.get(pids[0]!)), fmt(bulk.peak.get(pids[1]!)), '', '', '']);
  rows.push([`peak RSS, churn of ${opts.churn}`, fmt(ch.peak.get(pids[0]!)), fmt(ch.peak.get(pids[1]!)), '', '', '']);
  rows.push(['peak RSS under load (all three)', fmt(peakLoad[0]), fmt(peakLoad[1]), `<= ${TARGET.loadMiB}`, ...peakLoad.map((x) => verdict(x <= TARGET.loadMiB))]);
  rows.push(['RSS before the churn', fmt(before[0]), fmt(before[1]), '', '', '']);
  rows.push(['RSS right after the churn', fmt(right[0]), fmt(right[1]), '', '', '']);
  rows.push([`RSS ${opts.settle} s after the churn`, fmt(settled[0]), fmt(settled[1]), '', '', '']);
  rows.push(['growth over the churn (%)', fmt(growth[0]), fmt(growth[1]), `<= ${TARGET.growthPct}`, ...growth.map((g) => verdict(g <= TARGET.growthPct))]);
  rows.push(['VmHWM (process lifetime peak)', fmt(hwm[0]), fmt(hwm[1]), '', '', '']);
  log('');
  log(table(rows));
  log('');
  log(`RSS is VmRSS from /proc/<pid>/status; a phase's peak is the larger of 250 ms samples and VmHWM (reset through clear_refs at the phase's start). Data-path workers per agent: ${opts.workers ?? `the manifest's (one per core: ${os.availableParallelism()})`}.`);
  log(`File-backed RSS is mostly the node binary's pages, shared with every other node process on the machine; anonymous RSS is the agent's own.`);
  if (opts.churn < 20_000) log(`note: the issue's churn target is for 20,000 connections; this run churned ${opts.churn}.`);
  log(`total time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main()
  .then(() => {
    teardown();
    process.exit(0);
  })
  .catch((err: Error) => {
    console.error(`bench:memory failed: ${err.stack ?? err.message}`);
    teardown();
    process.exit(1);
  });
