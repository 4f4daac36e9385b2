// The local cluster's processes: started detached with a marker in their environment
// (AMBIENT_CLUSTER=<name>), so that `cluster down` finds every one of them, pods included,
// even after a crash left no record of their pids. Redis rewrites the memory that
// /proc/<pid>/environ shows (to set its process title), so a process is also the
// cluster's when its working directory lies in the cluster's state directory.
import { spawn } from 'node:child_process';
import { openSync, closeSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { LOCAL_CLUSTER_DEFAULTS } from './limits.js';

export const CLUSTER_MARKER = 'AMBIENT_CLUSTER';

/** The argv that runs `argv` under `umask` (a shell sets it, then execs: same pid, same program). */
export function withUmask(argv: string[], umask: number | undefined): string[] {
  if (umask === undefined) return argv;
  if (!Number.isInteger(umask) || umask < 0 || umask > 0o777) throw new RangeError(`umask ${umask} is not a file mode mask`);
  return ['/bin/sh', '-c', `umask ${umask.toString(8).padStart(3, '0')} && exec "$@"`, 'sh', ...argv];
}

/**
 * Starts `argv` detached, its output appended to `logFile` (0600, in a 0700 directory).
 * `umask` (e.g. 0o077) sets the modes of the files the program itself creates, as for
 * Redis, whose append-only file holds the cluster's Secrets.
 */
export function startDaemon(argv: string[], opts: { cluster: string; logFile: string; env?: Record<string, string>; umask?: number }): number {
  mkdirSync(dirname(opts.logFile), { recursive: true, mode: 0o700 });
  const log = openSync(opts.logFile, 'a', 0o600);
  const run = withUmask(argv, opts.umask);
  try {
    const child = spawn(run[0]!, run.slice(1), {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...opts.env, [CLUSTER_MARKER]: opts.cluster },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${argv[0]}`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Pids of live processes with this cluster's marker, or working inside `stateDir`. */
export function clusterPids(cluster: string, stateDir?: string): number[] {
  const want = `${CLUSTER_MARKER}=${cluster}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const cwd = stateDir ? readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '') : '';
      if (env.includes(want) || (stateDir && (cwd === stateDir || cwd.startsWith(`${stateDir}/`)))) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM every process of the cluster, then SIGKILL what is left after `graceMs`. */
export async function stopCluster(cluster: string, stateDir: string, graceMs: number = LOCAL_CLUSTER_DEFAULTS.stopGraceMs): Promise<number> {
  const pids = clusterPids(cluster, stateDir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 100));
  for (const pid of clusterPids(cluster, stateDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids.length;
}
