// manifests/rbac.yaml applied to an API server as the admin: the RBAC the mesh's
// ServiceAccounts have on a real cluster, and all they have on the local one (RBAC alone
// governs them there), so a test that runs the controller with its own ServiceAccount's
// token proves the manifest grants what the controller needs.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, KubeRequestError } from '../../core/kube/rest.js';

export const RBAC_MANIFEST = new URL('../../../manifests/rbac.yaml', import.meta.url);

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The manifest's documents, in order. */
export function meshRbacDocuments(): Doc[] {
  return parseAllDocuments(readFileSync(RBAC_MANIFEST, 'utf8')).map((d) => d.toJS() as Doc);
}

const PLURALS: Record<string, string> = { Namespace: 'namespaces', Role: 'roles', RoleBinding: 'rolebindings', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings' };

/** Creates every object of manifests/rbac.yaml with `admin` (an object already there is left as it is). */
export async function applyMeshRbac(admin: KubeConfig): Promise<void> {
  for (const doc of meshRbacDocuments()) {
    const plural = PLURALS[doc.kind];
    if (!plural) throw new Error(`manifests/rbac.yaml: ${doc.kind} ${doc.metadata.name} is not a kind this helper applies`);
    const base = `${doc.apiVersion.includes('/') ? `/apis/${doc.apiVersion}` : `/api/${doc.apiVersion}`}${doc.metadata.namespace ? `/namespaces/${doc.metadata.namespace}` : ''}/${plural}`;
    try {
      await kubeRequest(admin, 'POST', base, doc);
    } catch (err) {
      if (!(err instanceof KubeRequestError) || err.statusCode !== 409) throw err;
    }
  }
}
