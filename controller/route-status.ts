// Writes each HTTPRoute's and GRPCRoute's status (controller/translate/routes.ts computes
// it) to the object, through its status subresource, in the Gateway API's form:
// `status.parents[] = {parentRef, controllerName, conditions}`. Leader-only, like the
// AuthorizationPolicy status writer (./policy-status.ts), whose loop this copies.
//
// The specification's rules for RouteStatus.parents (apis/v1/shared_types.go):
//  - entries are keyed by parentRef + controllerName; only ours (controllerName
//    ambient.dev/waypoint) are written, entries of other controllers (a Gateway
//    implementation's) are kept as they are (listed first, ours after them);
//  - our entry for a parentRef the route no longer names is removed;
//  - read-modify-write: the new list is built from the cached object, and the patch carries
//    its metadata.resourceVersion, so a write over a newer object fails (409) and is redone
//    from the newer cache on the next pass;
//  - conditions carry observedGeneration; lastTransitionTime is kept while a condition's
//    status is unchanged; a status computed from an older generation than the cached
//    object is not written (a newer translation is on its way).
import { answerWithin, PassLoop } from './pass-loop.js';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { canonicalJson } from '../core/config/diff.js';
import { silentLogger, type Logger } from '../core/log.js';
import { POLICY_STATUS_DEFAULTS, type PolicyStatusLimits, type WrittenCondition } from './policy-status.js';
import { ROUTE_CONTROLLER_NAME, type RouteObject, type RouteStatus, type StatusParentRef } from './translate/routes.js';

/** Limits: the same table as the policy status writer's (docs/configuration.md). */
export const ROUTE_STATUS_DEFAULTS = POLICY_STATUS_DEFAULTS;

/** The Gateway API's cap on status.parents. */
export const MAX_ROUTE_PARENT_STATUSES = 32;

export interface WrittenParentStatus {
  parentRef: StatusParentRef;
  controllerName: string;
  conditions: WrittenCondition[];
}

const GROUP = 'gateway.networking.k8s.io';
const VERSION = 'v1';
const PLURAL = { HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes' } as const;

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The object's status.parents, read defensively (a malformed entry is kept as is, never ours). */
export function currentParents(obj: RouteObject | undefined): unknown[] {
  const s = obj?.status;
  if (!isObj(s) || !Array.isArray(s.parents)) return [];
  return s.parents;
}

function isOurs(entry: unknown): entry is WrittenParentStatus {
  return isObj(entry) && entry.controllerName === ROUTE_CONTROLLER_NAME && isObj(entry.parentRef);
}

/** Two parentRefs name the same parent (group, kind, namespace, name, sectionName, port). */
export function sameParentRef(a: unknown, b: StatusParentRef): boolean {
  if (!isObj(a)) return false;
  return (a.group ?? 'gateway.networking.k8s.io') === b.group && (a.kind ?? 'Gateway') === b.kind && a.name === b.name && a.namespace === b.namespace && a.sectionName === b.sectionName && a.port === b.port;
}

/** The status.parents to write: others' entries kept in place, ours replaced by `status`'s. */
export function desiredParents(status: RouteStatus, current: readonly unknown[], now: Date, maxMessageChars: number = ROUTE_STATUS_DEFAULTS.maxMessageChars): unknown[] {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ours = status.parents.map((p): WrittenParentStatus => {
    const prev = current.find((c) => isOurs(c) && sameParentRef(c.parentRef, p.parentRef)) as WrittenParentStatus | undefined;
    const prevConditions = Array.isArray(prev?.conditions) ? prev.conditions : [];
    return {
      parentRef: p.parentRef,
      controllerName: ROUTE_CONTROLLER_NAME,
      conditions: p.conditions.map((c) => {
        const before = prevConditions.find((x) => isObj(x) && x.type === c.type);
        const keep = before && before.status === c.status && typeof before.lastTransitionTime === 'string' && before.lastTransitionTime !== '';
        return {
          type: c.type,
          status: c.status,
          reason: c.reason,
          message: c.message.length > maxMessageChars ? `${c.message.slice(0, maxMessageChars - 3)}...` : c.message,
          observedGeneration: status.generation,
          lastTransitionTime: keep ? before.lastTransitionTime : stamp,
        };
      }),
    };
  });
  const others = current.filter((c) => !isOurs(c));
  return [...others, ...ours].slice(0, MAX_ROUTE_PARENT_STATUSES);
}

/** Whether the object's status.parents differ from `desired`. */
export function parentsNeedWrite(current: readonly unknown[], desired: readonly unknown[]): boolean {
  return canonicalJson(current) !== canonicalJson(desired);
}

export interface RouteStatusWriterOptions {
  kubeConfig: KubeConfig;
  /** The routes of a kind as the informer cache holds them now. */
  list: (kind: 'HTTPRoute' | 'GRPCRoute') => readonly RouteObject[];
  limits?: Partial<PolicyStatusLimits>;
  logger?: Logger;
  /** For tests: the write itself (default: a merge patch on the status subresource). */
  patch?: (kind: 'HTTPRoute' | 'GRPCRoute', namespace: string, name: string, resourceVersion: string | undefined, parents: unknown[], signal: AbortSignal) => Promise<void>;
  now?: () => Date;
}

export class RouteStatusWriter {
  readonly #o: RouteStatusWriterOptions;
  readonly #l: PolicyStatusLimits;
  readonly #log: Logger;
  readonly #patch: NonNullable<RouteStatusWriterOptions['patch']>;
  #statuses: readonly RouteStatus[] = [];
  /** What this writer last wrote per object and when (the cache shows a write only once its watch event arrives). */
  #written = new Map<string, { signature: string; at: number }>();
  readonly #loop: PassLoop<{ written: number; failed: number; left: number }>;
  writes = 0;
  failures = 0;

  constructor(o: RouteStatusWriterOptions) {
    this.#o = o;
    this.#l = { ...ROUTE_STATUS_DEFAULTS, ...o.limits };
    this.#log = o.logger ?? silentLogger;
    this.#loop = new PassLoop({
      timings: () => this.#l,
      pass: (signal) => this.pass(signal),
      logger: this.#log,
      what: 'route status',
      onResult: (r) => {
        if (r.written > 0) this.#log.info({ written: r.written, failed: r.failed, left: r.left }, 'controller: route statuses written');
      },
    });
    if (o.patch) this.#patch = o.patch;
    else {
      const api = o.kubeConfig.makeApiClient(CustomObjectsApi);
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      this.#patch = async (kind, namespace, name, resourceVersion, parents, signal) => {
        const body = { ...(resourceVersion ? { metadata: { resourceVersion } } : {}), status: { parents } };
        const write = api.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: PLURAL[kind], name, body }, merge);
        await answerWithin(write, this.#l.writeTimeoutMs, undefined, signal);
      };
    }
  }

  /** The statuses of the latest translation. Never blocks: the leader's loop picks them up. */
  update(statuses: readonly RouteStatus[]): void {
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
    const cached = new Map<string, RouteObject>();
    for (const kind of ['HTTPRoute', 'GRPCRoute'] as const) for (const o of this.#o.list(kind)) cached.set(`${kind}/${o?.metadata?.namespace}/${o?.metadata?.name}`, o);
    for (const s of this.#statuses) {
      if (signal.aborted) break;
      const key = `${s.routeKind}/${s.namespace}/${s.name}`;
      const obj = cached.get(key);
      if (!obj || obj.metadata?.deletionTimestamp) continue;
      const gen = obj.metadata?.generation;
      if (typeof gen === 'number' && gen !== s.generation) continue; // a newer translation follows
      const current = currentParents(obj);
      const desired = desiredParents(s, current, now, this.#l.maxMessageChars);
      const last = this.#written.get(key);
      if (last) written.set(key, last);
      if (!parentsNeedWrite(current, desired)) continue;
      const signature = JSON.stringify(desired, (k, v: unknown) => (k === 'lastTransitionTime' ? undefined : v));
      if (last && last.signature === signature && nowMs - last.at < this.#l.resyncMs) continue; // ours, not in the cache yet
      if (writes + failed >= this.#l.maxWritesPerPass) {
        left++;
        continue;
      }
      try {
        await this.#patch(s.routeKind, s.namespace, s.name, obj.metadata?.resourceVersion, desired, signal);
        writes++;
        this.writes++;
        written.set(key, { signature, at: nowMs });
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === 404) continue; // deleted meanwhile
        failed++;
        this.failures++;
        written.delete(key);
        this.#log.warn({ route: key, err: (err as Error).message }, 'controller: writing a route status failed; retrying');
      }
    }
    if (!signal.aborted) this.#written = written;
    return { written: writes, failed, left };
  }

  /** The leader-only loop (pass-loop.ts): runs until `signal` aborts (leadership lost, or shutdown). */
  run(signal: AbortSignal): Promise<void> {
    return this.#loop.run(signal);
  }
}
