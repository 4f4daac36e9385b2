// Runs one container's process inside its pod's network namespace and keeps it running:
// a process that exits is restarted with exponential backoff (as the kubelet's
// CrashLoopBackOff), according to the pod's restartPolicy.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const RESTART_BACKOFF_MIN_MS = 1000;
export const RESTART_BACKOFF_MAX_MS = 30_000;
/** A run this long resets the backoff. */
export const RESTART_BACKOFF_RESET_MS = 60_000;
export const STOP_GRACE_MS = 5000;

export type ContainerState =
  | { state: 'waiting'; reason: string; message?: string }
  | { state: 'running'; startedAt: Date; pid: number }
  | { state: 'terminated'; exitCode: number; signal?: string; reason: string; finishedAt: Date };

export interface ContainerSpec {
  name: string;
  /** What enters the pod's namespaces before the container's argv (see podLauncher). */
  launcher: string[];
  argv: string[];
  env: Record<string, string>;
  /** Working directory (and HOME): the pod's own directory, so nothing writes into the caller's. */
  dir: string;
  logFile: string;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
}

export class ContainerProcess {
  readonly spec: ContainerSpec;
  restartCount = 0;
  state: ContainerState = { state: 'waiting', reason: 'ContainerCreating' };
  lastTermination?: ContainerState & { state: 'terminated' };
  #child?: ChildProcess;
  #timer?: NodeJS.Timeout;
  #stopping = false;
  /** Consecutive quick failures: the backoff exponent (restartCount itself only grows). */
  #backoffStep = 0;
  #onChange: () => void;

  constructor(spec: ContainerSpec, onChange: () => void) {
    this.spec = spec;
    this.#onChange = onChange;
  }

  start(): void {
    if (this.#stopping) return;
    mkdirSync(dirname(this.spec.logFile), { recursive: true });
    const log = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      const [cmd, ...args] = [...this.spec.launcher, ...this.spec.argv];
      child = spawn(cmd!, args, {
        env: { HOME: this.spec.dir, ...this.spec.env },
        cwd: this.spec.dir,
        stdio: ['ignore', log, log],
        detached: true, // its own process group, so stop() reaches its children too
      });
    } finally {
      closeSync(log);
    }
    this.#child = child;
    const startedAt = new Date();
    child.once('spawn', () => {
      this.state = { state: 'running', startedAt, pid: child.pid! };
      this.#onChange();
    });
    child.once('error', (err) => {
      this.state = { state: 'waiting', reason: 'StartError', message: err.message };
      this.#onChange();
    });
    child.once('exit', (code, signal) => {
      this.#child = undefined;
      const terminated = {
        state: 'terminated' as const,
        exitCode: code ?? 128,
        ...(signal ? { signal } : {}),
        reason: code === 0 ? 'Completed' : 'Error',
        finishedAt: new Date(),
      };
      this.lastTermination = terminated;
      if (this.#stopping) {
        this.state = terminated;
        this.#onChange();
        return;
      }
      const policy = this.spec.restartPolicy;
      if (policy === 'Never' || (policy === 'OnFailure' && code === 0)) {
        this.state = terminated;
        this.#onChange();
        return;
      }
      if (Date.now() - startedAt.getTime() > RESTART_BACKOFF_RESET_MS) this.#backoffStep = 0;
      const delay = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MIN_MS * 2 ** Math.min(this.#backoffStep, 10));
      this.#backoffStep++;
      this.restartCount++;
      this.state = { state: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${delay} ms restarting failed container ${this.spec.name}` };
      this.#onChange();
      this.#timer = setTimeout(() => this.start(), delay);
    });
  }

  /** SIGTERM to the process group, SIGKILL after the grace period. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    const child = this.#child;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const kill = setTimeout(() => signal('SIGKILL'), graceMs);
    await exited;
    clearTimeout(kill);
  }
}

/**
 * How a container enters its pod: `ip netns exec` for a pod network namespace (it also
 * mounts /etc/netns/<ns>/* over /etc, which gives the pod its hosts file); nsenter for a
 * hostNetwork pod, which shares its node's namespace and the machine's mounts, so that
 * namespaces it creates or opens by path stay visible to everyone.
 */
export function podLauncher(netns: string, hostNetwork: boolean): string[] {
  return hostNetwork ? ['nsenter', `--net=/var/run/netns/${netns}`, '--'] : ['ip', 'netns', 'exec', netns];
}
