// The node agent's view of its own DaemonSet, for decide.ts: at start, which DaemonSet owns
// the agent's pod (GET of the pod, named by POD_NAME and POD_NAMESPACE); while it runs, a
// watch on that one DaemonSet that remembers whether it was seen deleted; at SIGTERM, a
// GET of it with a short deadline. The agent's ServiceAccount needs get on pods, and get and
// watch on its own DaemonSet only (manifests/rbac.yaml, Role ambient-node-agent in
// ambient-system, resourceNames): the watch selects it by fieldSelector metadata.name, which
// the API server authorizes as a request naming that DaemonSet.
import http from 'node:http';
import https from 'node:https';
import type { KubeAccess } from '../../core/kube/access.js';
import { kubeRequest, KubeRequestError } from '../../core/kube/rest.js';
import { UNINSTALL_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { daemonSetOwner, decideStop, watchedAfter, type DaemonSetProbe, type DaemonSetWatched, type StopDecision } from './decide.js';

type Owner = { namespace: string; name: string; uid: string };

export interface DaemonSetWatchOptions {
  api: KubeAccess;
  /** The agent's pod; without both, the agent does not know its DaemonSet and never uninstalls. */
  pod: { namespace?: string | undefined; name?: string | undefined };
  logger?: Logger;
}

export class OwnDaemonSet {
  readonly #o: DaemonSetWatchOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #owner: Owner | undefined;
  #watched: DaemonSetWatched = 'unknown';
  #loop: Promise<void> | undefined;

  constructor(o: DaemonSetWatchOptions) {
    this.#o = o;
    this.#log = o.logger ?? silentLogger;
  }

  /** Finds the owner and watches it, in the background until close(). */
  start(): void {
    this.#loop = this.#run().catch((err: Error) => this.#log.warn({ err: err.message }, 'agent: watching its DaemonSet stopped'));
  }

  owner(): Owner | undefined {
    return this.#owner;
  }

  watched(): DaemonSetWatched {
    return this.#watched;
  }

  /** Uninstall or restart, now (at SIGTERM): the DaemonSet read afresh within UNINSTALL_DEFAULTS.probeTimeoutMs, else what the watch saw. */
  async decide(): Promise<StopDecision> {
    const owner = this.#owner;
    let probe: DaemonSetProbe = { kind: 'error', message: 'not read' };
    if (owner) {
      probe = await this.#probe(owner);
      // The DELETED event may still be on its way when reading fails: wait for it briefly.
      if (probe.kind === 'error' && this.#watched === 'present') await this.#waitForDeletion(UNINSTALL_DEFAULTS.watchGraceMs);
    }
    return decideStop(owner, probe, this.#watched);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #probe(owner: Owner): Promise<DaemonSetProbe> {
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(owner.namespace)}/daemonsets/${encodeURIComponent(owner.name)}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const ds = await Promise.race([
        kubeRequest<{ metadata?: { uid?: string; deletionTimestamp?: string } }>(this.#o.api, 'GET', path),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${UNINSTALL_DEFAULTS.probeTimeoutMs} ms`)), UNINSTALL_DEFAULTS.probeTimeoutMs);
        }),
      ]);
      return { kind: 'found', uid: ds?.metadata?.uid ?? '', deleting: !!ds?.metadata?.deletionTimestamp };
    } catch (err) {
      if (err instanceof KubeRequestError && err.statusCode === 404) return { kind: 'not-found' };
      return { kind: 'error', message: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  async #waitForDeletion(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#watched === 'present' && Date.now() < deadline) await sleep(50);
  }

  async #run(): Promise<void> {
    const { namespace, name } = this.#o.pod;
    if (!namespace || !name) {
      this.#log.info('agent: POD_NAME/POD_NAMESPACE not set: the agent will not take the mesh off the node when it stops');
      return;
    }
    const signal = this.#abort.signal;
    while (!signal.aborted && !this.#owner) {
      try {
        const pod = await kubeRequest<Parameters<typeof daemonSetOwner>[0]>(this.#o.api, 'GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
        this.#owner = daemonSetOwner(pod);
        if (!this.#owner) {
          this.#log.info({ pod: `${namespace}/${name}` }, 'agent: its pod has no DaemonSet owner: it will not take the mesh off the node when it stops');
          return;
        }
      } catch (err) {
        this.#log.debug({ err: (err as Error).message }, 'agent: reading its own pod failed; retrying');
        await sleep(UNINSTALL_DEFAULTS.watchRetryMs, signal);
      }
    }
    const owner = this.#owner;
    if (!owner) return;
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(owner.namespace)}/daemonsets?watch=1&fieldSelector=${encodeURIComponent(`metadata.name=${owner.name}`)}`;
    while (!signal.aborted) {
      try {
        await watchLines(this.#o.api, 'GET', path, signal, (line) => {
          let event: Parameters<typeof watchedAfter>[1];
          try {
            event = JSON.parse(line) as typeof event;
          } catch {
            return;
          }
          const next = watchedAfter(this.#watched, event, owner.uid);
          if (next !== this.#watched) this.#log.info({ daemonSet: `${owner.namespace}/${owner.name}`, now: next }, 'agent: its DaemonSet changed');
          this.#watched = next;
        });
      } catch (err) {
        if (!signal.aborted) this.#log.debug({ err: (err as Error).message }, 'agent: the watch on its DaemonSet ended; watching again');
      }
      await sleep(UNINSTALL_DEFAULTS.watchRetryMs, signal);
    }
  }
}

/** A watch request's event lines, until the server ends it or `signal` aborts. */
async function watchLines(api: KubeAccess, method: 'GET', path: string, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  const cluster = api.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const opts: https.RequestOptions = { method, headers: { accept: 'application/json' } };
  await api.applyToHTTPSOptions(opts);
  const mod = url.protocol === 'https:' ? https : http;
  await new Promise<void>((resolve, reject) => {
    const req = mod.request(url, { ...opts, signal }, (res) => {
      if ((res.statusCode ?? 0) >= 300) {
        res.resume();
        reject(new Error(`watch ${url.pathname}: ${res.statusCode}`));
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        // One object of one DaemonSet per line: a line longer than this is not a watch event.
        if (buf.length > UNINSTALL_DEFAULTS.maxWatchLineBytes) {
          req.destroy(new Error('watch line too long'));
          return;
        }
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line) onLine(line);
        }
      });
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    req.end();
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
