// What `ambientctl install`, `upgrade` and `manifest generate` put on a cluster: the files of
// manifests/ named by INSTALL_SET, parsed into objects, put in the order a cluster needs
// them (CRDs before their objects, the namespace before what lives in it, RBAC and
// ServiceAccounts before the pods that use them), with the settings (settings.ts) applied
// to the parsed objects, never by editing text. Pure but for loadSources(), which reads.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { isProblem, parseManifests, type Obj } from '../manifests.js';
import { SettingError, type Settings } from './settings.js';

/** manifests/ of the repository (and of the installed package): beside dist/. */
export const MANIFESTS_DIR = fileURLToPath(new URL('../../../manifests/', import.meta.url));

export interface SetEntry {
  /** A file or a directory (its *.yaml, by name) under manifests/. */
  path: string;
  /** Included only when this says so (an optional component). */
  when?: (s: Settings) => boolean;
}

/**
 * The install set, the one list of what the mesh installs. manifests/waypoint.yaml is not
 * here: it is the template the controller renders for each waypoint.
 */
export const INSTALL_SET: readonly SetEntry[] = [
  { path: 'crds.yaml' },
  // The mesh's RBAC: on the local cluster too, its ServiceAccounts have nothing else.
  { path: 'rbac.yaml' },
  { path: 'controller.yaml' },
  { path: 'node-agent.yaml' },
  { path: 'redis.yaml', when: (s) => s.values['redis.enabled'] === true },
];

/** The order kinds are applied in (deleted in reverse); kinds not named go last, in file order. */
export const KIND_ORDER: readonly string[] = [
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'ServiceAccount',
  'ConfigMap',
  'Secret',
  'Service',
  'Deployment',
  'DaemonSet',
];

/** The namespace manifests/ are written for; rootNamespace moves every object and reference from it (moveNamespace). */
export const MANIFESTS_NAMESPACE = 'ambient-system';

export const CONTROLLER_DEPLOYMENT = 'ambient-controller';
export const NODE_AGENT_DAEMONSET = 'ambient-node-agent';
/** The template annotation `upgrade --restart-agents` (and `--restart-controller`) changes to roll pods, as `kubectl rollout restart` does. */
export const RESTARTED_AT = 'ambient.dev/restartedAt';

export interface Source {
  file: string;
  text: string;
}

/** The files of the install set for `settings` (every optional one with `all`, for uninstall). */
export async function loadSources(settings: Settings, o: { all?: boolean; dir?: string } = {}): Promise<Source[]> {
  const dir = o.dir ?? MANIFESTS_DIR;
  const out: Source[] = [];
  for (const e of INSTALL_SET) {
    if (!o.all && e.when && !e.when(settings)) continue;
    const p = join(dir, e.path);
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new Error(`the mesh's manifest ${p} is missing (is ambientctl installed whole?)`);
    const files = st.isDirectory() ? (await readdir(p)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)) : [p];
    for (const f of files) out.push({ file: f.slice(dir.length).replace(/^\//, ''), text: await readFile(f, 'utf8') });
  }
  return out;
}

const identity = (o: Obj) => `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** `Deployment ambient-system/ambient-controller`: an object in messages. */
export function describeObject(o: Obj): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`;
}

const rank = (kind: string | undefined) => {
  const i = KIND_ORDER.indexOf(kind ?? '');
  return i === -1 ? KIND_ORDER.length : i;
};

/**
 * The objects of `sources`, each once (a Namespace several files declare is one object;
 * two different objects under one name are an error), in apply order.
 */
export function collectObjects(sources: readonly Source[]): Obj[] {
  const seen = new Map<string, { obj: Obj; file: string }>();
  const out: Obj[] = [];
  for (const s of sources) {
    for (const e of parseManifests(s.text, s.file)) {
      if (isProblem(e)) throw new Error(e.message);
      const id = identity(e.obj);
      const before = seen.get(id);
      if (before) {
        if (JSON.stringify(before.obj) !== JSON.stringify(e.obj)) throw new Error(`${describeObject(e.obj)} is declared differently in ${before.file} and ${s.file}`);
        continue;
      }
      seen.set(id, { obj: e.obj, file: s.file });
      out.push(e.obj);
    }
  }
  // Array.prototype.sort is stable: within a kind, file order stays.
  return out.sort((a, b) => rank(a.kind) - rank(b.kind));
}

type Subject = { kind?: string; name?: string; namespace?: string };

/**
 * Moves what manifests/ puts in MANIFESTS_NAMESPACE to `ns`: the Namespace object, every
 * namespaced object, and the ServiceAccounts RBAC bindings name. (The components are told
 * the namespace by their flags, set in renderObjects.)
 */
export function moveNamespace(objs: readonly Obj[], ns: string): void {
  for (const o of objs) {
    if (!o.metadata) continue;
    if (o.kind === 'Namespace' && o.metadata.name === MANIFESTS_NAMESPACE) o.metadata.name = ns;
    if (o.metadata.namespace === MANIFESTS_NAMESPACE) o.metadata.namespace = ns;
    for (const s of ((o as { subjects?: Subject[] }).subjects ?? [])) if (s.namespace === MANIFESTS_NAMESPACE) s.namespace = ns;
  }
}

type Container = { name: string; image?: string; args?: string[]; env?: Array<{ name: string; value?: string; valueFrom?: unknown }>; resources?: { requests?: Record<string, string> } };
type Workload = Obj & { spec: { replicas?: number; template: { metadata?: { annotations?: Record<string, string> }; spec: { containers: Container[]; volumes?: Array<{ name: string; hostPath?: { path: string } }> } } } };

function find(objs: Obj[], kind: string, name: string): Workload {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`the mesh's manifests hold no ${kind} ${name}`);
  return o as Workload;
}

function container(w: Workload, name: string): Container {
  const c = w.spec.template.spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`${describeObject(w)} has no container ${name}`);
  return c;
}

/** Sets `flag value` in an argument list: the value after the flag when present, else both appended. */
export function setArg(args: string[], flag: string, value: string): string[] {
  const out = [...args];
  const i = out.indexOf(flag);
  if (i >= 0 && i + 1 < out.length) out[i + 1] = value;
  else out.push(flag, value);
  return out;
}

/** Sets an environment variable to a plain value (replacing a valueFrom), keeping the list's order. */
export function setEnv(c: Container, name: string, value: string): void {
  const env = (c.env ??= []);
  const i = env.findIndex((e) => e.name === name);
  if (i >= 0) env[i] = { name, value };
  else env.push({ name, value });
}

function image(s: Settings, component: string): string {
  return `${String(s.values['hub'])}/${component}:${String(s.values['tag'])}`;
}

export interface RenderOptions {
  /** A value for the `ambient.dev/restartedAt` template annotation of the node-agent DaemonSet (a rollout of every agent). */
  restartAgents?: string;
  /** The same for the controller Deployment. */
  restartController?: string;
}

/** The objects to apply: `sources`' objects, in order, with `settings` applied. */
export function renderObjects(sources: readonly Source[], settings: Settings, o: RenderOptions = {}): Obj[] {
  const v = settings.values;
  if (v['redis.address'] !== undefined && v['redis.enabled'] === true) {
    throw new SettingError('--set redis.address and --set redis.enabled=true: choose one (redis.enabled installs a Redis and points waypoints at it; redis.address names one of your own)');
  }
  const objs = collectObjects(sources).map((x) => structuredClone(x));
  const str = (key: string) => (v[key] === undefined ? undefined : String(v[key]));
  const namespace = str('rootNamespace')!;
  moveNamespace(objs, namespace);

  const ctl = find(objs, 'Deployment', CONTROLLER_DEPLOYMENT);
  ctl.spec.replicas = v['controller.replicas'] as number;
  const cc = container(ctl, 'controller');
  cc.image = image(settings, 'controller');
  // --namespace: its identity, CA Secret, Lease, roots and Service name, the node agents'
  // ServiceAccount it authorizes and the root namespace of mesh-wide policy all follow it.
  let args = setArg(setArg(cc.args ?? [], '--trust-domain', str('trustDomain')!), '--namespace', namespace);
  const redis = str('redis.address') ?? (v['redis.enabled'] === true ? `redis.${namespace}.svc:6379` : undefined);
  const optional: Array<[string, string | undefined]> = [
    ['--plugin-ca-secret', str('pluginCaSecret') === 'cacerts' ? undefined : str('pluginCaSecret')],
    ['--waypoint-redis-address', redis],
    ['--console-dir', str('controller.consoleDir')],
    ['--waypoint-template', str('controller.waypointTemplate')],
    ['--prometheus-url', str('controller.prometheusUrl')],
  ];
  for (const [flag, value] of optional) if (value !== undefined) args = setArg(args, flag, value);
  cc.args = args;
  cc.resources = { ...cc.resources, requests: { ...cc.resources?.requests, cpu: str('controller.requests.cpu')!, memory: str('controller.requests.memory')! } };
  setEnv(cc, 'LOG_LEVEL', str('logLevel')!);
  for (const [name, value] of Object.entries(settings.env.controller)) setEnv(cc, name, value);
  if (o.restartController) (ctl.spec.template.metadata ??= {}).annotations = { ...ctl.spec.template.metadata?.annotations, [RESTARTED_AT]: o.restartController };

  const agent = find(objs, 'DaemonSet', NODE_AGENT_DAEMONSET);
  const ac = container(agent, 'node-agent');
  ac.image = image(settings, 'node-agent');
  // Where the agent finds the controller (its Service, roots and certificate name) and mesh-wide PeerAuthentications.
  ac.args = setArg(setArg(ac.args ?? [], '--trust-domain', str('trustDomain')!), '--controller-namespace', namespace);
  ac.resources = { ...ac.resources, requests: { ...ac.resources?.requests, cpu: str('nodeAgent.requests.cpu')!, memory: str('nodeAgent.requests.memory')! } };
  setEnv(ac, 'AMBIENT_WORKERS', v['workers'] === 0 ? '' : String(v['workers']));
  setEnv(ac, 'LOG_LEVEL', str('logLevel')!);
  for (const [name, value] of Object.entries(settings.env.nodeAgent)) setEnv(ac, name, value);
  for (const [volume, key] of [['cni-bin-dir', 'cni.binDir'], ['cni-net-dir', 'cni.confDir']] as const) {
    const vol = agent.spec.template.spec.volumes?.find((x) => x.name === volume);
    if (!vol?.hostPath) throw new Error(`${describeObject(agent)} has no hostPath volume ${volume}`);
    vol.hostPath.path = str(key)!;
  }
  if (o.restartAgents) (agent.spec.template.metadata ??= {}).annotations = { ...agent.spec.template.metadata?.annotations, [RESTARTED_AT]: o.restartAgents };

  return objs;
}

/** The objects as one YAML stream, as `kubectl apply -f -` and `kubectl apply --server-side -f -` read it. */
export function toYaml(objs: readonly Obj[]): string {
  return objs.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
