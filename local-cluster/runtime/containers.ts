// What a container runs, as pure functions: its argv (the container's command and args,
// or the program behind a sample image), and its environment (the container's env plus
// the downward values a pod sees). The image is recorded, not pulled.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** Images the local cluster can run: image name (any tag or digest) -> program under the repository root. */
export const KNOWN_IMAGES: Readonly<Record<string, string>> = {
  'ambient-samples/echo': 'dist/samples/echo/main.js',
  'ambient-samples/tcp-echo': 'dist/samples/tcp-echo/main.js',
  'ambient-samples/client': 'dist/samples/client/main.js',
  // The mesh's own images, so that its manifests deploy to the local cluster unchanged.
  'ambient/controller': 'dist/controller/main.js',
  'ambient/node-agent': 'dist/node-agent/main.js',
  'ambient/waypoint': 'dist/waypoint/main.js',
};

export function imageName(image: string): string {
  const noDigest = image.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const bare = colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  return bare.replace(/^(docker\.io\/)?(library\/)?/, '');
}

export type Argv = { argv: string[] } | { error: string; reason: string };

export function containerArgv(c: V1Container, repoRoot: string, nodeBinary: string): Argv {
  if (c.command && c.command.length > 0) return { argv: [...c.command, ...(c.args ?? [])] };
  const program = KNOWN_IMAGES[imageName(c.image ?? '')];
  if (!program) {
    return {
      reason: 'UnknownImage',
      error: `image ${JSON.stringify(c.image ?? '')} is not one the local cluster can run (known: ${Object.keys(KNOWN_IMAGES).join(', ')}) and the container has no command`,
    };
  }
  return { argv: [nodeBinary, `${repoRoot}/${program}`, ...(c.args ?? [])] };
}

/** The value of a downward-API fieldRef, as the kubelet resolves it. */
function fieldValue(pod: V1Pod, path: string, nodeName: string): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    default: {
      const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
      if (label) return pod.metadata?.labels?.[label[1]!] ?? '';
      const ann = /^metadata\.annotations\['(.+)'\]$/.exec(path);
      if (ann) return pod.metadata?.annotations?.[ann[1]!] ?? '';
      return '';
    }
  }
}

/** Expands $(VAR) references to earlier variables, as Kubernetes does ($$ escapes). */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) =>
    m === '$$' ? '$' : name !== undefined && Object.hasOwn(env, name) ? env[name]! : m,
  );
}

export function containerEnv(pod: V1Pod, c: V1Container, nodeName: string, base: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    ...base,
    POD_NAME: pod.metadata?.name ?? '',
    POD_NAMESPACE: pod.metadata?.namespace ?? '',
    POD_IP: pod.status?.podIP ?? '',
    NODE_NAME: nodeName,
    HOSTNAME: pod.metadata?.name ?? '',
  };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(pod, e.valueFrom.fieldRef.fieldPath, nodeName);
    else env[e.name] = '';
  }
  return env;
}
