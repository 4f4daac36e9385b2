// Runs a pod's readiness and liveness probes (decisions in probes.ts) from the node's
// network namespace, as the kubelet does. Every probe socket carries PROBE_MARK, and the
// node SNATs marked traffic toward its pods to the probe source address
// (local-cluster/network/probe-rules.ts, Istio's 169.254.7.127): the mesh's in-pod capture
// lets that source through to the app, so probes keep working under STRICT mTLS while any
// other connection from the node is still captured. Setting SO_MARK needs CAP_NET_ADMIN:
// an ordinary process on the node cannot borrow the exemption.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { V1Container } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../../core/log.js';
import { connectInNetns } from '../../core/syscalls.js';
import { PROBE_MARK } from '../network/probe-rules.js';
import {
  PROBE_DEFAULTS,
  httpProbeSucceeded,
  initialProbeState,
  nextProbeAt,
  nextProbeState,
  planProbe,
  type ProbeAction,
  type ProbePlan,
  type ProbeResult,
  type ProbeState,
} from './probes.js';
import type { ContainerState } from './supervisor.js';

/** How often due probes are looked for; bounds how late a probe may run. */
export const PROBE_TICK_MS = 200;
/** After SIGTERM for a failed liveness probe, SIGKILL follows this much later. */
export const LIVENESS_KILL_GRACE_MS = 2_000;

export interface ProbeTarget {
  /** The pod's IP (status.podIP): where probes connect unless the probe names a host. */
  podIp: string;
  /** /var/run/netns/<node>: the probe sockets' namespace. */
  nodeNetnsPath: string;
  /** SO_MARK of probe sockets; default PROBE_MARK. */
  mark?: number;
}

export interface ProbeOutcome {
  result: ProbeResult;
  message: string;
}

/** One probe, bounded by `timeoutMs` from the connect to the end of the response. */
export async function runProbe(action: ProbeAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = action.host ?? target.podIp;
  if (net.isIP(host) === 0) return { result: 'failure', message: `probe host ${JSON.stringify(host)} is not an IP address` };
  const deadline = Date.now() + timeoutMs;
  let socket: net.Socket;
  try {
    socket = await connectInNetns(target.nodeNetnsPath, { host, port: action.port, mark: target.mark ?? PROBE_MARK, timeoutMs });
  } catch (err) {
    return { result: 'failure', message: `connect ${host}:${action.port}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}` };
  }
  if (action.kind === 'tcp') {
    socket.destroy();
    return { result: 'success', message: `connected to ${host}:${action.port}` };
  }
  return httpGet(action, host, socket, Math.max(1, deadline - Date.now()));
}

function httpGet(action: Extract<ProbeAction, { kind: 'http' }>, host: string, socket: net.Socket, timeoutMs: number): Promise<ProbeOutcome> {
  const authority = net.isIPv6(host) ? `[${host}]:${action.port}` : `${host}:${action.port}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ result: 'failure', message: `GET ${action.path}: no response within ${timeoutMs} ms` }), timeoutMs);
    // Kubernetes does not verify the certificate of an HTTPS probe.
    const conn = action.scheme === 'HTTPS' ? tls.connect({ socket, rejectUnauthorized: false }) : socket;
    conn.on('error', () => {});
    const req = http.request(
      {
        createConnection: () => conn,
        method: 'GET',
        path: action.path,
        headers: { host: authority, 'user-agent': 'kube-probe/ambient-local', accept: '*/*', connection: 'close', ...action.headers },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (b: Buffer) => {
          bytes += b.length;
          if (bytes > PROBE_DEFAULTS.maxBodyBytes) res.destroy();
        });
        const status = res.statusCode ?? 0;
        const outcome: ProbeOutcome = httpProbeSucceeded(status)
          ? { result: 'success', message: `GET ${action.path}: ${status}` }
          : { result: 'failure', message: `GET ${action.path}: HTTP probe failed with statuscode: ${status}` };
        res.on('end', () => finish(outcome));
        res.on('close', () => finish(outcome));
      },
    );
    req.on('error', (err) => finish({ result: 'failure', message: `GET ${action.path}: ${err.message}` }));
    req.end();
  });
}

/** What the prober needs to know about, and do to, one container. */
export interface ProbedContainer {
  state(): ContainerState | undefined;
  /** Kills the running process (it restarts according to the pod's restartPolicy). */
  kill(signal: NodeJS.Signals): void;
}

interface Probe {
  container: string;
  plan: ProbePlan;
  state: ProbeState;
  /** startedAt of the container run the state belongs to. */
  runOf?: number;
  lastRunAt?: number;
  inFlight: boolean;
  /** A liveness failure is being acted on: no more probes until the container restarts. */
  onHold: boolean;
  lastMessage?: string;
}

export interface PodProberOptions {
  containers: readonly V1Container[];
  container(name: string): ProbedContainer | undefined;
  target: ProbeTarget;
  /** Called when a container's readiness changes or a liveness probe kills it. */
  onChange(): void;
  logger?: Logger;
  /** For tests: the probe itself. */
  run?: (action: ProbeAction, target: ProbeTarget, timeoutMs: number) => Promise<ProbeOutcome>;
}

/** The probes of one pod: started with the pod, stopped when it is torn down. */
export class PodProber {
  readonly #o: PodProberOptions;
  readonly #log: Logger;
  readonly #probes: Probe[] = [];
  /** Containers whose probe could not be planned: never ready (readiness) or unprobed (liveness). */
  readonly #problems = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;
  #stopped = false;

  constructor(o: PodProberOptions) {
    this.#o = o;
    this.#log = o.logger ?? silentLogger;
    for (const c of o.containers) {
      for (const kind of ['readiness', 'liveness'] as const) {
        try {
          const plan = planProbe(c, kind);
          if (plan) this.#probes.push({ container: c.name, plan, state: initialProbeState(kind), inFlight: false, onHold: false });
        } catch (err) {
          // A readiness probe that cannot run keeps the container unready (it cannot be
          // shown to be ready); a liveness probe that cannot run is reported and ignored
          // (killing the container for it would only crash-loop it).
          this.#problems.set(`${c.name}/${kind}`, (err as Error).message);
          this.#log.warn({ container: c.name, err: (err as Error).message }, 'probe ignored');
        }
      }
    }
    this.#timer = setInterval(() => this.#tick(), PROBE_TICK_MS);
    this.#timer.unref();
  }

  /**
   * Whether the container is ready as far as probes say: true without a readiness probe,
   * false while its readiness probe has not succeeded (or cannot run).
   */
  ready(container: string): boolean {
    if (this.#problems.has(`${container}/readiness`)) return false;
    const p = this.#probes.find((x) => x.container === container && x.plan.kind === 'readiness');
    if (!p) return true;
    const s = this.#o.container(container)?.state();
    return s?.state === 'running' && p.runOf === s.startedAt.getTime() && p.state.result === 'success';
  }

  /** Why a container is not ready or was restarted, for its status. */
  message(container: string): string | undefined {
    const problem = this.#problems.get(`${container}/readiness`);
    if (problem) return problem;
    const p = this.#probes.find((x) => x.container === container && x.plan.kind === 'readiness');
    return p && p.state.result === 'failure' ? p.lastMessage : undefined;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = Date.now();
    for (const p of this.#probes) {
      const c = this.#o.container(p.container);
      const s = c?.state();
      if (!c || s?.state !== 'running') {
        if (p.runOf !== undefined) this.#reset(p, undefined);
        continue;
      }
      const startedAt = s.startedAt.getTime();
      if (p.runOf !== startedAt) this.#reset(p, startedAt);
      if (p.inFlight || p.onHold || now < nextProbeAt(p.plan.timing, startedAt, p.lastRunAt)) continue;
      p.inFlight = true;
      p.lastRunAt = now;
      const run = this.#o.run ?? runProbe;
      void run(p.plan.action, this.#o.target, p.plan.timing.timeoutMs)
        .catch((err: Error): ProbeOutcome => ({ result: 'failure', message: err.message }))
        .then((outcome) => {
          p.inFlight = false;
          if (this.#stopped || p.runOf !== startedAt) return; // the container restarted meanwhile
          this.#record(p, c, outcome, s.pid);
        });
    }
  }

  #reset(p: Probe, startedAt: number | undefined): void {
    const wasReady = p.state.result === 'success';
    p.state = initialProbeState(p.plan.kind);
    p.runOf = startedAt;
    p.lastRunAt = undefined;
    p.onHold = false;
    if (p.plan.kind === 'readiness' && wasReady) this.#o.onChange();
  }

  #record(p: Probe, c: ProbedContainer, outcome: ProbeOutcome, pid: number): void {
    const before = p.state.result;
    p.state = nextProbeState(p.state, outcome.result, p.plan.timing);
    p.lastMessage = outcome.message;
    if (p.state.result === before) return;
    this.#log.info({ container: p.container, probe: p.plan.kind, result: p.state.result, message: outcome.message }, 'probe result changed');
    if (p.plan.kind === 'readiness') {
      this.#o.onChange();
      return;
    }
    if (p.state.result === 'failure') {
      // Liveness failed: the container is killed (SIGTERM, then SIGKILL) and restarted
      // by its supervisor according to restartPolicy; its probes start over then.
      p.onHold = true;
      this.#log.warn({ container: p.container, message: outcome.message }, 'liveness probe failed; killing the container');
      c.kill('SIGTERM');
      setTimeout(() => {
        const now = c.state();
        if (now?.state === 'running' && now.pid === pid) c.kill('SIGKILL');
      }, LIVENESS_KILL_GRACE_MS).unref();
      this.#o.onChange();
    }
  }
}
