// The object store: Kubernetes objects as JSON in Redis, written so that a restarted API
// server carries on where the last one stopped.
//
//   <p>rv                   the resourceVersion counter (INCR): monotonic across restarts
//   <p>objects:<resource>   hash, field "<namespace>/<name>" -> object JSON
//   <p>events               sorted set, score rv -> event JSON: the bounded watch history
//   <p>compacted            highest rv dropped from the history (a watch from before it gets 410)
//   <p>signing-key          the service-account token key
//
// Every write is one Lua script: compare the stored JSON with what the caller read (so a
// read-modify-write loses to a concurrent writer instead of overwriting it), take the next
// rv, write the object, record the event, trim the history. The caller learns the
// committed event and hands it to the in-memory watch fan-out at once, in commit order
// (replies on one connection arrive in order, and every write goes through commit()).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { resourceKey, type KObject, type KindInfo } from './kinds.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What a selector needs of an object's previous state to tell a watcher it left the selection. */
export interface PrevAttrs {
  labels: Record<string, string>;
  fields: Record<string, string>;
}

export interface StoredEvent {
  rv: number;
  type: EventType;
  /** resourceKey of the object's kind. */
  resource: string;
  object: KObject;
  prev?: PrevAttrs;
}

export interface StoredObject {
  object: KObject;
  /** The stored JSON, the compare-and-swap token of a later write. */
  raw: string;
}

export type CommitResult = { ok: true; event: StoredEvent } | { ok: false; why: 'exists' | 'notfound' | 'conflict' };

// KEYS: objects hash, rv counter, events zset, compacted marker.
// ARGV: field, expected ('' = must be absent, else the exact stored JSON), new object JSON
// ('' = delete), event JSON, placeholder, history size.
const COMMIT_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if cur then return {0, 'exists'} end
else
  if not cur then return {0, 'notfound'} end
  if cur ~= ARGV[2] then return {0, 'conflict'} end
end
local rv = tostring(redis.call('INCR', KEYS[2]))
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  local obj = string.gsub(ARGV[3], ARGV[5], rv)
  redis.call('HSET', KEYS[1], ARGV[1], obj)
end
local ev = string.gsub(ARGV[4], ARGV[5], rv)
redis.call('ZADD', KEYS[3], rv, ev)
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
if over > 0 then
  local last = redis.call('ZRANGE', KEYS[3], over - 1, over - 1, 'WITHSCORES')
  redis.call('SET', KEYS[4], last[2])
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, over - 1)
end
return {1, rv}
`;

type CommitFn = (...args: (string | number)[]) => Promise<[number, string]>;

export interface ObjectStoreOptions {
  /** Key prefix; several clusters (or tests) can share one Redis under different prefixes. */
  prefix: string;
  /** Events kept for watches to resume from; older resourceVersions get 410 Gone. */
  historySize: number;
  /** Called with each committed event, synchronously after its commit, in commit order. */
  onCommit: (event: StoredEvent) => void;
}

const fieldOf = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export class ObjectStore {
  private readonly commitFn: CommitFn;
  private readonly keys: { rv: string; events: string; compacted: string; signingKey: string };

  constructor(
    private readonly redis: Redis,
    private readonly opts: ObjectStoreOptions,
  ) {
    const p = opts.prefix;
    this.keys = { rv: `${p}rv`, events: `${p}events`, compacted: `${p}compacted`, signingKey: `${p}signing-key` };
    // ioredis sends EVALSHA and falls back to EVAL when the script is not cached yet.
    if (!(redis as unknown as Record<string, unknown>)['k8sCommit']) redis.defineCommand('k8sCommit', { numberOfKeys: 4, lua: COMMIT_LUA });
    this.commitFn = ((...args: (string | number)[]) => (redis as unknown as Record<string, CommitFn>)['k8sCommit']!(...args)) as CommitFn;
  }

  private objectsKey(k: KindInfo): string {
    return `${this.opts.prefix}objects:${resourceKey(k)}`;
  }

  async currentRv(): Promise<number> {
    return Number((await this.redis.get(this.keys.rv)) ?? 0);
  }

  async get(k: KindInfo, namespace: string | undefined, name: string): Promise<StoredObject | undefined> {
    const raw = await this.redis.hget(this.objectsKey(k), fieldOf(k.namespaced ? namespace : undefined, name));
    return raw === null ? undefined : { raw, object: JSON.parse(raw) as KObject };
  }

  /** Every object of a kind (optionally one namespace), sorted, with the rv they are consistent at. */
  async list(k: KindInfo, namespace?: string): Promise<{ items: StoredObject[]; rv: number }> {
    const res = await this.redis.multi().get(this.keys.rv).hgetall(this.objectsKey(k)).exec();
    if (!res) throw new Error('redis transaction aborted');
    const [[e1, rv], [e2, all]] = res as [[Error | null, string | null], [Error | null, Record<string, string>]];
    if (e1 || e2) throw e1 ?? e2;
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    const items = Object.entries(all)
      .filter(([f]) => prefix === undefined || f.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, raw]) => ({ raw, object: JSON.parse(raw) as KObject }));
    return { items, rv: Number(rv ?? 0) };
  }

  /** Events after `rv`, oldest first, and the compaction mark (a watch from below it is too old). */
  async eventsSince(rv: number): Promise<{ events: StoredEvent[]; compacted: number }> {
    const res = await this.redis.multi().get(this.keys.compacted).zrangebyscore(this.keys.events, `(${rv}`, '+inf').exec();
    if (!res) throw new Error('redis transaction aborted');
    const [[e1, compacted], [e2, raws]] = res as [[Error | null, string | null], [Error | null, string[]]];
    if (e1 || e2) throw e1 ?? e2;
    return { compacted: Number(compacted ?? 0), events: raws.map(parseEvent) };
  }

  /**
   * Records event `type` for `object` if the stored object is still `expectedRaw`
   * (undefined: if there is none): ADDED and MODIFIED store `object`, DELETED removes the
   * stored one and its event carries `object` (the object as it was). The object gets the
   * new resourceVersion.
   */
  async commit(
    k: KindInfo,
    namespace: string | undefined,
    name: string,
    expectedRaw: string | undefined,
    object: KObject,
    type: EventType,
    prev?: PrevAttrs,
  ): Promise<CommitResult> {
    const placeholder = randomBytes(16).toString('hex');
    const withRv = structuredClone(object);
    (withRv.metadata ??= {}).resourceVersion = placeholder;
    const objectJson = JSON.stringify(withRv);
    const resource = resourceKey(k);
    const eventJson = `{"rv":"${placeholder}","type":"${type}","resource":${JSON.stringify(resource)}${prev ? `,"prev":${JSON.stringify(prev)}` : ''},"object":${objectJson}}`;
    const [ok, detail] = await this.commitFn(
      this.objectsKey(k),
      this.keys.rv,
      this.keys.events,
      this.keys.compacted,
      fieldOf(k.namespaced ? namespace : undefined, name),
      expectedRaw ?? '',
      type === 'DELETED' ? '' : objectJson,
      eventJson,
      placeholder,
      this.opts.historySize,
    );
    if (ok !== 1) return { ok: false, why: detail as 'exists' | 'notfound' | 'conflict' };
    const rv = Number(detail);
    withRv.metadata!.resourceVersion = String(rv);
    const event: StoredEvent = { rv, type, resource, object: withRv, ...(prev ? { prev } : {}) };
    this.opts.onCommit(event);
    return { ok: true, event };
  }

  /** The key that signs service-account tokens: made once, kept in Redis so tokens survive restarts. */
  async signingKey(): Promise<Buffer> {
    await this.redis.set(this.keys.signingKey, randomBytes(32).toString('base64'), 'NX');
    const v = await this.redis.get(this.keys.signingKey);
    if (!v) throw new Error('signing key vanished from redis');
    return Buffer.from(v, 'base64');
  }
}

function parseEvent(raw: string): StoredEvent {
  const e = JSON.parse(raw) as Omit<StoredEvent, 'rv'> & { rv: string };
  return { ...e, rv: Number(e.rv) };
}
