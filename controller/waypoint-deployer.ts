// The waypoint deployer (leader-only): every Gateway of class ambient-waypoint becomes a
// running waypoint, its ServiceAccount, Deployment and Service rendered from
// manifests/waypoint.yaml (controller/waypoint-plan.ts decides, this module does the I/O,
// through @kubernetes/client-node, on the local cluster and on Kubernetes alike), and its
// status written back (controller/waypoint-status.ts). It also makes sure the GatewayClass
// ambient-waypoint exists (controllerName ambient.dev/waypoint) and is Accepted.
//
// A GatewayClass ambient-waypoint that names another controller (read again every
// resyncMs) is not ours to implement: no Gateway of it is deployed or has its status
// written, the waypoint objects this controller deployed are removed (they would stand in
// the way of the class's own controller), and the log says so once per change. The
// translation side does not follow: a Service or pod labelled to use such a waypoint is
// still sent to the waypoint's Service, so its traffic fails while nobody deploys the
// waypoint instead of going around it. Whoever labelled it relies on that waypoint's L7
// policy; a silent bypass would drop those policies, where a failure is seen and reported
// (the Gateway's "its Service does not exist" problem). The translation cannot tell either
// whether another controller deploys the waypoint, in which case binding is right.
//
// While this replica leads, run() watches the Gateways and the objects it manages (label
// ambient.dev/managed-by=ambient-controller) and converges in passes, woken by every change
// and every resyncMs: create what is missing, patch what differs, delete managed objects
// whose Gateway is gone or no longer deployable (explicitly, by label: the GatewayClass may
// change, and a cluster without a garbage collector leaves them otherwise), and write each
// Gateway's status when it differs. Objects of a waypoint's names that it does not manage
// are never touched. A pass is bounded (maxWritesPerPass), each request has a timeout,
// failed passes are retried with a doubling backoff; losing leadership stops the watches.
import { answerWithin, PassLoop } from './pass-loop.js';
import { readFileSync } from 'node:fs';
import { CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../core/log.js';
import { watchResource, type ResourceRef, type Watched } from '../core/kube/informer.js';
import { WAYPOINT_GATEWAY_CLASS } from './translate/objects.js';
import type { Gateway } from './translate/input.js';
import {
  checkWaypointGateway,
  desiredWaypointObjects,
  foreignClassMessage,
  gatewayClassOwner,
  isManaged,
  isWaypointGateway,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  orphanedWaypointObjects,
  parseWaypointTemplate,
  planWaypoint,
  WAYPOINT_DEPLOY_DEFAULTS,
  WAYPOINT_CONTROLLER_NAME,
  WAYPOINT_KINDS,
  type DeploySettings,
  type GatewayClassOwner,
  type Existing,
  type Obj,
  type WaypointAction,
  type WaypointDeployLimits,
  type WaypointKind,
  type WaypointTemplate,
} from './waypoint-plan.js';
import { gatewayStatus, missingKinds, statusDiffers, type GatewayStatus, type ObservedDeployment, type ObservedService } from './waypoint-status.js';

export { WAYPOINT_CONTROLLER_NAME };

/** The template shipped with the controller: manifests/waypoint.yaml, next to dist/ in the repository and in the image. */
export const DEFAULT_TEMPLATE_FILE = new URL('../../manifests/waypoint.yaml', import.meta.url);

/** Reads and checks a template file; throws MeshError AMB_WAYPOINT_TEMPLATE_INVALID. */
export function loadWaypointTemplate(file: string | URL = DEFAULT_TEMPLATE_FILE): WaypointTemplate {
  const name = file instanceof URL ? file.pathname : file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return parseWaypointTemplate(`kind: [unreadable: ${(err as Error).message}]`, name);
  }
  return parseWaypointTemplate(text, name);
}

const REFS = {
  Gateway: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', plural: 'gateways' },
  GatewayClass: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', plural: 'gatewayclasses' },
  ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  Deployment: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  Service: { apiVersion: 'v1', kind: 'Service', plural: 'services' },
} as const satisfies { readonly [K in WaypointKind | 'Gateway' | 'GatewayClass']: ResourceRef };

/** A rendered waypoint object: parseWaypointTemplate admits no other kinds (typed so, the RBAC test reads them from here). */
type WaypointObject = { [K in WaypointKind]: { apiVersion: (typeof REFS)[K]['apiVersion']; kind: K; metadata: { name: string; namespace?: string } } }[WaypointKind];

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  for (const v of [e?.code, e?.statusCode, e?.response?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

/** The API the deployer writes through (tests may replace it). */
export interface DeployerApi {
  create(body: Obj): Promise<void>;
  patch(body: Obj): Promise<void>;
  delete(kind: WaypointKind, namespace: string, name: string, uid?: string): Promise<void>;
  read(kind: WaypointKind, namespace: string, name: string): Promise<Obj | undefined>;
  patchGatewayStatus(namespace: string, name: string, status: GatewayStatus): Promise<void>;
  /** Creates the GatewayClass when missing and marks it Accepted when ours; says whose it is. */
  ensureGatewayClass(): Promise<GatewayClassOwner>;
}

export function clientApi(kc: KubeConfig, timeoutMs: number): DeployerApi {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const t = <T>(p: Promise<T>, what: string) => answerWithin(p, timeoutMs, what);
  const header = (kind: WaypointKind, namespace: string, name: string): WaypointObject => ({ apiVersion: REFS[kind].apiVersion, kind, metadata: { name, namespace } }) as WaypointObject;
  return {
    create: async (body) => void (await t(objects.create(body as WaypointObject, undefined, undefined, 'ambient-controller'), `create ${body.kind}`)),
    patch: async (body) => void (await t(objects.patch(body as WaypointObject, undefined, undefined, 'ambient-controller', undefined, PatchStrategy.MergePatch), `patch ${body.kind}`)),
    delete: async (kind, namespace, name, uid) =>
      void (await t(objects.delete(header(kind, namespace, name), undefined, undefined, undefined, undefined, 'Background', uid ? { preconditions: { uid } } : undefined), `delete ${kind}`)),
    read: async (kind, namespace, name) => {
      try {
        return (await t(objects.read(header(kind, namespace, name) as never), `read ${kind}`)) as unknown as Obj;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    patchGatewayStatus: async (namespace, name, status) =>
      void (await t(custom.patchNamespacedCustomObjectStatus({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'gateways', name, body: { status } }, merge), 'patch Gateway status')),
    ensureGatewayClass: async () => {
      const ref = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gatewayclasses', name: WAYPOINT_GATEWAY_CLASS };
      let gc: { metadata?: { generation?: number }; spec?: { controllerName?: string }; status?: { conditions?: Array<{ type?: string; status?: string; observedGeneration?: number }> } };
      try {
        gc = (await t(custom.getClusterCustomObject(ref), 'read GatewayClass')) as typeof gc;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        const body = {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'GatewayClass',
          metadata: { name: WAYPOINT_GATEWAY_CLASS, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
          spec: { controllerName: WAYPOINT_CONTROLLER_NAME, description: 'Waypoints of the ambient mesh: a Gateway of this class becomes a waypoint Deployment and Service' },
        };
        try {
          gc = (await t(custom.createClusterCustomObject({ group: ref.group, version: ref.version, plural: ref.plural, body }), 'create GatewayClass')) as typeof gc;
        } catch (e) {
          if (statusOf(e) !== 409) throw e;
          gc = (await t(custom.getClusterCustomObject(ref), 'read GatewayClass')) as typeof gc;
        }
      }
      const owner = gatewayClassOwner(gc);
      if (!owner.ours) return owner; // another controller's: neither its status nor its Gateways are ours
      const generation = gc.metadata?.generation ?? 0;
      const accepted = gc.status?.conditions?.find((c) => c.type === 'Accepted');
      if (accepted?.status === 'True' && accepted.observedGeneration === generation) return owner;
      const condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'handled by the ambient mesh controller', observedGeneration: generation, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
      await t(custom.patchClusterCustomObjectStatus({ ...ref, body: { status: { conditions: [condition] } } }, merge), 'patch GatewayClass status');
      return owner;
    },
  };
}

export interface WaypointDeployerOptions {
  kubeConfig: KubeConfig;
  template: WaypointTemplate;
  settings: DeploySettings;
  limits?: Partial<WaypointDeployLimits>;
  logger?: Logger;
  /** For tests: the API (default: clientApi). */
  api?: DeployerApi;
  now?: () => Date;
}

export class WaypointDeployer {
  readonly #o: WaypointDeployerOptions;
  readonly #l: WaypointDeployLimits;
  readonly #log: Logger;
  readonly #api: DeployerApi;
  #informers: Partial<Record<WaypointKind | 'Gateway', Watched<KubernetesObject>>> = {};
  readonly #loop: PassLoop<{ written: number; failed: number; left: number }>;
  /** Whose the GatewayClass is, and when that was read (re-read every resyncMs): 'absent' when
   * the cluster has no GatewayClass kind (its waypoints are still deployed). */
  #class: { owner: GatewayClassOwner | 'absent'; at: number } | undefined;
  /** The last failed write per Gateway key, shown in its Programmed condition; cleared when a pass writes without failing for it. */
  #errors = new Map<string, string>();
  /** Conflicts found when a create met an object we do not manage, by Gateway key; re-checked every resync. */
  #conflicts = new Map<string, { message: string; at: number }>();
  /** What this deployer last wrote per Gateway status and when (the cache shows it only when the watch event comes). */
  #written = new Map<string, { signature: string; at: number }>();
  /** Patches made per object and when: the same patch is not repeated before a resync, so a
   * field the API server keeps rewriting cannot make the deployer patch in a loop. */
  #patched = new Map<string, { signature: string; at: number }>();
  /** Waypoint Gateways the last pass left alone because the GatewayClass is another controller's (tests, /debug/status). */
  foreignClassGateways = 0;
  /** Writes made and failed since start (tests, /debug/status). */
  writes = 0;
  failures = 0;
  passes = 0;

  constructor(o: WaypointDeployerOptions) {
    this.#o = o;
    this.#l = { ...WAYPOINT_DEPLOY_DEFAULTS, ...o.limits };
    this.#log = o.logger ?? silentLogger;
    this.#loop = new PassLoop({ timings: () => this.#l, pass: (signal) => this.pass(signal), logger: this.#log, what: 'waypoint deployer' });
    this.#api = o.api ?? clientApi(o.kubeConfig, this.#l.requestTimeoutMs);
  }

  #list<T>(k: WaypointKind | 'Gateway'): T[] {
    return (this.#informers[k]?.list() ?? []) as unknown as T[];
  }

  /** One pass over every waypoint Gateway and managed object. */
  async pass(signal: AbortSignal): Promise<{ written: number; failed: number; left: number }> {
    const now = (this.#o.now ?? (() => new Date()))();
    const nowMs = now.getTime();
    let written = 0;
    let failed = 0;
    let left = 0;
    const budget = () => written + failed < this.#l.maxWritesPerPass;
    const fail = (what: string, err: unknown) => {
      failed++;
      this.failures++;
      this.#log.warn({ err: (err as Error).message, status: statusOf(err) }, `controller: waypoint deployer: ${what} failed; retrying`);
    };

    if (this.#class === undefined || nowMs - this.#class.at >= this.#l.resyncMs) {
      const before = this.#class?.owner;
      try {
        this.#class = { owner: await this.#api.ensureGatewayClass(), at: nowMs };
      } catch (err) {
        // A cluster without the GatewayClass kind still gets its waypoints.
        if (statusOf(err) === 404) this.#class = { owner: 'absent', at: nowMs };
        else fail(`making sure GatewayClass ${WAYPOINT_GATEWAY_CLASS} exists`, err);
      }
      const after = this.#class?.owner;
      const foreignName = (o: typeof after) => (o !== undefined && o !== 'absent' && !o.ours ? o.controllerName : undefined);
      if (foreignName(after) !== undefined && foreignName(after) !== foreignName(before)) {
        const count = this.#list<Gateway>('Gateway').filter(isWaypointGateway).length;
        this.#log.error({ gatewayClass: WAYPOINT_GATEWAY_CLASS, controllerName: foreignName(after) }, `controller: waypoint deployer: ${foreignClassMessage(foreignName(after)!, count)}`);
      } else if (foreignName(before) !== undefined && foreignName(after) === undefined && after !== undefined) {
        this.#log.info({ gatewayClass: WAYPOINT_GATEWAY_CLASS }, `controller: waypoint deployer: GatewayClass ${WAYPOINT_GATEWAY_CLASS} names ${WAYPOINT_CONTROLLER_NAME} again: its Gateways are deployed`);
      }
    }
    // Not known yet (the read failed): nothing is decided for any Gateway; the pass is retried.
    if (this.#class === undefined) {
      this.passes++;
      return { written, failed, left };
    }
    const foreign = this.#class.owner !== 'absent' && !this.#class.owner.ours;

    const managed = new Map<string, Obj>();
    const managedList: Array<{ kind: WaypointKind; obj: Obj }> = [];
    for (const kind of WAYPOINT_KINDS) {
      for (const o of this.#list<Obj>(kind)) {
        if (!isManaged(o)) continue;
        managed.set(`${kind}/${o.metadata?.namespace}/${o.metadata?.name}`, o);
        managedList.push({ kind, obj: o });
      }
    }
    const allGateways = this.#list<Gateway>('Gateway').filter(isWaypointGateway);
    // Another controller's class: none of its Gateways is ours (no objects, no status), and
    // what we deployed for them is orphaned below.
    const gateways = foreign ? [] : allGateways;
    this.foreignClassGateways = foreign ? allGateways.length : 0;
    const deployable = new Set<string>();
    const live = new Set<string>();
    for (const gw of gateways) {
      if (signal.aborted) break;
      const ns = gw.metadata!.namespace!;
      const name = gw.metadata!.name!;
      const key = `${ns}/${name}`;
      live.add(key);
      const check = checkWaypointGateway(gw, this.#l);
      const existing: Existing = {};
      for (const kind of WAYPOINT_KINDS) existing[kind] = managed.get(`${kind}/${ns}/${name}`);
      let conflicts: string[] = [];
      if (check.ok) {
        deployable.add(key);
        const desired = desiredWaypointObjects(gw, check, this.#o.template, this.#o.settings);
        // A previously seen conflict: look again on resync, else trust it.
        const known = this.#conflicts.get(key);
        if (known && nowMs - known.at >= this.#l.resyncMs) this.#conflicts.delete(key);
        const plan = planWaypoint(desired, existing);
        conflicts = [...plan.conflicts];
        if (this.#conflicts.has(key)) conflicts.push(this.#conflicts.get(key)!.message);
        else if (plan.conflicts.length === 0 && (await this.#foreign(plan.actions, existing, key, nowMs, conflicts))) {
          // An object to create exists and is not ours: act on nothing of this Gateway.
        } else {
          let error: string | undefined;
          for (const a of plan.actions) {
            if (signal.aborted) break;
            if (!budget()) {
              left++;
              continue;
            }
            if (a.verb === 'patch') {
              const id = `${a.kind}/${a.namespace}/${a.name}`;
              const signature = JSON.stringify(a.body);
              const prev = this.#patched.get(id);
              if (prev && prev.signature === signature && nowMs - prev.at < this.#l.resyncMs) continue;
              this.#patched.set(id, { signature, at: nowMs });
            }
            const r = await this.#act(a, existing);
            if (r === 'written') written++;
            else if (r === 'failed') failed++;
            else if (typeof r === 'object' && 'conflict' in r) {
              conflicts.push(r.conflict);
              this.#conflicts.set(key, { message: r.conflict, at: nowMs });
            } else if (typeof r === 'object') {
              failed++;
              error = r.error;
            }
          }
          if (error !== undefined) this.#errors.set(key, error);
          else if (plan.actions.length > 0) this.#errors.delete(key);
        }
      } else this.#conflicts.delete(key);
      // Status.
      const status = gatewayStatus(
        gw,
        {
          check,
          conflicts,
          ...(existing.Deployment ? { deployment: existing.Deployment as ObservedDeployment } : {}),
          ...(existing.Service ? { service: existing.Service as ObservedService } : {}),
          missing: check.ok ? missingKinds(existing) : [],
          ...(check.ok && this.#errors.has(key) ? { error: this.#errors.get(key)! } : {}),
        },
        now,
      );
      if (!statusDiffers(gw, status)) continue;
      const signature = JSON.stringify({ ...status, conditions: status.conditions.map(({ lastTransitionTime: _t, ...c }) => c), listeners: status.listeners.map((l) => ({ ...l, conditions: l.conditions.map(({ lastTransitionTime: _t, ...c }) => c) })) });
      const last = this.#written.get(key);
      if (last && last.signature === signature && nowMs - last.at < this.#l.resyncMs) continue; // ours, not in the cache yet
      if (!budget()) {
        left++;
        continue;
      }
      try {
        await this.#api.patchGatewayStatus(ns, name, status);
        written++;
        this.writes++;
        this.#written.set(key, { signature, at: nowMs });
      } catch (err) {
        if (statusOf(err) === 404) continue;
        this.#written.delete(key);
        fail(`writing the status of Gateway ${key}`, err);
      }
    }
    for (const k of [...this.#written.keys()]) if (!live.has(k)) this.#written.delete(k);
    for (const k of [...this.#conflicts.keys()]) if (!live.has(k)) this.#conflicts.delete(k);
    for (const k of [...this.#errors.keys()]) if (!deployable.has(k)) this.#errors.delete(k);
    for (const k of [...this.#patched.keys()]) if (!managed.has(k)) this.#patched.delete(k);

    // Managed objects whose Gateway is gone or not deployable.
    for (const a of orphanedWaypointObjects(managedList, deployable)) {
      if (signal.aborted) break;
      if (!budget()) {
        left++;
        continue;
      }
      const r = await this.#act(a, {});
      if (r === 'written') written++;
      else if (r === 'failed' || (typeof r === 'object' && 'error' in r)) failed++;
    }
    this.passes++;
    return { written, failed, left };
  }

  /**
   * Whether an object this plan would create already exists and is not ours (the cache holds
   * managed objects only). Read before any write: acting on part of the plan (a Deployment
   * beside the application's own ServiceAccount of that name) would run the waypoint under
   * the application's identity. A failed read counts as foreign until the next pass.
   */
  async #foreign(actions: readonly WaypointAction[], existing: Existing, key: string, nowMs: number, conflicts: string[]): Promise<boolean> {
    for (const a of actions) {
      if (a.verb !== 'create') continue;
      let cur: Obj | undefined;
      try {
        cur = await this.#api.read(a.kind, a.namespace, a.name);
      } catch (err) {
        if (statusOf(err) === 404) continue;
        this.failures++;
        this.#log.warn({ err: (err as Error).message }, `controller: waypoint deployer: reading ${a.kind} ${a.namespace}/${a.name} failed; retrying`);
        return true;
      }
      if (!cur) continue;
      if (!isManaged(cur)) {
        const message = `${a.kind} ${a.namespace}/${a.name} exists and is not managed by the controller (no label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}); it is left alone`;
        conflicts.push(message);
        this.#conflicts.set(key, { message, at: nowMs });
        return true;
      }
      existing[a.kind] = cur;
    }
    return false;
  }

  async #act(a: WaypointAction, existing: Existing): Promise<'written' | 'failed' | 'skipped' | { conflict: string } | { error: string }> {
    const what = `${a.verb} ${a.kind} ${a.namespace}/${a.name}`;
    try {
      if (a.verb === 'create') await this.#api.create(a.body);
      else if (a.verb === 'patch') await this.#api.patch(a.body);
      else await this.#api.delete(a.kind, a.namespace, a.name, a.uid);
      this.writes++;
      this.#log.info({ kind: a.kind, object: `${a.namespace}/${a.name}` }, `controller: waypoint deployer: ${a.verb}${a.verb === 'patch' ? 'ed' : a.verb === 'create' ? 'd' : 'd'} ${a.kind}`);
      return 'written';
    } catch (err) {
      const code = statusOf(err);
      if (a.verb === 'delete' && (code === 404 || code === 409)) return 'skipped'; // gone, or replaced (uid precondition)
      if (a.verb === 'create' && code === 409) {
        // Someone else's object of that name, or ours not in the cache yet.
        try {
          const cur = await this.#api.read(a.kind, a.namespace, a.name);
          if (cur && !isManaged(cur)) return { conflict: `${a.kind} ${a.namespace}/${a.name} exists and is not managed by the controller (no label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}); it is left alone` };
          existing[a.kind] = cur;
          return 'skipped';
        } catch (e) {
          this.failures++;
          this.#log.warn({ err: (e as Error).message }, `controller: waypoint deployer: ${what}: reading the existing object failed`);
          return 'failed';
        }
      }
      this.failures++;
      this.#log.warn({ err: (err as Error).message, status: code }, `controller: waypoint deployer: ${what} failed; retrying`);
      const body = (err as { body?: unknown }).body;
      const said = typeof body === 'string' ? (() => { try { return (JSON.parse(body) as { message?: string }).message; } catch { return undefined; } })() : (body as { message?: string } | undefined)?.message;
      return { error: `${what}: ${code ?? ''} ${said ?? (err as Error).message}`.replace(/ +/g, ' ').slice(0, 1000) };
    }
  }

  /** The leader-only loop: watches, converges, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const kc = this.#o.kubeConfig;
    const onChange = () => this.#loop.kick();
    const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
    this.#informers = {
      Gateway: watchResource(kc, REFS.Gateway, { logger: this.#log, onChange }),
      ServiceAccount: watchResource(kc, REFS.ServiceAccount, { logger: this.#log, onChange, labelSelector: selector }),
      Deployment: watchResource(kc, REFS.Deployment, { logger: this.#log, onChange, labelSelector: selector }),
      Service: watchResource(kc, REFS.Service, { logger: this.#log, onChange, labelSelector: selector }),
    };
    const informers = Object.values(this.#informers);
    this.#class = undefined;
    try {
      await Promise.race([Promise.all(informers.map((i) => i.synced)), new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }))]);
      await this.#loop.run(signal);
    } finally {
      await Promise.all(informers.map((i) => i.stop().catch(() => {})));
      this.#informers = {};
    }
  }
}
