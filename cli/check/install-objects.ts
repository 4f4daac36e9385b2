// What install creates, as `check` needs to know it: the kinds (whose permissions --pre
// asks for) and the mesh's CRDs (which the installed check expects), from the objects
// install renders (cli/install/render.ts, default settings), so a kind added to the
// install set is checked without a change here.
import { loadSources, renderObjects } from '../install/render.js';
import { defaultSettings } from '../install/settings.js';
import { MESH_GROUP } from './facts.js';

/**
 * Kinds install creates whatever the manifests hold today: the CRDs of the mesh's kinds and
 * the cluster-wide RBAC of its components (a user who may not create these cannot install).
 */
export const ALWAYS_CREATED: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
];

export interface InstallObjects {
  kinds: Array<{ apiVersion: string; kind: string }>;
  /** The mesh's CRDs (`plural.group`). */
  crds: string[];
}

/** The kinds and the mesh's CRDs among `docs` (parsed manifest documents), the ALWAYS_CREATED kinds first. Pure. */
export function installObjectsOf(docs: unknown[]): InstallObjects {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const k of ALWAYS_CREATED) kinds.set(`${k.apiVersion}/${k.kind}`, k);
  const crds: string[] = [];
  for (const d of docs) {
    const o = d as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown }; spec?: { group?: unknown } } | null;
    if (!o || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') continue;
    kinds.set(`${o.apiVersion}/${o.kind}`, { apiVersion: o.apiVersion, kind: o.kind });
    if (o.kind === 'CustomResourceDefinition' && o.spec?.group === MESH_GROUP && typeof o.metadata?.name === 'string') crds.push(o.metadata.name);
  }
  return { kinds: [...kinds.values()], crds: [...new Set(crds)].sort() };
}

/** What install, with its default settings, creates. */
export async function readInstallObjects(): Promise<InstallObjects> {
  const settings = defaultSettings();
  return installObjectsOf(renderObjects(await loadSources(settings), settings));
}
