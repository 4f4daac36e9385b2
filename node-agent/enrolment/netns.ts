// Finding a running pod's network namespace when no CNI hand-off told us (the pod started
// before this agent, or the agent restarted): every pod sandbox's namespace is pinned
// under /var/run/netns by its runtime (containerd's cni-<id>, the local cluster's
// amb-<cluster>-<uid>), so the agent looks there for the one that holds the pod's address,
// as istio-cni scans for a pod's netns by IP. Only namespaces linked to the agent's own
// (the node's: a pod's veth peer is there, so the kernel gave the pod's namespace an id
// in ours, `ip netns list-id`) are candidates: an address is unique on a node, not on a
// machine, and the local cluster runs many nodes on one machine. Names already inspected
// are cached with their addresses; a name seen again is not re-read.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_DEFAULTS, CAPTURE_DEFAULTS } from '../../core/limits.js';
import { canonicalIp } from '../../core/ip.js';

export const NETNS_DIR = '/var/run/netns';

/** Addresses from `ip -j addr show` (pure): every local address but loopback's. */
export function addressesFromIpJson(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: string[] = [];
  for (const link of parsed as Array<{ ifname?: unknown; addr_info?: unknown }>) {
    if (link?.ifname === 'lo' || !Array.isArray(link?.addr_info)) continue;
    for (const a of link.addr_info as Array<{ local?: unknown }>) if (typeof a?.local === 'string') out.push(canonicalIp(a.local));
  }
  return out;
}

export class NetnsFinder {
  readonly #cache = new Map<string, string[]>();
  readonly #dir: string;

  constructor(dir = NETNS_DIR) {
    this.#dir = dir;
  }

  /**
   * The name (under /var/run/netns) of the namespace holding one of `ips`, if any; never
   * `opts.except`. When none matched but some namespace could not be read, `opts.unreadAs`
   * (a caller that must fail closed names what "maybe" means to it), else undefined.
   */
  async find(ips: readonly string[], opts: { except?: string; unreadAs?: string } = {}): Promise<string | undefined> {
    const want = new Set(ips.map(canonicalIp));
    if (want.size === 0) return undefined;
    let names: string[];
    try {
      names = (await readdir(this.#dir)).slice(0, AGENT_DEFAULTS.maxNetnsScan);
    } catch {
      return undefined;
    }
    const linked = await linkedNetns();
    if (linked !== undefined) names = names.filter((n) => linked.has(n));
    for (const name of [...this.#cache.keys()]) if (!names.includes(name)) this.#cache.delete(name);
    let unread = false;
    for (const name of names) {
      if (name === opts.except) continue;
      let addrs = this.#cache.get(name);
      if (addrs === undefined) {
        addrs = await netnsAddresses(name);
        // A namespace `ip` could not read is asked again next time, never taken as empty.
        if (addrs === undefined) {
          unread = true;
          continue;
        }
        this.#cache.set(name, addrs);
      }
      if (addrs.some((a) => want.has(a))) return name;
    }
    return unread && opts.unreadAs !== undefined ? opts.unreadAs : undefined;
  }

  /** Drops what is known of `name` (its pod is gone; the name may be reused). */
  forget(name: string): void {
    this.#cache.delete(name);
  }
}

/** Names from `ip -j netns list-id` (pure). */
export function namesFromListIdJson(text: string): string[] {
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? parsed.flatMap((e: { name?: unknown }) => (typeof e?.name === 'string' ? [e.name] : [])) : [];
  } catch {
    return [];
  }
}

/** The named namespaces that have an id in ours; undefined when `ip` cannot tell. */
function linkedNetns(): Promise<Set<string> | undefined> {
  return new Promise((resolve) => {
    execFile('ip', ['-j', 'netns', 'list-id'], { timeout: CAPTURE_DEFAULTS.commandTimeoutMs, maxBuffer: 1 << 20 }, (err, stdout) =>
      resolve(err ? undefined : new Set(namesFromListIdJson(stdout))),
    );
  });
}

/** The addresses in the namespace `name`: [] when it is gone, undefined when `ip` cannot tell (fail closed). */
export function netnsAddresses(name: string): Promise<string[] | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return Promise.resolve(undefined);
  if (!existsSync(join(NETNS_DIR, name))) return Promise.resolve([]);
  return new Promise((resolve) => {
    execFile('ip', ['-n', name, '-j', 'addr', 'show'], { timeout: CAPTURE_DEFAULTS.commandTimeoutMs, maxBuffer: 1 << 20 }, (err, stdout) =>
      resolve(err ? undefined : addressesFromIpJson(stdout)),
    );
  });
}
