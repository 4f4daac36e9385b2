// The enrolment reconciler: which of this node's pods the agent serves, brought about
// (DESIGN.md section 2, steps 2-5). Inputs: the config snapshot (the authority: a local
// Workload with protocol HBONE is enrolled), pods the CNI plugin announced before the
// config speaks of them, and the pods' network namespaces (from the CNI hand-off or
// looked up by address). planEnrolment decides; this class acts, one round at a time:
// changes that arrive while a round runs make it run once more.
//
// Enrolling a pod: its certificate (CertificateManager), listeners in its netns, then its
// capture rules (pod-proxy.ts). Failures are remembered per pod (the config dump shows
// them) and retried at the next change or repair.
import type { Workload } from '../../core/config/model.js';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import type { CertificateManager, WorkloadCertificate } from '../../core/identity/cert-manager.js';
import { formatSpiffeId, parseSpiffeId } from '../../core/identity/spiffe.js';
import { AGENT_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { removeCapture } from '../capture/apply.js';
import type { CniAgentPort } from '../cni/handlers.js';
import { PodResolvers } from '../dns/pod-resolvers.js';
import type { AgentFailure, EnrolledPodStatus } from '../dump.js';
import type { ProxyState } from '../state/snapshot.js';
import type { DataPlane } from '../workers/data-plane.js';
import { NETNS_DIR, NetnsFinder } from './netns.js';
import type { NewPodJudge } from './new-pod.js';
import { planEnrolment } from './plan.js';
import { startPodProxy, type PodProxy } from './pod-proxy.js';

/** What the reconciler reports to the agent's metrics. */
export interface EnrolmentMetrics {
  enrolmentFailure(reason: string): void;
  captureRepair(): void;
}

export interface EnrolmentReconcilerOptions {
  /** The newest config snapshot (the state wing's single writer swaps it). */
  state: () => ProxyState;
  certificates: CertificateManager;
  /** Who carries the enrolled pods' connections: this thread or the data-path workers. */
  dataPlane: DataPlane;
  /** SO_MARK on the agent's sockets in pods (the capture lets them through). */
  mark: number;
  captureDns: boolean;
  /** Where a pod's DNS proxy forwards when the pod's own resolv.conf cannot be found (the
   * agent's own nameservers). */
  dnsUpstreams: readonly string[];
  /** Forward each pod's DNS to the nameservers of the pod's own resolv.conf; default true.
   * false: always to dnsUpstreams. */
  podResolvers?: boolean;
  clusterDomain?: string;
  /** Un-enrolment drain. */
  drainMs: number;
  /** Also look for pods' network namespaces here; default /var/run/netns. */
  netnsDir?: string;
  /** Judges a pod the CNI plugin announces before the config knows it; none: such pods
   * wait for the config. */
  judgeNewPod?: NewPodJudge;
  metrics: EnrolmentMetrics;
  logger?: Logger;
}

export class EnrolmentReconciler {
  readonly #o: EnrolmentReconcilerOptions;
  readonly #log: Logger;
  readonly #finder: NetnsFinder;
  /** Enrolled pods, by uid. */
  readonly #pods = new Map<string, PodProxy>();
  /** What each enrolled pod was enrolled with. */
  readonly #enrolledWith = new Map<string, { netns: string; identity: string; workload: Workload }>();
  /** Known network namespace names, by pod uid. */
  readonly #netnsOf = new Map<string, string>();
  /** Pods the CNI plugin announced, judged enrolled, not yet in config. */
  readonly #announced = new Map<string, Workload>();
  readonly #failures = new Map<string, AgentFailure>();
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(opts: EnrolmentReconcilerOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#finder = new NetnsFinder(opts.netnsDir ?? NETNS_DIR);
  }

  /** Enrolled pods now. */
  get size(): number {
    return this.#pods.size;
  }

  /** Connections open now, every enrolled pod together. */
  activeConnections(): number {
    let n = 0;
    for (const p of this.#pods.values()) n += p.active();
    return n;
  }

  isEnrolled(uid: string): boolean {
    return this.#pods.has(uid);
  }

  /** The config changed: pods it now knows are no longer only announced; reconcile. */
  configChanged(state: ProxyState): Promise<void> {
    for (const w of state.localWorkloads()) this.#announced.delete(w.uid);
    return this.schedule();
  }

  /** A renewed certificate: onto every pod serving that identity. */
  certificateRotated(c: WorkloadCertificate): void {
    const id = formatSpiffeId(c.identity);
    for (const p of this.#pods.values()) if (p.identity === id) p.setCertificate(c);
  }

  statuses(): EnrolledPodStatus[] {
    const state = this.#o.state();
    return [...this.#pods].map(([uid, p]) => {
      const w = state.workloadByUid(uid) ?? this.#enrolledWith.get(uid)!.workload;
      return { uid, name: w.name, namespace: w.namespace, identity: p.identity, netns: p.netns, activeConnections: p.active() };
    });
  }

  failures(): AgentFailure[] {
    return [...this.#failures.values()];
  }

  /** Runs a round now (or once more after the running one), and waits for it. */
  schedule(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#reconcileOnce();
        } while (this.#again && !this.#closed);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Checks (and repairs) every enrolled pod's capture, then reconciles. */
  async repair(): Promise<void> {
    for (const [uid, pod] of [...this.#pods]) {
      try {
        const s = await pod.repair();
        if (!s.complete) this.#o.metrics.captureRepair();
      } catch (err) {
        this.#log.warn({ uid, err: (err as Error).message }, 'agent: capture check failed');
      }
    }
    await this.schedule();
  }

  async #reconcileOnce(): Promise<void> {
    const state = this.#o.state();
    const announced = this.#announced;
    const netnsOf = this.#netnsOf;
    const enrolledWith = this.#enrolledWith;
    // Forget what is known of pods that are gone (no longer in config, announced or enrolled).
    const gone = (uid: string) => state.workloadByUid(uid) === undefined && !announced.has(uid) && !enrolledWith.has(uid);
    for (const uid of [...netnsOf.keys()]) if (gone(uid)) netnsOf.delete(uid);
    for (const uid of [...this.#failures.keys()]) if (gone(uid)) this.#failures.delete(uid);
    const view = new Map([...enrolledWith].map(([uid, e]) => [uid, { netns: e.netns, identity: e.identity }]));
    let plan = planEnrolment({ local: state.localWorkloads(), announced, netns: netnsOf, enrolled: view });
    if (plan.lookup.length > 0) {
      for (const w of plan.lookup) {
        const name = await this.#finder.find(w.ips);
        if (name !== undefined) netnsOf.set(w.uid, name);
      }
      plan = planEnrolment({ local: state.localWorkloads(), announced, netns: netnsOf, enrolled: view });
      for (const w of plan.lookup) {
        if (w.ips.length > 0) this.#noteFailure(w.uid, `no network namespace under ${this.#o.netnsDir ?? NETNS_DIR} holds ${w.ips.join(', ')}`, 'netns_not_found');
      }
    }
    for (const uid of plan.unenrol) {
      const pod = this.#pods.get(uid);
      this.#pods.delete(uid);
      const was = enrolledWith.get(uid);
      enrolledWith.delete(uid);
      // A pod that is gone has nothing to drain.
      const left = !netnsOf.has(uid) && this.#o.state().workloadByUid(uid) === undefined;
      await pod?.close(left ? 0 : this.#o.drainMs).catch((err: Error) => this.#log.warn({ uid, err: err.message }, 'agent: un-enrolment incomplete'));
      // The identity's last pod on this node left: stop renewing its certificate.
      if (was && ![...enrolledWith.values()].some((e) => e.identity === was.identity)) this.#o.certificates.forget(parseSpiffeId(was.identity));
    }
    for (const { workload, netns } of plan.enrol) {
      if (this.#closed) return;
      await this.#enrol(workload, netns);
    }
  }

  async #enrol(workload: Workload, netns: string): Promise<void> {
    const uid = workload.uid;
    const o = this.#o;
    try {
      const starting = startPodProxy({
        netns,
        workload: () => o.state().workloadByUid(uid) ?? this.#announced.get(uid) ?? workload,
        provisional: () => this.#announced.get(uid),
        getState: o.state,
        certificates: o.certificates,
        dataPlane: o.dataPlane,
        mark: o.mark,
        captureDns: o.captureDns,
        dnsUpstreams: o.podResolvers === false ? o.dnsUpstreams : podResolversOf(netns, o),
        ...(o.clusterDomain !== undefined && { clusterDomain: o.clusterDomain }),
        logger: this.#log,
      });
      let pod: PodProxy;
      try {
        pod = await withTimeout(starting, AGENT_DEFAULTS.enrolTimeoutMs, `enrolling ${workload.namespace}/${workload.name}`);
      } catch (err) {
        // One that finishes after all is undone: the next round starts afresh.
        starting.then((late) => late.close(0)).catch(() => {});
        throw err;
      }
      this.#pods.set(uid, pod);
      this.#enrolledWith.set(uid, { netns, identity: workload.identity, workload });
      this.#failures.delete(uid);
    } catch (err) {
      this.#noteFailure(uid, (err as Error).message, (err as MeshError).code ?? 'error');
      this.#log.error({ pod: `${workload.namespace}/${workload.name}`, netns, err: (err as Error).message }, 'agent: enrolment failed; retried at the next change or repair');
    }
  }

  #noteFailure(uid: string, error: string, reason: string): void {
    if (this.#failures.get(uid)?.error !== error) this.#o.metrics.enrolmentFailure(reason);
    this.#failures.set(uid, { uid, error, at: new Date().toISOString() });
  }

  // ---- the CNI hand-off: a new pod is captured before its containers start ----
  // The decisions (fail closed when undecided, the netns must hold the pod's addresses,
  // DEL only for what was recorded) are node-agent/cni/decide.ts and handlers.ts; this is
  // the state they act on.

  /** What the CNI hand-off's handlers (cni/handlers.ts) act through. */
  cniPort(): CniAgentPort {
    return {
      workload: (uid) => this.#o.state().workloadByUid(uid),
      judgeNewPod: async (p) => (this.#o.judgeNewPod ? this.#o.judgeNewPod(p) : undefined),
      enrolled: (uid) => {
        const e = this.#enrolledWith.get(uid);
        return e && { netns: e.netns, workload: e.workload };
      },
      // A namespace that could not be read may be the pod's: it counts as found (fail closed).
      findNetns: (ips, except) => this.#finder.find(ips, { except, unreadAs: '(unreadable netns)' }),
      enrol: (uid, netns, announced) => this.#enrolFromCni(uid, netns, announced),
      release: (uid) => this.#releaseFromCni(uid),
    };
  }

  async #enrolFromCni(uid: string, netns: string, w: Workload | undefined): Promise<void> {
    this.#netnsOf.set(uid, netns);
    this.#finder.forget(netns);
    if (w !== undefined) this.#announced.set(uid, w);
    await this.schedule();
    if (!this.#pods.has(uid)) {
      const name = w ? `${w.namespace}/${w.name}` : uid;
      throw new MeshError(ErrorCodes.CNI_HANDOFF_FAILED, `the node agent could not enrol pod ${name}: ${this.#failures.get(uid)?.error ?? 'unknown reason'}`);
    }
  }

  async #releaseFromCni(uid: string): Promise<void> {
    this.#announced.delete(uid);
    const netns = this.#netnsOf.get(uid);
    this.#netnsOf.delete(uid);
    if (netns) this.#finder.forget(netns);
    const pod = this.#pods.get(uid);
    if (pod) {
      this.#pods.delete(uid);
      this.#enrolledWith.delete(uid);
      await pod.close(0).catch(() => {});
    }
  }

  /**
   * The agent is stopping: no more rounds; every pod is released. Pods keep their capture
   * when the agent stops (as ztunnel's do): their traffic waits for the next agent rather
   * than leave the pod in plaintext, which a STRICT peer would refuse anyway. The next
   * agent finds them by address and takes over; un-enrolling (the label) is what removes
   * the rules. While `drainMs` runs, the pods' listeners keep accepting and serving (a
   * terminating agent must not refuse more than a crashed one); then what is still open
   * is reset.
   */
  async close(drainMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#running?.catch(() => {});
    await Promise.all([...this.#pods.values()].map((p) => p.close(drainMs, { keepCapture: true, keepAccepting: true }).catch(() => {})));
    this.#pods.clear();
  }

  /**
   * The mesh is being removed from the node (the agent's DaemonSet is gone): no more
   * rounds; every pod is un-enrolled, not released (its capture rules go first, then its
   * listeners drain for `drainMs`), and a pod of the node whose netns is known but that is
   * not enrolled (its enrolment failed half-way) has any rules left removed too. The pods
   * then work as plain pods.
   */
  async uninstall(drainMs: number): Promise<{ unenrolled: number }> {
    if (this.#closed) return { unenrolled: 0 };
    this.#closed = true;
    await this.#running?.catch(() => {});
    const pods = [...this.#pods.values()];
    this.#pods.clear();
    this.#enrolledWith.clear();
    const enrolled = new Set(pods.map((p) => p.netns));
    const others = [...new Set(this.#netnsOf.values())].filter((n) => !enrolled.has(n));
    await Promise.all([
      ...pods.map((p) => p.close(drainMs).catch((err: Error) => this.#log.warn({ netns: p.netns, err: err.message }, 'agent: un-enrolment incomplete'))),
      ...others.map((n) => removeCapture(n).catch((err: Error) => this.#log.debug({ netns: n, err: err.message }, 'agent: no capture to remove (pod gone?)'))),
    ]);
    return { unenrolled: pods.length };
  }
}

function podResolversOf(netns: string, o: EnrolmentReconcilerOptions): () => Promise<readonly string[]> {
  const r = new PodResolvers({ netns, fallback: () => o.dnsUpstreams, ...(o.netnsDir !== undefined && { netnsDir: o.netnsDir }), ...(o.logger && { logger: o.logger }) });
  return () => r.get();
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new MeshError(ErrorCodes.ENROL_FAILED, `${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}
