// Where ambientctl finds the mesh (its controller, agents, roots and installed settings):
// the global --mesh-namespace, else $AMBIENT_MESH_NAMESPACE, else ambient-system. A mesh
// installed with `--set rootNamespace=<ns>` is found with `--mesh-namespace <ns>`.
// One value for the whole run, set by main.ts before any command's action.
import { CliError } from './errors.js';

export const DEFAULT_MESH_NAMESPACE = 'ambient-system';
export const MESH_NAMESPACE_ENV = 'AMBIENT_MESH_NAMESPACE';

const NAMESPACE = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

let chosen: string | undefined;

/** A namespace name, or a CliError naming where it came from. */
export function checkMeshNamespace(value: string, from: string): string {
  if (!NAMESPACE.test(value)) throw new CliError(`${from} ${JSON.stringify(value)}: not a namespace name (lower case letters, digits and -, at most 63)`);
  return value;
}

/** Sets the namespace from the global option (undefined: the environment, else the default). */
export function setMeshNamespace(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): void {
  const fromEnv = env[MESH_NAMESPACE_ENV];
  chosen = flag !== undefined ? checkMeshNamespace(flag, '--mesh-namespace') : fromEnv ? checkMeshNamespace(fromEnv, MESH_NAMESPACE_ENV) : undefined;
}

/** The mesh's namespace for this run. */
export function meshNamespace(): string {
  return chosen ?? DEFAULT_MESH_NAMESPACE;
}

/** Was it chosen (flag or environment), rather than the default? */
export function meshNamespaceChosen(): boolean {
  return chosen !== undefined;
}
