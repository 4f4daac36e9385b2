// Applies rules.ts's text inside a pod's network namespace: read the nat table
// (iptables-save), decide (rules.ts, pure), write it (one iptables-restore --noflush per
// family). The thin layer: everything it runs is an argv array, bounded in time and
// output, and only ever inside a named pod namespace, never the node's own.

import { execFile } from 'node:child_process';
import { statSync, type Stats } from 'node:fs';
import { ErrorCodes, isMeshError, MeshError } from '../../core/errors.js';
import { netnsPath } from '../../core/syscalls.js';
import { CAPTURE_DEFAULTS } from '../../core/limits.js';
import {
  captureInstalled,
  captureRules,
  parseCaptureState,
  planCapture,
  removalRules,
  type CaptureOptions,
  type CaptureState,
  type Family,
} from './rules.js';

/**
 * The limits of this module, defined with every other limit in core/limits.ts.
 */
export { CAPTURE_DEFAULTS };

export interface CaptureInstallOptions extends CaptureOptions {
  /** Also capture IPv6 (ip6tables). Default false; when false, IPv6 rules of ours are removed. */
  ipv6?: boolean;
}

/**
 * Installs the capture in `netnsName` (a name under /var/run/netns), or brings an
 * existing one up to date: safe to call again at any time (periodic repair, an agent
 * restart, changed options). Each family is one atomic restore.
 */
export async function installCapture(netnsName: string, opts: CaptureInstallOptions): Promise<void> {
  // Bad options fail here, before anything runs.
  planCapture(opts, 4);
  if (opts.ipv6) planCapture(opts, 6);
  assertPodNetns(netnsName);
  await serialised(netnsName, async () => {
    const current = await save(netnsName, 4);
    await restore(netnsName, 4, captureRules(opts, { family: 4, current }));
    if (opts.ipv6) {
      const current6 = await save(netnsName, 6);
      await restore(netnsName, 6, captureRules(opts, { family: 6, current: current6 }));
    } else {
      await removeFamily(netnsName, 6);
    }
  });
}

/** Removes every rule and chain of ours, IPv4 and IPv6; the pod's other rules stay. A no-op when none are there. */
export async function removeCapture(netnsName: string): Promise<void> {
  assertPodNetns(netnsName);
  await serialised(netnsName, async () => {
    await removeFamily(netnsName, 4);
    await removeFamily(netnsName, 6);
  });
}

/**
 * Whether the rules for `opts` are in place, exactly. IPv6 lines in `missing` and
 * `unexpected` start with "ip6tables: ".
 */
export async function checkCapture(netnsName: string, opts: CaptureInstallOptions): Promise<CaptureState> {
  planCapture(opts, 4);
  assertPodNetns(netnsName);
  return serialised(netnsName, async () => {
    const v4 = parseCaptureState(await save(netnsName, 4), opts, 4);
    if (!opts.ipv6) return v4;
    const v6 = parseCaptureState(await save(netnsName, 6), opts, 6);
    const tag = (l: string) => `ip6tables: ${l}`;
    return {
      installed: v4.installed || v6.installed,
      complete: v4.complete && v6.complete,
      missing: [...v4.missing, ...v6.missing.map(tag)],
      unexpected: [...v4.unexpected, ...v6.unexpected.map(tag)],
    };
  });
}

/**
 * The guard for "never the node's iptables": `name` must be a valid `ip netns` name,
 * exist, be a network namespace, and be neither this process's namespace nor PID 1's
 * (the node's, for a host-network agent). Throws NETWORK_INVALID, or NETNS_NOT_FOUND.
 */
export function assertPodNetns(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(name)) {
    throw new MeshError(ErrorCodes.NETWORK_INVALID, `refusing to change iptables: ${JSON.stringify(name)} is not a network namespace name`);
  }
  const path = netnsPath(name);
  let ns: Stats;
  try {
    ns = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MeshError(ErrorCodes.NETNS_NOT_FOUND, `network namespace ${path} not found (is the pod gone?)`, { cause: err });
    }
    throw new MeshError(ErrorCodes.NETWORK_INVALID, `refusing to change iptables: cannot stat ${path}: ${(err as Error).message}`, { cause: err });
  }
  const own = statSync('/proc/self/ns/net');
  // Namespace files all live on nsfs; a plain file there is a namespace that was never
  // mounted (or was unmounted): `ip netns exec` would fail, or worse.
  if (ns.dev !== own.dev) {
    throw new MeshError(ErrorCodes.NETWORK_INVALID, `refusing to change iptables: ${path} is not a mounted network namespace`);
  }
  for (const [what, file] of [['this process', '/proc/self/ns/net'], ['PID 1 (the node)', '/proc/1/ns/net']] as const) {
    let other: Stats;
    try {
      other = statSync(file);
    } catch {
      continue; // /proc/1 unreadable without privileges; then nothing we run could work either
    }
    if (other.dev === ns.dev && other.ino === ns.ino) {
      throw new MeshError(ErrorCodes.NETWORK_INVALID, `refusing to change iptables: ${path} is the network namespace of ${what}, not a pod's`);
    }
  }
}

async function removeFamily(netnsName: string, family: Family): Promise<void> {
  let current: string;
  try {
    current = await save(netnsName, family);
  } catch (err) {
    // A kernel without IPv6 NAT cannot hold IPv6 rules of ours: nothing to remove.
    if (family === 6 && isMeshError(err) && (err as CommandError).exitCode !== undefined) return;
    throw err;
  }
  if (!captureInstalled(current)) return; // nothing written, not even an empty nat table
  await restore(netnsName, family, removalRules({ family, current }));
}

function save(netnsName: string, family: Family): Promise<string> {
  return run(netnsName, [family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'nat']);
}

function restore(netnsName: string, family: Family, text: string): Promise<string> {
  const cmd = family === 4 ? 'iptables-restore' : 'ip6tables-restore';
  return run(netnsName, [cmd, '--noflush', `--wait=${CAPTURE_DEFAULTS.xtablesLockWaitSeconds}`], text);
}

interface CommandError extends MeshError {
  exitCode?: number;
}

function run(netnsName: string, argv: string[], input?: string): Promise<string> {
  assertPodNetns(netnsName); // again, right before the exec: the name could have changed meaning
  const args = ['netns', 'exec', netnsName, ...argv];
  const line = ['ip', ...args].join(' ');
  const timeout = CAPTURE_DEFAULTS.commandTimeoutMs;
  return new Promise((resolve, reject) => {
    // `ip netns exec` execs the command in place, so the kill on timeout reaches it.
    const child = execFile(
      'ip',
      args,
      { timeout, killSignal: 'SIGKILL', maxBuffer: CAPTURE_DEFAULTS.maxOutputBytes, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        let why: string;
        let exitCode: number | undefined;
        if (e.code === 'ENOENT') why = 'could not start: `ip` not found (install iproute2)';
        else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') why = `printed more than ${CAPTURE_DEFAULTS.maxOutputBytes} bytes`;
        else if (e.killed) why = `timed out after ${timeout} ms`;
        else if (typeof e.code === 'number') {
          exitCode = e.code;
          why = `exit ${e.code}: ${describe(stderr, input)}`;
        } else why = e.message;
        const error: CommandError = new MeshError(
          ErrorCodes.NETWORK_COMMAND_FAILED,
          `\`${line}\` failed (${why}); is iptables installed (${argv[0]}) and does the agent have CAP_NET_ADMIN and CAP_SYS_ADMIN?`,
          { cause: err },
        );
        if (exitCode !== undefined) error.exitCode = exitCode;
        reject(error);
      },
    );
    child.stdin?.on('error', () => {}); // EPIPE when it exits without reading: its status says why
    child.stdin?.end(input ?? '');
  });
}

// stderr's first lines, and the restore line it names ("Error occurred at line: 7").
function describe(stderr: string, input?: string): string {
  const text = stderr.trim().split('\n').slice(0, 3).join('; ') || 'no output';
  const n = Number(/line:? (\d+)/i.exec(stderr)?.[1]);
  const bad = input !== undefined && n > 0 ? input.split('\n')[n - 1] : undefined;
  return bad === undefined ? text : `${text}; line ${n} is \`${bad}\``;
}

// One save-decide-restore at a time per namespace: two interleaved installs would each
// see no jump and both insert one.
const queues = new Map<string, Promise<void>>();

function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const result = (queues.get(key) ?? Promise.resolve()).then(fn);
  const tail = result.then(
    () => {},
    () => {},
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}
