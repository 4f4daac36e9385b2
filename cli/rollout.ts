// `ambientctl rollout status|pause|resume|abort NAME`: a Rollout.ambient.dev/v1's progress
// (its status, written by the controller's rollout driver) and the three user actions,
// through the controller's API (docs/api.md): GET /rollouts, and POST
// /rollouts/{ns}/{name}/{pause|resume|abort}, which checks that the caller may patch the
// Rollout and sends the merge patch of its spec through the Kubernetes API (pause sets
// spec.paused, abort sets spec.abort, resume clears both). The driver acts on its next pass.
import { Command, Option } from 'commander';
import type { List, Rollout } from '../console/api-types.js';
import { apiFor, serviceAccountOption, type ApiClient } from './api-client.js';
import { loadKubeConfig, namespaceOf, type ContextOptions } from './context.js';
import { CliError } from './errors.js';
import { OUTPUT_FORMATS, render, renderOne, type OutputFormat } from './output.js';
import { renderRolloutStatus, ROLLOUT_COLUMNS, type RolloutObject } from './rollout-view.js';
import { ROLLOUT_ACTIONS, type RolloutAction } from '../core/kube/rollout-actions.js';

interface Globals extends ContextOptions {
  namespace?: string;
}

function namespaceFor(cmd: Command): string {
  const g = cmd.optsWithGlobals() as Globals;
  return namespaceOf(loadKubeConfig(g), g.namespace);
}

const data = (r: RolloutObject) => ({ name: r.metadata?.name, namespace: r.metadata?.namespace, spec: r.spec ?? {}, status: r.status ?? {} });

/** `rollout pause|resume|abort NAME`: the line it prints. */
export async function rolloutAct(api: ApiClient, ns: string, name: string, action: RolloutAction): Promise<string> {
  await api.post<Rollout>(`/rollouts/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${action}`, {});
  return `rollout.ambient.dev/${name} ${ROLLOUT_ACTIONS[action].done}\n`;
}

/** `rollout status [NAME]`: what it prints on stdout; the empty list's sentence goes to stderr. */
export async function rolloutStatus(api: ApiClient, ns: string, name: string | undefined, output: OutputFormat): Promise<{ stdout: string; stderr?: string }> {
  const items = (await api.get<List<Rollout>>('/rollouts', { namespace: ns })).items as unknown as RolloutObject[];
  if (name === undefined) {
    if (items.length === 0 && output === 'table') return { stdout: '', stderr: `No rollouts found in ${ns} namespace.\n` };
    return { stdout: render(items, ROLLOUT_COLUMNS, output, data) };
  }
  const obj = items.find((r) => r.metadata?.name === name);
  if (!obj) throw new CliError(`rollout ${ns}/${name} not found (ambientctl rollout status -n ${ns} lists them)`);
  return { stdout: output === 'table' ? renderRolloutStatus(obj) : renderOne(data(obj), output) };
}

async function act(cmd: Command, name: string, action: RolloutAction): Promise<void> {
  const ns = namespaceFor(cmd);
  process.stdout.write(await rolloutAct(await apiFor(cmd), ns, name, action));
}

export function rolloutCommands(program: Command): void {
  const rollout = program.command('rollout').description("follow and steer canary rollouts (Rollout.ambient.dev/v1), through the controller's API");

  rollout
    .command('status')
    .description("a rollout's phase, step, canary weight, message and failed gate (-n NS); without NAME, every rollout of the namespace")
    .argument('[name]', 'the Rollout')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .addOption(serviceAccountOption())
    .action(async (name: string | undefined, o: { output: OutputFormat }, cmd: Command) => {
      const ns = namespaceFor(cmd);
      const out = await rolloutStatus(await apiFor(cmd), ns, name, o.output);
      if (out.stderr) process.stderr.write(out.stderr);
      process.stdout.write(out.stdout);
    });

  rollout
    .command('pause')
    .description('hold a rollout at its current weight (spec.paused: true)')
    .argument('<name>', 'the Rollout')
    .addOption(serviceAccountOption())
    .action((name: string, _o: unknown, cmd: Command) => act(cmd, name, 'pause'));

  rollout
    .command('resume')
    .description('continue a paused rollout; clears spec.paused and spec.abort (the current step is measured again from now)')
    .argument('<name>', 'the Rollout')
    .addOption(serviceAccountOption())
    .action((name: string, _o: unknown, cmd: Command) => act(cmd, name, 'resume'));

  rollout
    .command('abort')
    .description('roll back at once: every request to the stable backend (spec.abort: true)')
    .argument('<name>', 'the Rollout')
    .addOption(serviceAccountOption())
    .action((name: string, _o: unknown, cmd: Command) => act(cmd, name, 'abort'));
}
