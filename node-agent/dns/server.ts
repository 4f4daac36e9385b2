// The DNS proxy's sockets: UDP and TCP on one address (127.0.0.1:15053 inside a pod's
// network namespace), answering from `answer()` and forwarding the rest to the pod's own
// nameservers (from its resolv.conf). Thin: the decisions live in answer.ts and the wire
// format in codec.ts.
//
// The agent opens the listening sockets inside the pod's namespace (core/syscalls.ts) and
// passes them in (`udp`, `tcp`, e.g. `dgram.createSocket('udp4').bind({ fd })` and
// `net.createServer().listen({ fd })`); tests pass `host`/`port` instead.
//
// Forwarding: over UDP for UDP clients, with ids remapped (one 16-bit id space for all
// in-flight queries, chosen at random, so clients' ids cannot collide and an off-path
// spoofer must guess), a response accepted only from the nameserver asked, with the id
// and question it was asked; over TCP for TCP clients, one connection per query. Each
// nameserver gets `upstreamTimeoutMs`, then the next is tried; all failing gives SERVFAIL.
//
// Note for the agent: the upstream sockets are opened in the namespace the server runs
// in. Inside a pod, port-53 traffic is redirected to this proxy, so the agent must exempt
// these sockets from capture (socket mark or owner match), as ztunnel does.

import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DNS_DEFAULTS, type DnsLimits } from '../../core/limits.js';
import type { ProxyState } from '../state/snapshot.js';
import { MESH_PORTS } from '../../core/ports.js';
import { answer } from './answer.js';
import {
  buildResponse,
  CLASSIC_UDP_MAX,
  frameTcp,
  MAX_MESSAGE,
  parseHeader,
  parseQuery,
  RCODE,
  sameQuestion,
  TcpFrameReader,
  withId,
  type Query,
} from './codec.js';

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  ndots: number;
}

/** resolv.conf(5), as glibc reads it: `nameserver` lines in order (at most `max`, IP
 * addresses only), the last `search` or `domain` line wins, `options ndots:N` (capped at 15,
 * default 1). Comments start with '#' or ';'. */
export function parseResolvConf(text: string, max: number = DNS_DEFAULTS.maxNameservers): ResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  let ndots = 1;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [key, ...args] = line.split(/\s+/);
    if (key === 'nameserver' && args[0] !== undefined) {
      if (net.isIP(args[0].split('%')[0]!) !== 0 && nameservers.length < max) nameservers.push(args[0]);
    } else if (key === 'search') {
      search = args.map((d) => (d.endsWith('.') ? d.slice(0, -1) : d)).filter((d) => d !== '');
    } else if (key === 'domain' && args[0] !== undefined) {
      search = [args[0].endsWith('.') ? args[0].slice(0, -1) : args[0]];
    } else if (key === 'options') {
      for (const opt of args) {
        const m = /^ndots:(\d+)$/.exec(opt);
        if (m !== null) ndots = Math.min(15, Number(m[1]));
      }
    }
  }
  return { nameservers, search, ndots };
}

export interface Upstream {
  host: string;
  port: number;
  family: 4 | 6;
}

/** `10.96.0.10`, `10.96.0.10:53`, `fd00::a`, `[fd00::a]:5353`; undefined when not an IP. */
export function parseUpstream(s: string): Upstream | undefined {
  const t = s.trim();
  let host = t;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const v4port = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(t);
  if (bracket !== null) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (v4port !== null) {
    host = v4port[1]!;
    port = Number(v4port[2]);
  }
  const family = net.isIP(host.split('%')[0]!);
  if (family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port, family: family as 4 | 6 };
}

export interface DnsStats {
  /** Queries answered from mesh state with NOERROR (records or none). */
  answered: number;
  /** Queries forwarded and answered by an upstream nameserver. */
  forwarded: number;
  /** Mesh-domain names answered NXDOMAIN. */
  nxdomain: number;
  /** Packets that were not a query the proxy can handle (answered FORMERR/NOTIMP/BADVERS when possible, else dropped). */
  malformed: number;
  /** Forwarded queries no upstream answered in time, or refused for lack of room: SERVFAIL. */
  upstreamFailures: number;
  /** UDP answers cut to the header and question (TC set). */
  truncated: number;
}

export interface DnsServerOptions {
  getState(): ProxyState;
  /** The namespace of the pod this proxy serves (short names resolve in it). */
  clientNamespace: string;
  /** Nameservers to forward to (`parseUpstream` forms), normally the pod's resolv.conf's;
   * a function is asked at every forwarded query (the pod's file may change or appear
   * after enrolment: PodResolvers caches it). */
  upstreams: readonly string[] | (() => readonly string[] | Promise<readonly string[]>);
  clusterDomain?: string;
  /** A bound UDP socket to serve on (the server owns it from now on). */
  udp?: dgram.Socket;
  /** A listening TCP server to serve on (the server owns it from now on). */
  tcp?: net.Server;
  /** Where to listen when `udp`/`tcp` are not given (default 127.0.0.1, port 15053; port 0
   * picks one port free for both). */
  host?: string;
  port?: number;
  limits?: Partial<DnsLimits>;
}

export interface DnsServer {
  readonly udpAddress: AddressInfo;
  readonly tcpAddress: AddressInfo;
  stats(): DnsStats;
  close(): Promise<void>;
}

interface Pending {
  originalId: number;
  upstream: Upstream;
  questionWire: Buffer;
  resolve(response: Buffer | undefined): void;
  timer: NodeJS.Timeout;
}

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const limits: DnsLimits = { ...DNS_DEFAULTS, ...options.limits };
  const parseAll = (list: readonly string[], strict: boolean): Upstream[] =>
    list.flatMap((u) => {
      const parsed = parseUpstream(u);
      if (parsed === undefined && strict) throw new TypeError(`not a nameserver address: ${u}`);
      return parsed === undefined ? [] : [parsed];
    });
  const fixed = typeof options.upstreams === 'function' ? undefined : parseAll(options.upstreams, true);
  const dynamic = typeof options.upstreams === 'function' ? options.upstreams : undefined;
  const upstreamsNow = async (): Promise<Upstream[]> => {
    if (fixed !== undefined) return fixed;
    try {
      return parseAll(await dynamic!(), false);
    } catch {
      return [];
    }
  };
  const counters: DnsStats = { answered: 0, forwarded: 0, nxdomain: 0, malformed: 0, upstreamFailures: 0, truncated: 0 };
  const { udp, tcp } = await openSockets(options);
  let closed = false;

  // ---- forwarding over UDP ----
  const pending = new Map<number, Pending>();
  const upstreamSockets = new Map<4 | 6, dgram.Socket>();
  const upstreamSocket = (family: 4 | 6): dgram.Socket => {
    let s = upstreamSockets.get(family);
    if (s === undefined) {
      s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
      s.on('message', (msg, rinfo) => onUpstreamMessage(msg, rinfo));
      s.on('error', () => {}); // ICMP errors etc.: the pending query times out
      upstreamSockets.set(family, s);
    }
    return s;
  };
  const onUpstreamMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const h = parseHeader(msg);
    if (!h.ok || !h.value.qr) return;
    const p = pending.get(h.value.id);
    if (p === undefined || rinfo.port !== p.upstream.port || !sameAddress(rinfo.address, p.upstream.host)) return;
    if (!sameQuestion(msg, p.questionWire)) return;
    p.resolve(withId(msg, p.originalId));
  };
  const freeId = (): number | undefined => {
    if (pending.size >= Math.min(limits.maxUpstreamInflight, 65536)) return undefined;
    for (let i = 0; i < 16; i++) {
      const id = randomInt(65536);
      if (!pending.has(id)) return id;
    }
    for (let id = 0; id < 65536; id++) if (!pending.has(id)) return id;
    return undefined;
  };
  const askUdp = (query: Query, raw: Buffer, upstream: Upstream): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const id = freeId();
      if (id === undefined || closed) return resolve(undefined);
      const done = (r: Buffer | undefined) => {
        clearTimeout(entry.timer);
        pending.delete(id);
        resolve(r);
      };
      const entry: Pending = {
        originalId: query.id,
        upstream,
        questionWire: query.questionWire,
        resolve: done,
        timer: setTimeout(() => done(undefined), limits.upstreamTimeoutMs),
      };
      pending.set(id, entry);
      upstreamSocket(upstream.family).send(withId(raw, id), upstream.port, upstream.host, (err) => {
        if (err) done(undefined);
      });
    });

  // ---- forwarding over TCP ----
  const upstreamConns = new Set<net.Socket>();
  const askTcp = (query: Query, raw: Buffer, upstream: Upstream): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      if (closed) return resolve(undefined);
      const sock = net.connect({ host: upstream.host, port: upstream.port });
      upstreamConns.add(sock);
      const reader = new TcpFrameReader();
      let finished = false;
      const finish = (r: Buffer | undefined) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        upstreamConns.delete(sock);
        sock.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => finish(undefined), limits.upstreamTimeoutMs);
      sock.on('connect', () => sock.write(frameTcp(raw)));
      sock.on('data', (chunk) => {
        const { frames, error } = reader.push(chunk);
        for (const f of frames) {
          const h = parseHeader(f);
          if (h.ok && h.value.qr && h.value.id === query.id && sameQuestion(f, query.questionWire)) return finish(f);
        }
        if (error !== undefined) finish(undefined);
      });
      sock.on('error', () => finish(undefined));
      sock.on('close', () => finish(undefined));
    });

  const forward = async (query: Query, raw: Buffer, overTcp: boolean): Promise<Buffer | undefined> => {
    for (const u of await upstreamsNow()) {
      const r = overTcp ? await askTcp(query, raw, u) : await askUdp(query, raw, u);
      if (r !== undefined) return r;
      if (closed) break;
    }
    return undefined;
  };

  // ---- one query, either transport ----
  const handle = async (msg: Buffer, overTcp: boolean): Promise<Buffer | undefined> => {
    const parsed = parseQuery(msg);
    if (!parsed.ok) {
      counters.malformed++;
      if (parsed.id === undefined || parsed.rcode === undefined) return undefined;
      const rd = msg.length >= 3 && (msg[2]! & 0x01) !== 0;
      return buildResponse({ id: parsed.id, rd, rcode: parsed.rcode }).packet;
    }
    const query = parsed.value;
    const base = {
      id: query.id,
      rd: query.rd,
      cd: query.cd,
      questionWire: query.questionWire,
      ...(query.edns !== undefined ? { ednsUdpSize: limits.maxUdpPayloadBytes } : {}),
    };
    if (query.edns !== undefined && query.edns.version !== 0) {
      counters.malformed++;
      return buildResponse({ ...base, rcode: RCODE.BADVERS }).packet;
    }
    const maxBytes = overTcp
      ? MAX_MESSAGE
      : query.edns === undefined
        ? CLASSIC_UDP_MAX
        : Math.max(CLASSIC_UDP_MAX, Math.min(query.edns.udpSize, limits.maxUdpPayloadBytes));
    let decision;
    try {
      decision = answer(options.getState(), query.question, { namespace: options.clientNamespace }, {
        ...(options.clusterDomain !== undefined ? { clusterDomain: options.clusterDomain } : {}),
        ttlSeconds: limits.answerTtlSeconds,
      });
    } catch {
      counters.upstreamFailures++;
      return buildResponse({ ...base, rcode: RCODE.SERVFAIL }).packet;
    }
    if (decision.kind === 'answer') {
      counters.answered++;
      const r = buildResponse({ ...base, aa: true, rcode: RCODE.NOERROR, answers: decision.records, maxBytes });
      if (r.truncated) counters.truncated++;
      return r.packet;
    }
    if (decision.kind === 'nxdomain') {
      counters.nxdomain++;
      return buildResponse({ ...base, aa: true, rcode: RCODE.NXDOMAIN }).packet;
    }
    const upstream = await forward(query, msg, overTcp);
    if (upstream !== undefined) {
      counters.forwarded++;
      return upstream;
    }
    counters.upstreamFailures++;
    return buildResponse({ ...base, rcode: RCODE.SERVFAIL }).packet;
  };

  // ---- UDP clients ----
  udp.on('message', (msg, rinfo) => {
    handle(msg, false).then(
      (resp) => {
        if (resp !== undefined && !closed) udp.send(resp, rinfo.port, rinfo.address, () => {});
      },
      () => {},
    );
  });
  udp.on('error', () => {});

  // ---- TCP clients ----
  const clients = new Set<net.Socket>();
  tcp.on('connection', (sock) => {
    if (closed || clients.size >= limits.maxTcpConnections) {
      sock.destroy();
      return;
    }
    clients.add(sock);
    sock.setTimeout(limits.tcpIdleTimeoutMs, () => sock.destroy());
    sock.on('error', () => {});
    sock.on('close', () => clients.delete(sock));
    const reader = new TcpFrameReader();
    let inflight = 0;
    sock.on('data', (chunk) => {
      const { frames, error } = reader.push(chunk);
      for (const f of frames) {
        inflight++;
        if (inflight >= limits.maxTcpQueriesPerConnection) sock.pause();
        handle(f, true).then(
          (resp) => {
            inflight--;
            if (resp !== undefined && !sock.destroyed) sock.write(frameTcp(resp));
            if (inflight < limits.maxTcpQueriesPerConnection && !sock.destroyed) sock.resume();
          },
          () => {
            inflight--;
          },
        );
      }
      if (error !== undefined) {
        counters.malformed++;
        sock.destroy();
      }
    });
  });
  tcp.on('error', () => {});

  return {
    udpAddress: udp.address(),
    tcpAddress: tcp.address() as AddressInfo,
    stats: () => ({ ...counters }),
    async close() {
      if (closed) return;
      closed = true;
      for (const p of [...pending.values()]) p.resolve(undefined);
      for (const s of [...upstreamConns, ...clients]) s.destroy();
      for (const s of upstreamSockets.values()) s.close();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
}

function sameAddress(a: string, b: string): boolean {
  const strip = (x: string) => x.split('%')[0]!.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  return strip(a) === strip(b);
}

async function openSockets(options: DnsServerOptions): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  if (options.udp !== undefined && options.tcp !== undefined) return { udp: options.udp, tcp: options.tcp };
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? MESH_PORTS.dns;
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  // Port 0: UDP picks a port, TCP takes the same one; retry when TCP finds it taken.
  for (let attempt = 0; ; attempt++) {
    const udp = options.udp ?? (await bindUdp(type, host, port));
    const udpPort = udp.address().port;
    try {
      const tcp = options.tcp ?? (await listenTcp(host, udpPort));
      return { udp, tcp };
    } catch (err) {
      if (options.udp === undefined) udp.close();
      if (port !== 0 || attempt >= 10 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

function bindUdp(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(type);
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function listenTcp(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      resolve(srv);
    });
  });
}
