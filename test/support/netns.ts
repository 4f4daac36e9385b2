// Helpers for namespaced tests (DESIGN.md §6): run commands, create throw-away network
// namespaces that are always deleted, and skip (locally) or fail (CI) without root.

import type net from 'node:net';
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { listenInNetns } from '../../core/syscalls.js';
import { installCapture } from '../../node-agent/capture/apply.js';

const RUN_TIMEOUT_MS = 30_000;
const PREFIX = 'amb-t-';

export interface RunOptions {
  netns?: string; // run inside this named namespace (`ip netns exec`)
  timeoutMs?: number;
}

/** Runs a command; rejects with its stderr on a non-zero exit or after the timeout. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const [file, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args];
  const timeout = opts.timeoutMs ?? RUN_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const why = err.killed ? `timed out after ${timeout} ms` : `exit ${err.code}`;
      reject(new Error(`\`${[file, ...argv].join(' ')}\` failed (${why}): ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}

/** Runs a command and returns its trimmed stdout. */
export async function output(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, opts)).stdout.trim();
}

/**
 * True when running as root. Otherwise the test is skipped, except in CI where a
 * namespaced test must fail rather than silently not run.
 */
export function requireRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') assert.fail('namespaced test needs root (CI=true: failing instead of skipping)');
  t.skip('needs root');
  return false;
}

let nsCounter = 0;
let ifCounter = 0;
let swept: Promise<void> | undefined;

/** An interface name unique on this host for this process, within the kernel's 15 chars. */
export function ifName(tag: string): string {
  const name = `${tag}${process.pid.toString(36)}x${(++ifCounter).toString(36)}`;
  assert.ok(name.length <= 15, `interface name ${name} is longer than 15 characters`);
  return name;
}

/** A uniquely named network namespace with lo up. */
export class Netns {
  readonly path: string;

  private constructor(readonly name: string) {
    this.path = `/var/run/netns/${name}`;
  }

  /** Creates the namespace; with `t`, it is deleted after the test however the test ends. */
  static async create(prefix: string, t?: TestContext): Promise<Netns> {
    swept ??= sweepStale();
    await swept;
    const ns = new Netns(`${PREFIX}${prefix}-${process.pid}-${++nsCounter}`);
    await run('ip', ['netns', 'add', ns.name]);
    t?.after(() => ns.destroy());
    try {
      await ns.run('ip', ['link', 'set', 'lo', 'up']);
    } catch (err) {
      if (!t) await ns.destroy();
      throw err;
    }
    return ns;
  }

  run(cmd: string, args: string[], opts: Omit<RunOptions, 'netns'> = {}): Promise<{ stdout: string; stderr: string }> {
    return run(cmd, args, { ...opts, netns: this.name });
  }

  output(cmd: string, args: string[], opts: Omit<RunOptions, 'netns'> = {}): Promise<string> {
    return output(cmd, args, { ...opts, netns: this.name });
  }

  /** Removes the name; the kernel frees the namespace once its last socket closes. */
  async destroy(): Promise<void> {
    await run('ip', ['netns', 'del', this.name]);
  }
}

/** Runs `fn` with a fresh namespace and deletes it afterwards, also when `fn` throws. */
export async function withNetns<T>(prefix: string, fn: (ns: Netns) => Promise<T>): Promise<T> {
  const ns = await Netns.create(prefix);
  try {
    return await fn(ns);
  } finally {
    await ns.destroy();
  }
}

// Namespaces left by test processes that were killed before their cleanup ran.
async function sweepStale(): Promise<void> {
  const list = await output('ip', ['netns', 'list']);
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = Number(/^amb-t-.+-(\d+)-\d+$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await run('ip', ['netns', 'del', name]).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Two pod network namespaces for the node agent's direct tests: "a" and "b" joined by a veth
// pair, each with the real in-pod capture rules, and in "b" a TCP echo app with half-close
// (its FIN follows the echo of the client's last byte). Everything goes when the test ends.
export interface PodPair {
  a: Netns;
  b: Netns;
  /** The veth end inside "a" (for extra routes). */
  linkA: string;
  /** Connections the app in "b" accepted. */
  appConnections: { count: number };
}

export async function capturedPodPair(t: TestContext, tag: string, o: { ipA: string; ipB: string; appPort: number; mark: number }): Promise<PodPair> {
  const a = await Netns.create(`${tag}a`, t);
  const b = await Netns.create(`${tag}b`, t);
  const va = ifName(`${tag}va`);
  const vb = ifName(`${tag}vb`);
  await a.run('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name]);
  await a.run('ip', ['addr', 'add', `${o.ipA}/24`, 'dev', va]);
  await b.run('ip', ['addr', 'add', `${o.ipB}/24`, 'dev', vb]);
  await a.run('ip', ['link', 'set', va, 'up']);
  await b.run('ip', ['link', 'set', vb, 'up']);
  await installCapture(a.name, { captureDns: false, agentMark: o.mark });
  await installCapture(b.name, { captureDns: false, agentMark: o.mark });

  const appConnections = { count: 0 };
  const open = new Set<net.Socket>();
  const app = await listenInNetns(b.path, { host: o.ipB, port: o.appPort }, (s) => {
    appConnections.count++;
    open.add(s);
    s.once('close', () => open.delete(s));
    s.allowHalfOpen = true;
    s.on('error', () => {});
    s.pipe(s);
  });
  // Connections a failed test left open must not keep the app (and the test) alive.
  t.after(() => new Promise<void>((resolve) => {
    app.close(() => resolve());
    for (const s of open) s.destroy();
  }));
  return { a, b, linkA: va, appConnections };
}
