// The nameservers a pod's own resolver would ask: the `nameserver` lines of the pod's
// /etc/resolv.conf (what the kubelet wrote for its dnsPolicy and dnsConfig), so that the
// DNS proxy forwards what it does not answer where the pod would have sent it, not to
// the node's resolvers. Where the file is, tried in order:
//   1. /etc/netns/<netns>/resolv.conf: iproute2's per-namespace /etc, which `ip netns
//      exec` mounts over the pod's /etc; the local cluster's kubelet writes it there;
//   2. /proc/<pid>/root/etc/resolv.conf of a process inside the pod's network namespace
//      (a real cluster's container runtime mounts one per sandbox; the agent sees the
//      pod's processes when it shares the host's PID namespace);
//   3. none found (the pod's containers have not started, no host PID namespace): the
//      agent's own nameservers, which for an agent with dnsPolicy ClusterFirstWithHostNet
//      are the cluster DNS, as a ClusterFirst pod's are.
// The file is re-read at most every `resolvConfRefreshMs`.
//
// The proxy forwards from the agent's (the node's) network namespace, so a nameserver on
// the pod's loopback (a resolver inside the pod) or link-local cannot be reached from
// there, and asking the node's address of the same name would let a pod's spec aim the
// agent at the node's own services: such nameservers are dropped (pure: usableNameservers).
import { constants } from 'node:fs';
import { open, readdir, readlink, stat } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { DNS_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { canonicalIp } from '../../core/ip.js';
import { parseResolvConf } from './server.js';

export interface PodResolverOptions {
  /** The pod's network namespace name (under netnsDir). */
  netns: string;
  /** The agent's own nameservers, used when the pod's file cannot be found. */
  fallback: () => readonly string[];
  netnsDir?: string;
  etcNetnsDir?: string;
  procDir?: string;
  refreshMs?: number;
  /** Processes looked at when searching /proc for one in the pod's namespace. */
  maxProcScan?: number;
  logger?: Logger;
}

/** Whether a pod's nameserver can be asked from the node: not loopback, unspecified,
 * link-local or multicast. Pure. */
export function usableNameserver(ip: string): boolean {
  const a = canonicalIp(ip.split('%')[0]!);
  const family = net.isIP(a);
  if (family === 4) {
    const [o1, o2] = a.split('.').map(Number) as [number, number];
    return !(o1 === 127 || o1 === 0 || (o1 === 169 && o2 === 254) || o1 >= 224);
  }
  if (family === 6) {
    const l = a.toLowerCase();
    return !(l === '::1' || l === '::' || l.startsWith('fe8') || l.startsWith('fe9') || l.startsWith('fea') || l.startsWith('feb') || l.startsWith('ff'));
  }
  return false;
}

/** The nameservers of a resolv.conf text that the proxy may forward to. Pure. */
export function usableNameservers(resolvConf: string): string[] {
  return parseResolvConf(resolvConf).nameservers.filter(usableNameserver);
}

export class PodResolvers {
  readonly #o: Required<Omit<PodResolverOptions, 'logger'>>;
  readonly #log: Logger;
  #cached: { at: number; servers: readonly string[] } | undefined;
  #reading: Promise<readonly string[]> | undefined;
  #pid: string | undefined;
  #warned = false;

  constructor(opts: PodResolverOptions) {
    this.#o = {
      netnsDir: '/var/run/netns',
      etcNetnsDir: '/etc/netns',
      procDir: '/proc',
      refreshMs: DNS_DEFAULTS.resolvConfRefreshMs,
      maxProcScan: DNS_DEFAULTS.maxProcScan,
      ...opts,
    };
    this.#log = opts.logger ?? silentLogger;
  }

  /** The pod's nameservers now (cached for refreshMs). */
  get(): Promise<readonly string[]> {
    const c = this.#cached;
    if (c !== undefined && Date.now() - c.at < this.#o.refreshMs) return Promise.resolve(c.servers);
    this.#reading ??= this.#read().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #read(): Promise<readonly string[]> {
    const text = await this.#podResolvConf();
    let servers: readonly string[];
    if (text !== undefined) {
      servers = usableNameservers(text);
      if (servers.length === 0 && !this.#warned) {
        this.#warned = true;
        this.#log.warn({ netns: this.#o.netns }, "dns: the pod's resolv.conf names no nameserver the agent can reach; other names get SERVFAIL");
      }
    } else {
      servers = this.#o.fallback();
    }
    this.#cached = { at: Date.now(), servers };
    return servers;
  }

  async #podResolvConf(): Promise<string | undefined> {
    const own = await readBounded(join(this.#o.etcNetnsDir, this.#o.netns, 'resolv.conf'));
    if (own !== undefined) return own;
    const pid = await this.#processInNetns();
    if (pid === undefined) return undefined;
    return readBounded(join(this.#o.procDir, pid, 'root', 'etc', 'resolv.conf'));
  }

  /** A process inside the pod's network namespace (the last one found is tried first). */
  async #processInNetns(): Promise<string | undefined> {
    let want: string;
    try {
      want = `net:[${(await stat(join(this.#o.netnsDir, this.#o.netns))).ino}]`;
    } catch {
      return undefined;
    }
    const inNetns = async (pid: string) => (await readlink(join(this.#o.procDir, pid, 'ns', 'net')).catch(() => '')) === want;
    if (this.#pid !== undefined && (await inNetns(this.#pid))) return this.#pid;
    this.#pid = undefined;
    const pids = (await readdir(this.#o.procDir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).slice(0, this.#o.maxProcScan);
    for (const pid of pids) {
      if (await inNetns(pid)) return (this.#pid = pid);
    }
    return undefined;
  }
}

/**
 * A regular file's first DNS_DEFAULTS.maxResolvConfBytes, not following a final symbolic link and
 * never blocking on a FIFO; undefined when it cannot be read or is not a regular file.
 */
async function readBounded(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    if (!(await fh.stat()).isFile()) return undefined;
    const buf = Buffer.alloc(DNS_DEFAULTS.maxResolvConfBytes);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => {});
  }
}
