// One data-path worker of the node agent (a worker thread; pool.ts starts it). It serves
// every enrolled pod on listeners of its own, opened with SO_REUSEPORT inside each pod's
// namespace, so that the kernel spreads each pod's new connections over the workers. It
// holds a read-only copy of the config (the main thread forwards every update in order,
// so all workers serve the same version), the pods' certificates and the roots, decides
// inbound connections with its own enforcer, and reports what its connections did to the
// main thread once per turn (protocol.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { PeerGuard, type GuardCounters } from '../../core/hbone/guard.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import { createLogger, flushLogs } from '../../core/log.js';
import { decisionReport } from '../observe/authz-sink.js';
import { createCounters } from '../proxy/balancer.js';
import { InboundEnforcer, reevaluateOnChange } from '../proxy/enforcer.js';
import { policyEngine } from '../proxy/engine.js';
import { startPodListeners, type DataPathEnv, type PodListeners, type PodSpec } from '../proxy/pod-listeners.js';
import type { ConnectionRecord } from '../proxy/record.js';
import { AgentState } from '../state/store.js';
import type { FromWorker, ToWorker, WorkerEvents, WorkerInit } from './protocol.js';

/** How long a crashing worker spends resetting its connections before it ends. */
const CRASH_CLEANUP_MS = 2000;

const port = parentPort;
if (!port) throw new Error('node-agent/workers/worker.js runs as a worker thread of the node agent');
const init = workerData as WorkerInit;
const log = createLogger('node-agent').child({ worker: init.index });

const store = new AgentState(init.node);
store.apply({ version: init.version, upserts: init.resources, removes: [] });
const trustBundle = new TrustBundle(init.roots);

/** A pod this worker serves. Its entry exists from the moment its listeners start opening,
 * so that a close or a renewal arriving meanwhile finds it (and waits for the start). */
interface PodEntry {
  identity: string;
  /** The pod's certificate now (renewals replace it, also while the listeners open). */
  cert: { key: string; cert: string };
  started: Promise<PodListeners>;
  listeners?: PodListeners;
}
const pods = new Map<string, PodEntry>();
let finished = 0;

// ---- reports to the main thread, batched per turn ----
let pending: WorkerEvents | undefined;
function report(): WorkerEvents {
  if (pending === undefined) {
    pending = { t: 'events', opened: [], ended: [], decisions: [], hbone: [], penalties: [] };
    setImmediate(flushReports);
  }
  return pending;
}
/** Sends what is batched now (also before the worker answers `close`: nothing is lost). */
function flushReports(): void {
  const events = pending;
  pending = undefined;
  if (events) send(events);
}
function send(m: FromWorker): void {
  port!.postMessage(m);
}

const hboneCounts: GuardCounters = {
  rejectedStreams: { inc: ({ reason }) => void report().hbone.push({ metric: 'rejectedStreams', reason }) },
  refusedConnections: { inc: ({ reason }) => void report().hbone.push({ metric: 'refusedConnections', reason }) },
};
const authz = new InboundEnforcer({
  engine: policyEngine,
  getState: () => store.snapshot(),
  logger: log,
  onDecision: (e) => void report().decisions.push(decisionReport(e)),
});
reevaluateOnChange(store, authz, log);
const env: DataPathEnv = {
  getState: () => store.snapshot(),
  // Every pod gets its own (startPod); none is ever dialled without.
  credentials: (source) => {
    throw new Error(`no certificate for ${formatSpiffeId(source)} in data-path worker ${init.index}`);
  },
  trustBundle,
  trustDomain: init.trustDomain,
  mark: init.mark,
  counters: createCounters(),
  onConnectionEnd: (r: ConnectionRecord) => {
    finished++;
    report().ended.push(r);
  },
  onConnectionOpen: (r: ConnectionRecord) => void report().opened.push(r),
  // One penalty box per worker; what one imposes the pool hands to the others, so that a
  // peer penalised on one worker is refused by every worker (and at every pod).
  hboneGuard: new PeerGuard({ logger: log, metrics: hboneCounts, onPenalty: (p) => void report().penalties.push(p) }),
  authz,
  // Only when other workers share the ports: a lone worker's listeners stay exclusive.
  reusePort: init.reusePort,
  logger: log,
};

// Penalties in force on the other workers when this one (re)started.
for (const p of init.penalties) env.hboneGuard?.impose(p);

// Open connections by pod, sent when they change (at most once a second).
let lastActive = '';
const activeTimer = setInterval(() => {
  const now = JSON.stringify(activeByPod());
  if (now !== lastActive) {
    lastActive = now;
    send({ t: 'active', active: activeByPod() });
  }
}, 1000);

function activeByPod(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [uid, p] of pods) if (p.listeners) out[uid] = p.listeners.active();
  return out;
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case 'config':
      store.apply(m);
      return;
    case 'roots':
      trustBundle.replace(m.pems);
      return;
    case 'cert':
      for (const p of pods.values()) {
        if (p.identity !== m.identity) continue;
        p.cert = { key: m.key, cert: m.cert };
        p.listeners?.setCertificate(p.cert);
      }
      return;
    case 'pod-start':
      return reply(m.id, () => startPod(m.spec));
    case 'pod-close':
      return reply(m.id, () => closePod(m.uid, m.drainMs, m.keepAccepting));
    case 'stats':
      return reply(m.id, async () => undefined, true);
    case 'pod-sockets': {
      // Descriptor numbers are the process's: the main thread sends them on as they are.
      const listeners = await pods.get(m.uid)?.started.catch(() => undefined);
      send({ t: 'reply', id: m.id, sockets: listeners?.sockets() ?? [] });
      return;
    }
    case 'penalty':
      env.hboneGuard?.impose(m.penalty);
      return;
    case 'crash':
      // As any uncaught exception would (pool.ts crash(): tests and operators).
      setImmediate(() => {
        throw new Error('crash requested by the main thread');
      });
      return;
    case 'close':
      return reply(m.id, async () => {
        clearInterval(activeTimer);
        await Promise.all([...pods.keys()].map((uid) => closePod(uid, 0, false)));
        env.hboneGuard?.close();
        // The pool terminates the thread next: the last records and log lines go out now
        // (after one turn, for the connections just reset to be recorded).
        await new Promise((r) => setImmediate(r));
        flushReports();
        flushLogs();
      });
  }
}

async function startPod(spec: PodSpec): Promise<void> {
  if (pods.has(spec.uid)) await closePod(spec.uid, 0, false);
  // Each pod dials with its own certificate: a renewal, or another pod of the same
  // identity leaving, never takes it away.
  const entry: PodEntry = { identity: spec.identity, cert: { key: spec.key, cert: spec.cert }, started: undefined as unknown as Promise<PodListeners> };
  entry.started = startPodListeners(spec, { ...env, credentials: () => entry.cert });
  pods.set(spec.uid, entry);
  let listeners: PodListeners;
  try {
    listeners = await entry.started;
  } catch (err) {
    if (pods.get(spec.uid) === entry) pods.delete(spec.uid);
    throw err;
  }
  entry.listeners = listeners;
  // Renewed while the listeners opened: serve the newest.
  if (entry.cert.cert !== spec.cert) listeners.setCertificate(entry.cert);
  // Closed while it opened (closePod waited for it): nothing more to do.
}

async function closePod(uid: string, drainMs: number, keepAccepting: boolean): Promise<void> {
  const entry = pods.get(uid);
  if (!entry) return;
  pods.delete(uid);
  const listeners = await entry.started.catch(() => undefined);
  await listeners?.close(drainMs, keepAccepting);
}

async function reply(id: number, fn: () => Promise<void>, withStats = false): Promise<void> {
  try {
    await fn();
    send({ t: 'reply', id, ...(withStats && { stats: { index: init.index, version: store.version(), active: activeByPod(), finished, tracked: authz.open } }) });
  } catch (err) {
    send({ t: 'reply', id, error: (err as Error)?.message ?? String(err) });
  }
}

// A crash (an exception nothing caught): Node closes a dead worker's listeners but not its
// connections, whose sockets would outlive the thread half-served. So they are reset
// first (bounded), then the thread ends and the pool starts another in its place.
let crashing = false;
function crash(err: unknown): void {
  if (crashing) return;
  crashing = true;
  log.fatal({ err: (err as Error)?.stack ?? String(err) }, 'agent: data-path worker crashed; resetting its connections');
  clearInterval(activeTimer);
  const closing = Promise.all([...pods.keys()].map((uid) => closePod(uid, 0, false).catch(() => {})));
  // One more turn after closing, for the pipes to reset their other halves.
  const settled = closing.then(() => new Promise((r) => setTimeout(r, 20)));
  void Promise.race([settled, new Promise((r) => setTimeout(r, CRASH_CLEANUP_MS))]).finally(() => {
    flushLogs();
    process.exit(1);
  });
}
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

port.on('message', (m: ToWorker) => {
  // A crashing worker serves nothing more: requests fail (the pool starts another worker).
  if (crashing) {
    if ('id' in m) send({ t: 'reply', id: m.id, error: 'the worker is crashing' });
    return;
  }
  handle(m).catch((err: unknown) => log.error({ err: (err as Error)?.message ?? String(err), message: m.t }, 'agent: data-path worker could not apply a message'));
});
