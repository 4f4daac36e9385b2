// What install creates, as `check` needs to know it: the kinds (whose permissions --pre
// asks for) and the mesh's CRDs (which the installed check expects), read from the
// manifests install applies, so a kind added there is checked without a change here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { MESH_GROUP } from './facts.js';

/** The repository's manifests/ (dist/cli/check/ → ../../../manifests). */
export const MANIFESTS_DIR = fileURLToPath(new URL('../../../manifests/', import.meta.url));

/** Files of manifests/ install does not apply as they are: the waypoint template (the controller renders it per Gateway) and the optional Redis. */
export const NOT_INSTALLED = new Set(['waypoint.yaml', 'redis.yaml']);

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

/** What the manifests in `dir` that install applies hold. */
export function readInstallObjects(dir: string = MANIFESTS_DIR): InstallObjects {
  const docs: unknown[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && !NOT_INSTALLED.has(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const v: unknown = doc.toJS();
      if (v && typeof v === 'object' && (v as { kind?: unknown }).kind === 'List') docs.push(...(((v as { items?: unknown[] }).items) ?? []));
      else docs.push(v);
    }
  }
  return installObjectsOf(docs);
}
