// The node agent's data-path workers, from the main thread (DESIGN.md section 10): N
// worker threads (worker.ts), each serving every enrolled pod on SO_REUSEPORT listeners of
// its own. The main thread stays the single writer: config updates, roots and
// certificates go to every worker in order; what the workers' connections did comes back
// as reports, fed to the agent's one metrics registry, access log and edges table.
//
// A worker that dies (a crash, an exception nothing caught) is started again with the
// current config, roots, certificates and pods; its listeners reopen beside the other
// workers', whose connections are not touched. Connections the dead worker carried are
// reset (as a crashed agent's would be); new ones go to the others meanwhile, since the
// kernel only picks among listening sockets.
import { Worker } from 'node:worker_threads';
import type { Resource } from '../../core/config/model.js';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { Penalty } from '../../core/hbone/penalty-box.js';
import type { PodSpec } from '../proxy/pod-listeners.js';
import type { ConfigChange } from '../state/store.js';
import type { DataPlane, PodData } from './data-plane.js';
import type { FromWorker, ToWorker, WorkerEvents, WorkerInit, WorkerStats } from './protocol.js';
import { closeFds } from '../handover/channel.js';

type Reply = Extract<FromWorker, { t: 'reply' }>;

export interface WorkerPoolOptions {
  count: number;
  node: string;
  trustDomain: string;
  mark: number;
  /** The config now (a worker starting or restarting begins from it). */
  config: () => { resources: Resource[]; version: string };
  roots: () => string[];
  /** Each batch of reports a worker sends. */
  onEvents: (events: WorkerEvents) => void;
  /** A worker died and is being started again. */
  onRestart?: (index: number, reason: string) => void;
  logger?: Logger;
  /** How long a request to a worker may take (starting a pod's listeners, stats). */
  requestTimeoutMs?: number;
}

/** Restart delays after a worker dies: doubling from the first, capped at the last. */
const RESTART_DELAY_MS = { first: 100, max: 5000 } as const;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 2_000;
/** Penalties kept for restarted workers, at most (each is imposed on a peer for peerPenaltyMs). */
const MAX_REMEMBERED_PENALTIES = 4096;
/** A worker that stayed up this long starts from the first restart delay again. */
const STABLE_AFTER_MS = 30_000;

interface Slot {
  index: number;
  worker: Worker | undefined;
  pending: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>;
  active: Record<string, number>;
  restarts: number;
  delayMs: number;
  spawnedAt: number;
}

export class WorkerPool implements DataPlane {
  readonly workers: number;
  readonly #o: WorkerPoolOptions;
  readonly #log: Logger;
  readonly #slots: Slot[] = [];
  /** Pods every worker serves, and their certificates (a restarted worker gets them all). */
  readonly #pods = new Map<string, PodSpec>();
  /** HBONE penalties the workers imposed (a restarted worker gets those still in force). */
  #penalties: Penalty[] = [];
  #nextId = 1;
  #closed = false;

  constructor(opts: WorkerPoolOptions) {
    if (!Number.isInteger(opts.count) || opts.count < 1) throw new MeshError(ErrorCodes.AGENT_WORKERS_INVALID, `workers must be a whole number of at least 1, not ${opts.count}`);
    this.workers = opts.count;
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
    for (let index = 0; index < opts.count; index++) {
      const slot: Slot = { index, worker: undefined, pending: new Map(), active: {}, restarts: 0, delayMs: RESTART_DELAY_MS.first, spawnedAt: 0 };
      this.#slots.push(slot);
      this.#spawn(slot);
    }
  }

  /** Restarts of each worker since the agent started. */
  restarts(): number[] {
    return this.#slots.map((s) => s.restarts);
  }

  /** Forwards a config change (after the main thread applied it). */
  configChanged(u: ConfigChange): void {
    this.#broadcast({ t: 'config', ...(u.version !== undefined && { version: u.version }), upserts: u.upserts.map((r) => ({ kind: r.kind, key: r.key, body: r.body }) as Resource), removes: u.removes.map((r) => ({ kind: r.kind, key: r.key })) });
  }

  rootsChanged(pems: string[]): void {
    this.#broadcast({ t: 'roots', pems });
  }

  /** A renewed certificate: onto every pod of that identity, in every worker. */
  certificate(identity: string, c: { key: string; cert: string }): void {
    let changed = false;
    for (const [uid, spec] of this.#pods) {
      if (spec.identity !== identity || spec.cert === c.cert) continue;
      this.#pods.set(uid, { ...spec, key: c.key, cert: c.cert });
      changed = true;
    }
    // Every pod of the identity reports the same renewal: the workers hear it once.
    if (!changed) return;
    this.#broadcast({ t: 'cert', identity, key: c.key, cert: c.cert });
  }

  async startPod(spec: PodSpec, adopt?: Record<string, number[]>): Promise<PodData> {
    // Kept without `adopt`: a worker restarted later opens listeners of its own.
    this.#pods.set(spec.uid, spec);
    // A worker that is restarting gets the pod when it is back (it starts every pod known).
    const live = this.#slots.filter((s) => s.worker !== undefined);
    // Handed-over listeners: one per live worker; any beyond (a worker restarting now)
    // are closed, their port served by the others.
    const specFor = (i: number): PodSpec => {
      const mine = Object.fromEntries(Object.entries(adopt ?? {}).flatMap(([k, fds]) => (fds[i] !== undefined ? [[k, fds[i]]] : [])));
      return Object.keys(mine).length > 0 ? { ...spec, adopt: mine } : spec;
    };
    closeFds(Object.values(adopt ?? {}).flatMap((fds) => fds.slice(live.length)));
    const started = await Promise.allSettled(live.map((s, i) => this.#request(s, (id) => ({ t: 'pod-start', id, spec: specFor(i) }))));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.#closePod(spec.uid, 0, false);
      throw failed.reason;
    }
    return {
      active: () => this.#slots.reduce((n, s) => n + (s.active[spec.uid] ?? 0), 0),
      setCertificate: (c) => this.certificate(spec.identity, c),
      close: (drainMs, keepAccepting = false) => this.#closePod(spec.uid, drainMs, keepAccepting),
      sockets: async () => {
        const each = await Promise.all(this.#slots.map((s) => this.#ask(s, (id) => ({ t: 'pod-sockets', id, uid: spec.uid })).catch(() => undefined)));
        return each.flatMap((r) => r?.sockets ?? []);
      },
    };
  }

  async stats(): Promise<WorkerStats[]> {
    const all = await Promise.all(this.#slots.map((s) => this.#request(s, (id) => ({ t: 'stats', id }))));
    return all.filter((s): s is WorkerStats => s !== undefined);
  }

  /** Makes worker `index` crash (an uncaught exception in it), for tests and operators; it
   * is started again. Resolves once it has ended. */
  async crash(index: number): Promise<void> {
    const w = this.#slots[index]?.worker;
    if (!w) return;
    const ended = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ t: 'crash' } satisfies ToWorker);
    await ended;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#slots.map(async (s) => {
        // The pods are closed by then (enrolment drained them): this is bounded tidying up.
        await this.#request(s, (id) => ({ t: 'close', id }), CLOSE_TIMEOUT_MS).catch(() => {});
        await s.worker?.terminate();
        s.worker = undefined;
      }),
    );
  }

  async #closePod(uid: string, drainMs: number, keepAccepting: boolean): Promise<void> {
    this.#pods.delete(uid);
    const timeoutMs = drainMs + (this.#o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    await Promise.all(this.#slots.map((s) => this.#request(s, (id) => ({ t: 'pod-close', id, uid, drainMs, keepAccepting }), timeoutMs).catch(() => {})));
    for (const s of this.#slots) delete s.active[uid];
  }

  #spawn(slot: Slot): void {
    const { resources, version } = this.#o.config();
    const now = Date.now();
    this.#penalties = this.#penalties.filter((p) => p.until > now);
    const init: WorkerInit = {
      index: slot.index,
      node: this.#o.node,
      trustDomain: this.#o.trustDomain,
      mark: this.#o.mark,
      roots: this.#o.roots(),
      resources,
      version,
      reusePort: this.workers > 1,
      penalties: this.#penalties,
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, stdout: false, stderr: false });
    slot.worker = worker;
    slot.spawnedAt = now;
    slot.active = {};
    worker.on('message', (m: FromWorker) => this.#received(slot, m));
    worker.on('error', (err) => this.#log.error({ worker: slot.index, err: err.message }, 'agent: data-path worker failed'));
    worker.once('exit', (code) => this.#exited(slot, worker, code));
    // Its pods again (the first start has none yet; a restart has every enrolled one).
    void Promise.all(
      [...this.#pods.values()].map((spec) =>
        this.#request(slot, (id) => ({ t: 'pod-start', id, spec })).catch((err: Error) =>
          this.#log.error({ worker: slot.index, uid: spec.uid, err: err.message }, 'agent: a restarted data-path worker could not serve a pod'),
        ),
      ),
    );
  }

  #exited(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    // Its connections are gone with it.
    slot.active = {};
    // A worker that had been up for a while starts from the first delay; one that keeps
    // dying right away waits longer each time.
    if (Date.now() - slot.spawnedAt >= STABLE_AFTER_MS) slot.delayMs = RESTART_DELAY_MS.first;
    for (const [id, p] of slot.pending) {
      clearTimeout(p.timer);
      p.reject(new MeshError(ErrorCodes.AGENT_WORKER_FAILED, `data-path worker ${slot.index} exited (code ${code})`));
      slot.pending.delete(id);
    }
    if (this.#closed) return;
    const reason = `exited with code ${code}`;
    slot.restarts++;
    this.#log.error({ worker: slot.index, code, restartInMs: slot.delayMs }, 'agent: data-path worker died; starting it again (its connections were reset, the other workers carry on)');
    this.#o.onRestart?.(slot.index, reason);
    const delay = slot.delayMs;
    slot.delayMs = Math.min(slot.delayMs * 2, RESTART_DELAY_MS.max);
    setTimeout(() => {
      if (!this.#closed && slot.worker === undefined) this.#spawn(slot);
    }, delay).unref();
  }

  #received(slot: Slot, m: FromWorker): void {
    switch (m.t) {
      case 'events':
        for (const penalty of m.penalties) {
          this.#remember(penalty);
          for (const other of this.#slots) if (other !== slot) other.worker?.postMessage({ t: 'penalty', penalty } satisfies ToWorker);
        }
        try {
          this.#o.onEvents(m);
        } catch (err) {
          this.#log.error({ worker: slot.index, err: (err as Error).message }, 'agent: a data-path worker report could not be recorded');
        }
        return;
      case 'active':
        slot.active = m.active;
        return;
      case 'reply': {
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error !== undefined) p.reject(new MeshError(ErrorCodes.AGENT_WORKER_FAILED, `data-path worker ${slot.index}: ${m.error}`));
        else p.resolve(m);
      }
    }
  }

  /** Keeps a penalty for workers started later; bounded (those that ended go first, then the oldest). */
  #remember(p: Penalty): void {
    this.#penalties.push(p);
    if (this.#penalties.length <= MAX_REMEMBERED_PENALTIES) return;
    const now = Date.now();
    this.#penalties = this.#penalties.filter((x) => x.until > now).slice(-MAX_REMEMBERED_PENALTIES);
  }

  async #request(slot: Slot, make: (id: number) => ToWorker, timeoutMs?: number): Promise<WorkerStats | undefined> {
    return (await this.#ask(slot, make, timeoutMs)).stats;
  }

  #ask(slot: Slot, make: (id: number) => ToWorker, timeoutMs = this.#o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS): Promise<Reply> {
    const worker = slot.worker;
    if (!worker) return Promise.reject(new MeshError(ErrorCodes.AGENT_WORKER_FAILED, `data-path worker ${slot.index} is restarting`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        reject(new MeshError(ErrorCodes.AGENT_WORKER_FAILED, `data-path worker ${slot.index} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      slot.pending.set(id, { resolve, reject, timer });
      worker.postMessage(make(id));
    });
  }

  #broadcast(m: ToWorker): void {
    for (const s of this.#slots) s.worker?.postMessage(m);
  }
}
