// Writes each TrafficPolicy's status (the Accepted and Conflicted conditions translation
// computed, controller/translate/traffic-policies.ts) to the object, through its status
// subresource. Leader-only: every replica translates, only the leader writes.
//
// The same writer as the AuthorizationPolicy one (./policy-status.ts), whose pure parts it
// uses (desiredConditions keeps lastTransitionTime while a condition's status is unchanged,
// needsWrite compares), on the shared leader-only loop and write bound (./pass-loop.ts): a
// pass writes only what differs (read from the informer cache), at most maxWritesPerPass,
// each write bounded by writeTimeoutMs, failures retried with a doubling backoff; a status
// computed from an older generation than the cached object is skipped (a newer translation
// is on its way); what this writer just wrote is not written again before its watch event
// reaches the cache.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../core/log.js';
import { answerWithin, PassLoop } from './pass-loop.js';
import { currentConditions, desiredConditions, needsWrite, POLICY_STATUS_DEFAULTS, type CachedPolicy, type PolicyStatusLimits, type WrittenCondition } from './policy-status.js';
import type { PolicyStatus } from './translate/translate.js';

/** Limits: the same table as the AuthorizationPolicy status writer's (docs/configuration.md). */
export const TRAFFIC_POLICY_STATUS_DEFAULTS = POLICY_STATUS_DEFAULTS;

const GROUP = 'ambient.dev';
const VERSION = 'v1';
const PLURAL = 'trafficpolicies';

export interface TrafficPolicyStatusWriterOptions {
  kubeConfig: KubeConfig;
  /** The TrafficPolicies as the informer cache holds them now. */
  list: () => readonly CachedPolicy[];
  limits?: Partial<PolicyStatusLimits>;
  logger?: Logger;
  /** For tests: the write itself (default: a merge patch on the status subresource). */
  patch?: (namespace: string, name: string, conditions: WrittenCondition[], signal: AbortSignal) => Promise<void>;
  now?: () => Date;
}

export class TrafficPolicyStatusWriter {
  readonly #o: TrafficPolicyStatusWriterOptions;
  readonly #l: PolicyStatusLimits;
  readonly #log: Logger;
  readonly #patch: NonNullable<TrafficPolicyStatusWriterOptions['patch']>;
  #statuses: readonly PolicyStatus[] = [];
  #written = new Map<string, { signature: string; at: number }>();
  readonly #loop: PassLoop<{ written: number; failed: number; left: number }>;
  writes = 0;
  failures = 0;

  constructor(o: TrafficPolicyStatusWriterOptions) {
    this.#o = o;
    this.#l = { ...TRAFFIC_POLICY_STATUS_DEFAULTS, ...o.limits };
    this.#log = o.logger ?? silentLogger;
    this.#loop = new PassLoop({
      timings: () => this.#l,
      pass: (signal) => this.pass(signal),
      logger: this.#log,
      what: 'TrafficPolicy status',
      onResult: (r) => {
        if (r.written > 0) this.#log.info({ written: r.written, failed: r.failed, left: r.left }, 'controller: TrafficPolicy statuses written');
      },
    });
    if (o.patch) this.#patch = o.patch;
    else {
      const api = o.kubeConfig.makeApiClient(CustomObjectsApi);
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      this.#patch = async (namespace, name, conditions, signal) => {
        const write = api.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status: { conditions } } }, merge);
        await answerWithin(write, this.#l.writeTimeoutMs, undefined, signal);
      };
    }
  }

  /** The statuses of the latest translation. Never blocks: the leader's loop picks them up. */
  update(statuses: readonly PolicyStatus[]): void {
    this.#statuses = statuses;
    this.#loop.kick();
  }

  /** One pass: writes what differs, at most maxWritesPerPass. */
  async pass(signal: AbortSignal): Promise<{ written: number; failed: number; left: number }> {
    const now = (this.#o.now ?? (() => new Date()))();
    const nowMs = now.getTime();
    let writes = 0;
    let failed = 0;
    let left = 0;
    const written = new Map<string, { signature: string; at: number }>();
    const cached = new Map<string, CachedPolicy>();
    for (const o of this.#o.list()) cached.set(`${o?.metadata?.namespace}/${o?.metadata?.name}`, o);
    for (const s of this.#statuses) {
      if (signal.aborted) break;
      const key = `${s.namespace}/${s.name}`;
      const obj = cached.get(key);
      if (!obj || obj.metadata?.deletionTimestamp) continue;
      const gen = obj.metadata?.generation;
      if (typeof gen === 'number' && gen !== s.generation) continue;
      const current = currentConditions(obj);
      const desired = desiredConditions(s, current, now, this.#l.maxMessageChars);
      const last = this.#written.get(key);
      if (last) written.set(key, last);
      if (!needsWrite(current, desired)) continue;
      const signature = JSON.stringify(desired.map(({ lastTransitionTime: _t, ...rest }) => rest));
      if (last && last.signature === signature && nowMs - last.at < this.#l.resyncMs) continue;
      if (writes + failed >= this.#l.maxWritesPerPass) {
        left++;
        continue;
      }
      try {
        await this.#patch(s.namespace, s.name, desired, signal);
        writes++;
        this.writes++;
        written.set(key, { signature, at: nowMs });
      } catch (err) {
        if ((err as { code?: number }).code === 404) continue;
        failed++;
        this.failures++;
        written.delete(key);
        this.#log.warn({ policy: key, err: (err as Error).message }, 'controller: writing a TrafficPolicy status failed; retrying');
      }
    }
    if (!signal.aborted) this.#written = written;
    return { written: writes, failed, left };
  }

  /** The leader-only loop: runs until `signal` aborts (leadership lost, or shutdown). */
  run(signal: AbortSignal): Promise<void> {
    return this.#loop.run(signal);
  }
}
