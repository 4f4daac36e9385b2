// The cluster side of install, upgrade and uninstall: server-side apply of the rendered
// objects in order (CRDs first, waiting until they are Established and served), waiting
// for the controller and the node agents with progress, and deleting in reverse order.
// Decisions are the pure modules' (render.ts, readiness.ts); this is the I/O.
import { type KubeConfig } from '@kubernetes/client-node';
import { discover, type ApiResource } from '../../core/kube/discovery.js';
import { kubeRequest } from '../../core/kube/rest.js';
import { CliError, formatServerError, serverStatusOf } from '../errors.js';
import type { Obj } from '../manifests.js';
import { resultName, targetOf, type Target } from '../object-writes.js';
import { crdEstablished, daemonSetReadiness, deploymentReadiness, type Readiness } from './readiness.js';
import { CONTROLLER_DEPLOYMENT, describeObject } from './render.js';

export const FIELD_MANAGER = 'ambientctl';
const APPLY = 'application/apply-patch+yaml';
const POLL_MS = 1000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export interface Progress {
  /** A result line (stdout): `deployment.apps/ambient-controller configured`. */
  result(line: string): void;
  /** A progress line (stderr). */
  info(line: string): void;
}

export const stdio: Progress = {
  result: (l) => void process.stdout.write(`${l}\n`),
  info: (l) => void process.stderr.write(`${l}\n`),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function target(o: Obj, resources: readonly ApiResource[]): Target {
  const t = targetOf(o, resources, undefined, 'default');
  if ('error' in t) throw new CliError(`cannot apply ${describeObject(o)}: ${t.error}`);
  return t;
}

export async function getOrUndefined<T = Any>(kc: KubeConfig, path: string): Promise<T | undefined> {
  try {
    return await kubeRequest<T>(kc, 'GET', path);
  } catch (err) {
    if (serverStatusOf(err)?.code === 404) return undefined;
    throw err;
  }
}

/** Server-side applies one object (force: the mesh's fields are ambientctl's); a line saying created, configured or unchanged. */
async function applyOne(kc: KubeConfig, o: Obj, t: Target): Promise<string> {
  const before = await getOrUndefined<Obj>(kc, t.path);
  let after: Obj;
  try {
    after = await kubeRequest<Obj>(kc, 'PATCH', `${t.path}?fieldManager=${FIELD_MANAGER}&force=true`, o, APPLY);
  } catch (err) {
    const s = serverStatusOf(err);
    if (s) throw new CliError(formatServerError(s, `error when applying ${describeObject(o)}`));
    throw err;
  }
  const word = !before ? 'created' : before.metadata?.resourceVersion === after?.metadata?.resourceVersion ? 'unchanged' : 'configured';
  return `${resultName(t)} ${word}`;
}

/** Polls `probe` until it says done, printing each new state; a CliError after `timeoutMs` naming what is not done and why. */
async function waitFor(what: string, timeoutMs: number, out: Progress, probe: () => Promise<Readiness>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await probe();
    const line = `waiting for ${what}: ${r.summary}`;
    if (r.ready) {
      out.info(`${what}: ${r.summary}`);
      return;
    }
    if (line !== last) out.info(line);
    last = line;
    if (Date.now() >= deadline) {
      throw new CliError(`${what} not ready after ${Math.round(timeoutMs / 1000)} s: ${r.summary}${r.problems.length ? `\n  ${r.problems.join('\n  ')}` : ''}`);
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

/**
 * Applies the objects in their order. CustomResourceDefinitions go first, and the rest
 * only once each is Established (its kinds served: the discovery is read again).
 */
export async function applyAll(kc: KubeConfig, objs: readonly Obj[], timeoutMs: number, out: Progress = stdio): Promise<void> {
  let resources = await discover(kc);
  const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition');
  for (const o of crds) out.result(await applyOne(kc, o, target(o, resources)));
  for (const o of crds) {
    const t = target(o, resources);
    await waitFor(`CustomResourceDefinition ${o.metadata?.name} to be established`, timeoutMs, out, async () => {
      const ok = crdEstablished(await getOrUndefined(kc, t.path));
      return { ready: ok, summary: ok ? 'established' : 'not established yet', problems: [] };
    });
  }
  if (crds.length) resources = await discover(kc);
  for (const o of objs) if (o.kind !== 'CustomResourceDefinition') out.result(await applyOne(kc, o, target(o, resources)));
}

const selectorOf = (w: Any) => Object.entries((w?.spec?.selector?.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');

async function podsOf(kc: KubeConfig, namespace: string, w: Any): Promise<Any[]> {
  const sel = selectorOf(w);
  if (!sel) return [];
  return (await kubeRequest<{ items: Any[] }>(kc, 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(sel)}`)).items ?? [];
}

/** The namespaces other than `namespace` holding a mesh controller Deployment (a mesh
 * installed there); none when they cannot be listed. */
export async function meshesElsewhere(kc: KubeConfig, namespace: string): Promise<string[]> {
  const list = await getOrUndefined<{ items?: Obj[] }>(kc, `/apis/apps/v1/deployments?labelSelector=${encodeURIComponent(`app=${CONTROLLER_DEPLOYMENT}`)}`).catch(() => undefined);
  return [...new Set((list?.items ?? []).filter((d) => d.metadata?.name === CONTROLLER_DEPLOYMENT).map((d) => d.metadata?.namespace ?? '').filter((n) => n && n !== namespace))].sort();
}

/** The readiness of the controller Deployment now. */
export async function controllerReadiness(kc: KubeConfig, namespace: string, name: string): Promise<Readiness> {
  const d = await getOrUndefined(kc, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
  return deploymentReadiness(d, d ? await podsOf(kc, namespace, d) : []);
}

/** The readiness of the node-agent DaemonSet now, over every node. */
export async function agentsReadiness(kc: KubeConfig, namespace: string, name: string): Promise<Readiness> {
  const ds = await getOrUndefined(kc, `/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`);
  const nodes = (await kubeRequest<{ items: Any[] }>(kc, 'GET', '/api/v1/nodes')).items ?? [];
  return daemonSetReadiness(ds, ds ? await podsOf(kc, namespace, ds) : [], nodes);
}

/** Waits for the controller rollout and every node's agent, with progress lines. */
export async function waitForMesh(kc: KubeConfig, namespace: string, names: { controller: string; agents: string }, timeoutMs: number, out: Progress = stdio): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await waitFor(`deployment ${names.controller}`, timeoutMs, out, () => controllerReadiness(kc, namespace, names.controller));
  await waitFor(`daemonset ${names.agents}`, Math.max(0, deadline - Date.now()), out, () => agentsReadiness(kc, namespace, names.agents));
}

/** Deletes one object; false when it was not there. */
async function deleteOne(kc: KubeConfig, t: Target): Promise<boolean> {
  try {
    await kubeRequest(kc, 'DELETE', t.path, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    return true;
  } catch (err) {
    if (serverStatusOf(err)?.code === 404) return false;
    throw err;
  }
}

/**
 * Deletes the objects in reverse order, skipping those absent (and kinds the server does
 * not serve: their CRD is gone). Before the rest, waits for the pods of the deleted
 * workloads (`waitPods`: namespace and label selectors) to be gone, so that each agent
 * has taken the mesh off its node while its RBAC and ServiceAccount still exist.
 */
export async function deleteAll(kc: KubeConfig, objs: readonly Obj[], o: { workloads: readonly string[]; namespace: string; timeoutMs: number }, out: Progress = stdio): Promise<string[]> {
  const resources = await discover(kc);
  const removed: string[] = [];
  const reversed = [...objs].reverse();
  const isWorkload = (x: Obj) => (x.kind === 'DaemonSet' || x.kind === 'Deployment') && o.workloads.includes(x.metadata?.name ?? '');
  const selectors: string[] = [];
  for (const x of reversed.filter(isWorkload)) {
    const t = targetOf(x, resources, undefined, 'default');
    if ('error' in t) continue;
    const live = await getOrUndefined(kc, t.path);
    if (live) selectors.push(selectorOf(live));
    if (await deleteOne(kc, t)) {
      removed.push(resultName(t));
      out.result(`${resultName(t)} deleted`);
    }
  }
  for (const sel of selectors.filter(Boolean)) {
    await waitFor(`pods ${sel} to be gone`, o.timeoutMs, out, async () => {
      const pods = (await kubeRequest<{ items: Any[] }>(kc, 'GET', `/api/v1/namespaces/${o.namespace}/pods?labelSelector=${encodeURIComponent(sel)}`)).items ?? [];
      return { ready: pods.length === 0, summary: pods.length === 0 ? 'gone' : `${pods.length} left`, problems: pods.map((p) => `pod ${p.metadata?.name} on ${p.spec?.nodeName ?? '?'} still exists`) };
    });
  }
  for (const x of reversed.filter((y) => !isWorkload(y))) {
    const t = targetOf(x, resources, undefined, 'default');
    if ('error' in t) continue; // a kind no longer served: removed with its CRD
    if (await deleteOne(kc, t)) {
      removed.push(resultName(t));
      out.result(`${resultName(t)} deleted`);
    }
  }
  return removed;
}
