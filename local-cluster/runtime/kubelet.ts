// The local cluster's kubelet for one node: runs the pods the API server assigns to this
// node. A pod gets a network namespace wired by the CNI plugins, its own hosts file, and
// one supervised process per container; its status (IP, phase, container states, restarts)
// is written back to the API server. A pod whose network setup (CNI ADD) fails is tried
// again with back-off, as Kubernetes retries a pod sandbox (sandbox-retry.ts). A deleted
// pod's processes are stopped and its network torn down.
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { watchResource } from '../../core/kube/informer.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { netnsPath } from '../../core/syscalls.js';
import { installProbeRules } from '../network/probe-source.js';
import { containerArgv, containerEnv } from './containers.js';
import { hostsFile, resolvConf } from './hosts.js';
import { podStatus, statusKey, type ContainerView, type SandboxView } from './pod-status.js';
import { decideSandboxRetry, sandboxFailureMessage, SANDBOX_FAILED_REASON, SANDBOX_RETRY_LIMITS, type SandboxRetryLimits } from './sandbox-retry.js';
import { PodProber } from './prober.js';
import { ContainerProcess, podLauncher } from './supervisor.js';
import { serviceAccountFiles } from './service-account.js';
import { hostPathVolumes } from './host-paths.js';
import { nodeHostDir } from '../network/cni-config.js';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface PodRef {
  uid: string;
  name: string;
  namespace: string;
}

/** The CNI side of a pod, provided by the node (local-cluster/network). */
export interface PodNetwork {
  /** `ip` is the primary address (IPv4); `ips` every address, primary first (dual-stack). */
  add(pod: PodRef): Promise<{ netns: string; ip: string; ips?: string[] }>;
  del(pod: PodRef): Promise<void>;
}

export interface KubeletOptions {
  kc: KubeConfig;
  node: string;
  hostIP: string;
  /** The node's own network namespace: where hostNetwork pods run. */
  nodeNetns: string;
  /** The API server as pods reach it (written into their kubeconfig), and its CA. */
  apiServer: string;
  apiCaFile: string;
  network: PodNetwork;
  /** The cluster is dual-stack: probe rules for IPv6 too. */
  dualStack?: boolean;
  stateDir: string;
  repoRoot: string;
  /** Environment every container inherits (PATH, the cluster marker). */
  baseEnv: Record<string, string>;
  /** Back-off between network setup attempts of a pod (default KUBELET_DEFAULTS in limits.ts). */
  sandboxRetry?: SandboxRetryLimits;
  logger?: Logger;
}

interface PodRuntime {
  ref: PodRef;
  pod: V1Pod;
  netns?: string;
  ip?: string;
  ips?: string[];
  hostNetwork: boolean;
  /** Readiness and liveness probes, once the containers run. */
  prober?: PodProber;
  containers: ContainerProcess[];
  images: Map<string, string>;
  startTime: Date;
  /** Set when the pod cannot start (unknown image, an error after its network was set up). */
  blocked?: { reason: string; message: string };
  /** While its network setup (CNI ADD) keeps failing: why, for the status, until an attempt succeeds. */
  sandboxFailure?: { reason: string; message: string };
  /** Aborted when the pod is torn down: ends the wait between network setup attempts. */
  abort: AbortController;
  lastStatus?: string;
  starting?: Promise<void>;
  hosts?: string;
}

export class Kubelet {
  readonly #o: KubeletOptions;
  readonly #log: Logger;
  readonly #core: CoreV1Api;
  readonly #pods = new Map<string, PodRuntime>();
  readonly #watchPods;
  readonly #watchServices;
  #timer?: NodeJS.Timeout;
  #syncing?: Promise<void>;
  #again = false;
  #stopped = false;
  /** The node's probe SNAT (probe-rules.ts), installed once before the first probe. */
  #probeRules?: Promise<void>;

  constructor(o: KubeletOptions) {
    this.#o = o;
    this.#log = o.logger ?? silentLogger;
    this.#core = o.kc.makeApiClient(CoreV1Api);
    const onChange = () => this.#schedule();
    this.#watchPods = watchResource<V1Pod>(o.kc, { apiVersion: 'v1', kind: 'Pod', plural: 'pods' }, { fieldSelector: `spec.nodeName=${o.node}`, onChange, logger: this.#log });
    this.#watchServices = watchResource<V1Service>(o.kc, { apiVersion: 'v1', kind: 'Service', plural: 'services' }, { onChange, logger: this.#log });
  }

  get synced(): Promise<void> {
    return Promise.all([this.#watchPods.synced, this.#watchServices.synced]).then(() => undefined);
  }

  /** The pods this node runs now: for `cluster status` and tests. */
  running(): Array<{ ref: PodRef; ip?: string; netns?: string }> {
    return [...this.#pods.values()].map((p) => ({ ref: p.ref, ...(p.ip ? { ip: p.ip } : {}), ...(p.netns ? { netns: p.netns } : {}) }));
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#sync(), 20);
  }

  async #sync(): Promise<void> {
    if (this.#syncing) {
      this.#again = true;
      return;
    }
    this.#syncing = (async () => {
      do {
        this.#again = false;
        try {
          await this.#syncOnce();
        } catch (err) {
          this.#log.warn({ err: (err as Error).message }, 'kubelet sync failed; retrying');
          setTimeout(() => this.#schedule(), 1000).unref();
        }
      } while (this.#again && !this.#stopped);
    })();
    await this.#syncing;
    this.#syncing = undefined;
  }

  async #syncOnce(): Promise<void> {
    const desired = new Map(this.#watchPods.list().filter((p) => !p.metadata?.deletionTimestamp).map((p) => [p.metadata!.uid!, p]));
    for (const [uid, rt] of this.#pods) {
      if (!desired.has(uid)) await this.#teardown(rt);
    }
    const services = this.#watchServices.list();
    for (const [uid, pod] of desired) {
      let rt = this.#pods.get(uid);
      if (!rt) {
        rt = {
          ref: { uid, name: pod.metadata!.name!, namespace: pod.metadata!.namespace! },
          pod,
          containers: [],
          hostNetwork: pod.spec?.hostNetwork === true,
          images: new Map((pod.spec?.containers ?? []).map((c) => [c.name, c.image ?? ''])),
          startTime: new Date(),
          abort: new AbortController(),
        };
        this.#pods.set(uid, rt);
        const r = rt;
        // Pods start concurrently; the status of each is written as it progresses.
        r.starting = this.#start(r).catch((err) => {
          r.blocked = { reason: 'StartError', message: (err as Error).message };
          this.#log.warn({ pod: `${r.ref.namespace}/${r.ref.name}`, err: (err as Error).message }, 'pod failed to start');
          this.#schedule();
        });
      }
      rt.pod = pod;
      if (rt.netns && rt.ip && !rt.hostNetwork) await this.#writeHosts(rt, services);
      await this.#writeStatus(rt);
    }
  }

  async #start(rt: PodRuntime): Promise<void> {
    const pod = rt.pod;
    const node = process.execPath;
    const argvs = (pod.spec?.containers ?? []).map((c) => ({ c, a: containerArgv(c, this.#o.repoRoot, node) }));
    const bad = argvs.find((x) => 'error' in x.a);
    if (bad && 'error' in bad.a) {
      rt.blocked = { reason: bad.a.reason, message: `container ${bad.c.name}: ${bad.a.error}` };
      this.#schedule();
      return;
    }
    // A hostNetwork pod shares its node's namespace and address; others get their own.
    const net = rt.hostNetwork ? { netns: this.#o.nodeNetns, ip: this.#o.hostIP, ips: undefined } : await this.#setUpNetwork(rt);
    if (!net) return; // deleted, or the kubelet stopped, before its network could be set up
    const { netns, ip, ips } = net;
    if (!this.#pods.has(rt.ref.uid) || this.#stopped) {
      if (!rt.hostNetwork) await this.#o.network.del(rt.ref); // deleted while its network was being set up
      return;
    }
    rt.netns = netns;
    rt.ip = ip;
    if (ips && ips.length > 0) rt.ips = ips;
    if (!rt.hostNetwork) await this.#writeHosts(rt, this.#watchServices.list());
    const saEnv = await serviceAccountFiles({
      core: this.#core,
      pod,
      dir: this.podDir(rt.ref),
      apiServer: this.#o.apiServer,
      caFile: this.#o.apiCaFile,
    }).catch((err: Error) => {
      this.#log.warn({ pod: `${rt.ref.namespace}/${rt.ref.name}`, err: err.message }, 'no service account token for the pod');
      return {};
    });
    const hostPathEnv: Record<string, string> = {};
    for (const v of hostPathVolumes(pod, nodeHostDir(this.#o.stateDir, this.#o.node))) {
      if (v.create) await mkdir(v.dir, { recursive: true, mode: 0o755 });
      hostPathEnv[v.env] = v.dir;
    }
    const podWithIp: V1Pod = { ...pod, status: { ...pod.status, podIP: ip, hostIP: this.#o.hostIP } };
    // Probes run from the node with the probe source address (probe-rules.ts), set up
    // before the first one so that a STRICT pod's first probe is not captured.
    const probed = (pod.spec?.containers ?? []).some((c) => c.readinessProbe || c.livenessProbe);
    if (probed) {
      this.#probeRules ??= installProbeRules(this.#o.nodeNetns, { ipv6: this.#o.dualStack === true }).catch((err: Error) =>
        this.#log.warn({ err: err.message }, 'probe source rules not installed: probes to STRICT mesh pods will fail'),
      );
      await this.#probeRules;
    }
    const restartPolicy = (pod.spec?.restartPolicy ?? 'Always') as 'Always' | 'OnFailure' | 'Never';
    for (const { c, a } of argvs) {
      if (!('argv' in a)) continue;
      const proc = new ContainerProcess(
        {
          name: c.name,
          launcher: podLauncher(netns, rt.hostNetwork),
          argv: a.argv,
          env: containerEnv(podWithIp, c, this.#o.node, { ...this.#o.baseEnv, ...saEnv, ...hostPathEnv }),
          dir: this.podDir(rt.ref),
          logFile: this.logFile(rt.ref, c.name),
          restartPolicy,
        },
        () => this.#schedule(),
      );
      rt.containers.push(proc);
      proc.start();
    }
    if (probed) {
      rt.prober = new PodProber({
        containers: pod.spec?.containers ?? [],
        container: (name) => {
          const proc = rt.containers.find((p) => p.spec.name === name);
          if (!proc) return undefined;
          return {
            state: () => proc.state,
            kill: (signal) => {
              if (proc.state.state !== 'running') return;
              try {
                process.kill(-proc.state.pid, signal); // its process group, as ContainerProcess.stop does
              } catch {
                // already gone
              }
            },
          };
        },
        target: { podIp: ip, nodeNetnsPath: netnsPath(this.#o.nodeNetns) },
        onChange: () => this.#schedule(),
        logger: this.#log.child({ pod: `${rt.ref.namespace}/${rt.ref.name}` }),
      });
    }
    this.#log.info({ pod: `${rt.ref.namespace}/${rt.ref.name}`, ip, netns }, 'pod started');
    this.#schedule();
  }

  /**
   * CNI ADD until it succeeds, as the kubelet retries a pod sandbox: after a failure the
   * partial network is torn down (CNI DEL, idempotent), the pod's status names the error,
   * and the next attempt waits the back-off. The same pod object is kept throughout: it is
   * never recreated. Undefined when the pod was deleted or the kubelet stopped meanwhile
   * (nothing is left of its network then).
   */
  async #setUpNetwork(rt: PodRuntime): Promise<{ netns: string; ip: string; ips?: string[] } | undefined> {
    const limits = this.#o.sandboxRetry ?? SANDBOX_RETRY_LIMITS;
    const pod = `${rt.ref.namespace}/${rt.ref.name}`;
    for (let failures = 0; ; ) {
      try {
        const net = await this.#o.network.add(rt.ref);
        if (failures > 0) this.#log.info({ pod, failures }, 'pod network set up after failed attempts');
        rt.sandboxFailure = undefined;
        return net;
      } catch (err) {
        failures++;
        const error = (err as Error).message;
        await this.#o.network.del(rt.ref).catch((e: Error) => this.#log.warn({ pod, err: e.message }, 'CNI DEL after a failed ADD failed'));
        const d = decideSandboxRetry({ failures, podDeleted: !this.#pods.has(rt.ref.uid), kubeletStopping: this.#stopped }, limits);
        if (!d.retry) {
          this.#log.info({ pod, err: error, why: d.why }, 'pod network setup failed; not retried');
          return undefined;
        }
        rt.sandboxFailure = { reason: SANDBOX_FAILED_REASON, message: sandboxFailureMessage(error, failures, d.delayMs) };
        this.#log.warn({ pod, err: error, failures, retryInMs: d.delayMs }, 'pod network setup failed; retrying');
        this.#schedule();
        await abortableDelay(d.delayMs, rt.abort.signal);
      }
    }
  }

  podDir(ref: PodRef): string {
    return join(this.#o.stateDir, 'pods', `${ref.namespace}_${ref.name}_${ref.uid.slice(0, 8)}`);
  }

  logFile(ref: PodRef, container: string): string {
    return join(this.podDir(ref), `${container}.log`);
  }

  async #writeHosts(rt: PodRuntime, services: readonly V1Service[]): Promise<void> {
    const text = hostsFile({ name: rt.ref.name, namespace: rt.ref.namespace, ip: rt.ip! }, services);
    if (text === rt.hosts) return;
    const dir = join('/etc/netns', rt.netns!);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'hosts'), text);
    const resolv = join(dir, 'resolv.conf');
    const want = resolvConf(rt.ref.namespace);
    if ((await readFile(resolv, 'utf8').catch(() => '')) !== want) await writeFile(resolv, want);
    rt.hosts = text;
  }

  async #writeStatus(rt: PodRuntime): Promise<void> {
    const views: ContainerView[] = (rt.pod.spec?.containers ?? []).map((c) => {
      const proc = rt.containers.find((p) => p.spec.name === c.name);
      return {
        name: c.name,
        ready: proc?.state.state === 'running' && (rt.prober?.ready(c.name) ?? true),
        image: c.image ?? '',
        state: proc?.state ?? (rt.blocked ? { state: 'waiting', reason: rt.blocked.reason, message: rt.blocked.message } : { state: 'waiting', reason: 'ContainerCreating' }),
        restartCount: proc?.restartCount ?? 0,
        ...(proc?.lastTermination ? { lastTermination: proc.lastTermination } : {}),
      };
    });
    const sandbox: SandboxView = rt.netns ? { ready: true } : { ready: false, ...(rt.sandboxFailure ?? {}) };
    const status = podStatus({ ...(rt.ip ? { podIP: rt.ip } : {}), ...(rt.ips ? { podIPs: rt.ips } : {}), hostIP: this.#o.hostIP, startTime: rt.startTime, containers: views, sandbox });
    const key = statusKey(status);
    if (key === rt.lastStatus) return;
    try {
      // Merge patch keeps absent keys: a reason that no longer applies must be cleared.
      const body = { status: { ...status, reason: status.reason ?? null, message: status.message ?? null } };
      await this.#core.patchNamespacedPodStatus({ name: rt.ref.name, namespace: rt.ref.namespace, body }, MERGE);
      rt.lastStatus = key;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) this.#log.warn({ pod: rt.ref.name, err: (err as Error).message }, 'status write failed');
    }
  }

  async #teardown(rt: PodRuntime): Promise<void> {
    this.#pods.delete(rt.ref.uid);
    rt.abort.abort(); // no further network setup attempt
    await rt.starting;
    rt.prober?.stop();
    await Promise.all(rt.containers.map((c) => c.stop()));
    if (rt.netns && !rt.hostNetwork) {
      await this.#o.network.del(rt.ref).catch((err) => this.#log.warn({ err: (err as Error).message }, 'CNI DEL failed'));
      await rm(join('/etc/netns', rt.netns), { recursive: true, force: true });
    }
    this.#log.info({ pod: `${rt.ref.namespace}/${rt.ref.name}` }, 'pod stopped');
  }

  /** Stops watching and tears every pod down (node shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.all([this.#watchPods.stop(), this.#watchServices.stop()]);
    await this.#syncing;
    await Promise.all([...this.#pods.values()].map((rt) => this.#teardown(rt)));
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
