// Installs the plugin on a real node, as the node agent's DaemonSet does at start: the
// binary into the runtime's CNI bin directory, and the plugin appended to the conflist
// the runtime uses. Both writes are a temporary file plus rename, so the runtime never
// execs a half-copied binary or reads a half-written conflist.

import { chmod, copyFile, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { planChain, isCniConfigName, type ConfFile } from './chain.js';
import { AMBIENT_PLUGIN_TYPE, DEFAULT_AGENT_SOCKET, hasAmbientPlugin, withoutAmbientPlugin } from './conflist.js';

export interface CniInstallOptions {
  /** The runtime's CNI_PATH directory, e.g. /opt/cni/bin. */
  binDir: string;
  /** The runtime's CNI configuration directory, e.g. /etc/cni/net.d. */
  confDir: string;
  /** The built plugin (node-agent/cni/build/ambient-cni). */
  binary: string;
  agentSocket?: string;
}

export interface CniInstallation {
  binaryPath: string;
  conflistPath: string;
}

const failed = (msg: string, cause?: unknown) => new MeshError(ErrorCodes.CNI_INSTALL_FAILED, msg, { cause });

export async function installCniPlugin(opts: CniInstallOptions): Promise<CniInstallation> {
  const binaryPath = await ensureCniBinary(opts);
  const chain = await ensureCniChain(opts);
  return { binaryPath: binaryPath.path, conflistPath: chain.conflist };
}

/** The plugin binary in binDir, copied only when missing or different (a check every few seconds must not rewrite it). */
export async function ensureCniBinary(opts: { binDir: string; binary: string }): Promise<{ path: string; copied: boolean }> {
  const binaryPath = join(opts.binDir, AMBIENT_PLUGIN_TYPE);
  let want: Buffer;
  try {
    want = await readFile(opts.binary);
  } catch (err) {
    throw failed(`cannot read the plugin ${opts.binary}: ${(err as Error).message}`, err);
  }
  const have = await readFile(binaryPath).catch(() => undefined);
  if (have !== undefined && have.equals(want)) return { path: binaryPath, copied: false };
  const tmp = tempName(binaryPath);
  try {
    await copyFile(opts.binary, tmp);
    await chmod(tmp, 0o755);
    await rename(tmp, binaryPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw failed(`installing ${opts.binary} as ${binaryPath} failed: ${(err as Error).message}`, err);
  }
  return { path: binaryPath, copied: true };
}

/** Chains the plugin into the primary conflist when it is not (chain.ts decides); throws the plan's error. */
export async function ensureCniChain(opts: { confDir: string; agentSocket?: string }): Promise<{ conflist: string; wrote?: 'entry-missing' | 'entry-outdated' }> {
  const plan = planChain(opts.confDir, await readConfDir(opts.confDir), opts.agentSocket ?? DEFAULT_AGENT_SOCKET);
  if (plan.kind === 'error') throw failed(plan.message);
  if (plan.kind === 'chained') return { conflist: plan.conflist };
  await writeTextAtomic(plan.conflist, plan.text);
  return { conflist: plan.conflist, wrote: plan.why };
}

/** The directory's configuration files with their text; undefined when the directory does not exist. */
export async function readConfDir(confDir: string): Promise<ConfFile[] | undefined> {
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw failed(`cannot read the CNI configuration directory ${confDir}: ${(err as Error).message}`, err);
  }
  const files: ConfFile[] = [];
  for (const name of names.filter(isCniConfigName).sort()) {
    try {
      files.push({ name, text: await readFile(join(confDir, name), 'utf8') });
    } catch (err) {
      // Removed between readdir and read: it is not there.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw failed(`cannot read ${join(confDir, name)}: ${(err as Error).message}`, err);
    }
  }
  return files;
}

/**
 * Removes the plugin from every conflist in confDir that has it (the active one may have
 * changed since install), then the binary: in that order, so the runtime never lists a
 * plugin it cannot find. Missing pieces (the directory, the binary) are fine.
 */
export async function uninstallCniPlugin(opts: { binDir: string; confDir: string }): Promise<{ conflists: string[] }> {
  const patched: string[] = [];
  for (const f of ((await readConfDir(opts.confDir)) ?? []).filter((f) => f.name.endsWith('.conflist'))) {
    const path = join(opts.confDir, f.name);
    // Another plugin's file that is not a conflist cannot hold our entry: left alone,
    // unless it names the plugin (then removing it failed, and the caller must know).
    let list: object;
    try {
      list = parseConflist(path, f.text);
    } catch (err) {
      if (f.text.includes(AMBIENT_PLUGIN_TYPE)) throw err;
      continue;
    }
    if (!hasAmbientPlugin(list)) continue;
    await writeAtomic(path, withoutAmbientPlugin(list));
    patched.push(path);
  }
  await rm(join(opts.binDir, AMBIENT_PLUGIN_TYPE), { force: true });
  return { conflists: patched };
}

function parseConflist(path: string, text: string): object {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw failed(`cannot read ${path} as JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as Record<string, unknown>)['plugins'])) {
    throw failed(`${path} is not a CNI conflist: it has no "plugins" array`);
  }
  return parsed;
}

async function writeAtomic(path: string, value: object): Promise<void> {
  await writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function writeTextAtomic(path: string, text: string): Promise<void> {
  // The temporary name does not end in .conflist, so the runtime never picks it up.
  const tmp = tempName(path);
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw failed(`writing ${path} failed: ${(err as Error).message}`, err);
  }
}

function tempName(path: string): string {
  return `${path}.${process.pid}.${Date.now()}.tmp`;
}
