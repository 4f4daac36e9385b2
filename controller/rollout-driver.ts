// The rollout driver (leader only): every Rollout.ambient.dev/v1 moves its Service's
// HTTPRoute weights step by step (docs/traffic-management.md "Canary rollouts"). The state
// machine is controller/rollout-plan.ts; this module does the I/O, in passes of the shared
// leader loop (./pass-loop.ts), woken by every change of a Rollout, every resyncMs and when
// a decision asks to look again (wakeInMs). Each pass, for each Rollout:
//   1. read it (from the API server, not a cache: its status is where the state lives) and
//      its spec (./rollout-spec.ts; a bad spec is said in status.message, nothing else done);
//   2. scrape the /metrics of the waypoint pods serving the Service (while it progresses),
//      counting the canary's requests (./rollout-gates.ts) against the counters held in
//      memory since the step began;
//   3. planRollout(spec, status, now, window);
//   4. set the HTTPRoute's weights (core/kube/traffic-split.ts) when they differ, and only
//      then write the status subresource, so a restart never finds a status ahead of the
//      route.
// Writes per pass are bounded (maxWritesPerPass), every request has a timeout, a failure is
// logged and retried with backoff, never thrown. A new leader starts the step's measurement
// afresh (rollout-plan.ts explains why that is safe).
//
// Which requests are the canary's: see ./rollout-gates.ts. The waypoints name a workload by
// its canonical name (the `app` label...): when the stable and the canary run as the same
// workload name, their requests cannot be told apart and the rollout holds, saying so.
import http from 'node:http';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { PatchStrategy } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../core/log.js';
import { MESH_PORTS } from '../core/ports.js';
import { kubeRequest, KubeRequestError } from '../core/kube/rest.js';
import { watchResource, type ResourceRef, type Watched } from '../core/kube/informer.js';
import { parsePrometheusText } from '../core/observe/prom-text.js';
import { planSplit, type HTTPRouteObject } from '../core/kube/traffic-split.js';
import { answerWithin, PassLoop } from './pass-loop.js';
import { canaryCounters, canaryWindow, type CanaryCounters } from './rollout-gates.js';
import { planRollout, rolloutRevision, type CanaryWindow, type RolloutStatus } from './rollout-plan.js';
import { readRolloutSpec } from './rollout-spec.js';
import { rolloutClaim, serviceDriver, type RolloutClaim } from './rollout-claims.js';
import { readStoredStatus, serviceWaypoint, serviceWorkloads, statusDiffers, storedStatus, waypointPods, type ClusterView, type WaypointPod } from './rollout-targets.js';

export const ROLLOUT_DRIVER_DEFAULTS = {
  /** Every Rollout is looked at this often at least (a Progressing one also when its decision asks). */
  resyncMs: 5_000,
  /** First retry delay after a failed pass; doubles on each failing pass. */
  retryMinMs: 1_000,
  /** Longest retry delay. */
  retryMaxMs: 60_000,
  /** Writes (route and status) one pass makes at most; the rest wait for the next pass. */
  maxWritesPerPass: 20,
  /** One API request is abandoned (and retried) after this long. */
  requestTimeoutMs: 10_000,
  /** One waypoint pod's /metrics is abandoned after this long. */
  scrapeTimeoutMs: 3_000,
  /** A /metrics answer larger than this is refused. */
  maxMetricsBytes: 16 * 1024 * 1024,
  /** Waypoint pods scraped per Rollout at most. */
  maxWaypointPods: 32,
  /** Rollouts handled at most (the rest are logged and left alone). */
  maxRollouts: 500,
} as const;

export type RolloutDriverLimits = { -readonly [K in keyof typeof ROLLOUT_DRIVER_DEFAULTS]: number };

/** Reads one waypoint pod's Prometheus text (the seam tests fill with a fake). */
export type MetricsSource = (pod: WaypointPod, signal: AbortSignal) => Promise<string>;

const ROLLOUTS: ResourceRef = { apiVersion: 'ambient.dev/v1', kind: 'Rollout', plural: 'rollouts' };
const ROLLOUTS_PATH = (ns: string) => `/apis/ambient.dev/v1/namespaces/${encodeURIComponent(ns)}/rollouts`;
const ROUTES_PATH = (ns: string) => `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/httproutes`;

interface RolloutObject extends KubernetesObject {
  spec?: unknown;
  status?: unknown;
}

/** GET http://<pod ip>:15020/metrics, bounded in time and size. */
export function httpMetricsSource(timeoutMs: number = ROLLOUT_DRIVER_DEFAULTS.scrapeTimeoutMs, maxBytes: number = ROLLOUT_DRIVER_DEFAULTS.maxMetricsBytes): MetricsSource {
  return (pod, signal) =>
    new Promise<string>((resolve, reject) => {
      const req = http.get({ host: pod.ip, port: MESH_PORTS.metrics, path: '/metrics', timeout: timeoutMs, signal, headers: { accept: 'text/plain' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) req.destroy(new Error(`larger than ${maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`answered ${res.statusCode}`))));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
    });
}

export interface RolloutDriverOptions {
  kubeConfig: KubeConfig;
  /** Namespaces, pods, Services and EndpointSlices as the controller's cache holds them. */
  view: () => ClusterView;
  /** Default: httpMetricsSource (the waypoint pods' IPs, port 15020). */
  metrics?: MetricsSource;
  limits?: Partial<RolloutDriverLimits>;
  logger?: Logger;
  now?: () => number;
}

/** The canary's counters at the start of the current step, per waypoint pod. */
interface HeldWindow {
  /** Which step of which rollout it measures. */
  key: string;
  startedAt: number;
  baseline: Map<string, CanaryCounters>;
}

type Scrape = { ok: true; counters: Map<string, CanaryCounters>; pods: WaypointPod[]; unreachable: string[] } | { ok: false; why: string };

const windowKey = (s: RolloutStatus) => `${s.revision}|${s.step}|${s.stepStartedAt}`;

function statusOf(err: unknown): number | undefined {
  if (err instanceof KubeRequestError) return err.statusCode;
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

export class RolloutDriver {
  readonly #o: RolloutDriverOptions;
  readonly #l: RolloutDriverLimits;
  readonly #log: Logger;
  readonly #metrics: MetricsSource;
  readonly #loop: PassLoop<{ written: number; failed: number; left: number }>;
  #informer?: Watched<RolloutObject>;
  #windows = new Map<string, HeldWindow>();
  #wakeTimer?: NodeJS.Timeout;
  writes = 0;
  failures = 0;
  passes = 0;

  constructor(o: RolloutDriverOptions) {
    this.#o = o;
    this.#l = { ...ROLLOUT_DRIVER_DEFAULTS, ...o.limits };
    this.#log = o.logger ?? silentLogger;
    this.#metrics = o.metrics ?? httpMetricsSource(this.#l.scrapeTimeoutMs, this.#l.maxMetricsBytes);
    this.#loop = new PassLoop({ timings: () => this.#l, pass: (signal) => this.pass(signal), logger: this.#log, what: 'rollout driver' });
  }

  #req<T>(method: string, path: string, body?: unknown, type?: string): Promise<T> {
    return answerWithin(kubeRequest<T>(this.#o.kubeConfig, method, path, body, type), this.#l.requestTimeoutMs, `${method} ${path}`);
  }

  async #scrape(view: ClusterView, namespace: string, service: string, workloads: ReadonlySet<string>, signal: AbortSignal): Promise<Scrape> {
    const w = serviceWaypoint(view, namespace, service);
    if (!w) return { ok: false, why: `Service ${namespace}/${service} has no waypoint (label ambient.dev/use-waypoint): its requests are not measured` };
    const pods = waypointPods(view, w, this.#l.maxWaypointPods);
    if (pods.length === 0) return { ok: false, why: `waypoint ${w.namespace}/${w.name} has no running pod with an IP` };
    const counters = new Map<string, CanaryCounters>();
    const unreachable: string[] = [];
    const sel = { service, namespace, workloads };
    await Promise.all(
      pods.map(async (p) => {
        try {
          const text = await answerWithin(this.#metrics(p, signal), this.#l.scrapeTimeoutMs, `GET ${p.ip}:${MESH_PORTS.metrics}/metrics`, signal);
          counters.set(p.name, canaryCounters(parsePrometheusText(text).samples, sel));
        } catch (err) {
          unreachable.push(`${p.namespace}/${p.name} (${p.ip}): ${(err as Error).message}`);
        }
      }),
    );
    if (counters.size === 0) return { ok: false, why: `no waypoint pod answered on :${MESH_PORTS.metrics}/metrics (${unreachable.join('; ')})` };
    return { ok: true, counters, pods, unreachable };
  }

  /** The window since the held baseline; pods missing from the baseline that existed before it are adopted now (their past is not the step's). */
  #window(held: HeldWindow, scrape: Extract<Scrape, { ok: true }>): CanaryWindow {
    for (const p of scrape.pods) {
      const c = scrape.counters.get(p.name);
      if (c && !held.baseline.has(p.name) && p.createdAt <= held.startedAt) held.baseline.set(p.name, c);
    }
    return canaryWindow(held.startedAt, held.baseline, scrape.counters);
  }

  /** The name of the Rollout driving Service `namespace/service` (rollout-claims.ts), `obj` as just read, the others as cached. */
  #driverOf(namespace: string, obj: RolloutObject, service: string): string | undefined {
    const name = obj.metadata?.name;
    const claims: RolloutClaim[] = [];
    for (const o of this.#informer?.list() ?? []) {
      if (o.metadata?.namespace !== namespace || o.metadata?.name === name) continue;
      const c = rolloutClaim(o);
      if (c) claims.push(c);
    }
    const own = rolloutClaim(obj);
    if (own) claims.push(own);
    return serviceDriver(claims, service)?.name;
  }

  /** One pass over every Rollout. */
  async pass(signal: AbortSignal): Promise<{ written: number; failed: number; left: number }> {
    const now = (this.#o.now ?? Date.now)();
    let written = 0;
    let failed = 0;
    let left = 0;
    let wake: number | undefined;
    const listed = [...(this.#informer?.list() ?? [])]
      .map((r) => ({ namespace: r.metadata?.namespace ?? '', name: r.metadata?.name ?? '' }))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    if (listed.length > this.#l.maxRollouts) this.#log.warn({ rollouts: listed.length, max: this.#l.maxRollouts }, 'controller: rollout driver: more Rollouts than it handles; the rest are left alone');
    const seen = new Set<string>();
    for (const { namespace, name } of listed.slice(0, this.#l.maxRollouts)) {
      if (signal.aborted) break;
      const key = `${namespace}/${name}`;
      seen.add(key);
      if (written + failed >= this.#l.maxWritesPerPass) {
        left++;
        continue;
      }
      try {
        const r = await this.#one(namespace, name, now, signal, () => written + failed < this.#l.maxWritesPerPass);
        written += r.written;
        if (r.left) left++;
        if (r.wakeInMs !== undefined) wake = Math.min(wake ?? Infinity, r.wakeInMs);
      } catch (err) {
        if (statusOf(err) === 404) continue; // deleted meanwhile
        failed++;
        this.failures++;
        this.#log.warn({ rollout: key, err: (err as Error).message }, 'controller: rollout driver: reconciling a Rollout failed; retrying');
      }
    }
    for (const k of [...this.#windows.keys()]) if (!seen.has(k)) this.#windows.delete(k);
    clearTimeout(this.#wakeTimer);
    if (wake !== undefined && !signal.aborted) {
      this.#wakeTimer = setTimeout(() => this.#loop.kick(), Math.max(1, wake));
      this.#wakeTimer.unref();
    }
    this.passes++;
    return { written, failed, left };
  }

  async #one(namespace: string, name: string, now: number, signal: AbortSignal, budget: () => boolean): Promise<{ written: number; left: boolean; wakeInMs?: number }> {
    const key = `${namespace}/${name}`;
    let written = 0;
    const obj = await this.#req<RolloutObject>('GET', `${ROLLOUTS_PATH(namespace)}/${encodeURIComponent(name)}`);
    if (obj.metadata?.deletionTimestamp) return { written, left: false };
    const generation = obj.metadata?.generation;
    const writeStatus = async (desired: Record<string, unknown>): Promise<void> => {
      if (!statusDiffers(obj.status, desired)) return;
      await this.#req('PATCH', `${ROLLOUTS_PATH(namespace)}/${encodeURIComponent(name)}/status`, { status: desired }, PatchStrategy.MergePatch);
      written++;
      this.writes++;
    };
    const read = readRolloutSpec(obj.spec);
    const previous = readStoredStatus(obj.status);
    if (!read.ok) {
      // Nothing is moved on a spec that cannot be read; the status says why.
      await writeStatus({ message: `invalid spec: ${read.message}`, ...(generation !== undefined ? { observedGeneration: generation } : {}) });
      this.#windows.delete(key);
      return { written, left: false };
    }
    const spec = read.spec;
    const view = this.#o.view();
    const revision = rolloutRevision(spec);
    const sameRollout = previous !== undefined && previous.revision === revision;
    // A finished rollout has set its last weights (the route is written before the status
    // that says so) and no longer owns them: it neither measures nor writes the route, so
    // `traffic split` by hand or another Rollout of the Service is not put back every pass.
    const finished = sameRollout && (previous.phase === 'Succeeded' || previous.phase === 'RolledBack');
    const running = !spec.paused && !spec.abort && !finished;

    // Another Rollout drives this Service: this one waits, writing nothing but its status.
    const driver = finished ? undefined : this.#driverOf(namespace, obj, spec.service);
    if (driver !== undefined && driver !== name) {
      this.#windows.delete(key);
      const why = `Service ${spec.service}'s weights are driven by Rollout ${namespace}/${driver}; this one waits until that one has finished or is deleted`;
      if (spec.abort) {
        // Aborted while waiting: it ends, without touching the route it does not drive.
        await writeStatus(storedStatus(planRollout(spec, previous, now, undefined).status, generation));
        return { written, left: false };
      }
      if (previous && sameRollout) await writeStatus(storedStatus({ ...previous, message: `${previous.message.replace(/ \(holding: .*\)$/, '')} (holding: ${why})` }, generation));
      else await writeStatus({ message: `waiting: ${why}` });
      return { written, left: false, wakeInMs: this.#l.resyncMs };
    }

    // The canary's measurement since the step began.
    let window: CanaryWindow | undefined;
    let scrape: Scrape | undefined;
    let hold: string | undefined;
    if (running) {
      const canary = serviceWorkloads(view, namespace, spec.canary);
      const stable = serviceWorkloads(view, namespace, spec.stable);
      const shared = [...canary].filter((w) => stable.has(w));
      if (shared.length > 0) {
        hold = `the canary's requests cannot be told from the stable's: both run as workload ${shared.join(', ')} (the waypoints name workloads by label service.istio.io/canonical-name, app.kubernetes.io/name or app); give ${spec.canary}'s pods another`;
      } else {
        scrape = await this.#scrape(view, namespace, spec.service, canary, signal);
        if (!scrape.ok) hold = `cannot measure the canary: ${scrape.why}`;
        else {
          if (scrape.unreachable.length > 0) this.#log.warn({ rollout: key, unreachable: scrape.unreachable }, 'controller: rollout driver: some waypoint pods did not answer; judging on the others');
          const held = this.#windows.get(key);
          if (held && sameRollout && held.key === windowKey(previous)) window = this.#window(held, scrape);
        }
      }
    }
    const decision = planRollout(spec, previous, now, hold ? undefined : window);
    let status = decision.status;
    if (hold && status.phase === 'Progressing') {
      // Held: the step does not advance or judge (without a window the plan does neither),
      // the status says why. The plan's status, not the stored one: a rollout resumed while
      // it cannot be measured is Progressing (held), not still Paused.
      status = { ...status, message: `${status.message.replace(/ \(holding: .*\)$/, '')} (holding: ${hold})` };
    }
    if (finished) {
      await writeStatus(storedStatus(status, generation));
      this.#windows.delete(key);
      return { written, left: false };
    }

    // The route first: a status is never ahead of the weights it describes.
    const routes = (await this.#req<{ items?: HTTPRouteObject[] }>('GET', ROUTES_PATH(namespace))).items ?? [];
    const write = planSplit({
      namespace,
      service: spec.service,
      routes,
      services: view.services.filter((s) => s.metadata?.namespace === namespace),
      weights: [
        { name: spec.stable, weight: decision.weights.stable },
        { name: spec.canary, weight: decision.weights.canary },
      ],
    });
    if (write.verb === 'refuse') {
      const base = previous && sameRollout ? previous : status;
      await writeStatus(storedStatus({ ...base, message: `cannot set the weights of Service ${spec.service}: ${write.message}` }, generation));
      return { written, left: false, wakeInMs: this.#l.resyncMs };
    }
    if (write.verb !== 'none') {
      if (!budget()) return { written, left: true };
      if (write.verb === 'create') await this.#req('POST', ROUTES_PATH(namespace), write.body);
      else await this.#req('PATCH', `${ROUTES_PATH(namespace)}/${encodeURIComponent(write.name)}`, write.body, PatchStrategy.MergePatch);
      written++;
      this.writes++;
      this.#log.info({ rollout: key, route: `${namespace}/${write.name}`, stable: decision.weights.stable, canary: decision.weights.canary }, `controller: rollout driver: ${write.verb === 'create' ? 'created' : 'set the weights of'} HTTPRoute`);
    }
    if (!budget()) return { written, left: true };
    const before = previous?.phase;
    await writeStatus(storedStatus(status, generation));
    if (before !== status.phase) this.#log.info({ rollout: key, phase: status.phase, step: status.step, canaryWeight: status.canaryWeight, message: status.message }, 'controller: rollout phase');

    // The measurement for the (new) step starts from what was read now.
    if (decision.resetWindow && !hold && scrape?.ok) this.#windows.set(key, { key: windowKey(status), startedAt: now, baseline: new Map(scrape.counters) });
    else if (!running || decision.resetWindow) this.#windows.delete(key);
    return { written, left: false, ...(decision.wakeInMs !== undefined ? { wakeInMs: decision.wakeInMs } : hold ? { wakeInMs: this.#l.resyncMs } : {}) };
  }

  /** The leader-only loop: watches the Rollouts and converges, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    // What a previous term measured may be stale (another leader moved the rollout meanwhile).
    this.#windows = new Map();
    this.#informer = watchResource<RolloutObject>(this.#o.kubeConfig, ROLLOUTS, { logger: this.#log, onChange: () => this.#loop.kick() });
    const informer = this.#informer;
    try {
      await Promise.race([informer.synced, new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }))]);
      await this.#loop.run(signal);
    } finally {
      clearTimeout(this.#wakeTimer);
      await informer.stop().catch(() => {});
      if (this.#informer === informer) this.#informer = undefined;
    }
  }
}
