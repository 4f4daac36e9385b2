// A pod's ServiceAccount credentials, as the kubelet projects them: a token bound to the
// pod (TokenRequest with boundObjectRef), and a kubeconfig using it. A container finds
// them through KUBECONFIG, which @kubernetes/client-node's loadFromDefault() reads before
// it falls back to the in-cluster files a real kubelet mounts: the same program code
// works in both. The token file is also named by AMBIENT_TOKEN_FILE for programs that
// authenticate elsewhere with it (the node agent to the controller).
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The lifetime the kubelet asks for (a real kubelet's tokens are extended to a year too). */
export const POD_TOKEN_SECONDS = 365 * 24 * 3600;
const ATTEMPTS = 20;
const RETRY_MS = 250;

export async function serviceAccountFiles(o: { core: CoreV1Api; pod: V1Pod; dir: string; apiServer: string; caFile: string }): Promise<Record<string, string>> {
  const namespace = o.pod.metadata!.namespace!;
  const name = o.pod.spec?.serviceAccountName || 'default';
  let token: string | undefined;
  // The namespace's default ServiceAccount may be created just after the pod: retry briefly.
  for (let i = 0; i < ATTEMPTS && !token; i++) {
    try {
      const tr = await o.core.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: { spec: { audiences: [], expirationSeconds: POD_TOKEN_SECONDS, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: o.pod.metadata!.name!, uid: o.pod.metadata!.uid! } } },
      });
      token = tr.status?.token;
    } catch (err) {
      if (i === ATTEMPTS - 1) throw new Error(`TokenRequest for ${namespace}/${name}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  const sa = join(o.dir, 'serviceaccount');
  await mkdir(sa, { recursive: true, mode: 0o700 });
  const tokenFile = join(sa, 'token');
  await writeFile(tokenFile, token!, { mode: 0o600 });
  await writeFile(join(sa, 'namespace'), namespace);
  const caFile = join(sa, 'ca.crt');
  await copyFile(o.caFile, caFile);
  const kubeconfig = join(o.dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: in-cluster',
      'clusters:',
      '- name: in-cluster',
      '  cluster:',
      `    server: ${o.apiServer}`,
      `    certificate-authority: ${caFile}`,
      'contexts:',
      '- name: in-cluster',
      '  context: {cluster: in-cluster, user: pod, namespace: ' + namespace + '}',
      'users:',
      '- name: pod',
      '  user:',
      // Inline: kubectl spells the file form tokenFile and client-node token-file.
      `    token: ${token}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const api = new URL(o.apiServer);
  return {
    KUBECONFIG: kubeconfig,
    AMBIENT_TOKEN_FILE: tokenFile,
    KUBERNETES_SERVICE_HOST: api.hostname,
    KUBERNETES_SERVICE_PORT: api.port,
  };
}
