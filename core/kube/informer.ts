// Watching Kubernetes objects: @kubernetes/client-node's list-then-watch cache, restarted
// with backoff when its watch fails (the library stops on an error and leaves the restart
// to its user). The same code watches the local cluster's API server and a real one.
import { KubeConfig, KubernetesObjectApi, ListWatch, Watch, type KubernetesObject, type KubernetesListObject } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../log.js';

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  /** Lower-case plural, as in the REST path. */
  plural: string;
}

export function collectionPath(ref: ResourceRef, namespace?: string): string {
  const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${ref.plural}` : `${base}/${ref.plural}`;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called after every add, update or delete (and after each relist). */
  onChange?: (type: 'add' | 'update' | 'delete', obj: KubernetesObject) => void;
  logger?: Logger;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface Watched<T extends KubernetesObject> {
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  /** Resolves once the first list has been loaded. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

export function watchResource<T extends KubernetesObject>(kc: KubeConfig, ref: ResourceRef, opts: WatchOptions = {}): Watched<T> {
  const log = opts.logger ?? silentLogger;
  const api = KubernetesObjectApi.makeApiClient(kc);
  const listFn = async () => {
    const list = (await api.list(ref.apiVersion, ref.kind, opts.namespace, undefined, undefined, undefined, opts.fieldSelector, opts.labelSelector)) as KubernetesListObject<T>;
    // The informer applies the list right after this resolves; synced is true after that.
    setImmediate(() => markSynced());
    return list;
  };
  const path = collectionPath(ref, opts.namespace);
  const informer = new ListWatch<T>(path, new Watch(kc), listFn, false, opts.labelSelector, opts.fieldSelector);
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  for (const type of ['add', 'update', 'delete'] as const) {
    informer.on(type, (obj) => {
      failures = 0;
      opts.onChange?.(type, obj);
    });
  }
  informer.on('error', (err) => {
    if (stopped) return;
    failures++;
    const min = opts.retryMinMs ?? 200;
    const delay = Math.min(opts.retryMaxMs ?? 10_000, min * 2 ** Math.min(failures - 1, 10));
    log.warn({ kind: ref.kind, err: (err as Error)?.message ?? String(err), retryInMs: delay }, 'watch failed; retrying');
    timer = setTimeout(() => {
      if (!stopped) informer.start().catch(() => {});
    }, delay);
  });
  informer.start().catch(() => {});
  return {
    list: (ns) => informer.list(ns),
    get: (name, ns) => informer.get(name, ns),
    synced,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await informer.stop();
    },
  };
}
