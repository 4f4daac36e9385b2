// What a node agent or a waypoint reads from the API server before it can reach the
// controller: the mesh's roots (the ConfigMap the controller publishes in its namespace)
// and the controller's 15012 address (its Service's cluster IP). Both programs start
// before or beside the controller, so each read is retried until it succeeds.
import type { V1ConfigMap, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { MESH_PORTS } from '../ports.js';
import type { KubeAccess } from './access.js';
import { kubeRequest } from './rest.js';

export const ROOT_CONFIGMAP = 'ambient-ca-root';
export const ROOT_KEY = 'root-cert.pem';

export async function readRoots(api: KubeAccess, namespace: string): Promise<string> {
  const cm = await kubeRequest<V1ConfigMap>(api, 'GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${ROOT_CONFIGMAP}`);
  const pem = cm.data?.[ROOT_KEY];
  if (!pem) throw new Error(`ConfigMap ${namespace}/${ROOT_CONFIGMAP} has no ${ROOT_KEY}`);
  return pem;
}

export async function controllerAddress(api: KubeAccess, namespace: string, name: string): Promise<{ host: string; port: number }> {
  const svc = await kubeRequest<V1Service>(api, 'GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`);
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === 'None') throw new Error(`Service ${namespace}/${name} has no cluster IP`);
  const port = svc.spec?.ports?.find((p) => p.port === MESH_PORTS.controller || p.name === 'xds')?.port ?? MESH_PORTS.controller;
  return { host: ip, port };
}

/** Retries `fn` every `retryMs` until it succeeds or `signal` aborts: the program may start before the controller has published anything. */
export async function untilDone<T>(fn: () => Promise<T>, what: string, log: Logger, signal: AbortSignal, retryMs: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw err;
      const msg = (err as { body?: string }).body ? String((err as { body?: string }).body).slice(0, 200) : (err as Error).message;
      log.warn({ attempt, err: msg }, `waiting for ${what}`);
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}

/** `host:port` (IPv6 in brackets) or undefined. */
export function parseHostPort(v: string): { host: string; port: number } | undefined {
  const i = v.lastIndexOf(':');
  const host = i > 0 ? v.slice(0, i).replace(/^\[|\]$/g, '') : '';
  const port = Number(v.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}
