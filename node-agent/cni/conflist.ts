// The node's CNI conflist with and without the mesh's plugin, as pure functions. The
// plugin goes last: chained plugins run in list order on ADD (SPEC.md section 3), so it
// sees the main plugin's result (the pod's addresses) as prevResult, and on DEL (reverse
// order) it runs first, while the pod's interfaces still exist.

import { ErrorCodes, MeshError } from '../../core/errors.js';
import { DEFAULT_CNI_SOCKET, socketPathProblem } from './socket-path.js';

export const AMBIENT_PLUGIN_TYPE = 'ambient-cni';
/** The agent's socket the plugin calls by default: a path in a root-only directory (socket-path.ts). */
export const DEFAULT_AGENT_SOCKET = DEFAULT_CNI_SOCKET;

type Conflist = Record<string, unknown> & { plugins: unknown[] };

/**
 * The conflist with exactly one ambient-cni entry, at the end, calling `agentSocket`.
 * Idempotent: applying it again gives an equal object. Does not modify its input.
 */
export function withAmbientPlugin(conflist: object, opts: { agentSocket?: string } = {}): object {
  const list = checked(conflist);
  const agentSocket = opts.agentSocket ?? DEFAULT_AGENT_SOCKET;
  const problem = socketPathProblem(agentSocket);
  if (problem) throw new MeshError(ErrorCodes.CNI_INSTALL_FAILED, `agentSocket ${problem}`);
  return { ...list, plugins: [...list.plugins.filter((p) => !isAmbient(p)), { type: AMBIENT_PLUGIN_TYPE, agentSocket }] };
}

/** The conflist without any ambient-cni entry; everything else as it was. */
export function withoutAmbientPlugin(conflist: object): object {
  const list = checked(conflist);
  return { ...list, plugins: list.plugins.filter((p) => !isAmbient(p)) };
}

export function hasAmbientPlugin(conflist: object): boolean {
  return checked(conflist).plugins.some(isAmbient);
}

function isAmbient(p: unknown): boolean {
  return typeof p === 'object' && p !== null && (p as Record<string, unknown>)['type'] === AMBIENT_PLUGIN_TYPE;
}

function checked(conflist: object): Conflist {
  const c = structuredClone(conflist) as Record<string, unknown>;
  if (typeof c !== 'object' || c === null || Array.isArray(c) || !Array.isArray(c['plugins'])) {
    throw new MeshError(ErrorCodes.CNI_INSTALL_FAILED, 'not a CNI conflist: it has no "plugins" array');
  }
  return c as Conflist;
}
