// `ambientctl manifest generate`, `install`, `upgrade`, `uninstall` (docs/install.md).
// Settings are checked and the manifests rendered before the cluster is contacted, so a
// bad --set changes nothing.
import { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../../core/kube/rest.js';
import { WAYPOINT_CONTROLLER_NAME } from '../../controller/waypoint-plan.js';
import { loadKubeConfig, type ContextOptions } from '../context.js';
import { CliError } from '../errors.js';
import type { Obj } from '../manifests.js';
import { waitTimeoutMs } from '../wait-timeout.js';
import { agentsReadiness, applyAll, deleteAll, getOrUndefined, meshesElsewhere, stdio, waitForMesh } from './cluster-ops.js';
import { CONTROLLER_DEPLOYMENT, NODE_AGENT_DAEMONSET, loadSources, renderObjects, toYaml, type RenderOptions } from './render.js';
import { SettingError, applySets, collectSets, type Settings } from './settings.js';
import { DEFAULT_MESH_NAMESPACE, meshNamespace, meshNamespaceChosen } from '../mesh-namespace.js';

/** The GatewayClass of waypoints, which the controller creates. */
const WAYPOINT_CLASS = 'ambient-waypoint';

/** The Deployment annotation holding the --set list of the last install or upgrade, which `upgrade` starts from. */
export const SETTINGS_ANNOTATION = 'ambient.dev/install-settings';

interface RenderFlags {
  set?: string[];
}

function settingsOf(sets: readonly string[]): Settings {
  try {
    return applySets(sets);
  } catch (err) {
    if (err instanceof SettingError) throw new CliError(err.message);
    throw err;
  }
}

async function render(sets: readonly string[], o: RenderOptions = {}): Promise<{ objs: Obj[]; settings: Settings }> {
  const settings = settingsOf(sets);
  let objs: Obj[];
  try {
    objs = renderObjects(await loadSources(settings), settings, o);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  // Recorded so that `upgrade` without --set keeps what the install chose.
  const ctl = objs.find((x) => x.kind === 'Deployment' && x.metadata?.name === CONTROLLER_DEPLOYMENT)!;
  ctl.metadata = { ...ctl.metadata, annotations: { ...ctl.metadata?.annotations, [SETTINGS_ANNOTATION]: JSON.stringify(sets) } };
  return { objs, settings };
}

const ns = (s: Settings) => String(s.values['rootNamespace']);

/** The settings an install starts from: the mesh namespace, when --mesh-namespace (or its variable) chose one. */
const installBase = (): string[] => (meshNamespaceChosen() ? [`rootNamespace=${meshNamespace()}`] : []);

/** An install into another namespace than the one ambientctl is told to find the mesh in would be lost to it. */
function sameNamespace(s: Settings): void {
  if (meshNamespaceChosen() && ns(s) !== meshNamespace()) {
    throw new CliError(`--set rootNamespace=${ns(s)} but the mesh namespace is ${meshNamespace()} (--mesh-namespace or AMBIENT_MESH_NAMESPACE): give one namespace`);
  }
}

/** The --set list recorded on the installed controller Deployment ([] when absent or unreadable). */
function recordedSets(live: Obj | undefined): string[] {
  const recorded = live?.metadata?.annotations?.[SETTINGS_ANNOTATION];
  if (!recorded) return [];
  try {
    return (JSON.parse(recorded) as unknown[]).filter((x): x is string => typeof x === 'string');
  } catch {
    stdio.info(`the installed settings (annotation ${SETTINGS_ANNOTATION}) do not parse: starting from the defaults`);
    return [];
  }
}
const names = { controller: CONTROLLER_DEPLOYMENT, agents: NODE_AGENT_DAEMONSET };

function where(kc: KubeConfig): string {
  return `${kc.getCurrentCluster()?.server ?? '(no server)'} (context ${kc.getCurrentContext()})`;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

const setOption = (c: Command) =>
  c.option('--set <key=value>', 'a setting (repeatable; docs/install.md lists the keys)', collectSets, [] as string[]);

export function installCommands(program: Command): void {
  const manifest = program.command('manifest').description("the mesh's manifests");
  setOption(
    manifest
      .command('generate')
      .description('print the manifests `install` applies, with the settings, as YAML (no cluster needed; for GitOps: | kubectl apply --server-side -f -)'),
  ).action(async (o: RenderFlags) => {
    const { objs, settings } = await render([...installBase(), ...(o.set ?? [])]);
    sameNamespace(settings);
    process.stdout.write(toYaml(objs));
  });

  setOption(
    program
      .command('install')
      .description('install the mesh on the current cluster (server-side apply), and wait for the controller and every node agent to be ready')
      .option('--dry-run', 'print the manifests instead of applying them')
      .option('--timeout <duration>', 'how long to wait for readiness (e.g. 90s, 5m)', '5m'),
  ).action(async (o: RenderFlags & { dryRun?: boolean; timeout: string }, cmd: Command) => {
    const timeoutMs = waitTimeoutMs(o.timeout);
    const { objs, settings } = await render([...installBase(), ...(o.set ?? [])]);
    sameNamespace(settings);
    const kc = loadKubeConfig(cmd.optsWithGlobals() as ContextOptions);
    if (o.dryRun) {
      stdio.info(`dry run: would install on ${where(kc)}`);
      process.stdout.write(toYaml(objs));
      return;
    }
    stdio.info(`installing the mesh on ${where(kc)}`);
    await applyAll(kc, objs, timeoutMs);
    await waitForMesh(kc, ns(settings), names, timeoutMs);
    stdio.info('the mesh is installed: the controller and every node agent are ready');
  });

  setOption(
    program
      .command('upgrade')
      .description("apply the manifests of this version (the install's settings, changed by --set) and wait for the controller and node-agent rollouts")
      .option('--reset-settings', "start from the defaults instead of the installed mesh's settings")
      .option('--restart-agents', 'roll every node agent even when their template did not change')
      .option('--restart-controller', 'roll the controller even when its template did not change')
      .option('--timeout <duration>', 'how long to wait for the rollouts (e.g. 90s, 5m)', '5m'),
  ).action(async (o: RenderFlags & { resetSettings?: boolean; restartAgents?: boolean; restartController?: boolean; timeout: string }, cmd: Command) => {
    const timeoutMs = waitTimeoutMs(o.timeout);
    settingsOf(o.set ?? []); // a bad --set stops here, before the cluster is asked anything
    const kc = loadKubeConfig(cmd.optsWithGlobals() as ContextOptions);
    // The mesh is found where --mesh-namespace says (default ambient-system), its settings on its controller Deployment.
    const namespace = meshNamespace();
    const live = await getOrUndefined<Obj>(kc, `/apis/apps/v1/namespaces/${namespace}/deployments/${CONTROLLER_DEPLOYMENT}`);
    if (!live) {
      const other = await meshesElsewhere(kc, namespace);
      throw new CliError(`the mesh is not installed in ${namespace} on ${where(kc)} (no deployment ${namespace}/${CONTROLLER_DEPLOYMENT}): ${other.length ? `it is in ${other.join(', ')}: ambientctl --mesh-namespace ${other[0]} upgrade` : 'use ambientctl install'}`);
    }
    const previous = o.resetSettings ? [] : recordedSets(live);
    // Its namespace first when the recorded settings do not name it (--reset-settings, an
    // install that recorded none): the mesh stays where it is.
    const named = previous.some((x) => x.startsWith('rootNamespace='));
    const sets = [...(named || namespace === DEFAULT_MESH_NAMESPACE ? [] : [`rootNamespace=${namespace}`]), ...previous, ...(o.set ?? [])];
    if (previous.length) stdio.info(`keeping the installed settings: ${previous.join(' ')}`);
    const now = new Date().toISOString();
    const { objs, settings } = await render(sets, { ...(o.restartAgents ? { restartAgents: now } : {}), ...(o.restartController ? { restartController: now } : {}) });
    if (ns(settings) !== namespace) throw new CliError(`--set rootNamespace=${ns(settings)}: upgrade does not move the mesh (installed in ${namespace}); uninstall it and install it there`);
    stdio.info(`upgrading the mesh on ${where(kc)}`);
    await applyAll(kc, objs, timeoutMs);
    await waitForMesh(kc, ns(settings), names, timeoutMs);
    stdio.info('the mesh is upgraded: every controller replica and node agent runs the new version and is ready');
  });

  program
    .command('uninstall')
    .description('remove the mesh from the current cluster: its workloads (each agent first takes the mesh off its node), RBAC, namespace and CRDs (and with them every ambient.dev object)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--timeout <duration>', "how long to wait for the agents' pods to be gone (e.g. 90s, 5m)", '5m')
    .action(async (o: { yes?: boolean; timeout: string }, cmd: Command) => {
      const timeoutMs = waitTimeoutMs(o.timeout);
      const kc = loadKubeConfig(cmd.optsWithGlobals() as ContextOptions);
      // What the installed mesh was given (its plug-in CA Secret's name), in its namespace.
      const namespace = meshNamespace();
      const live = await getOrUndefined<Obj>(kc, `/apis/apps/v1/namespaces/${namespace}/deployments/${CONTROLLER_DEPLOYMENT}`);
      if (!live) {
        // Its CRDs and ClusterRoles are shared by name: removing them under a mesh installed elsewhere would break it.
        const other = await meshesElsewhere(kc, namespace);
        if (other.length) throw new CliError(`the mesh is not installed in ${namespace} but in ${other.join(', ')}: ambientctl --mesh-namespace ${other[0]} uninstall`);
      }
      const at = `rootNamespace=${namespace}`;
      let settings: Settings;
      try {
        settings = applySets([...recordedSets(live), at]);
      } catch {
        settings = applySets([at]); // recorded by another version: its defaults
      }
      // Every optional component too: what an install with any settings created.
      const objs = renderObjects(await loadSources(settings, { all: true }), settings);
      if (!o.yes) {
        const question = `This removes the mesh from ${where(kc)}: the namespace ${namespace} and everything in it, and the mesh's CRDs with every ambient.dev object (policies, rollouts). Proceed?`;
        if (!(await confirm(question))) throw new CliError(process.stdin.isTTY ? 'uninstall cancelled' : 'uninstall needs confirmation: run it in a terminal, or pass --yes');
      }
      const pluginCa = String(settings.values['pluginCaSecret']);
      const keepNamespace = !!(await getOrUndefined(kc, `/api/v1/namespaces/${namespace}/secrets/${pluginCa}`));
      const toDelete = keepNamespace ? objs.filter((x) => !(x.kind === 'Namespace' && x.metadata?.name === namespace)) : objs;
      if (await getOrUndefined(kc, `/apis/apps/v1/namespaces/${namespace}/daemonsets/${NODE_AGENT_DAEMONSET}`)) {
        stdio.info(`removing the node agents (${(await agentsReadiness(kc, namespace, NODE_AGENT_DAEMONSET)).summary}); each takes the mesh off its node before it exits`);
      }
      const removed = await deleteAll(kc, toDelete, { workloads: [NODE_AGENT_DAEMONSET, CONTROLLER_DEPLOYMENT], namespace, timeoutMs });
      // The GatewayClass the controller made for waypoints (cluster-scoped), when it is ours.
      const gcPath = `/apis/gateway.networking.k8s.io/v1/gatewayclasses/${WAYPOINT_CLASS}`;
      const gc = await getOrUndefined<{ spec?: { controllerName?: string } }>(kc, gcPath).catch(() => undefined);
      if (gc?.spec?.controllerName === WAYPOINT_CONTROLLER_NAME) {
        await kubeRequest(kc, 'DELETE', gcPath);
        removed.push(`gatewayclass.gateway.networking.k8s.io/${WAYPOINT_CLASS}`);
        stdio.result(`gatewayclass.gateway.networking.k8s.io/${WAYPOINT_CLASS} deleted`);
      }
      if (!keepNamespace) await waitNamespaceGone(kc, namespace, timeoutMs);
      else stdio.info(`kept the namespace ${namespace}: it holds your plug-in CA Secret ${pluginCa} (delete it with: ambientctl delete namespace ${namespace})`);
      stdio.info(removed.length ? `the mesh is uninstalled (${removed.length} objects removed)` : 'nothing to remove: the mesh was not installed');
    });
}

async function waitNamespaceGone(kc: KubeConfig, namespace: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    const n = await getOrUndefined(kc, `/api/v1/namespaces/${namespace}`);
    if (!n) return;
    if (!said) stdio.info(`waiting for the namespace ${namespace} to be gone`);
    said = true;
    if (Date.now() > deadline) throw new CliError(`the namespace ${namespace} is still ${String((n as { status?: { phase?: string } }).status?.phase ?? 'there')} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
