// The node agent's CNI installer: at start it puts the plugin binary into the node's CNI
// bin directory and chains the plugin into the node's primary conflist (install.ts), then
// keeps it chained: the configuration directory is watched (fs.watch), and checked every
// `checkIntervalMs` as well (an event can be lost: inotify overflows, a directory that
// did not exist yet, a hostPath replaced underneath). Each check is the pure plan of
// chain.ts; a write after the plugin was chained once is a repair, logged and counted.
// The agent is not ready until the plugin is installed and chained (status().chained).
import { watch, type FSWatcher } from 'node:fs';
import { CNI_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { CniInstallStatus } from '../dump.js';
import { ensureCniBinary, ensureCniChain, uninstallCniPlugin } from './install.js';

export interface CniInstallerOptions {
  binDir: string;
  confDir: string;
  /** The built plugin (node-agent/cni/build/ambient-cni in the image). */
  binary: string;
  /** The agent's hand-off socket, written into the conflist entry. */
  agentSocket: string;
  /** The periodic check; default CNI_DEFAULTS.chainCheckIntervalMs. */
  checkIntervalMs?: number;
  /** Called for every repair (the metric). */
  onRepair?: (why: string) => void;
  logger?: Logger;
}

export class CniInstaller {
  readonly #o: CniInstallerOptions;
  readonly #log: Logger;
  #status: CniInstallStatus;
  #everChained = false;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #waiters = new Set<() => void>();

  constructor(o: CniInstallerOptions) {
    this.#o = o;
    this.#log = o.logger ?? silentLogger;
    this.#status = { binDir: o.binDir, confDir: o.confDir, binary: null, conflist: null, chained: false, repairs: 0, lastRepair: null, error: 'not checked yet' };
  }

  status(): CniInstallStatus {
    return { ...this.#status };
  }

  /** Installs now (an error is recorded in status(), not thrown) and keeps the chain repaired until stop(). */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.check(), this.#o.checkIntervalMs ?? CNI_DEFAULTS.chainCheckIntervalMs);
    this.#timer.unref();
    await this.check();
  }

  /** Runs a check now (or right after the running one) and waits for it. */
  check(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return new Promise((resolve) => this.#waiters.add(resolve));
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        const waiting = [...this.#waiters];
        this.#waiters.clear();
        await this.#checkOnce();
        for (const w of waiting) w();
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#running = undefined;
      for (const w of this.#waiters) w();
      this.#waiters.clear();
    });
    return this.#running;
  }

  async #checkOnce(): Promise<void> {
    this.#ensureWatch();
    try {
      const bin = await ensureCniBinary(this.#o);
      if (bin.copied && this.#everChained) this.#repaired(`the plugin binary ${bin.path} was missing or changed`);
      const chain = await ensureCniChain(this.#o);
      if (this.#stopped) return;
      if (chain.wrote !== undefined) {
        if (this.#everChained) this.#repaired(chain.wrote === 'entry-missing' ? `${chain.conflist} had no ambient-cni entry` : `${chain.conflist} had an outdated ambient-cni entry`);
        else this.#log.info({ conflist: chain.conflist, binary: bin.path }, 'agent: CNI plugin installed and chained');
      }
      this.#everChained = true;
      this.#status = { ...this.#status, binary: bin.path, conflist: chain.conflist, chained: true, error: null };
    } catch (err) {
      const error = (err as Error).message;
      if (this.#status.error !== error) this.#log.warn({ err: error }, 'agent: CNI plugin not chained; checked again on the next change of the directory or in a few seconds');
      this.#status = { ...this.#status, chained: false, error };
    }
  }

  #repaired(why: string): void {
    this.#status = { ...this.#status, repairs: this.#status.repairs + 1, lastRepair: new Date().toISOString() };
    this.#log.warn({ why }, 'agent: CNI chain repaired');
    this.#o.onRepair?.(why);
  }

  /** Watches the directory when it exists and is not watched yet; a watcher that errs is dropped and made again at the next check. */
  #ensureWatch(): void {
    if (this.#watcher || this.#stopped) return;
    try {
      const w = watch(this.#o.confDir, { persistent: false }, () => this.#changed());
      w.on('error', () => {
        w.close();
        if (this.#watcher === w) this.#watcher = undefined;
      });
      this.#watcher = w;
    } catch {
      // The directory does not exist (yet): the periodic check tries again.
    }
  }

  #changed(): void {
    if (this.#stopped) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.check(), CNI_DEFAULTS.chainDebounceMs);
    this.#debounce.unref();
  }

  /** Stops watching and checking; the plugin stays installed (a restart). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#running?.catch(() => {});
  }

  /** Stops, then removes the plugin from every conflist and the binary (the mesh leaves the node). */
  async uninstall(): Promise<{ conflists: string[] }> {
    await this.stop();
    const r = await uninstallCniPlugin(this.#o);
    this.#status = { ...this.#status, binary: null, conflist: null, chained: false, error: 'uninstalled' };
    this.#log.info({ conflists: r.conflists }, 'agent: CNI plugin removed from the node');
    return r;
  }
}

export type { CniInstallStatus };
