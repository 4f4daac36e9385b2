// Leader election on a coordination.k8s.io/v1 Lease, so that several controller replicas
// can run while only one of them writes to the cluster. Every replica watches, translates
// and serves 15012; the leader alone does the leader-only work (today: publishing
// ConfigMap ambient-ca-root).
//
// The semantics are client-go's tools/leaderelection (leaderelection.go), in two parts:
//  - decideLease() and observeLease(): pure. What to do given the Lease we last saw, when
//    WE first saw it (our clock), now, and who we are.
//  - LeaderElector: the thin loop doing the I/O (read, create, replace the Lease) every
//    retry period, and the acquire / renew / lose / release transitions.
//
// Why the other replica's clock is never trusted: like client-go, a lease is valid until
// `observedAt + leaseDurationSeconds`, where observedAt is when this replica saw the
// record change; the holder's renewTime is only compared for equality. A holder whose
// clock runs ahead (renewTime in the future) is thus honoured for exactly one lease
// duration after its last visible renewal, no more; one whose clock runs behind, no less.
//
// Safety rests on resourceVersion: every write is a replace carrying the resourceVersion
// we read (or a create), so of two replicas writing from the same observation only one
// succeeds and the other gets 409 Conflict (or 409 AlreadyExists on create).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { CoordinationV1Api, Observable, V1MicroTime, type KubeConfig, type ObservableMiddleware, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { LEADER_DEFAULTS, type LeaderLimits } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';

/** The Lease's name, in the controller's namespace. */
export const LEASE_NAME = 'ambient-controller';

/** The Lease's spec as client-go's LeaderElectionRecord sees it. */
export interface LeaseRecord {
  /** Empty: released (nobody holds it). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 strings as the API server returns them; only compared for equality. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

/** A record and when this replica first saw it (its own clock, ms). */
export interface ObservedLease {
  record: LeaseRecord;
  observedAt: number;
}

export type LeaseAction = 'acquire' | 'renew' | 'wait';

export interface LeaseDecision {
  action: LeaseAction;
  /** For acquire and renew: the spec to write. */
  record?: LeaseRecord;
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/**
 * The observation after reading `record` at `now`: the previous one when the record did
 * not change (so the lease keeps ageing), else a new one starting now. client-go:
 * `if !bytes.Equal(le.observedRawRecord, oldLeaderElectionRawRecord) { setObservedRecord }`.
 */
export function observeLease(prev: ObservedLease | undefined, record: LeaseRecord, now: number): ObservedLease {
  return prev && sameRecord(prev.record, record) ? prev : { record, observedAt: now };
}

/** Whether the observed lease is still honoured at `now` (client-go isLeaseValid). */
export function leaseValid(observed: ObservedLease, now: number): boolean {
  return observed.observedAt + observed.record.leaseDurationSeconds * 1000 > now;
}

/**
 * What to do (client-go tryAcquireOrRenew, steps 2-4), given the lease as last observed
 * (undefined: there is none), now on our clock, and our identity:
 *  - absent, released (empty holder) or expired: acquire (one more transition);
 *  - held by us: renew (acquireTime and transitions kept);
 *  - held by another and still valid: wait.
 */
export function decideLease(
  observed: ObservedLease | undefined,
  now: number,
  self: string,
  options: { leaseDurationSeconds: number },
): LeaseDecision {
  const stamp = new Date(now).toISOString();
  const fresh = (acquireTime: string, leaseTransitions: number): LeaseRecord => ({
    holderIdentity: self,
    leaseDurationSeconds: options.leaseDurationSeconds,
    acquireTime,
    renewTime: stamp,
    leaseTransitions,
  });
  if (!observed) return { action: 'acquire', record: fresh(stamp, 0) };
  const cur = observed.record;
  if (cur.holderIdentity === self) return { action: 'renew', record: fresh(cur.acquireTime ?? stamp, cur.leaseTransitions) };
  if (cur.holderIdentity !== '' && leaseValid(observed, now)) return { action: 'wait' };
  return { action: 'acquire', record: fresh(stamp, cur.leaseTransitions + 1) };
}

/** The holder identity: the pod's name (POD_NAME from the downward API, else the hostname) and a random suffix, as client-go users do (`id + "_" + uuid`), so a restarted pod of the same name is a new candidate. */
export function defaultIdentity(): string {
  const base = process.env['POD_NAME'] || os.hostname();
  return `${base}_${randomBytes(4).toString('hex')}`;
}

const timeString = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : v === undefined || v === null ? undefined : String(v));

export function recordOf(lease: V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  const r: LeaseRecord = { holderIdentity: s.holderIdentity ?? '', leaseDurationSeconds: s.leaseDurationSeconds ?? 0, leaseTransitions: s.leaseTransitions ?? 0 };
  const at = timeString(s.acquireTime);
  const rt = timeString(s.renewTime);
  if (at !== undefined) r.acquireTime = at;
  if (rt !== undefined) r.renewTime = rt;
  return r;
}

/** V1MicroTime serialises with the six fractional digits the API server's MicroTime expects. */
function specOf(r: LeaseRecord): V1LeaseSpec {
  const spec: V1LeaseSpec = { holderIdentity: r.holderIdentity, leaseDurationSeconds: r.leaseDurationSeconds, leaseTransitions: r.leaseTransitions };
  if (r.acquireTime) spec.acquireTime = new V1MicroTime(r.acquireTime);
  if (r.renewTime) spec.renewTime = new V1MicroTime(r.renewTime);
  return spec;
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  for (const v of [e?.code, e?.statusCode, e?.response?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Default ambient-controller. */
  name?: string;
  /** Default defaultIdentity(). */
  identity?: string;
  limits?: Partial<LeaderLimits>;
  /** Became leader; `signal` is aborted when leadership ends (lost, or stop()). */
  onStartedLeading?: (signal: AbortSignal) => void;
  /** Leadership ended (after the signal was aborted). */
  onStoppedLeading?: () => void;
  logger?: Logger;
  /** Our clock (tests). */
  now?: () => number;
}

export class LeaderElector {
  readonly identity: string;
  readonly lease: string;
  private readonly api: CoordinationV1Api;
  private readonly namespace: string;
  private readonly name: string;
  private readonly limits: LeaderLimits;
  private readonly log: Logger;
  private readonly now: () => number;
  private observed: ObservedLease | undefined;
  /** The Lease object last read or written: its resourceVersion makes our next write conditional. */
  private current: V1Lease | undefined;
  private leading = false;
  private renewedAt = 0;
  private leadership: AbortController | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private firstAttempt!: () => void;
  private readonly firstAttempted = new Promise<void>((r) => (this.firstAttempt = r));

  constructor(private readonly opts: LeaderElectorOptions) {
    this.identity = opts.identity ?? defaultIdentity();
    this.namespace = opts.namespace;
    this.name = opts.name ?? LEASE_NAME;
    this.lease = `${this.namespace}/${this.name}`;
    this.limits = { ...LEADER_DEFAULTS, ...opts.limits };
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    const { leaseDurationSeconds: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = this.limits;
    // client-go NewLeaderElector's checks: leaseDuration > renewDeadline > JitterFactor(1.2) * retryPeriod.
    if (!Number.isInteger(lease) || lease < 1) throw new RangeError(`leaseDurationSeconds must be a whole number of seconds >= 1, not ${lease}`);
    if (!(lease * 1000 > renew)) throw new RangeError(`leaseDurationSeconds (${lease} s) must be greater than renewDeadlineMs (${renew} ms)`);
    if (!(renew > 1.2 * retry) || retry <= 0) throw new RangeError(`renewDeadlineMs (${renew} ms) must be greater than 1.2 x retryPeriodMs (${retry} ms)`);
  }

  /**
   * Leading now. Besides the flag, the last renewal must be younger than the renew
   * deadline plus one retry period, so that a stalled loop never reports a leadership
   * the others may already consider expired.
   */
  isLeader(): boolean {
    return this.leading && this.now() - this.renewedAt < this.limits.renewDeadlineMs + this.limits.retryPeriodMs;
  }

  /** The holder as last observed ('' released, undefined no Lease seen). */
  holder(): string | undefined {
    return this.observed?.record.holderIdentity;
  }

  /** Starts the loop; resolves after the first attempt (leading or not), which is bounded by the renew deadline. */
  async start(): Promise<void> {
    this.loop ??= this.run().catch((err: Error) => this.log.error({ err: err.message }, 'leader election: loop failed'));
    await this.firstAttempted;
  }

  /**
   * Stops the loop. Leader-only work is stopped first; then, unless `release` is false,
   * the lease is released (client-go ReleaseOnCancel: empty holder, leaseDurationSeconds
   * 1) so another replica takes over at its next retry instead of after a lease duration.
   * `release: false` is a crash as far as the others can tell (tests).
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    if (this.stopping.signal.aborted) {
      await this.loop;
      return;
    }
    this.stopping.abort();
    await this.loop;
    const wasLeading = this.leading;
    this.setLeading(false);
    if (wasLeading && opts.release !== false) await this.release();
  }

  private async run(): Promise<void> {
    const { retryPeriodMs: retry, renewDeadlineMs: deadlineMs } = this.limits;
    while (!this.stopped()) {
      // Acquire (client-go acquire(): JitterUntil(retryPeriod, JitterFactor 1.2)).
      const got = await this.attempt(deadlineMs);
      if (!got || this.stopped()) {
        this.firstAttempt();
        await this.sleep(retry * (1 + Math.random() * 1.2));
        continue;
      }
      // Leading (and the leader-only work started) before start() resolves.
      this.setLeading(true);
      this.firstAttempt();
      // Renew (client-go renew()): every retry period; a round that cannot renew within the
      // renew deadline loses leadership. We also give up at once when the Lease is seen held
      // by another replica: waiting out the deadline could not make it ours again.
      let lost = '';
      while (!this.stopped() && !lost) {
        await this.sleep(retry);
        if (this.stopped()) break;
        const deadline = this.now() + deadlineMs;
        for (;;) {
          if (this.stopped()) break;
          const left = deadline - this.now();
          if (left <= 0) {
            lost = `could not renew within ${deadlineMs} ms`;
            break;
          }
          if (await this.attempt(left)) break;
          const holder = this.observed?.record.holderIdentity;
          if (holder !== undefined && holder !== this.identity && holder !== '') {
            lost = `the lease is held by ${holder}`;
            break;
          }
          await this.sleep(Math.min(retry, Math.max(0, deadline - this.now())));
        }
      }
      if (lost) {
        this.log.warn({ lease: this.lease, identity: this.identity, reason: lost }, 'leader election: lost leadership');
        this.setLeading(false);
      }
    }
    this.firstAttempt();
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) {
      this.log.info({ lease: this.lease, identity: this.identity }, 'leader election: became leader');
      this.leadership = new AbortController();
      try {
        this.opts.onStartedLeading?.(this.leadership.signal);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'leader election: onStartedLeading threw');
      }
    } else {
      this.leadership?.abort();
      this.leadership = undefined;
      this.log.info({ lease: this.lease, identity: this.identity }, 'leader election: stopped leading');
      try {
        this.opts.onStoppedLeading?.();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'leader election: onStoppedLeading threw');
      }
    }
  }

  private stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped() || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.stopping.signal.addEventListener('abort', done);
    });
  }

  /** Request options: abort after `timeoutMs` (and on stop, unless `ignoreStop`), so a hung API call cannot outlive the renew deadline. */
  private requestOptions(timeoutMs: number, ignoreStop = false) {
    const timeout = AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs)));
    const signal = ignoreStop ? timeout : AbortSignal.any([timeout, this.stopping.signal]);
    // The object-parameter API takes the generated client's Observable middleware.
    const middleware: ObservableMiddleware = {
      pre: (ctx) => {
        ctx.setSignal(signal);
        return new Observable(Promise.resolve(ctx));
      },
      post: (res) => new Observable(Promise.resolve(res)),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' as const };
  }

  /** One tryAcquireOrRenew; false on "wait" and on any error (logged). */
  private async attempt(timeoutMs: number): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew(timeoutMs);
    } catch (err) {
      if (this.stopped()) return false;
      const code = statusOf(err);
      const fields = { lease: this.lease, identity: this.identity, status: code, err: (err as Error).message };
      // 409: another replica wrote between our read and our write; the next round re-reads.
      if (code === 409) this.log.debug(fields, 'leader election: lost a write race');
      else this.log.warn(fields, 'leader election: could not acquire or renew the lease');
      return false;
    }
  }

  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const ns = this.namespace;
    const name = this.name;
    // 1. Fast path (client-go): the leader renews optimistically against the object it last
    // wrote; a 409 means someone else wrote since, and the slow path below finds out who.
    if (this.leading && this.current && this.observed && leaseValid(this.observed, this.now())) {
      const d = decideLease(this.observed, this.now(), this.identity, this.limits);
      if (d.action === 'renew') {
        try {
          const written = await this.api.replaceNamespacedLease({ namespace: ns, name, body: { ...this.current, spec: specOf(d.record!) } }, this.requestOptions(timeoutMs));
          this.wrote(written);
          return true;
        } catch (err) {
          if (this.stopped()) throw err;
          this.log.debug({ lease: this.lease, status: statusOf(err), err: (err as Error).message }, 'leader election: optimistic renew failed; re-reading');
        }
      }
    }
    // 2. Read the Lease (absent is fine).
    let cur: V1Lease | undefined;
    try {
      cur = await this.api.readNamespacedLease({ namespace: ns, name }, this.requestOptions(timeoutMs));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const now = this.now();
    this.current = cur;
    this.observed = cur ? observeLease(this.observed, recordOf(cur), now) : undefined;
    // 3. Decide.
    const d = decideLease(this.observed, now, this.identity, this.limits);
    if (d.action === 'wait') return false;
    // 4. Write: create when absent (409 AlreadyExists if another replica created it first),
    // else replace with the resourceVersion we read (409 Conflict if anyone wrote since).
    const spec = specOf(d.record!);
    const written = cur
      ? await this.api.replaceNamespacedLease({ namespace: ns, name, body: { ...cur, spec } }, this.requestOptions(timeoutMs))
      : await this.api.createNamespacedLease({ namespace: ns, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/part-of': 'ambient' } }, spec } }, this.requestOptions(timeoutMs));
    if (d.action === 'acquire') this.log.info({ lease: this.lease, identity: this.identity, previous: cur?.spec?.holderIdentity ?? null }, 'leader election: acquired the lease');
    this.wrote(written);
    return true;
  }

  private wrote(lease: V1Lease): void {
    this.current = lease;
    this.observed = { record: recordOf(lease), observedAt: this.now() };
    this.renewedAt = this.now();
  }

  /** client-go release(): empty holder and leaseDurationSeconds 1, conditional on the object we last wrote. */
  private async release(): Promise<void> {
    const timeout = this.limits.renewDeadlineMs;
    for (let tries = 0; tries < 2 && this.current; tries++) {
      if (this.current.spec?.holderIdentity !== this.identity) return;
      const stamp = new Date(this.now()).toISOString();
      const record: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp, leaseTransitions: this.current.spec?.leaseTransitions ?? 0 };
      try {
        const written = await this.api.replaceNamespacedLease({ namespace: this.namespace, name: this.name, body: { ...this.current, spec: specOf(record) } }, this.requestOptions(timeout, true));
        this.current = written;
        this.observed = { record: recordOf(written), observedAt: this.now() };
        this.log.info({ lease: this.lease, identity: this.identity }, 'leader election: released the lease');
        return;
      } catch (err) {
        // 409: our cached object is stale (e.g. a renewal aborted by stop() went through):
        // re-read once and release if it is still ours.
        if (statusOf(err) !== 409) {
          this.log.warn({ lease: this.lease, status: statusOf(err), err: (err as Error).message }, 'leader election: could not release the lease; it expires after its duration');
          return;
        }
        try {
          this.current = await this.api.readNamespacedLease({ namespace: this.namespace, name: this.name }, this.requestOptions(timeout, true));
        } catch {
          return;
        }
      }
    }
  }
}
