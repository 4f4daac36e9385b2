// Writes each AuthorizationPolicy's status (the Accepted and Enforced conditions translation
// computed, controller/translate/authorization.ts) to the object, through its status
// subresource. Leader-only: every replica translates, only the leader writes. The same
// writer, given another `resource`, writes the RequestAuthentications' statuses
// (controller/translate/request-authentications.ts): both are ambient.dev/v1 kinds whose
// status is a list of conditions.
//
//  - Pure part: desiredConditions() turns translation's conditions into metav1.Conditions
//    (observedGeneration, lastTransitionTime kept from the object's condition of the same
//    type while its status is unchanged), and needsWrite() says whether the object's
//    conditions differ.
//  - The writer: a loop that runs while this replica leads, woken by each translation and
//    every resyncMs (to repair a status someone changed), writing only what differs. It
//    never blocks translation (update() only stores the latest statuses and wakes the
//    loop); each pass is bounded (maxWritesPerPass), a write has a timeout, and failed
//    writes are retried on the next pass after a backoff that doubles up to retryMaxMs.
//
// The object's current status is read from the cluster watch's informer cache, so a pass
// costs one request per status that differs and none otherwise. A status computed from an
// older generation than the cached object is skipped: a newer translation is on its way.
import { answerWithin, PassLoop } from './pass-loop.js';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../core/log.js';
import type { PolicyStatus, StatusCondition } from './translate/translate.js';

/** The status writer's limits (docs/configuration.md). */
export const POLICY_STATUS_DEFAULTS = {
  /** Status writes one pass makes at most; the rest wait for the next pass. */
  maxWritesPerPass: 50,
  /** One status write is abandoned (and retried) after this long. */
  writeTimeoutMs: 10_000,
  /** First retry delay after a failed write; doubles on each failing pass. */
  retryMinMs: 1_000,
  /** Longest retry delay. */
  retryMaxMs: 60_000,
  /** While leading, every status is compared with the object this often, so that one changed by someone else is put back. */
  resyncMs: 60_000,
  /** Characters of a condition message (metav1.Condition allows 32768). */
  maxMessageChars: 32_768,
} as const;

export type PolicyStatusLimits = { -readonly [K in keyof typeof POLICY_STATUS_DEFAULTS]: number };

/** metav1.Condition as written to status.conditions. */
export interface WrittenCondition extends StatusCondition {
  observedGeneration: number;
  /** RFC 3339. */
  lastTransitionTime: string;
}

/** An AuthorizationPolicy as the informer cache holds it: the fields the writer reads. */
export interface CachedPolicy {
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: unknown };
  status?: unknown;
}

const GROUP = 'ambient.dev';
const VERSION = 'v1';

export const AUTHORIZATION_POLICY_RESOURCE = { kind: 'AuthorizationPolicy', plural: 'authorizationpolicies' } as const;
export const REQUEST_AUTHENTICATION_RESOURCE = { kind: 'RequestAuthentication', plural: 'requestauthentications' } as const;
export const TRAFFIC_POLICY_RESOURCE = { kind: 'TrafficPolicy', plural: 'trafficpolicies' } as const;
/** The ambient.dev/v1 kind a writer writes the status of: one of these (literal types, so the RBAC test reads which from the code). */
export type StatusResource = typeof AUTHORIZATION_POLICY_RESOURCE | typeof REQUEST_AUTHENTICATION_RESOURCE | typeof TRAFFIC_POLICY_RESOURCE;

/** The object's status.conditions, read defensively (anything malformed counts as absent). */
export function currentConditions(obj: CachedPolicy | undefined): WrittenCondition[] {
  const s = obj?.status;
  if (s === null || typeof s !== 'object') return [];
  const list = (s as { conditions?: unknown }).conditions;
  if (!Array.isArray(list)) return [];
  return list.filter((c): c is WrittenCondition => c !== null && typeof c === 'object' && typeof (c as { type?: unknown }).type === 'string');
}

/** The conditions to write for `status`, given what the object holds now and the time. */
export function desiredConditions(status: PolicyStatus, current: readonly WrittenCondition[], now: Date, maxMessageChars: number = POLICY_STATUS_DEFAULTS.maxMessageChars): WrittenCondition[] {
  return status.conditions.map((c) => {
    const prev = current.find((p) => p.type === c.type);
    const keep = prev && prev.status === c.status && typeof prev.lastTransitionTime === 'string' && prev.lastTransitionTime !== '';
    return {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message.length > maxMessageChars ? `${c.message.slice(0, maxMessageChars - 3)}...` : c.message,
      observedGeneration: status.generation,
      lastTransitionTime: keep ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  });
}

/** Whether the object's conditions differ from `desired` (order, every field). */
export function needsWrite(current: readonly WrittenCondition[], desired: readonly WrittenCondition[]): boolean {
  if (current.length !== desired.length) return true;
  return desired.some((d, i) => {
    const c = current[i]!;
    return (
      c.type !== d.type ||
      c.status !== d.status ||
      c.reason !== d.reason ||
      c.message !== d.message ||
      c.observedGeneration !== d.observedGeneration ||
      c.lastTransitionTime !== d.lastTransitionTime
    );
  });
}

export interface PolicyStatusWriterOptions {
  kubeConfig: KubeConfig;
  /** Whose status is written; default AUTHORIZATION_POLICY_RESOURCE. */
  resource?: StatusResource;
  /** The objects of that kind as the informer cache holds them now. */
  list: () => readonly CachedPolicy[];
  limits?: Partial<PolicyStatusLimits>;
  logger?: Logger;
  /** For tests: the write itself (default: a merge patch on the status subresource). */
  patch?: (namespace: string, name: string, conditions: WrittenCondition[], signal: AbortSignal) => Promise<void>;
  now?: () => Date;
}

export class PolicyStatusWriter {
  readonly #o: PolicyStatusWriterOptions;
  readonly #l: PolicyStatusLimits;
  readonly #log: Logger;
  readonly #patch: NonNullable<PolicyStatusWriterOptions['patch']>;
  #statuses: readonly PolicyStatus[] = [];
  /** What this writer last wrote per object (conditions without lastTransitionTime) and when:
   * the informer cache shows a write only once its watch event arrives, and a pass in
   * between must not write the same conditions again. */
  #written = new Map<string, { signature: string; at: number }>();
  readonly #loop: PassLoop<{ written: number; failed: number; left: number }>;
  /** Writes made and failed since start, for tests and /debug/status. */
  writes = 0;
  failures = 0;

  readonly #kind: string;

  constructor(o: PolicyStatusWriterOptions) {
    this.#o = o;
    this.#l = { ...POLICY_STATUS_DEFAULTS, ...o.limits };
    this.#log = o.logger ?? silentLogger;
    const resource = o.resource ?? AUTHORIZATION_POLICY_RESOURCE;
    this.#kind = resource.kind;
    this.#loop = new PassLoop({
      timings: () => this.#l,
      pass: (signal) => this.pass(signal),
      logger: this.#log,
      what: `${resource.kind} status`,
      onResult: (r) => {
        if (r.written > 0) this.#log.info({ written: r.written, failed: r.failed, left: r.left }, `controller: ${resource.kind} statuses written`);
      },
    });
    if (o.patch) this.#patch = o.patch;
    else {
      const api = o.kubeConfig.makeApiClient(CustomObjectsApi);
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      this.#patch = async (namespace, name, conditions, signal) => {
        const write = api.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: resource.plural, name, body: { status: { conditions } } }, merge);
        await answerWithin(write, this.#l.writeTimeoutMs, undefined, signal);
      };
    }
  }

  /** The statuses of the latest translation. Never blocks: the leader's loop picks them up. */
  update(statuses: readonly PolicyStatus[]): void {
    this.#statuses = statuses;
    this.#loop.kick();
  }

  /** One pass: writes what differs, at most maxWritesPerPass. Returns the number of failed writes. */
  async pass(signal: AbortSignal): Promise<{ written: number; failed: number; left: number }> {
    const now = (this.#o.now ?? (() => new Date()))();
    let writes = 0;
    let failed = 0;
    let left = 0;
    const nowMs = now.getTime();
    const written = new Map<string, { signature: string; at: number }>();
    const cached = new Map<string, CachedPolicy>();
    for (const o of this.#o.list()) cached.set(`${o?.metadata?.namespace}/${o?.metadata?.name}`, o);
    for (const s of this.#statuses) {
      if (signal.aborted) break;
      const obj = cached.get(`${s.namespace}/${s.name}`);
      if (!obj || obj.metadata?.deletionTimestamp) continue;
      const gen = obj.metadata?.generation;
      if (typeof gen === 'number' && gen !== s.generation) continue; // a newer translation follows
      const current = currentConditions(obj);
      const desired = desiredConditions(s, current, now, this.#l.maxMessageChars);
      const key = `${s.namespace}/${s.name}`;
      const last = this.#written.get(key);
      if (last) written.set(key, last);
      if (!needsWrite(current, desired)) continue;
      const signature = JSON.stringify(desired.map(({ lastTransitionTime: _t, ...rest }) => rest));
      if (last && last.signature === signature && nowMs - last.at < this.#l.resyncMs) continue; // ours, not in the cache yet
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
        const code = (err as { code?: number }).code;
        if (code === 404) continue; // deleted meanwhile
        failed++;
        this.failures++;
        written.delete(key);
        this.#log.warn({ kind: this.#kind, object: key, err: (err as Error).message }, `controller: writing the status of ${this.#kind} ${key} failed; retrying`);
      }
    }
    if (!signal.aborted) this.#written = written; // only the objects still there: bounded by their number
    return { written: writes, failed, left };
  }

  /** The leader-only loop (pass-loop.ts): runs until `signal` aborts (leadership lost, or shutdown). */
  run(signal: AbortSignal): Promise<void> {
    return this.#loop.run(signal);
  }
}
