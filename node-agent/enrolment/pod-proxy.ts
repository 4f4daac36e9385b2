// One enrolled pod as the agent serves it (DESIGN.md section 2, steps 2-5): its data path
// (the listeners inside the pod's network namespace, 15001 outbound, 15006 and 15008
// inbound, and an HBONE client that dials from there: on this thread or on every
// data-path worker, workers/data-plane.ts), its DNS proxy on 15053, and the in-pod capture
// that sends the pod's traffic to them. Listeners come up before the capture, so that no
// captured connection ever finds a closed port; on the way out the capture goes first, so
// that new connections reach the app directly while open ones drain.
import type { Workload } from '../../core/config/model.js';
import type { CertificateManager, WorkloadCertificate } from '../../core/identity/cert-manager.js';
import { parseSpiffeId } from '../../core/identity/spiffe.js';
import { AGENT_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { Socket } from 'node:dgram';
import type { Server } from 'node:net';
import { bindUdpInNetns, listenInNetns, netnsPath, socketFd } from '../../core/syscalls.js';
import { closeFds } from '../handover/channel.js';
import { adoptKey, type HeldSocket, type InheritedSockets } from '../handover/plan.js';
import { checkCapture, installCapture, removeCapture, type CaptureInstallOptions } from '../capture/apply.js';
import { captureFamilies, listenAddresses } from '../capture/family.js';
import type { CaptureState } from '../capture/rules.js';
import { startDnsServer, type DnsServer } from '../dns/server.js';
import { AGENT_PORTS } from '../proxy/ports.js';
import type { ProxyState } from '../state/snapshot.js';
import type { DataPlane } from '../workers/data-plane.js';

export interface PodProxyOptions {
  /** The pod's namespace name under /var/run/netns. */
  netns: string;
  /** The pod's Workload now (the newest config, or what the agent knew at enrolment). */
  workload: () => Workload;
  /** The pod's provisional Workload while the config does not have it (announced by CNI). */
  provisional?: () => Workload | undefined;
  getState: () => ProxyState;
  certificates: CertificateManager;
  /** Who carries the pod's connections: this thread or the data-path workers. */
  dataPlane: DataPlane;
  mark: number;
  /** Redirect the app's DNS to the proxy on 15053 (and serve it). */
  captureDns: boolean;
  /** Nameservers the DNS proxy forwards what it does not answer to (the pod's own:
   * dns/pod-resolvers.ts). */
  dnsUpstreams: readonly string[] | (() => Promise<readonly string[]>);
  clusterDomain?: string;
  /** Listening sockets handed over by the agent this one replaces (node-agent/handover/):
   * the pod's are served instead of opening new ones. */
  inherited?: InheritedSockets;
  logger?: Logger;
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
  /** Every listening socket of the pod (data path and DNS), for the next agent. */
  sockets(): Promise<HeldSocket[]>;
}

export async function startPodProxy(opts: PodProxyOptions): Promise<PodProxy> {
  const w = opts.workload();
  const log = (opts.logger ?? silentLogger).child({ pod: `${w.namespace}/${w.name}`, netns: opts.netns });
  const path = netnsPath(opts.netns);
  const identity = w.identity;
  const cert = await opts.certificates.get(parseSpiffeId(identity));
  const families = captureFamilies(w.ips, await netnsHasIpv6(path));
  const capture: CaptureInstallOptions = { captureDns: opts.captureDns, agentMark: opts.mark, ipv6: families.ipv6 };
  const dnsServers: PodDns[] = [];
  const undo: Array<() => Promise<void> | void> = [];
  const rollback = async () => {
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
  };

  try {
    const provisional = opts.provisional?.();
    const inherited = opts.inherited;
    const adopt = inherited && inheritedDataPath(inherited, path, families.ipv6);
    const data = await opts.dataPlane.startPod({
      uid: w.uid,
      netnsPath: path,
      ipv6: families.ipv6,
      identity,
      workload: w,
      ...(provisional && { provisional }),
      key: cert.key,
      cert: cert.cert,
    }, adopt);
    undo.push(() => data.close(0));
    if (opts.captureDns) {
      for (const family of families.ipv6 ? ([4, 6] as const) : ([4] as const)) {
        const d = await startPodDns(path, listenAddresses(family).dns, opts);
        dnsServers.push(d);
        undo.push(() => d.server.close());
      }
    }
    await installCapture(opts.netns, capture);
    undo.push(() => removeCapture(opts.netns));
    log.info({ identity, ipv6: families.ipv6 }, 'agent: pod enrolled');
    // Every handed-over socket of the pod is served now: the takeover may complete.
    opts.inherited?.served(path);

    return {
      netns: opts.netns,
      identity,
      ipv6: families.ipv6,
      active: () => data.active(),
      setCertificate: (c) => data.setCertificate(c),
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
        await data.close(drainMs, how.keepCapture === true && how.keepAccepting === true);
        await Promise.all(dnsServers.map((d) => d.server.close()));
        log.info({ identity, keptCapture: how.keepCapture === true }, how.keepCapture ? 'agent: pod released' : 'agent: pod un-enrolled');
      },
      async sockets() {
        const dns = dnsServers.flatMap((d): HeldSocket[] => [
          { proto: 'udp', host: d.host, port: AGENT_PORTS.dns, fd: socketFd(d.udp) },
          { proto: 'tcp', host: d.host, port: AGENT_PORTS.dns, fd: socketFd(d.tcp) },
        ]);
        return [...(await data.sockets()), ...dns];
      },
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}

/** Takes the pod's handed-over data-path listeners (every family it serves). */
function inheritedDataPath(inherited: InheritedSockets, path: string, ipv6: boolean): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const family of ipv6 ? ([4, 6] as const) : ([4] as const)) {
    const at = listenAddresses(family);
    for (const [host, port] of [
      [at.outbound, AGENT_PORTS.outbound],
      [at.inbound, AGENT_PORTS.inboundPlaintext],
      [at.inbound, AGENT_PORTS.hbone],
    ] as const) {
      const fds = inherited.take(path, 'tcp', host, port);
      if (fds.length > 0) out[adoptKey(host, port)] = fds;
    }
  }
  return out;
}

interface PodDns {
  server: DnsServer;
  host: string;
  udp: Socket;
  tcp: Server;
}

/** The DNS proxy on `host`:15053 (UDP and TCP) in the pod; it owns both sockets once started. */
async function startPodDns(path: string, host: string, opts: PodProxyOptions): Promise<PodDns> {
  const where = { host, port: AGENT_PORTS.dns };
  // Handed over by the agent this one replaces: the same sockets, so no query is lost.
  const [udpFd, ...moreUdp] = opts.inherited?.take(path, 'udp', host, AGENT_PORTS.dns) ?? [];
  const [tcpFd, ...moreTcp] = opts.inherited?.take(path, 'tcp', host, AGENT_PORTS.dns) ?? [];
  closeFds([...moreUdp, ...moreTcp]);
  let udp: Socket;
  try {
    udp = await bindUdpInNetns(path, { ...where, ...(udpFd !== undefined && { fd: udpFd }) });
  } catch (err) {
    if (tcpFd !== undefined) closeFds([tcpFd]);
    throw err;
  }
  let tcp: Server;
  try {
    tcp = await listenInNetns(path, { ...where, ...(tcpFd !== undefined && { fd: tcpFd }) });
  } catch (err) {
    udp.close();
    throw err;
  }
  try {
    const server = await startDnsServer({
      getState: opts.getState,
      clientNamespace: opts.workload().namespace,
      upstreams: opts.dnsUpstreams,
      udp,
      tcp,
      ...(opts.clusterDomain !== undefined && { clusterDomain: opts.clusterDomain }),
    });
    return { server, host, udp, tcp };
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
