// The data path of one enrolled pod, as one thread runs it: an HBONE client that dials from
// the pod's namespace, and per address family the outbound (15001) and inbound (15006,
// 15008) listeners inside that namespace. The agent's main thread runs it when it has no
// workers; otherwise every data-path worker runs one for each pod (workers/worker.ts),
// its listeners opened with SO_REUSEPORT so that the kernel spreads the pod's new
// connections over the workers. Capture rules and DNS are not here: they are per pod, not
// per thread (enrolment/pod-proxy.ts).
import type { Workload } from '../../core/config/model.js';
import { HboneClient, type ClientCredentials } from '../../core/hbone/client.js';
import type { PeerGuard } from '../../core/hbone/guard.js';
import type { SpiffeId } from '../../core/identity/spiffe.js';
import type { TrustBundle } from '../../core/identity/trust-bundle.js';
import { SOCKET_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { connectInNetns, socketFd } from '../../core/syscalls.js';
import { adoptKey, type HeldSocket } from '../handover/plan.js';
import { AGENT_PORTS } from './ports.js';
import { listenAddresses } from '../capture/family.js';
import type { ProxyState } from '../state/snapshot.js';
import type { RoundRobinCounters } from './balancer.js';
import type { InboundEnforcer } from './enforcer.js';
import { startInbound, type InboundListeners } from './inbound.js';
import { startOutbound, type ProxyListener } from './outbound.js';
import type { ConnectionSink } from './record.js';

/** What one pod's data path needs that is the pod's own (plain data: it crosses to the
 * workers as a message). */
export interface PodSpec {
  uid: string;
  /** The pod's namespace as a path (/var/run/netns/<name>). */
  netnsPath: string;
  /** Serve IPv6 too (the pod's namespace has it). */
  ipv6: boolean;
  identity: string;
  /** The pod's Workload at enrolment (used until the config has it). */
  workload: Workload;
  /** Announced by the CNI plugin before the config knew it. */
  provisional?: Workload;
  /** The pod's certificate (its identity), PEM. */
  key: string;
  cert: string;
  /** Listening sockets handed over by the agent this one replaces, by `host:port`
   * (node-agent/handover/): served instead of opening new ones. */
  adopt?: Record<string, number>;
}

/** What every pod's data path in one thread shares. */
export interface DataPathEnv {
  getState: () => ProxyState;
  /** Client certificates by source identity (the pod's own). */
  credentials: (source: SpiffeId) => Promise<ClientCredentials> | ClientCredentials;
  trustBundle: TrustBundle;
  trustDomain: string;
  mark: number;
  counters: RoundRobinCounters;
  onConnectionEnd: ConnectionSink;
  onConnectionOpen?: ConnectionSink;
  hboneGuard?: PeerGuard;
  authz?: InboundEnforcer;
  /** Open the listeners with SO_REUSEPORT (other threads serve the same ports). */
  reusePort?: boolean;
  logger?: Logger;
}

export interface PodListeners {
  /** Connections open now, all listeners together. */
  active(): number;
  /** Puts a renewed certificate on the inbound listeners (open connections keep theirs). */
  setCertificate(c: ClientCredentials): void;
  /** Stops accepting (unless `keepAccepting`: then serves `drainMs` more first), lets open
   * connections drain for `drainMs`, then resets what is left. */
  close(drainMs: number, keepAccepting?: boolean): Promise<void>;
  /** The listening sockets, for the next agent (node-agent/handover/). */
  sockets(): HeldSocket[];
}

export async function startPodListeners(spec: PodSpec, env: DataPathEnv): Promise<PodListeners> {
  const opts = { ...env, netnsPath: spec.netnsPath, serving: { key: spec.key, cert: spec.cert } };
  const log = (env.logger ?? silentLogger).child({ pod: `${spec.workload.namespace}/${spec.workload.name}` });
  // The config's Workload once it has the pod; until then the CNI plugin's announcement,
  // else what the pod was enrolled with.
  // (Once the config has had the pod, the announcement is over: were the pod to drop out
  // of a later config, what it was enrolled with applies, not the announcement.)
  let configHadIt = false;
  const fromConfig = () => {
    const w = env.getState().workloadByUid(spec.uid);
    if (w !== undefined) configHadIt = true;
    return w;
  };
  const workload = () => fromConfig() ?? (configHadIt ? undefined : spec.provisional) ?? spec.workload;
  const provisional = spec.provisional && (() => (fromConfig() === undefined && !configHadIt ? spec.provisional : undefined));
  const outbounds: ProxyListener[] = [];
  const inbounds: InboundListeners[] = [];
  const hbone = new HboneClient({
    credentials: opts.credentials,
    trustBundle: opts.trustBundle,
    trustDomain: opts.trustDomain,
    connectTransport: (peer) => connectInNetns(opts.netnsPath, { host: peer.host, port: peer.port, mark: opts.mark, timeoutMs: SOCKET_DEFAULTS.netnsConnectTimeoutMs }),
    logger: log,
  });
  const closeAll = () => Promise.all([...outbounds.map((o) => o.close()), ...inbounds.map((i) => i.close())]);
  try {
    // One set of listeners per family the capture covers: 127.0.0.1 / 0.0.0.0 and, when
    // the pod's namespace has IPv6, ::1 / :: (IPV6_V6ONLY, so the two never overlap).
    for (const family of spec.ipv6 ? ([4, 6] as const) : ([4] as const)) {
      const at = listenAddresses(family);
      const adopted = (host: string, port: number) => spec.adopt?.[adoptKey(host, port)];
      const outFd = adopted(at.outbound, AGENT_PORTS.outbound);
      const hboneFd = adopted(at.inbound, AGENT_PORTS.hbone);
      const plaintextFd = adopted(at.inbound, AGENT_PORTS.inboundPlaintext);
      outbounds.push(
        await startOutbound({
          netnsPath: opts.netnsPath,
          getState: opts.getState,
          source: workload,
          hbone,
          mark: opts.mark,
          counters: opts.counters,
          onConnectionEnd: opts.onConnectionEnd,
          ...(opts.onConnectionOpen && { onConnectionOpen: opts.onConnectionOpen }),
          ...(opts.reusePort && { reusePort: true }),
          ...(outFd !== undefined && { fd: outFd }),
          logger: log,
          host: at.outbound,
        }),
      );
      inbounds.push(
        await startInbound({
          netnsPath: opts.netnsPath,
          getState: opts.getState,
          local: workload,
          ...(provisional && { provisional }),
          credentials: opts.serving,
          trustBundle: opts.trustBundle,
          trustDomain: opts.trustDomain,
          mark: opts.mark,
          onConnectionEnd: opts.onConnectionEnd,
          ...(opts.onConnectionOpen && { onConnectionOpen: opts.onConnectionOpen }),
          ...(opts.hboneGuard && { guard: opts.hboneGuard }),
          ...(opts.authz && { authz: opts.authz }),
          ...(opts.reusePort && { reusePort: true }),
          ...(hboneFd !== undefined && { hboneFd }),
          ...(plaintextFd !== undefined && { plaintextFd }),
          logger: log,
          host: at.inbound,
        }),
      );
    }
  } catch (err) {
    await closeAll().catch(() => {});
    hbone.destroy();
    throw err;
  }
  const plainActive = () => sum(outbounds.map((o) => o.active)) + sum(inbounds.map((i) => i.plaintext.active));
  return {
    active: () => plainActive() + sum(inbounds.map((i) => i.hbone.stats.streams)),
    setCertificate(c) {
      for (const i of inbounds) i.hbone.setCredentials({ key: c.key, cert: c.cert });
    },
    async close(drainMs, keepAccepting = false) {
      if (keepAccepting) {
        // The agent is stopping and the pod keeps its capture: with the listeners closed
        // every new connection of the pod would be refused until the next agent is up,
        // which makes a stopping agent worse than a crashed one. So the listeners keep
        // accepting and serving until the drain deadline; then what is still open is
        // reset, as a crash would.
        await new Promise((r) => setTimeout(r, drainMs));
        drainMs = 0;
      }
      for (const o of outbounds) o.server.close();
      for (const i of inbounds) {
        i.plaintext.server.close();
        i.hboneListener.close();
      }
      await Promise.all([drainUntil(plainActive, drainMs), ...inbounds.map((i) => i.hbone.drain(drainMs))]);
      await closeAll();
      hbone.destroy();
    },
    sockets() {
      const held = (server: import('node:net').Server): HeldSocket[] => {
        const a = server.address();
        if (!server.listening || a === null || typeof a === 'string') return [];
        return [{ proto: 'tcp', host: a.address, port: a.port, fd: socketFd(server) }];
      };
      return [...outbounds.flatMap((o) => held(o.server)), ...inbounds.flatMap((i) => [...held(i.hboneListener), ...held(i.plaintext.server)])];
    },
  };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Waits until `count()` is 0 or `ms` passed (polling: connections end on their own). */
async function drainUntil(count: () => number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
