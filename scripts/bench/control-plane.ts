// Control plane at scale: the local API server (local-cluster/apiserver, on a throwaway
// Redis, loopback only) loaded with Services, EndpointSlices and pods that are objects
// only (nothing runs: each pod is bound with spec.nodeName to a node that exists only as a
// Node object, and given status podIPs so that it becomes a Workload), the real controller
// (dist/controller/main.js) in its own process, and one simulated node agent per node: the
// node agent's ControllerClient, authenticated as real agents are (a pod-bound projected
// token for ambient-system/ambient-node-agent, checked by TokenReview, one agent pod per
// node). It measures:
//   - the controller's start: informers synced and first config computed, its CPU and RSS;
//   - every agent's first (full) update: time, bytes on the wire per agent;
//   - for a bounded number of changes of each kind (a pod added, a pod's label changed, a
//     Service added): the time from the API write to the ACK of every connected agent
//     that has the change in scope (all of them: every node agent holds every Workload and
//     Service), p50/p99, the bytes each agent receives per change, the controller's CPU
//     per change.
// Usage: node dist/scripts/bench/control-plane.js [--quick] [--services N] [--pods N]
//   [--nodes N] [--changes N] [--namespaces N] [--controller path/to/main.js] [--cpu-prof DIR]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, DiscoveryV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../../core/kube/config.js';
import { installMeshCrds } from '../../test/support/control-plane.js';
import { ControllerClient, type ConfigUpdate } from '../../node-agent/controller-client/client.js';
import { ROOT_CONFIGMAP_KEY, ROOT_CONFIGMAP_NAME } from '../../controller/ca-secret.js';
import { cpuMs } from './procfs.js';
import { numberFlag, parseFlags } from './options.js';
import { fmt, percentile, table } from './report.js';

const HELP = `control-plane benchmark: the controller's translation and push at scale (local API server, real controller, simulated agents)
  --quick            100 Services, 1000 pods, 10 nodes, 10 changes of each kind
  --services N       Services (default 1000), each with one EndpointSlice of its pods
  --pods N           pods (default 10000), spread over the Services and the nodes
  --nodes N          Node objects and simulated agents, one per node (default 50)
  --namespaces N     namespaces labelled for enrolment (default 20)
  --changes N        changes of each kind measured (default 30)
  --controller PATH  the controller program (default dist/controller/main.js of this build)
  --cpu-prof DIR     run the controller under node --cpu-prof, profile written to DIR on exit
  --timeout S        the whole run's deadline in seconds (default 1200)`;

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const AUDIENCE = 'ambient.dev/controller';
const SYSTEM_NS = 'ambient-system';
const here = dirname(fileURLToPath(import.meta.url));

const v = parseFlags(process.argv.slice(2), {
  services: { type: 'string' },
  pods: { type: 'string' },
  nodes: { type: 'string' },
  namespaces: { type: 'string' },
  changes: { type: 'string' },
  controller: { type: 'string' },
  'cpu-prof': { type: 'string' },
}, HELP);
const quick = v.quick === true;
const o = {
  services: numberFlag('services', v.services, quick ? 100 : 1000, 1, 20_000),
  pods: numberFlag('pods', v.pods, quick ? 1000 : 10_000, 1, 100_000),
  nodes: numberFlag('nodes', v.nodes, quick ? 10 : 50, 1, 250),
  namespaces: numberFlag('namespaces', v.namespaces, quick ? 5 : 20, 1, 200),
  changes: numberFlag('changes', v.changes, quick ? 10 : 30, 1, 1000),
  timeoutS: numberFlag('timeout', v.timeout, 1200, 10, 7200),
  controller: resolve(v.controller ?? join(here, '../../controller/main.js')),
  cpuProf: v['cpu-prof'] ? resolve(v['cpu-prof']) : undefined,
};
const deadline = Date.now() + o.timeoutS * 1000;
const remaining = () => Math.max(0, deadline - Date.now());

// --- cleanup ---------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'bench-cp-'));
const children = new Set<ChildProcess>();
const clients: ControllerClient[] = [];
let api: ApiServer | undefined;
let tornDown = false;
function killChildren(signal: NodeJS.Signals): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
}
function teardownSync(): void {
  if (tornDown) return;
  tornDown = true;
  killChildren('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', teardownSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    console.error(`\n${sig}: stopping the benchmark`);
    teardownSync();
    process.exit(130);
  });
}

// --- helpers ---------------------------------------------------------------------------
function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every `every` ms until it holds, or fails naming `what` after `ms`. */
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string, every = 20): Promise<void> {
  const end = Date.now() + Math.min(ms, remaining());
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(every);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        if (remaining() === 0) throw new Error('the run deadline passed');
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

function procStatus(pid: number | undefined): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

async function startRedis(): Promise<ChildProcess & { port: number }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  await waitFor(
    () =>
      new Promise<boolean>((res) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          res(true);
        });
        s.once('error', () => res(false));
      }),
    10_000,
    'redis-server to listen',
    50,
  );
  return Object.assign(child, { port });
}

const nodeName = (i: number) => `node-${String(i).padStart(3, '0')}`;
const nsName = (i: number) => `bench-${String(i).padStart(3, '0')}`;
const svcName = (i: number) => `svc-${String(i).padStart(5, '0')}`;
/** A pod IP: 10.<16 + node / 256>.<node % 256>... kept unique by the pod index. */
const podIp = (i: number) => `10.${64 + Math.floor(i / 65_000)}.${Math.floor((i % 65_000) / 250)}.${(i % 250) + 2}`;

interface Agent {
  node: string;
  client: ControllerClient;
  socketBytes: () => number;
  /** By `<kind>/<key>`: called with the time an update carrying that resource, as `match` wants it, was applied and ACKed. */
  waiters: Map<string, { match: (body: unknown) => boolean; done: (at: number) => void }>;
  firstAt?: number;
  firstBytes?: number;
  fullResources?: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`workdir ${dir}`);
  const redis = await startRedis();
  api = await startApiServer({ redis: { host: '127.0.0.1', port: redis.port }, host: '127.0.0.1', port: 0 });
  const kc: KubeConfig = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  log(`api server ${api.url}`);

  // --- the cluster's objects -----------------------------------------------------------
  const loadStart = Date.now();
  await core.createNamespace({ body: { metadata: { name: SYSTEM_NS } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  await core.createNamespacedServiceAccount({ namespace: SYSTEM_NS, body: { metadata: { name: 'ambient-node-agent' } } });
  const namespaces = Array.from({ length: o.namespaces }, (_, i) => nsName(i));
  await pool(namespaces, 8, async (ns) => {
    await core.createNamespace({ body: { metadata: { name: ns, labels: { 'ambient.dev/dataplane-mode': 'ambient' } } } });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'app' } } });
  });
  const nodes = Array.from({ length: o.nodes }, (_, i) => nodeName(i));
  await pool(nodes, 8, async (n) => {
    await core.createNode({ body: { metadata: { name: n, labels: { 'kubernetes.io/hostname': n } } } });
  });

  // Service s lives in namespace s % namespaces; pod p belongs to Service p % services
  // (so to that namespace) and runs on node p % nodes.
  const svcNs = (s: number) => nsName(s % o.namespaces);
  const services = Array.from({ length: o.services }, (_, s) => s);
  await pool(services, 16, async (s) => {
    await core.createNamespacedService({
      namespace: svcNs(s),
      body: { metadata: { name: svcName(s) }, spec: { selector: { app: svcName(s) }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] } },
    });
  });
  log(`${o.namespaces} namespaces, ${o.nodes} nodes, ${o.services} services created (${((Date.now() - loadStart) / 1000).toFixed(1)} s)`);

  const podsOf = new Map<number, Array<{ name: string; uid: string; ip: string; node: string }>>();
  const podIndexes = Array.from({ length: o.pods }, (_, p) => p);
  let made = 0;
  await pool(podIndexes, 24, async (p) => {
    const s = p % o.services;
    const ns = svcNs(s);
    const name = `pod-${String(p).padStart(6, '0')}`;
    const node = nodeName(p % o.nodes);
    const ip = podIp(p);
    const created = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, labels: { app: svcName(s), rev: 'r0' } },
        spec: { nodeName: node, serviceAccountName: 'app', containers: [{ name: 'app', image: 'bench/none', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    });
    await core.patchNamespacedPodStatus(
      { namespace: ns, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } } },
      MERGE,
    );
    const list = podsOf.get(s) ?? [];
    list.push({ name, uid: created.metadata!.uid!, ip, node });
    podsOf.set(s, list);
    if (++made % 2000 === 0) log(`${made} pods`);
  });
  await pool(services, 16, async (s) => {
    const pods = podsOf.get(s) ?? [];
    await discovery.createNamespacedEndpointSlice({
      namespace: svcNs(s),
      body: {
        metadata: { name: `${svcName(s)}-1`, labels: { 'kubernetes.io/service-name': svcName(s) } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: pods.map((p) => ({ addresses: [p.ip], conditions: { ready: true }, nodeName: p.node, targetRef: { kind: 'Pod', namespace: svcNs(s), name: p.name, uid: p.uid } })),
      },
    });
  });
  // One node agent pod per node (its token is bound to it, as the DaemonSet's are).
  const tokens = new Map<string, string>();
  await pool(nodes, 8, async (n, i) => {
    const name = `agent-${n}`;
    await core.createNamespacedPod({
      namespace: SYSTEM_NS,
      body: { metadata: { name, labels: { app: 'ambient-node-agent' } }, spec: { nodeName: n, serviceAccountName: 'ambient-node-agent', hostNetwork: true, containers: [{ name: 'agent', image: 'bench/none' }] } },
    });
    const ip = `172.30.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    await core.patchNamespacedPodStatus({ namespace: SYSTEM_NS, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } }, MERGE);
    const tr = await core.createNamespacedServiceAccountToken({
      namespace: SYSTEM_NS,
      name: 'ambient-node-agent',
      body: { spec: { audiences: [AUDIENCE], expirationSeconds: 7200, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name } } },
    });
    tokens.set(n, tr.status!.token);
  });
  const loadS = (Date.now() - loadStart) / 1000;
  log(`cluster loaded: ${o.pods} pods, ${o.services} services + slices, ${o.nodes} agent pods (${loadS.toFixed(1)} s)`);

  // --- the controller ------------------------------------------------------------------
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kc.exportConfig());
  const port = await freePort();
  const metricsPort = await freePort();
  const nodeArgs = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] : [];
  if (o.cpuProf && !existsSync(o.cpuProf)) mkdirSync(o.cpuProf, { recursive: true });
  const ctrlStart = Date.now();
  const ctrl = spawn(
    process.execPath,
    [...nodeArgs, o.controller, '--namespace', SYSTEM_NS, '--listen', `127.0.0.1:${port}`, '--metrics-host', '127.0.0.1', '--metrics-port', String(metricsPort)],
    { env: { ...process.env, KUBECONFIG: kubeconfig, LOG_LEVEL: 'warn', POD_NAME: 'bench-controller' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(ctrl);
  let ctrlLog = '';
  const keep = (b: Buffer) => {
    ctrlLog = (ctrlLog + b.toString()).slice(-20_000);
  };
  ctrl.stdout!.on('data', keep);
  ctrl.stderr!.on('data', keep);
  ctrl.once('exit', (code, sig) => {
    if (!tornDown && !stopping) log(`controller exited (${code ?? sig}); its last output:\n${ctrlLog}`);
  });
  const ready = async () => {
    try {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/healthz/ready`, { signal: AbortSignal.timeout(2_000) });
      return r.status === 200;
    } catch {
      return false;
    }
  };
  await waitFor(ready, 300_000, 'the controller to be ready (informers synced, first config computed)', 50);
  const readyMs = Date.now() - ctrlStart;
  const cpuAtReady = cpuMs(ctrl.pid);
  const memAtReady = procStatus(ctrl.pid);
  log(`controller ready in ${(readyMs / 1000).toFixed(1)} s (CPU ${(cpuAtReady / 1000).toFixed(1)} s, RSS ${fmt(memAtReady.rss)} MiB)`);

  let rootPem = '';
  await waitFor(
    async () => {
      try {
        rootPem = (await core.readNamespacedConfigMap({ namespace: SYSTEM_NS, name: ROOT_CONFIGMAP_NAME })).data?.[ROOT_CONFIGMAP_KEY] ?? '';
      } catch {
        rootPem = '';
      }
      return rootPem !== '';
    },
    60_000,
    'the controller to publish its roots',
    100,
  );

  // --- the agents ----------------------------------------------------------------------
  const agents: Agent[] = [];
  const connectStart = Date.now();
  const cpuBeforeConnect = cpuMs(ctrl.pid);
  const benchCpuBeforeConnect = process.cpuUsage();
  for (const [i, node] of nodes.entries()) {
    let socket: net.Socket | undefined;
    let bytesBefore = 0;
    const agent: Agent = {
      node,
      client: undefined as unknown as ControllerClient,
      socketBytes: () => bytesBefore + (socket?.bytesRead ?? 0),
      waiters: new Map(),
    };
    agent.client = new ControllerClient({
      address: { host: '127.0.0.1', port },
      roots: [rootPem],
      controllerIdentity: `ambient-controller.${SYSTEM_NS}.svc`,
      token: () => tokens.get(node)!,
      node,
      // Each agent from its own loopback address, as each node is its own source.
      connectTransport: (a) =>
        new Promise((res, rej) => {
          if (socket) bytesBefore += socket.bytesRead;
          const s = net.connect({ host: a.host, port: a.port, localAddress: `127.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}` });
          s.once('connect', () => {
            socket = s;
            res(s);
          });
          s.once('error', rej);
        }),
      onUpdate: (u: ConfigUpdate) => {
        const at = performance.now();
        if (u.full) agent.fullResources = u.upserts.length;
        for (const r of u.upserts) {
          const w = agent.waiters.get(`${r.kind}/${r.key}`);
          if (w?.match(r.body)) w.done(at);
        }
        if (agent.firstAt === undefined) {
          agent.firstAt = Date.now();
          // read once the ACK went out (after this handler)
          setImmediate(() => (agent.firstBytes = agent.socketBytes()));
        }
      },
      limits: { connectTimeoutMs: 20_000, requestTimeoutMs: 60_000 },
    });
    agent.client.on('error', () => {});
    agents.push(agent);
    clients.push(agent.client);
    agent.client.start();
  }
  await waitFor(() => agents.every((a) => a.firstBytes !== undefined), 300_000, 'every agent to receive its first config', 50);
  const connectMs = Math.max(...agents.map((a) => a.firstAt!)) - connectStart;
  const connectCpu = cpuMs(ctrl.pid) - cpuBeforeConnect;
  const benchConnectCpu = process.cpuUsage(benchCpuBeforeConnect);
  const memAfterConnect = procStatus(ctrl.pid);
  log(`${agents.length} agents hold their first config after ${(connectMs / 1000).toFixed(1)} s (controller CPU ${(connectCpu / 1000).toFixed(1)} s)`);
  await sleep(500);

  // --- changes -------------------------------------------------------------------------
  interface Sample {
    ms: number;
    bytesPerAgent: number;
    cpuMs: number;
  }
  const results = new Map<string, Sample[]>();
  let uniq = 0;

  type Match = (body: unknown) => boolean;
  const any: Match = () => true;
  /** Performs `write`, then waits until every agent applied (and ACKed) an update carrying the resource `id` as `match` wants it. */
  async function measure(kind: string, id: string, match: Match, write: (arm: (id: string, match: Match) => void) => Promise<void>): Promise<void> {
    const bytes0 = agents.map((a) => a.socketBytes());
    const cpu0 = cpuMs(ctrl.pid);
    const t0 = performance.now();
    let key = '';
    const arrived: number[] = [];
    const waits: Array<Promise<void>> = [];
    const arm = (k: string, match: Match) => {
      key = k;
      for (const a of agents) {
        waits.push(
          new Promise<void>((res) => {
            a.waiters.set(k, {
              match,
              done: (at) => {
                a.waiters.delete(k);
                arrived.push(at);
                res();
              },
            });
          }),
        );
      }
    };
    // Armed before the write (a new pod's uid is known only after its create: armed there).
    if (id) arm(id, match);
    await write(arm);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([Promise.all(waits), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${kind}: not every agent got ${key} within 60 s`)), Math.min(60_000, remaining()))))]);
    } finally {
      clearTimeout(timer);
      for (const a of agents) a.waiters.delete(key);
    }
    const ms = Math.max(...arrived) - t0;
    await sleep(20); // let the ACKs reach the controller before reading its CPU
    const perAgent = agents.map((a, i) => a.socketBytes() - bytes0[i]!);
    const list = results.get(kind) ?? [];
    list.push({ ms, bytesPerAgent: perAgent.reduce((x, y) => x + y, 0) / perAgent.length, cpuMs: cpuMs(ctrl.pid) - cpu0 });
    results.set(kind, list);
  }

  const changeCpu0 = cpuMs(ctrl.pid);
  const changeStart = Date.now();
  for (let c = 0; c < o.changes; c++) {
    // A pod added to an existing Service's namespace (it becomes a Workload once it has an IP).
    const s = c % o.services;
    const ns = svcNs(s);
    const name = `new-${String(c).padStart(4, '0')}`;
    const ip = `10.200.${Math.floor(c / 250)}.${(c % 250) + 2}`;
    await measure(
      'pod added',
      '',
      any,
      async (arm) => {
        const created = await core.createNamespacedPod({
          namespace: ns,
          body: {
            metadata: { name, labels: { app: svcName(s), rev: 'r0' } },
            spec: { nodeName: nodeName(c % o.nodes), serviceAccountName: 'app', containers: [{ name: 'app', image: 'bench/none', ports: [{ name: 'http', containerPort: 8080 }] }] },
          },
        });
        arm(`Workload/${created.metadata!.uid}`, (b) => (b as { ips?: string[] }).ips?.[0] === ip);
        await core.patchNamespacedPodStatus({ namespace: ns, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } } }, MERGE);
      },
    );
  }
  for (let c = 0; c < o.changes; c++) {
    // A label changed on an existing pod.
    const p = (c * 7919) % o.pods;
    const s = p % o.services;
    const pod = podsOf.get(s)!.find((x) => x.name === `pod-${String(p).padStart(6, '0')}`)!;
    const rev = `r${++uniq}`;
    await measure('pod label changed', `Workload/${pod.uid}`, (b) => (b as { labels?: Record<string, string> }).labels?.['rev'] === rev, async () => {
      await core.patchNamespacedPod({ namespace: svcNs(s), name: pod.name, body: { metadata: { labels: { rev } } } }, MERGE);
    });
  }
  for (let c = 0; c < o.changes; c++) {
    // A Service added (its address allocated by the API server).
    const s = o.services + c;
    const ns = svcNs(s);
    const name = svcName(s);
    await measure('Service added', `Service/${ns}/${name}.${ns}.svc.cluster.local`, any, async () => {
      await core.createNamespacedService({ namespace: ns, body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } } });
    });
  }
  const changeCpu = cpuMs(ctrl.pid) - changeCpu0;
  const changeWall = Date.now() - changeStart;
  const memEnd = procStatus(ctrl.pid);

  // --- report --------------------------------------------------------------------------
  const full = agents.map((a) => a.firstBytes!);
  const MiB = 1024 * 1024;
  const rows: string[][] = [['figure', 'p50', 'p99', 'mean']];
  const stat = (xs: number[], digits = 1) => [fmt(percentile(xs, 50), digits), fmt(percentile(xs, 99), digits), fmt(xs.reduce((a, b) => a + b, 0) / xs.length, digits)];
  for (const [kind, samples] of results) {
    rows.push([`${kind}: change -> every agent ACKed (ms)`, ...stat(samples.map((x) => x.ms))]);
    rows.push([`${kind}: bytes per agent (wire)`, ...stat(samples.map((x) => x.bytesPerAgent), 0)]);
    // /proc counts CPU in clock ticks (10 ms): per change only the mean over the phase means something.
    rows.push([`${kind}: controller CPU per change (ms, mean)`, '-', '-', fmt(samples.reduce((a, x) => a + x.cpuMs, 0) / samples.length)]);
  }
  rows.push(['first config per agent (MiB on the wire)', fmt(percentile(full, 50) / MiB, 2), fmt(percentile(full, 99) / MiB, 2), fmt(full.reduce((a, b) => a + b, 0) / full.length / MiB, 2)]);
  const total = o.pods + o.nodes;
  console.log('');
  console.log(`command: node ${process.argv.slice(1).map((a) => a.replace(/^.*\/dist\//, 'dist/')).join(' ')}`);
  console.log(`cluster: ${o.services} Services (+1 EndpointSlice each), ${o.pods} pods + ${o.nodes} agent pods = ${total} Workloads, ${o.namespaces} enrolled namespaces, ${o.nodes} nodes (Node objects only), ${agents.length} agents connected`);
  console.log(`controller: ${o.controller.replace(/^.*\/(dist|\.before-dist)\//, '$1/')}, pid ${ctrl.pid}${o.cpuProf ? `, --cpu-prof ${o.cpuProf}` : ''}`);
  console.log(`load of the API server: ${loadS.toFixed(1)} s`);
  console.log(`controller start to ready (synced, first config): ${(readyMs / 1000).toFixed(2)} s, CPU ${(cpuAtReady / 1000).toFixed(2)} s, RSS ${fmt(memAtReady.rss)} MiB (peak so far ${fmt(memAtReady.hwm)} MiB)`);
  console.log(`${agents.length} agents connect to all holding their first config: ${(connectMs / 1000).toFixed(2)} s, controller CPU ${(connectCpu / 1000).toFixed(2)} s, RSS after ${fmt(memAfterConnect.rss)} MiB (peak so far ${fmt(memAfterConnect.hwm)} MiB)`);
  console.log(`  (meanwhile this process, the ${agents.length} simulated agents and the API server, used ${((benchConnectCpu.user + benchConnectCpu.system) / 1e6).toFixed(2)} s of CPU: the agents parse and check their first config one after another here)`);
  const firsts = agents.map((a) => (a.firstAt! - connectStart) / 1000);
  console.log(`  (first config held by the first agent after ${fmt(Math.min(...firsts), 2)} s, by half of them after ${fmt(percentile(firsts, 50), 2)} s, by the last after ${fmt(Math.max(...firsts), 2)} s)`);
  console.log(`first config per agent: ${agents[0]!.fullResources} resources`);
  console.log(`changes: ${o.changes} of each kind, one at a time, ${(changeWall / 1000).toFixed(1)} s; controller CPU ${(changeCpu / 1000).toFixed(2)} s in total (${fmt(changeCpu / (3 * o.changes))} ms per change)`);
  console.log(`controller RSS at the end: ${fmt(memEnd.rss)} MiB (peak ${fmt(memEnd.hwm)} MiB)`);
  console.log('');
  console.log(table(rows));
  console.log('');
  console.log("anchor: Istio's control plane is documented serving a mesh of 1000 Services and 2000 pods (istiod); this run: " + `${o.services} Services, ${total} pods, ${agents.length} agents.`);
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);

  // --- stop ----------------------------------------------------------------------------
  stopping = true;
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  if (ctrl.exitCode === null && ctrl.signalCode === null) {
    const exited = new Promise((r) => ctrl.once('exit', r));
    ctrl.kill('SIGTERM');
    const t = setTimeout(() => ctrl.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }
  await api.close();
  api = undefined;
  killChildren('SIGTERM');
  await sleep(200);
}
let stopping = false;

main().then(
  () => {
    teardownSync();
    process.exit(0);
  },
  (err: Error) => {
    console.error(`control-plane bench failed: ${err.stack ?? err.message}`);
    teardownSync();
    process.exit(1);
  },
);
