// The verbs on stored objects: get, list, create, update, patch, delete (with the garbage
// collector's cascade and namespace termination), and the status, scale and binding
// subresources. Decisions are the pure modules' (lifecycle, defaults, validation, patches,
// selectors); this class reads, decides and commits, retrying a read-modify-write that a
// concurrent writer got ahead of (kube-apiserver's GuaranteedUpdate).
import { randomInt, randomUUID } from 'node:crypto';
import { alreadyExists, badRequest, conflict, forbidden, invalid, notFound, objectTooLarge, type ApiError } from './api-errors.js';
import { applyDefaults } from './defaults.js';
import { isPlainObject, jsonEqual } from './json-values.js';
import { KeyedLock } from './keyed-lock.js';
import { CRD_KIND, KINDS, apiVersionOf, fieldsOf, kindByApiVersionKind, resourceKey, selectableFields, type KObject, type KindInfo, type KindRegistry } from './kinds.js';
import { crdStatus, defaultCrd } from './crd.js';
import { pruneUnknown } from './structural-schema.js';
import { UNDELETABLE_NAMESPACES } from './limits.js';
import { formatTime, prepareCreate, prepareUpdate } from './object-lifecycle.js';
import { applyPatch, type PatchType } from './patch-types.js';
import { applyConflictError, serverSideApply } from './apply-patch.js';
import type { ApplyParams } from './apply-request.js';
import { scaleOf, withScale, type Scale } from './scale.js';
import { SelectorError, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { assignServiceAddresses } from './service-addresses.js';
import type { ObjectStore, PrevAttrs, StoredObject } from './store.js';
import { validateObject } from './validation.js';
import { matchesFilter, type WatchFilter } from './watch-hub.js';

export interface WriteOptions {
  dryRun?: boolean;
  /**
   * What to do with fields a CRD-defined kind's schema does not declare (they are pruned
   * unless refused): Strict refuses the write (400, kubectl's default), Warn (the default)
   * adds a warning to `warnings`, Ignore drops them silently.
   */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /** Filled with the write's warnings (the handler sends them as Warning headers). */
  warnings?: string[];
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListQuery {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

const kindOf = (kind: string): KindInfo => KINDS.find((k) => k.kind === kind && !k.group)!;
const NAMESPACE = kindOf('Namespace');
const POD = kindOf('Pod');
const DEPLOYMENT = kindByApiVersionKind('apps/v1', 'Deployment')!;
const SCALE_KIND = { group: 'autoscaling', kind: 'Scale' };

// Kubernetes' generateName suffix: 5 characters from an alphabet without vowels or confusables.
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_GENERATE_NAME_PREFIX = 58;

function prevAttrs(k: KindInfo, o: KObject): PrevAttrs {
  return { labels: o.metadata?.labels ?? {}, fields: fieldsOf(k, o) };
}

export interface ResourcesOptions {
  /** The kinds served (built-in and CRD-defined): the garbage collector and namespace cleanup go through all of them. */
  kinds: KindRegistry;
  updateRetries: number;
  /** Largest object stored, as JSON (etcd's request limit on a real cluster); larger writes get 413. */
  maxObjectBytes?: number;
  /** How long a deleted namespace stays Terminating before its contents are deleted. */
  namespaceCleanupDelayMs: number;
  now: () => Date;
  /** Failures of background work (namespace cleanup), for the log. */
  onBackgroundError: (err: unknown, what: string) => void;
}

export class Resources {
  private serviceLock: Promise<unknown> = Promise.resolve();
  private readonly objectLocks = new KeyedLock();
  private readonly cleanups = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: ResourcesOptions,
  ) {}

  /** Parses selectors into a watch/list filter; 400 when they do not parse. */
  filter(k: KindInfo, q: ListQuery): WatchFilter {
    try {
      return {
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        labels: parseLabelSelector(q.labelSelector ?? ''),
        fields: parseFieldSelector(q.fieldSelector ?? '', selectableFields(k)),
      };
    } catch (err) {
      if (err instanceof SelectorError) throw badRequest(err.message);
      throw err;
    }
  }

  async get(k: KindInfo, namespace: string | undefined, name: string): Promise<KObject> {
    const cur = await this.store.get(k, namespace, name);
    if (!cur) throw notFound(k, name);
    return cur.object;
  }

  async list(k: KindInfo, q: ListQuery): Promise<{ items: KObject[]; rv: number }> {
    const f = this.filter(k, q);
    const { items, rv } = await this.store.list(k, q.namespace);
    return { items: items.map((i) => i.object).filter((o) => matchesFilter(k, o, f)), rv };
  }

  async create(k: KindInfo, pathNamespace: string | undefined, body: unknown, o: WriteOptions = {}, managedFields?: unknown): Promise<KObject> {
    const input = this.pruned(k, this.checkEnvelope(k, body, pathNamespace), o);
    const meta = input.metadata ?? {};
    const generate = !meta.name && typeof meta.generateName === 'string' && meta.generateName !== '' ? meta.generateName : undefined;
    let obj = applyDefaults(k.kind, prepareCreate(k, input, { now: this.opts.now(), uid: randomUUID() }));
    if (k === CRD_KIND) obj = withCrdStatus(obj, undefined, this.opts.now());
    // Server-side apply's ownership record (apply()); any other create starts without one.
    if (managedFields !== undefined) obj.metadata!.managedFields = managedFields;
    for (let attempt = 0; ; attempt++) {
      if (generate) obj.metadata!.name = generate.slice(0, MAX_GENERATE_NAME_PREFIX) + suffix();
      const name = obj.metadata!.name;
      const causes = validateObject(k, obj, undefined, this.opts.kinds.all());
      if (causes.length) throw invalid(k, typeof name === 'string' ? name : (generate ?? ''), causes);
      this.checkSize(k, name!, obj);
      const ns = k.namespaced ? obj.metadata!.namespace : undefined;
      if (ns !== undefined) await this.checkNamespaceOpen(k, ns, name!);
      const result = await this.withServiceLock(k, async () => {
        if (k.kind === 'Service') obj = await this.withServiceAddresses(obj, name!);
        if (o.dryRun) return { ok: true as const, object: obj };
        const r = await this.store.commit(k, ns, name!, undefined, obj, 'ADDED');
        return r.ok ? { ok: true as const, object: r.event.object } : { ok: false as const };
      });
      if (result.ok) return result.object;
      if (!generate || attempt >= 7) throw alreadyExists(k, name!);
    }
  }

  async update(k: KindInfo, namespace: string | undefined, name: string, body: unknown, sub: 'main' | 'status', o: WriteOptions = {}): Promise<KObject> {
    const input = this.checkEnvelope(k, body, namespace, name);
    return this.withServiceLock(k, () =>
      this.guaranteedUpdate(k, namespace, name, o, async (cur) => {
        const rv = input.metadata?.resourceVersion;
        if (rv && rv !== cur.metadata?.resourceVersion) throw conflict(k, name);
        return this.nextVersion(k, cur, input, sub, o);
      }),
    );
  }

  async patch(k: KindInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, sub: 'main' | 'status', o: WriteOptions = {}): Promise<KObject> {
    return this.withServiceLock(k, () =>
      this.guaranteedUpdate(k, namespace, name, o, async (cur) => {
        const patched = applyPatch(type, k, name, cur, patch);
        if (!isPlainObject(patched)) throw badRequest('the patched object is not a JSON object');
        const p = patched as KObject;
        if (p.metadata !== undefined && !isPlainObject(p.metadata)) throw badRequest('metadata must be an object');
        // A patch that names a resourceVersion is a precondition, as in kube-apiserver.
        const rv = p.metadata?.resourceVersion;
        if (rv !== undefined && rv !== cur.metadata?.resourceVersion) throw conflict(k, name);
        return this.nextVersion(k, cur, p, sub, o);
      }),
    );
  }

  /**
   * Server-side apply (apply-patch.ts): creates the object when absent, else merges the
   * manager's applied configuration into it; `created` says which (201 or 200).
   */
  async apply(k: KindInfo, namespace: string | undefined, name: string, body: unknown, p: ApplyParams, o: WriteOptions = {}): Promise<{ object: KObject; created: boolean }> {
    const applied = this.checkEnvelope(k, body, namespace, name);
    if (applied.apiVersion === undefined || applied.kind === undefined) throw badRequest('apiVersion and kind must be set in an apply patch');
    const opts = { manager: p.manager, force: p.force, apiVersion: apiVersionOf(k), now: formatTime(this.opts.now()), mergeLists: !k.crd };
    const decide = (live: KObject | undefined): KObject => {
      const r = serverSideApply(live, applied, opts);
      if ('conflicts' in r) throw applyConflictError(k, name, r.conflicts);
      return r.object as KObject;
    };
    if (!(await this.store.get(k, namespace, name))) {
      try {
        const first = decide(undefined);
        return { object: await this.create(k, namespace, first, o, first.metadata?.managedFields), created: true };
      } catch (err) {
        // Created meanwhile by another writer: apply to it.
        if ((err as ApiError).code !== 409 || (err as ApiError).reason !== 'AlreadyExists') throw err;
      }
    }
    const object = await this.withServiceLock(k, () =>
      this.guaranteedUpdate(k, namespace, name, o, async (cur) => {
        const next = decide(cur);
        const stored = await this.nextVersion(k, cur, next, 'main');
        stored.metadata!.managedFields = next.metadata!.managedFields;
        return stored;
      }),
    );
    return { object, created: false };
  }

  async delete(k: KindInfo, namespace: string | undefined, name: string, o: DeleteOptions = {}): Promise<KObject> {
    const cur = await this.get(k, namespace, name);
    checkPreconditions(k, name, cur, o.preconditions);
    if (o.dryRun) return cur;
    if (k.kind === 'Namespace') return this.deleteNamespace(name);
    if (k === CRD_KIND) await this.deleteCustomObjects(name);
    const uid = cur.metadata?.uid;
    const policy = o.propagationPolicy ?? 'Background';
    if (policy === 'Foreground' && uid) await this.collectGarbage(uid);
    const gone = await this.deleteOne(k, namespace, name, o.preconditions);
    if (policy === 'Background' && uid) await this.collectGarbage(uid);
    return gone;
  }

  async deleteCollection(k: KindInfo, q: ListQuery, o: DeleteOptions = {}): Promise<KObject[]> {
    const { items } = await this.list(k, q);
    const out: KObject[] = [];
    for (const it of items) {
      try {
        out.push(await this.delete(k, it.metadata?.namespace, it.metadata!.name!, o));
      } catch (err) {
        if ((err as ApiError).code !== 404) throw err;
      }
    }
    return out;
  }

  async getScale(namespace: string, name: string): Promise<Scale> {
    return scaleOf(await this.get(DEPLOYMENT, namespace, name));
  }

  async updateScale(namespace: string, name: string, body: unknown, o: WriteOptions = {}): Promise<Scale> {
    if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object');
    if (body['kind'] !== undefined && body['kind'] !== 'Scale') throw badRequest(`the kind in the data (${String(body['kind'])}) does not match the expected kind (Scale)`);
    const d = await this.guaranteedUpdate(DEPLOYMENT, namespace, name, o, (cur) => this.scaled(cur, body as KObject, name));
    return scaleOf(d);
  }

  async patchScale(namespace: string, name: string, type: PatchType, patch: unknown, o: WriteOptions = {}): Promise<Scale> {
    const d = await this.guaranteedUpdate(DEPLOYMENT, namespace, name, o, (cur) => {
      const patched = applyPatch(type, DEPLOYMENT, name, scaleOf(cur), patch);
      if (!isPlainObject(patched)) throw badRequest('the patched object is not a JSON object');
      return this.scaled(cur, patched as KObject, name);
    });
    return scaleOf(d);
  }

  /** POST pods/<name>/binding: what the scheduler does to put a pod on a node. */
  async bind(namespace: string, name: string, body: unknown): Promise<void> {
    const target = isPlainObject(body) && isPlainObject(body['target']) ? body['target']['name'] : undefined;
    if (typeof target !== 'string' || target === '') throw invalid({ group: '', kind: 'Binding' }, name, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }]);
    await this.guaranteedUpdate(POD, namespace, name, {}, (cur) => {
      const spec = (cur['spec'] ?? {}) as Record<string, unknown>;
      if (spec['nodeName']) throw conflict(POD, name, `pod ${name} is already assigned to node "${String(spec['nodeName'])}"`);
      return { ...cur, spec: { ...spec, nodeName: target } };
    });
  }

  /** Makes the namespaces a cluster always has, if missing. */
  async ensureNamespaces(names: readonly string[]): Promise<void> {
    for (const name of names) {
      try {
        await this.create(NAMESPACE, undefined, { metadata: { name } });
      } catch (err) {
        if ((err as ApiError).code !== 409) throw err;
      }
    }
  }

  // --- internals ---

  private scaled(cur: KObject, scale: KObject, name: string): Promise<KObject> {
    const rv = scale.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata?.resourceVersion) throw conflict(DEPLOYMENT, name);
    const replicas = (scale['spec'] as Record<string, unknown> | undefined)?.['replicas'];
    if (!Number.isInteger(replicas) || (replicas as number) < 0) {
      throw invalid(SCALE_KIND, name, [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, field: 'spec.replicas' }]);
    }
    return this.nextVersion(DEPLOYMENT, cur, withScale(cur, scale), 'main');
  }

  /** The body of a create or update, checked against the URL it came to. */
  private checkEnvelope(k: KindInfo, body: unknown, pathNamespace: string | undefined, pathName?: string): KObject {
    if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object');
    const b = structuredClone(body) as KObject;
    if (b.apiVersion !== undefined && b.apiVersion !== apiVersionOf(k)) {
      throw badRequest(`the API version in the data (${String(b.apiVersion)}) does not match the expected API version (${apiVersionOf(k)})`);
    }
    if (b.kind !== undefined && b.kind !== k.kind) throw badRequest(`the kind in the data (${String(b.kind)}) does not match the expected kind (${k.kind})`);
    if (b.metadata !== undefined && !isPlainObject(b.metadata)) throw badRequest('metadata must be an object');
    const meta = (b.metadata ??= {});
    if (k.namespaced) {
      if (pathNamespace !== undefined && meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== pathNamespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      if (pathNamespace !== undefined) meta.namespace = pathNamespace;
    }
    if (pathName !== undefined) {
      if (meta.name !== undefined && meta.name !== '' && meta.name !== pathName) {
        throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${pathName})`);
      }
      meta.name = pathName;
    }
    return b;
  }

  /**
   * A CRD-defined kind's object without the fields its schema does not declare, as
   * kube-apiserver prunes custom resources; `o.fieldValidation` says whether they refuse
   * the write (Strict: 400, in kube-apiserver's words), are warned of (Warn) or not (Ignore).
   */
  private pruned(k: KindInfo, input: KObject, o: WriteOptions): KObject {
    if (!k.schema) return input;
    const { value, unknown } = pruneUnknown(input, k.schema);
    if (unknown.length > 0) {
      const what = unknown.map((f) => `unknown field ${JSON.stringify(f)}`);
      if (o.fieldValidation === 'Strict') throw badRequest(`${k.kind} in version "${k.version}" cannot be handled as a ${k.kind}: strict decoding error: ${what.join(', ')}`);
      if (o.fieldValidation !== 'Ignore') o.warnings?.push(...what);
    }
    return value as KObject;
  }

  /** Every object of the kind the CRD `crdName` defines, deleted before the CRD (as a real cluster's CRD finalizer does). */
  private async deleteCustomObjects(crdName: string): Promise<void> {
    const k = this.opts.kinds.custom(crdName);
    if (!k) return;
    for (const i of (await this.store.list(k)).items) {
      try {
        await this.deleteOne(k, i.object.metadata?.namespace, i.object.metadata!.name!);
      } catch (err) {
        if ((err as ApiError).code !== 404) throw err;
      }
    }
  }

  /** The object to store when `input` replaces `cur` (PUT, or a patch's result): decided and validated. */
  private async nextVersion(k: KindInfo, cur: KObject, input: KObject, sub: 'main' | 'status', o: WriteOptions = {}): Promise<KObject> {
    let next = prepareUpdate(k, cur, applyDefaults(k.kind, this.pruned(k, input, o)), sub);
    if (k === CRD_KIND && sub === 'main') next = withCrdStatus(next, cur, this.opts.now());
    const causes = validateObject(k, next, cur, this.opts.kinds.all());
    if (causes.length === 0 && k.kind === 'Service' && sub === 'main') next = await this.withServiceAddresses(next, cur.metadata!.name!, cur);
    if (causes.length) throw invalid(k, cur.metadata?.name ?? '', causes);
    return next;
  }

  private async withServiceAddresses(svc: KObject, name: string, old?: KObject): Promise<KObject> {
    const services = KINDS.find((x) => x.kind === 'Service')!;
    const { items } = await this.store.list(services);
    const ns = svc.metadata?.namespace;
    const others = items.map((i) => i.object).filter((o) => !(o.metadata?.namespace === ns && o.metadata?.name === name));
    const { object, causes } = assignServiceAddresses(svc, others, old);
    if (causes.length) throw invalid(services, name, causes);
    return object;
  }

  /** Service writes are serialised so that two cannot take the same cluster IP. */
  private withServiceLock<T>(k: KindInfo, fn: () => Promise<T>): Promise<T> {
    if (k.kind !== 'Service') return fn();
    const run = this.serviceLock.then(fn, fn);
    this.serviceLock = run.catch(() => undefined);
    return run;
  }

  /** 413 when `obj` would be stored larger than the object limit (a small patch can grow an object past it). */
  private checkSize(k: KindInfo, name: string, obj: KObject): void {
    const limit = this.opts.maxObjectBytes;
    if (limit === undefined) return;
    const size = Buffer.byteLength(JSON.stringify(obj));
    if (size > limit) throw objectTooLarge(k, name, size, limit);
  }

  private async checkNamespaceOpen(k: KindInfo, ns: string, name: string): Promise<void> {
    const nsObj = await this.store.get(NAMESPACE, undefined, ns);
    if (!nsObj) throw notFound(NAMESPACE, ns);
    const phase = (nsObj.object['status'] as Record<string, unknown> | undefined)?.['phase'];
    if (phase === 'Terminating' || nsObj.object.metadata?.deletionTimestamp) {
      throw forbidden(k, name, `unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  private async guaranteedUpdate(
    k: KindInfo,
    namespace: string | undefined,
    name: string,
    o: WriteOptions,
    mutate: (cur: KObject) => KObject | Promise<KObject>,
  ): Promise<KObject> {
    return this.objectLocks.run(lockKey(k, namespace, name), () => this.casLoop(k, namespace, name, o, mutate));
  }

  private async casLoop(
    k: KindInfo,
    namespace: string | undefined,
    name: string,
    o: WriteOptions,
    mutate: (cur: KObject) => KObject | Promise<KObject>,
  ): Promise<KObject> {
    for (let i = 0; i <= this.opts.updateRetries; i++) {
      const cur = await this.store.get(k, namespace, name);
      if (!cur) throw notFound(k, name);
      const next = await mutate(structuredClone(cur.object));
      // No change, no write: no new resourceVersion and no event (kubectl apply twice is a no-op).
      if (jsonEqual(next, cur.object)) return next;
      this.checkSize(k, name, next);
      if (o.dryRun) return next;
      const r = await this.store.commit(k, namespace, name, cur.raw, next, 'MODIFIED', prevAttrs(k, cur.object));
      if (r.ok) return r.event.object;
      if (r.why === 'notfound') throw notFound(k, name);
    }
    throw conflict(k, name);
  }

  private deleteOne(k: KindInfo, namespace: string | undefined, name: string, pre?: DeleteOptions['preconditions']): Promise<KObject> {
    return this.objectLocks.run(lockKey(k, namespace, name), () => this.deleteLoop(k, namespace, name, pre));
  }

  private async deleteLoop(k: KindInfo, namespace: string | undefined, name: string, pre?: DeleteOptions['preconditions']): Promise<KObject> {
    for (let i = 0; i <= this.opts.updateRetries; i++) {
      const cur = await this.store.get(k, namespace, name);
      if (!cur) throw notFound(k, name);
      checkPreconditions(k, name, cur.object, pre);
      const r = await this.store.commit(k, namespace, name, cur.raw, cur.object, 'DELETED');
      if (r.ok) return r.event.object;
      if (r.why === 'notfound') throw notFound(k, name);
    }
    throw conflict(k, name);
  }

  /**
   * The garbage collector, run at once: after `ownerUid` is gone, delete every object whose
   * owners are all gone, transitively. An object with an owner that still exists stays,
   * as in Kubernetes.
   */
  private async collectGarbage(ownerUid: string): Promise<void> {
    const all: { k: KindInfo; obj: StoredObject['object'] }[] = [];
    for (const k of this.opts.kinds.stored()) for (const i of (await this.store.list(k)).items) all.push({ k, obj: i.object });
    const gone = new Set([ownerUid]);
    const alive = new Set(all.map((a) => a.obj.metadata?.uid).filter((u): u is string => !!u && u !== ownerUid));
    for (let changed = true; changed; ) {
      changed = false;
      for (const { k, obj } of all) {
        const uid = obj.metadata?.uid;
        const owners = obj.metadata?.ownerReferences ?? [];
        if (!uid || gone.has(uid) || owners.length === 0) continue;
        if (!owners.some((r) => r.uid && gone.has(r.uid))) continue;
        if (owners.some((r) => r.uid && alive.has(r.uid) && !gone.has(r.uid))) continue;
        gone.add(uid);
        alive.delete(uid);
        changed = true;
        try {
          await this.deleteOne(k, obj.metadata?.namespace, obj.metadata!.name!, { uid });
        } catch (err) {
          if (![404, 409].includes((err as ApiError).code)) throw err;
        }
      }
    }
  }

  /**
   * Namespace deletion, as Kubernetes does it: the namespace turns Terminating at once (no
   * new content; the DELETE answers with it), and a moment later its contents are deleted
   * and then the namespace itself. The delay is what lets `kubectl delete -f` delete a
   * manifest's Namespace first and its other objects after, as on a real cluster.
   */
  private async deleteNamespace(name: string): Promise<KObject> {
    if (UNDELETABLE_NAMESPACES.has(name)) throw forbidden(NAMESPACE, name, 'this namespace may not be deleted');
    const terminating = await this.guaranteedUpdate(NAMESPACE, undefined, name, {}, (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, deletionTimestamp: cur.metadata?.deletionTimestamp ?? formatTime(this.opts.now()) },
      status: { ...((cur['status'] as object | undefined) ?? {}), phase: 'Terminating' },
    }));
    this.scheduleNamespaceCleanup(name);
    return terminating;
  }

  /** Picks up namespaces left Terminating by a previous server (start-up). */
  async resumeNamespaceCleanup(): Promise<void> {
    for (const i of (await this.store.list(NAMESPACE)).items) {
      if (i.object.metadata?.deletionTimestamp) this.scheduleNamespaceCleanup(i.object.metadata.name!);
    }
  }

  /** Cancels pending namespace cleanups (shutdown; the next server resumes them). */
  stop(): void {
    this.stopped = true;
    for (const t of this.cleanups.values()) clearTimeout(t);
    this.cleanups.clear();
  }

  private scheduleNamespaceCleanup(name: string): void {
    if (this.stopped || this.cleanups.has(name)) return;
    const timer = setTimeout(() => {
      this.finalizeNamespace(name)
        .catch((err: unknown) => this.opts.onBackgroundError(err, `deleting namespace ${name}`))
        .finally(() => this.cleanups.delete(name));
    }, this.opts.namespaceCleanupDelayMs);
    this.cleanups.set(name, timer);
  }

  private async finalizeNamespace(name: string): Promise<void> {
    // A create that passed the Terminating check just before it can land after a pass:
    // go again until a pass finds nothing.
    for (let pass = 0; pass < 5 && !this.stopped; pass++) {
      let found = 0;
      for (const k of this.opts.kinds.stored()) {
        if (!k.namespaced) continue;
        for (const i of (await this.store.list(k, name)).items) {
          found++;
          try {
            await this.deleteOne(k, name, i.object.metadata!.name!);
          } catch (err) {
            if ((err as ApiError).code !== 404) throw err;
          }
        }
      }
      if (found === 0) break;
    }
    if (this.stopped) return;
    try {
      await this.deleteOne(NAMESPACE, undefined, name);
    } catch (err) {
      if ((err as ApiError).code !== 404) throw err;
    }
  }
}

/** A CRD with its defaults and the status the server keeps: names accepted, established. */
function withCrdStatus(crd: KObject, old: KObject | undefined, now: Date): KObject {
  const out = defaultCrd(crd);
  out['status'] = crdStatus(out, old, formatTime(now));
  return out;
}

const lockKey = (k: KindInfo, namespace: string | undefined, name: string): string => `${resourceKey(k)}/${k.namespaced ? (namespace ?? '') : ''}/${name}`;

function suffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return s;
}

function checkPreconditions(k: KindInfo, name: string, cur: KObject, pre: DeleteOptions['preconditions']): void {
  if (pre?.uid && pre.uid !== cur.metadata?.uid) {
    throw conflict(k, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata?.uid ?? ''}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata?.resourceVersion) {
    throw conflict(k, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata?.resourceVersion ?? ''}`);
  }
}
