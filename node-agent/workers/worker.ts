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
import { InboundEnforcer } from '../proxy/enforcer.js';
import { policyEngine } from '../proxy/engine.js';
import { startPodListeners, type DataPathEnv, type PodListeners } from '../proxy/pod-listeners.js';
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
/** Certificates by identity (each pod's own; the main thread sends renewals). */
const certs = new Map<string, { key: string; cert: string }>();
const pods = new Map<string, { identity: string; listeners: PodListeners }>();
let finished = 0;

// ---- reports to the main thread, batched per turn ----
let pending: WorkerEvents | undefined;
function report(): WorkerEvents {
  if (pending === undefined) {
    pending = { t: 'events', opened: [], ended: [], decisions: [], hbone: [], penalties: [] };
    setImmediate(() => {
      const events = pending!;
      pending = undefined;
      send(events);
    });
  }
  return pending;
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
store.onChange((applied) => {
  const closed = authz.reevaluate(applied.state);
  if (closed > 0) log.info({ closed }, 'agent: open connections closed after a policy change');
});
const env: DataPathEnv = {
  getState: () => store.snapshot(),
  credentials: (source) => {
    const c = certs.get(formatSpiffeId(source));
    if (c === undefined) throw new Error(`no certificate for ${formatSpiffeId(source)} in data-path worker ${init.index}`);
    return c;
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
  reusePort: true,
  logger: log,
};

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
  for (const [uid, p] of pods) out[uid] = p.listeners.active();
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
      certs.set(m.identity, { key: m.key, cert: m.cert });
      for (const p of pods.values()) if (p.identity === m.identity) p.listeners.setCertificate(m);
      return;
    case 'pod-start':
      return reply(m.id, async () => {
        const s = m.spec;
        certs.set(s.identity, { key: s.key, cert: s.cert });
        await pods.get(s.uid)?.listeners.close(0);
        pods.set(s.uid, { identity: s.identity, listeners: await startPodListeners(s, env) });
      });
    case 'pod-close':
      return reply(m.id, async () => {
        const p = pods.get(m.uid);
        pods.delete(m.uid);
        await p?.listeners.close(m.drainMs, m.keepAccepting);
        if (p && ![...pods.values()].some((o) => o.identity === p.identity)) certs.delete(p.identity);
      });
    case 'stats':
      return reply(m.id, async () => undefined, true);
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
        await Promise.all([...pods.values()].map((p) => p.listeners.close(0)));
        pods.clear();
        env.hboneGuard?.close();
        // The pool terminates the thread next: its queued log lines go out now.
        flushLogs();
      });
  }
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
  const closing = Promise.all([...pods.values()].map((p) => p.listeners.close(0).catch(() => {})));
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
  handle(m).catch((err: unknown) => log.error({ err: (err as Error)?.message ?? String(err), message: m.t }, 'agent: data-path worker could not apply a message'));
});
