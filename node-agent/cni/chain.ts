// What the node's CNI configuration directory needs for the mesh's plugin to be chained,
// as a pure decision: given the directory's configuration files and their text, either
// nothing (already chained), one file to write, or an error that says why nothing can be
// written. The installer (install.ts) acts on it at start, and again whenever the
// directory changes or the periodic check runs (installer.ts): another CNI plugin that
// rewrites its conflist (without our entry), or a new conflist that sorts first, is
// chained again, as istio-cni's repair does.

import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { AMBIENT_PLUGIN_TYPE, hasAmbientPlugin, withAmbientPlugin } from './conflist.js';

export interface ConfFile {
  /** The file's name in the directory (no path). */
  name: string;
  text: string;
}

export type ChainPlan =
  | { kind: 'chained'; conflist: string }
  | { kind: 'write'; conflist: string; text: string; why: 'entry-missing' | 'entry-outdated' }
  | { kind: 'error'; message: string };

/** The names libcni's ConfFiles lists: *.conf, *.conflist and *.json (temporary files end otherwise). */
export function isCniConfigName(name: string): boolean {
  return /\.(conf|conflist|json)$/.test(name);
}

/** The file the runtime uses: kubelet and containerd take the first configuration file in lexicographic order. */
export function primaryConfigName(names: readonly string[]): string | undefined {
  return names.filter(isCniConfigName).sort()[0];
}

/**
 * The plan for `confDir` whose configuration files are `files` (undefined: the directory
 * does not exist). Never a write when the primary file cannot be read as a conflist: a
 * half-written file of another plugin is left alone and looked at again at the next change.
 */
export function planChain(confDir: string, files: readonly ConfFile[] | undefined, agentSocket: string): ChainPlan {
  if (files === undefined) return { kind: 'error', message: `the CNI configuration directory ${confDir} does not exist: is the node's network plugin installed?` };
  const name = primaryConfigName(files.map((f) => f.name));
  if (name === undefined) return { kind: 'error', message: `no CNI configuration in ${confDir}: waiting for the network plugin to write its *.conflist` };
  const path = join(confDir, name);
  if (!name.endsWith('.conflist')) {
    return { kind: 'error', message: `${path} is the first CNI configuration in ${confDir} but not a .conflist: a single-plugin configuration cannot chain ${AMBIENT_PLUGIN_TYPE}` };
  }
  const text = files.find((f) => f.name === name)!.text;
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    return { kind: 'error', message: `cannot read ${path} as JSON: ${(err as Error).message}` };
  }
  if (typeof list !== 'object' || list === null || Array.isArray(list) || !Array.isArray((list as Record<string, unknown>)['plugins'])) {
    return { kind: 'error', message: `${path} is not a CNI conflist: it has no "plugins" array` };
  }
  let want: object;
  try {
    want = withAmbientPlugin(list, { agentSocket });
  } catch (err) {
    return { kind: 'error', message: `${path}: ${(err as Error).message}` };
  }
  if (isDeepStrictEqual(want, list)) return { kind: 'chained', conflist: path };
  return { kind: 'write', conflist: path, text: `${JSON.stringify(want, null, 2)}\n`, why: hasAmbientPlugin(list) ? 'entry-outdated' : 'entry-missing' };
}
