// A pod's ServiceAccount credentials, as the kubelet projects them: a token bound to the
// pod (TokenRequest with boundObjectRef) for the API server's own audience, and a
// kubeconfig using it. A container finds them through KUBECONFIG, which
// @kubernetes/client-node's loadFromDefault() reads before it falls back to the in-cluster
// files a real kubelet mounts: the same program code works in both. The token file is also
// named by AMBIENT_TOKEN_FILE.
//
// Projected `serviceAccountToken` volumes (a token for another audience, such as the node
// agent's for the controller, `ambient.dev/controller`) are honoured too. The local kubelet
// mounts nothing (containers are processes on the host's filesystem): each such volume is
// written to `<pod dir>/volumes/<volume>/` and its directory named by the environment
// variable AMBIENT_VOLUME_<VOLUME> (upper case, `-` as `_`), which a program reads in place
// of its mount path. Tokens are not rotated, so they are asked for POD_TOKEN_SECONDS.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The lifetime the kubelet asks for (a real kubelet's tokens are extended to a year too). */
export const POD_TOKEN_SECONDS = 365 * 24 * 3600;
const ATTEMPTS = 20;
const RETRY_MS = 250;

/** The environment variable naming a volume's directory on the local cluster. */
export function volumeEnvName(volume: string): string {
  return `AMBIENT_VOLUME_${volume.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** A token for the pod's ServiceAccount, bound to the pod; `audiences` empty: the API server's own. */
async function podToken(core: CoreV1Api, pod: V1Pod, audiences: string[]): Promise<string> {
  const namespace = pod.metadata!.namespace!;
  const name = pod.spec?.serviceAccountName || 'default';
  // The namespace's default ServiceAccount may be created just after the pod: retry briefly.
  for (let i = 0; ; i++) {
    try {
      const tr = await core.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: { spec: { audiences, expirationSeconds: POD_TOKEN_SECONDS, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata!.name!, uid: pod.metadata!.uid! } } },
      });
      if (tr.status?.token) return tr.status.token;
      throw new Error('the answer carries no token');
    } catch (err) {
      if (i >= ATTEMPTS - 1) throw new Error(`TokenRequest for ${namespace}/${name}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

/** The pod's projected serviceAccountToken volumes, each with its files' paths and audiences. */
export function projectedTokenVolumes(pod: V1Pod): Array<{ volume: string; tokens: Array<{ path: string; audience?: string }> }> {
  const out: Array<{ volume: string; tokens: Array<{ path: string; audience?: string }> }> = [];
  for (const v of pod.spec?.volumes ?? []) {
    const tokens = (v.projected?.sources ?? []).flatMap((src) => {
      const t = src.serviceAccountToken;
      // A path stays inside its volume: no absolute paths, no `..`.
      if (!t?.path || t.path.startsWith('/') || t.path.split('/').includes('..')) return [];
      return [{ path: t.path, ...(t.audience ? { audience: t.audience } : {}) }];
    });
    if (tokens.length) out.push({ volume: v.name, tokens });
  }
  return out;
}

export async function serviceAccountFiles(o: { core: CoreV1Api; pod: V1Pod; dir: string; apiServer: string; caFile: string }): Promise<Record<string, string>> {
  const namespace = o.pod.metadata!.namespace!;
  const token = await podToken(o.core, o.pod, []);
  const volumes: Record<string, string> = {};
  for (const v of projectedTokenVolumes(o.pod)) {
    const dir = join(o.dir, 'volumes', v.volume);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const t of v.tokens) {
      const file = join(dir, t.path);
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, await podToken(o.core, o.pod, t.audience ? [t.audience] : []), { mode: 0o600 });
    }
    volumes[volumeEnvName(v.volume)] = dir;
  }
  const sa = join(o.dir, 'serviceaccount');
  await mkdir(sa, { recursive: true, mode: 0o700 });
  const tokenFile = join(sa, 'token');
  await writeFile(tokenFile, token, { mode: 0o600 });
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
    ...volumes,
    KUBECONFIG: kubeconfig,
    AMBIENT_TOKEN_FILE: tokenFile,
    KUBERNETES_SERVICE_HOST: api.hostname,
    KUBERNETES_SERVICE_PORT: api.port,
  };
}
