// One enrolled pod as the agent serves it (DESIGN.md section 2, steps 2-5): the listeners
// the agent opens inside the pod's network namespace (15001 outbound, 15006 and 15008
// inbound, 15053 DNS), an HBONE client that dials from that namespace, and the in-pod
// capture that sends the pod's traffic to them. Listeners come up before the capture, so
// that no captured connection ever finds a closed port; on the way out the capture goes
// first, so that new connections reach the app directly while open ones drain.
import type { Workload } from '../../core/config/model.js';
import { HboneClient } from '../../core/hbone/client.js';
import type { PeerGuard } from '../../core/hbone/guard.js';
import type { CertificateManager, WorkloadCertificate } from '../../core/identity/cert-manager.js';
import { parseSpiffeId } from '../../core/identity/spiffe.js';
import { AGENT_DEFAULTS, SOCKET_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { bindUdpInNetns, connectInNetns, listenInNetns, netnsPath } from '../../core/syscalls.js';
import { checkCapture, installCapture, removeCapture, type CaptureInstallOptions } from '../capture/apply.js';
import { captureFamilies, listenAddresses } from '../capture/family.js';
import type { CaptureState } from '../capture/rules.js';
import { startDnsServer, type DnsServer } from '../dns/server.js';
import type { RoundRobinCounters } from '../proxy/balancer.js';
import type { InboundEnforcer } from '../proxy/enforcer.js';
import { startInbound, type InboundListeners } from '../proxy/inbound.js';
import { startOutbound, type ProxyListener } from '../proxy/outbound.js';
import { AGENT_PORTS } from '../proxy/ports.js';
import type { ConnectionSink } from '../proxy/record.js';
import type { ProxyState } from '../state/snapshot.js';

export interface PodProxyOptions {
  /** The pod's namespace name under /var/run/netns. */
  netns: string;
  /** The pod's Workload now (the newest config, or what the agent knew at enrolment). */
  workload: () => Workload;
  /** The pod's provisional Workload while the config does not have it (announced by CNI). */
  provisional?: () => Workload | undefined;
  getState: () => ProxyState;
  certificates: CertificateManager;
  trustDomain: string;
  mark: number;
  counters: RoundRobinCounters;
  onConnectionEnd: ConnectionSink;
  onConnectionOpen?: ConnectionSink;
  /** Redirect the app's DNS to the proxy on 15053 (and serve it). */
  captureDns: boolean;
  /** Nameservers the DNS proxy forwards what it does not answer to (the pod's own:
   * dns/pod-resolvers.ts). */
  dnsUpstreams: readonly string[] | (() => Promise<readonly string[]>);
  clusterDomain?: string;
  logger?: Logger;
  /** The agent's HBONE penalty box and refusal counters, shared by every pod. */
  hboneGuard?: PeerGuard;
  /** The agent's authorization enforcer, shared by every pod's inbound listeners. */
  authz?: InboundEnforcer;
}

export interface PodProxy {
  readonly netns: string;
  readonly identity: string;
  /** IPv6 is captured and served too (the pod's namespace has IPv6). */
  readonly ipv6: boolean;
  /** Connections open now, all listeners together. */
  active(): number;
  /** Puts a renewed certificate on the inbound listener (open connections keep theirs). */
  setCertificate(cert: WorkloadCertificate): void;
  /** Whether the capture rules are exactly in place; repairs them when not. */
  repair(): Promise<CaptureState>;
  /** Un-enrols: capture removed (unless kept: the agent is only stopping), listeners
   * stop accepting, open connections drain, then are reset. With keepCapture and
   * keepAccepting (the agent is leaving the node): the listeners keep accepting and
   * serving for `drainMs`, then everything still open is reset. */
  close(drainMs?: number, opts?: { keepCapture?: boolean; keepAccepting?: boolean }): Promise<void>;
}

export async function startPodProxy(opts: PodProxyOptions): Promise<PodProxy> {
  const log = (opts.logger ?? silentLogger).child({ pod: `${opts.workload().namespace}/${opts.workload().name}`, netns: opts.netns });
  const path = netnsPath(opts.netns);
  const identity = opts.workload().identity;
  const id = parseSpiffeId(identity);
  const cert = await opts.certificates.get(id);
  const families = captureFamilies(opts.workload().ips, await netnsHasIpv6(path));
  const capture: CaptureInstallOptions = { captureDns: opts.captureDns, agentMark: opts.mark, ipv6: families.ipv6 };
  const outbounds: ProxyListener[] = [];
  const inbounds: InboundListeners[] = [];
  const dnsServers: DnsServer[] = [];
  const undo: Array<() => Promise<void> | void> = [];
  const rollback = async () => {
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
  };

  try {
    const hbone = new HboneClient({
      credentials: (source) => opts.certificates.get(source),
      trustBundle: opts.certificates.trustBundle,
      trustDomain: opts.trustDomain,
      connectTransport: (peer) => connectInNetns(path, { host: peer.host, port: peer.port, mark: opts.mark, timeoutMs: SOCKET_DEFAULTS.netnsConnectTimeoutMs }),
      logger: log,
    });
    undo.push(() => hbone.destroy());
    // One set of listeners per family the capture covers: 127.0.0.1 / 0.0.0.0 and, when
    // the pod's namespace has IPv6, ::1 / :: (IPV6_V6ONLY, so the two never overlap).
    for (const family of families.ipv6 ? ([4, 6] as const) : ([4] as const)) {
      const at = listenAddresses(family);
      const outbound: ProxyListener = await startOutbound({
        netnsPath: path,
        getState: opts.getState,
        source: opts.workload,
        hbone,
        mark: opts.mark,
        counters: opts.counters,
        onConnectionEnd: opts.onConnectionEnd,
        ...(opts.onConnectionOpen && { onConnectionOpen: opts.onConnectionOpen }),
        logger: log,
        host: at.outbound,
      });
      outbounds.push(outbound);
      undo.push(() => outbound.close());
      const inbound: InboundListeners = await startInbound({
        netnsPath: path,
        getState: opts.getState,
        local: opts.workload,
        ...(opts.provisional && { provisional: opts.provisional }),
        credentials: { key: cert.key, cert: cert.cert },
        trustBundle: opts.certificates.trustBundle,
        trustDomain: opts.trustDomain,
        mark: opts.mark,
        onConnectionEnd: opts.onConnectionEnd,
        ...(opts.onConnectionOpen && { onConnectionOpen: opts.onConnectionOpen }),
        ...(opts.hboneGuard && { guard: opts.hboneGuard }),
        ...(opts.authz && { authz: opts.authz }),
        logger: log,
        host: at.inbound,
      });
      inbounds.push(inbound);
      undo.push(() => inbound.close());
      if (opts.captureDns) {
        const d = await startPodDns(path, at.dns, opts);
        dnsServers.push(d);
        undo.push(() => d.close());
      }
    }
    await installCapture(opts.netns, capture);
    undo.push(() => removeCapture(opts.netns));
    log.info({ identity, ipv6: families.ipv6 }, 'agent: pod enrolled');
    const plainActive = () => sum(outbounds.map((o) => o.active)) + sum(inbounds.map((i) => i.plaintext.active));

    return {
      netns: opts.netns,
      identity,
      ipv6: families.ipv6,
      active: () => plainActive() + sum(inbounds.map((i) => i.hbone.stats.streams)),
      setCertificate(c) {
        for (const i of inbounds) i.hbone.setCredentials({ key: c.key, cert: c.cert });
      },
      async repair() {
        const state = await checkCapture(opts.netns, capture);
        if (!state.complete) {
          log.warn({ missing: state.missing, unexpected: state.unexpected }, 'agent: capture rules changed; repairing');
          await installCapture(opts.netns, capture);
        }
        return state;
      },
      async close(drainMs = AGENT_DEFAULTS.drainTimeoutMs, how = {}) {
        // New connections go straight to the app from now on (or fail, if the pod is gone).
        if (!how.keepCapture) {
          await removeCapture(opts.netns).catch((err: Error) => log.debug({ err: err.message }, 'agent: capture removal failed (pod gone?)'));
        }
        if (how.keepCapture && how.keepAccepting) {
          // The agent is stopping, the pod keeps its capture: with the listeners closed every
          // new connection of the pod would be refused until the next agent is up, which
          // makes a stopping agent worse than a crashed one (that one is replaced at once).
          // So the listeners keep accepting and serving until the drain deadline; then the
          // process really leaves and what is still open is reset, as a crash would.
          await new Promise((r) => setTimeout(r, drainMs));
          drainMs = 0;
        }
        for (const o of outbounds) o.server.close();
        for (const i of inbounds) {
          i.plaintext.server.close();
          i.hboneListener.close();
        }
        await Promise.all([drainUntil(plainActive, drainMs), ...inbounds.map((i) => i.hbone.drain(drainMs))]);
        await Promise.all([...outbounds.map((o) => o.close()), ...inbounds.map((i) => i.close()), ...dnsServers.map((d) => d.close())]);
        hbone.destroy();
        log.info({ identity, keptCapture: how.keepCapture === true }, how.keepCapture ? 'agent: pod released' : 'agent: pod un-enrolled');
      },
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}

/** The DNS proxy on `host`:15053 (UDP and TCP) in the pod; it owns both sockets once started. */
async function startPodDns(path: string, host: string, opts: PodProxyOptions): Promise<DnsServer> {
  const where = { host, port: AGENT_PORTS.dns };
  const udp = await bindUdpInNetns(path, where);
  let tcp;
  try {
    tcp = await listenInNetns(path, where);
  } catch (err) {
    udp.close();
    throw err;
  }
  try {
    return await startDnsServer({
      getState: opts.getState,
      clientNamespace: opts.workload().namespace,
      upstreams: opts.dnsUpstreams,
      udp,
      tcp,
      ...(opts.clusterDomain !== undefined && { clusterDomain: opts.clusterDomain }),
    });
  } catch (err) {
    udp.close();
    tcp.close();
    throw err;
  }
}

/**
 * Whether the pod's namespace has IPv6: binding [::1] fails with EADDRNOTAVAIL when IPv6
 * is disabled there, and socket() with EAFNOSUPPORT on a kernel without it. Any other
 * failure is an error (the namespace is gone, no privileges), not a "no".
 */
export async function netnsHasIpv6(path: string): Promise<boolean> {
  try {
    const s = await bindUdpInNetns(path, { host: '::1', port: 0 });
    s.close();
    return true;
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return false;
    throw err;
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Waits until `count()` is 0 or `ms` passed (polling: connections end on their own). */
async function drainUntil(count: () => number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
