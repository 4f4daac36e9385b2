// The node agent program's pieces wired together (DESIGN.md sections 1-3), startable
// in-process (tests) or from node-agent/main.ts:
//
//   controller client (15012) --update--> held resources --buildState--> ProxyState
//   ProxyState + CNI announcements + netns lookup --planEnrolment--> enrol / un-enrol
//   enrol: certificate (CertificateManager, signed over 15012) -> listeners in the pod's
//          netns -> capture rules (node-agent/enrolment/pod-proxy.ts)
//   every connection -> one record -> metrics + one access-log line
//
// One writer for state: only the update handler replaces `state`, in one assignment.
// One reconciler at a time: changes that arrive while it runs make it run once more.
// When the controller is away the agent keeps its last config and its certificates (the
// manager serves them until they expire) and the client reconnects with backoff.
import { basename, dirname } from 'node:path';
import { readFileSync } from 'node:fs';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { podEnrolment } from '../core/config/enrolment.js';
import { resourceId, type Resource, type Workload } from '../core/config/model.js';
import { ErrorCodes, MeshError } from '../core/errors.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { formatSpiffeId, parseSpiffeId, spiffeId } from '../core/identity/spiffe.js';
import { TrustBundle } from '../core/identity/trust-bundle.js';
import { AGENT_DEFAULTS } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import { NETNS_DIR } from './enrolment/netns.js';
import { startAgentServers, type AgentServers } from './admin.js';
import { startHandoffServer, type CniPod, type HandoffServer } from './cni/handoff.js';
import { ControllerClient, type ConfigUpdate } from './controller-client/client.js';
import { controllerSigner } from './controller-client/signer.js';
import { NetnsFinder } from './enrolment/netns.js';
import { planEnrolment, wantsCapture } from './enrolment/plan.js';
import { startPodProxy, type PodProxy } from './enrolment/pod-proxy.js';
import { accessLogSink } from './observe/access-log.js';
import { AgentMetrics } from './observe/metrics.js';
import { PeerGuard } from '../core/hbone/guard.js';
import { HboneServerMetrics } from '../core/hbone/metrics.js';
import { createCounters } from './proxy/balancer.js';
import { buildState, type ProxyState } from './proxy/state.js';
import { parseResolvConf } from './dns/server.js';

/** SO_MARK on the agent's sockets in pods: the capture lets them through (Istio's 0x539). */
export const AGENT_MARK = 0x539;

export interface NodeAgentOptions {
  /** The node this agent serves (spec.nodeName through the downward API). */
  node: string;
  trustDomain?: string;
  controller: {
    address: { host: string; port: number };
    /** The controller's SPIFFE ID. */
    identity: string;
    /** The mesh roots the controller's certificate must chain to. */
    roots: string[];
    /** The agent's ServiceAccount token, read anew for every request. */
    token: () => string | Promise<string>;
  };
  /** For pods the CNI plugin announces before they are Workloads: their labels decide. */
  kubeConfig?: KubeConfig;
  /** The CNI hand-off socket (`@name`: abstract); false: none. Default @ambient-cni. */
  cniSocket?: string | false;
  /** Admin (default 127.0.0.1:15000), metrics (0.0.0.0:15020), readiness (0.0.0.0:15021); false: not served. */
  servers?: { admin?: { host?: string; port: number } | false; metrics?: { host?: string; port: number } | false; readiness?: { host?: string; port: number } | false };
  mark?: number;
  /** Redirect pods' DNS to the proxy on 15053; default true. */
  captureDns?: boolean;
  /** Where the DNS proxy forwards other names; default the nameservers of /etc/resolv.conf. */
  dnsUpstreams?: string[];
  clusterDomain?: string;
  repairIntervalMs?: number;
  drainTimeoutMs?: number;
  /** Also look for pods' network namespaces here (tests); default /var/run/netns. */
  netnsDir?: string;
  logger?: Logger;
  /** Where access-log lines go; default `logger`. */
  accessLogger?: Logger;
}

export interface EnrolledPodStatus {
  uid: string;
  name: string;
  namespace: string;
  identity: string;
  netns: string;
  activeConnections: number;
}

export interface NodeAgent {
  readonly node: string;
  readonly metrics: AgentMetrics;
  readonly client: ControllerClient;
  readonly certificates: CertificateManager;
  readonly servers: AgentServers;
  readonly cni: HandoffServer | undefined;
  /** First config applied. */
  ready(): boolean;
  state(): ProxyState;
  pods(): EnrolledPodStatus[];
  /** What /config_dump on 15000 answers. */
  configDump(): Record<string, unknown>;
  /** Runs the enrolment reconciler now (and waits for it). */
  reconcile(): Promise<void>;
  /** Checks (and repairs) every enrolled pod's capture now. */
  repair(): Promise<void>;
  close(): Promise<void>;
}

interface Failure {
  uid: string;
  error: string;
  at: string;
}

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const log = opts.logger ?? silentLogger;
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  const mark = opts.mark ?? AGENT_MARK;
  const captureDns = opts.captureDns ?? true;
  const drainMs = opts.drainTimeoutMs ?? AGENT_DEFAULTS.drainTimeoutMs;
  const dnsUpstreams = opts.dnsUpstreams ?? systemNameservers();
  const trustBundle = new TrustBundle(opts.controller.roots);

  let state: ProxyState = buildState([], { localNode: opts.node });
  let synced = false;
  const held = new Map<string, Resource>();
  const pods = new Map<string, PodProxy>();
  const enrolledWith = new Map<string, { netns: string; identity: string; workload: Workload }>();
  const netnsOf = new Map<string, string>();
  const announced = new Map<string, Workload>();
  const failures = new Map<string, Failure>();
  const finder = new NetnsFinder(opts.netnsDir ?? NETNS_DIR);
  const counters = createCounters();
  let closed = false;

  const client = new ControllerClient({
    address: opts.controller.address,
    trustBundle,
    controllerIdentity: opts.controller.identity,
    token: opts.controller.token,
    node: opts.node,
    logger: log,
    onUpdate: (u) => applyUpdate(u),
  });
  const certificates = new CertificateManager({ signer: controllerSigner(client), trustBundle });
  const metrics = new AgentMetrics({
    enrolledPods: () => pods.size,
    controllerConnected: () => client.status.connected,
    certificates: () => certificates.list().map((c) => ({ identity: formatSpiffeId(c.identity), notAfter: c.notAfter })),
    activeConnections: () => [...pods.values()].reduce((n, p) => n + p.active(), 0),
  });
  const onConnectionEnd = accessLogSink(opts.accessLogger ?? log, () => state, metrics);
  // One penalty box for every pod's 15008: a peer refused at one pod is refused at all.
  const hboneGuard = new PeerGuard({ logger: log, metrics: new HboneServerMetrics(metrics.registry) });

  function applyUpdate(u: ConfigUpdate): void {
    // A reconnect's first update (full) carries only what differs from the versions our
    // hello reported, with removals for the rest: applied like any other, it leaves us
    // holding exactly the controller's set. Clearing first would drop what did not change.
    for (const r of u.upserts) held.set(resourceId(r.kind, r.key), { kind: r.kind, key: r.key, body: r.body } as Resource);
    for (const r of u.removes) held.delete(resourceId(r.kind, r.key));
    const seen = new Set(state.warnings);
    state = buildState([...held.values()], { localNode: opts.node });
    for (const w of state.localWorkloads()) announced.delete(w.uid);
    for (const warning of state.warnings) if (!seen.has(warning)) log.warn({ warning }, 'agent: config oddity');
    if (!synced) log.info({ version: u.version, resources: held.size }, 'agent: first config applied');
    synced = true;
    void schedule();
  }

  client.on('update', (r) => {
    metrics.configUpdate(r.rejected.length);
    if (r.rejected.length > 0) {
      log.warn({ version: r.version, rejected: r.rejected }, 'agent: resources refused (NACKed); the previous version of each is kept');
    }
  });
  client.on('connected', () => log.info({ controller: opts.controller.address }, 'agent: config stream open'));
  client.on('disconnected', (err) => log.warn({ err: err?.message }, 'agent: config stream lost; serving the last config while reconnecting'));
  client.on('error', (err) => log.debug({ err: err.message }, 'agent: controller unreachable; retrying'));
  certificates.on('rotated', (c) => {
    const id = formatSpiffeId(c.identity);
    for (const p of pods.values()) if (p.identity === id) p.setCertificate(c);
    log.info({ identity: id, notAfter: c.notAfter.toISOString() }, 'agent: certificate renewed');
  });
  certificates.on('error', (err, id) => log.warn({ identity: formatSpiffeId(id), err: err.message }, 'agent: certificate renewal failed; the current one is served until it expires'));

  // ---- the reconciler ----
  let running: Promise<void> | undefined;
  let again = false;
  function schedule(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await reconcileOnce();
        } while (again && !closed);
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  async function reconcileOnce(): Promise<void> {
    // Forget what is known of pods that are gone (no longer in config, announced or enrolled).
    const gone = (uid: string) => state.workloadByUid(uid) === undefined && !announced.has(uid) && !enrolledWith.has(uid);
    for (const uid of [...netnsOf.keys()]) if (gone(uid)) netnsOf.delete(uid);
    for (const uid of [...failures.keys()]) if (gone(uid)) failures.delete(uid);
    const view = new Map([...enrolledWith].map(([uid, e]) => [uid, { netns: e.netns, identity: e.identity }]));
    let plan = planEnrolment({ local: state.localWorkloads(), announced, netns: netnsOf, enrolled: view });
    if (plan.lookup.length > 0) {
      for (const w of plan.lookup) {
        const name = await finder.find(w.ips);
        if (name !== undefined) netnsOf.set(w.uid, name);
      }
      plan = planEnrolment({ local: state.localWorkloads(), announced, netns: netnsOf, enrolled: view });
      for (const w of plan.lookup) {
        if (w.ips.length > 0) noteFailure(w.uid, `no network namespace under ${opts.netnsDir ?? NETNS_DIR} holds ${w.ips.join(', ')}`, 'netns_not_found');
      }
    }
    for (const uid of plan.unenrol) {
      const pod = pods.get(uid);
      pods.delete(uid);
      const was = enrolledWith.get(uid);
      enrolledWith.delete(uid);
      // A pod that is gone has nothing to drain.
      const left = !netnsOf.has(uid) && state.workloadByUid(uid) === undefined;
      await pod?.close(left ? 0 : drainMs).catch((err: Error) => log.warn({ uid, err: err.message }, 'agent: un-enrolment incomplete'));
      // The identity's last pod on this node left: stop renewing its certificate.
      if (was && ![...enrolledWith.values()].some((e) => e.identity === was.identity)) certificates.forget(parseSpiffeId(was.identity));
    }
    for (const { workload, netns } of plan.enrol) {
      if (closed) return;
      const uid = workload.uid;
      try {
        const starting = startPodProxy({
          netns,
          workload: () => state.workloadByUid(uid) ?? announced.get(uid) ?? workload,
          getState: () => state,
          certificates,
          trustDomain,
          mark,
          counters,
          onConnectionEnd,
          onConnectionOpen: (r) => metrics.connectionOpened(r, state),
          hboneGuard,
          captureDns,
          dnsUpstreams,
          ...(opts.clusterDomain !== undefined && { clusterDomain: opts.clusterDomain }),
          logger: log,
        });
        let pod: PodProxy;
        try {
          pod = await withTimeout(starting, AGENT_DEFAULTS.enrolTimeoutMs, `enrolling ${workload.namespace}/${workload.name}`);
        } catch (err) {
          // One that finishes after all is undone: the next round starts afresh.
          starting.then((late) => late.close(0)).catch(() => {});
          throw err;
        }
        pods.set(uid, pod);
        enrolledWith.set(uid, { netns, identity: workload.identity, workload });
        failures.delete(uid);
      } catch (err) {
        noteFailure(uid, (err as Error).message, (err as MeshError).code ?? 'error');
        log.error({ pod: `${workload.namespace}/${workload.name}`, netns, err: (err as Error).message }, 'agent: enrolment failed; retried at the next change or repair');
      }
    }
  }

  function noteFailure(uid: string, error: string, reason: string): void {
    if (failures.get(uid)?.error !== error) metrics.enrolmentFailure(reason);
    failures.set(uid, { uid, error, at: new Date().toISOString() });
  }

  async function repair(): Promise<void> {
    for (const [uid, pod] of [...pods]) {
      try {
        const s = await pod.repair();
        if (!s.complete) metrics.captureRepair();
      } catch (err) {
        log.warn({ uid, err: (err as Error).message }, 'agent: capture check failed');
      }
    }
    await schedule();
  }

  // ---- the CNI hand-off: a new pod is captured before its containers start ----
  const kubeApi = opts.kubeConfig?.makeApiClient(CoreV1Api);
  async function onCniAdd(p: CniPod): Promise<void> {
    if (!p.podUid || !p.podName || !p.podNamespace) return; // not a Kubernetes pod: nothing to decide
    const netns = netnsName(p.netnsPath);
    if (netns === undefined) {
      log.warn({ pod: `${p.podNamespace}/${p.podName}`, netns: p.netnsPath }, 'agent: CNI netns is not under /var/run/netns; the pod is enrolled when found by address');
      return;
    }
    netnsOf.set(p.podUid, netns);
    finder.forget(netns);
    const known = state.workloadByUid(p.podUid);
    if (known === undefined) {
      const w = await judgeNewPod(p);
      if (w === undefined) return;
      announced.set(p.podUid, w);
    } else if (!wantsCapture(known)) {
      return;
    }
    await schedule();
    if (!pods.has(p.podUid)) {
      const f = failures.get(p.podUid);
      throw new MeshError(ErrorCodes.CNI_HANDOFF_FAILED, `the node agent could not enrol pod ${p.podNamespace}/${p.podName}: ${f?.error ?? 'unknown reason'}`);
    }
  }

  async function onCniDel(p: CniPod): Promise<void> {
    if (!p.podUid) return;
    announced.delete(p.podUid);
    const netns = netnsOf.get(p.podUid);
    netnsOf.delete(p.podUid);
    if (netns) finder.forget(netns);
    const pod = pods.get(p.podUid);
    if (pod) {
      pods.delete(p.podUid);
      enrolledWith.delete(p.podUid);
      await pod.close(0).catch(() => {});
    }
  }

  /** The Workload a just-created pod will be, when its labels enrol it; undefined when not. */
  async function judgeNewPod(p: CniPod): Promise<Workload | undefined> {
    if (!kubeApi) return undefined;
    try {
      const [pod, ns] = await Promise.all([
        kubeApi.readNamespacedPod({ namespace: p.podNamespace!, name: p.podName! }),
        kubeApi.readNamespace({ name: p.podNamespace! }),
      ]);
      if (pod.metadata?.uid !== p.podUid) return undefined;
      const labels = pod.metadata?.labels ?? {};
      const e = podEnrolment(
        { labels, hostNetwork: pod.spec?.hostNetwork === true, isWaypoint: labels['gateway.networking.k8s.io/gateway-name'] !== undefined },
        ns.metadata?.labels ?? {},
      );
      if (e.protocol !== 'HBONE') return undefined;
      const sa = pod.spec?.serviceAccountName || 'default';
      return {
        uid: p.podUid!,
        name: p.podName!,
        namespace: p.podNamespace!,
        serviceAccount: sa,
        identity: formatSpiffeId(spiffeId(p.podNamespace!, sa, trustDomain)),
        node: opts.node,
        ips: p.ips,
        protocol: 'HBONE',
        labels,
        canonicalName: labels['app'] ?? p.podName!,
        canonicalRevision: labels['version'] ?? 'latest',
        mtlsMode: 'PERMISSIVE',
        healthy: false,
      };
    } catch (err) {
      // Fail open: the pod starts uncaptured and is enrolled as soon as the config says so.
      log.warn({ pod: `${p.podNamespace}/${p.podName}`, err: (err as Error).message }, 'agent: cannot read the new pod from the API server; it is enrolled once the controller reports it');
      return undefined;
    }
  }

  // ---- start ----
  const cleanups: Array<() => Promise<void> | void> = [];
  let servers: AgentServers;
  let cni: HandoffServer | undefined;
  try {
    servers = await startAgentServers({
      admin: opts.servers?.admin === false ? undefined : { host: '127.0.0.1', port: 15000, ...opts.servers?.admin },
      metrics: opts.servers?.metrics === false ? undefined : { host: '0.0.0.0', port: 15020, ...opts.servers?.metrics },
      readiness: opts.servers?.readiness === false ? undefined : { host: '0.0.0.0', port: 15021, ...opts.servers?.readiness },
      registry: metrics.registry,
      logger: log,
      configDump: () => dump(),
      ready: () => (synced ? { ready: true } : { ready: false, reason: `no config from the controller at ${opts.controller.address.host}:${opts.controller.address.port} yet` }),
    });
    cleanups.push(() => servers.close());
    if (opts.cniSocket !== false) {
      cni = await startHandoffServer({ socket: opts.cniSocket ?? '@ambient-cni', onAdd: onCniAdd, onDel: onCniDel, logger: log });
      const c = cni;
      cleanups.push(() => c.close());
    }
  } catch (err) {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    throw err;
  }
  client.start();
  const repairTimer = setInterval(() => void repair(), opts.repairIntervalMs ?? AGENT_DEFAULTS.repairIntervalMs);
  repairTimer.unref();

  function podStatuses(): EnrolledPodStatus[] {
    return [...pods].map(([uid, p]) => {
      const w = state.workloadByUid(uid) ?? enrolledWith.get(uid)!.workload;
      return { uid, name: w.name, namespace: w.namespace, identity: p.identity, netns: p.netns, activeConnections: p.active() };
    });
  }

  function dump(): Record<string, unknown> {
    return {
      node: opts.node,
      ready: synced,
      controller: { address: `${opts.controller.address.host}:${opts.controller.address.port}`, ...client.status },
      enrolled: podStatuses(),
      failures: [...failures.values()],
      workloads: state.workloads(),
      services: state.services(),
      policies: state.policies(),
      certificates: certificates.list().map((c) => ({
        identity: formatSpiffeId(c.identity),
        serial: c.serial,
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
      })),
      warnings: state.warnings,
    };
  }

  return {
    node: opts.node,
    metrics,
    client,
    certificates,
    servers,
    cni,
    ready: () => synced,
    state: () => state,
    pods: podStatuses,
    configDump: dump,
    reconcile: schedule,
    repair,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(repairTimer);
      await running?.catch(() => {});
      // Pods keep their capture when the agent stops (as ztunnel's do): their traffic
      // waits for the next agent rather than leave the pod in plaintext, which a STRICT
      // peer would refuse anyway. The next agent finds them by address and takes over;
      // un-enrolling (the label) is what removes the rules.
      await Promise.all([...pods.values()].map((p) => p.close(drainMs, { keepCapture: true }).catch(() => {})));
      pods.clear();
      await client.close();
      certificates.close();
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    },
  };
}

/** The name of a netns pinned under /var/run/netns (what the capture commands take). */
function netnsName(path: string): string | undefined {
  const dir = dirname(path);
  return dir === NETNS_DIR || dir === '/run/netns' ? basename(path) : undefined;
}

function systemNameservers(): string[] {
  try {
    return parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8')).nameservers;
  } catch {
    return [];
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new MeshError(ErrorCodes.ENROL_FAILED, `${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}
