// Plain REST calls to a Kubernetes API server with the credentials and TLS settings of a
// kubeconfig, for what the typed clients do not cover (discovery of every group, any
// kind by path). Node's own http/https, so a cluster CA or client certificate applies.
// Takes a client-node KubeConfig or the light KubeAccess of access.ts (the node agent's,
// which does not load client-node at all).
import http from 'node:http';
import https from 'node:https';
import type { KubeAccess } from './access.js';

export class KubeRequestError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: { message?: string; reason?: string } | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeRequestError';
  }
}

export async function kubeRequest<T = unknown>(kc: KubeAccess, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const opts: https.RequestOptions = { method, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  if (payload) Object.assign(opts.headers!, { 'content-type': contentType, 'content-length': payload.length });
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const req = mod.request(url, { ...opts, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) return resolve(json as T);
        const status = json as { message?: string; reason?: string } | undefined;
        reject(new KubeRequestError(code, status, `${method} ${url.pathname}: ${code} ${status?.message ?? text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within 30 s`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}
