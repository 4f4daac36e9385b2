// Installs the plugin on a real node, as the node agent's DaemonSet does at start: the
// binary into the runtime's CNI bin directory, and the plugin appended to the conflist
// the runtime uses. Both writes are a temporary file plus rename, so the runtime never
// execs a half-copied binary or reads a half-written conflist.

import { chmod, copyFile, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { AMBIENT_PLUGIN_TYPE, hasAmbientPlugin, withAmbientPlugin, withoutAmbientPlugin } from './conflist.js';

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
  const binaryPath = join(opts.binDir, AMBIENT_PLUGIN_TYPE);
  const tmp = tempName(binaryPath);
  try {
    await copyFile(opts.binary, tmp);
    await chmod(tmp, 0o755);
    await rename(tmp, binaryPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw failed(`installing ${opts.binary} as ${binaryPath} failed: ${(err as Error).message}`, err);
  }
  const conflistPath = await activeConflist(opts.confDir);
  const list = await readConflist(conflistPath);
  await writeAtomic(conflistPath, withAmbientPlugin(list, opts.agentSocket === undefined ? {} : { agentSocket: opts.agentSocket }));
  return { binaryPath, conflistPath };
}

/**
 * Removes the plugin from every conflist in confDir that has it (the active one may have
 * changed since install), then the binary: in that order, so the runtime never lists a
 * plugin it cannot find. Missing pieces are fine.
 */
export async function uninstallCniPlugin(opts: { binDir: string; confDir: string }): Promise<{ conflists: string[] }> {
  const patched: string[] = [];
  for (const path of (await configFiles(opts.confDir)).filter((f) => f.endsWith('.conflist'))) {
    const list = await readConflist(path);
    if (!hasAmbientPlugin(list)) continue;
    await writeAtomic(path, withoutAmbientPlugin(list));
    patched.push(path);
  }
  await rm(join(opts.binDir, AMBIENT_PLUGIN_TYPE), { force: true });
  return { conflists: patched };
}

/**
 * The conflist the runtime uses: libcni's ConfFiles lists *.conf, *.conflist and *.json
 * and kubelet/containerd take the first in lexicographic order. A single-plugin .conf
 * first cannot be chained onto, which is an error here rather than a silent no-op.
 */
async function activeConflist(confDir: string): Promise<string> {
  const files = await configFiles(confDir);
  const first = files[0];
  if (first === undefined) throw failed(`no CNI configuration in ${confDir}: install the network plugin (its *.conflist) first`);
  if (!first.endsWith('.conflist')) {
    throw failed(`${first} is the first CNI configuration in ${confDir} but not a .conflist: a single-plugin configuration cannot chain ${AMBIENT_PLUGIN_TYPE}`);
  }
  return first;
}

async function configFiles(confDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch (err) {
    throw failed(`cannot read the CNI configuration directory ${confDir}: ${(err as Error).message}`, err);
  }
  return names
    .filter((n) => /\.(conf|conflist|json)$/.test(n))
    .sort()
    .map((n) => join(confDir, n));
}

async function readConflist(path: string): Promise<object> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw failed(`cannot read ${path} as JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as Record<string, unknown>)['plugins'])) {
    throw failed(`${path} is not a CNI conflist: it has no "plugins" array`);
  }
  return parsed;
}

async function writeAtomic(path: string, value: object): Promise<void> {
  // The temporary name does not end in .conflist, so the runtime never picks it up.
  const tmp = tempName(path);
  try {
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw failed(`writing ${path} failed: ${(err as Error).message}`, err);
  }
}

function tempName(path: string): string {
  return `${path}.${process.pid}.${Date.now()}.tmp`;
}
