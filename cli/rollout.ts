// `ambientctl rollout status|pause|resume|abort NAME`: a Rollout.ambient.dev/v1's progress
// (its status, written by the controller's rollout driver) and the three user actions,
// each a merge patch of its spec through the API server: pause sets spec.paused, abort
// sets spec.abort, resume clears both. The controller acts on them on its next pass.
import { Command, Option } from 'commander';
import { PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../core/kube/rest.js';
import { loadKubeConfig, namespaceOf, type ContextOptions } from './context.js';
import { OUTPUT_FORMATS, render, renderOne, type OutputFormat } from './output.js';
import { renderRolloutStatus, ROLLOUT_COLUMNS, type RolloutObject } from './rollout-view.js';
import { ROLLOUT_ACTIONS, rolloutActionPatch, rolloutsPath, type RolloutAction } from '../core/kube/rollout-actions.js';

const ROLLOUTS = (ns: string) => rolloutsPath(ns);

interface Globals extends ContextOptions {
  namespace?: string;
}

function target(cmd: Command): { kc: KubeConfig; ns: string } {
  const g = cmd.optsWithGlobals() as Globals;
  const kc = loadKubeConfig(g);
  return { kc, ns: namespaceOf(kc, g.namespace) };
}

async function act(cmd: Command, name: string, action: RolloutAction): Promise<void> {
  const { kc, ns } = target(cmd);
  await kubeRequest(kc, 'PATCH', rolloutsPath(ns, name), rolloutActionPatch(action), PatchStrategy.MergePatch);
  process.stdout.write(`rollout.ambient.dev/${name} ${ROLLOUT_ACTIONS[action].done}\n`);
}

export function rolloutCommands(program: Command): void {
  const rollout = program.command('rollout').description('follow and steer canary rollouts (Rollout.ambient.dev/v1)');

  rollout
    .command('status')
    .description("a rollout's phase, step, canary weight, message and failed gate (-n NS); without NAME, every rollout of the namespace")
    .argument('[name]', 'the Rollout')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .action(async (name: string | undefined, o: { output: OutputFormat }, cmd: Command) => {
      const { kc, ns } = target(cmd);
      if (name === undefined) {
        const items = (await kubeRequest<{ items?: RolloutObject[] }>(kc, 'GET', ROLLOUTS(ns))).items ?? [];
        if (items.length === 0 && o.output === 'table') {
          process.stderr.write(`No rollouts found in ${ns} namespace.\n`);
          return;
        }
        process.stdout.write(render(items, ROLLOUT_COLUMNS, o.output, (r) => ({ name: r.metadata?.name, namespace: r.metadata?.namespace, spec: r.spec ?? {}, status: r.status ?? {} })));
        return;
      }
      const obj = await kubeRequest<RolloutObject>(kc, 'GET', `${ROLLOUTS(ns)}/${encodeURIComponent(name)}`);
      if (o.output === 'table') process.stdout.write(renderRolloutStatus(obj));
      else process.stdout.write(renderOne({ name: obj.metadata?.name, namespace: obj.metadata?.namespace, spec: obj.spec ?? {}, status: obj.status ?? {} }, o.output));
    });

  rollout
    .command('pause')
    .description('hold a rollout at its current weight (spec.paused: true)')
    .argument('<name>', 'the Rollout')
    .action((name: string, _o: unknown, cmd: Command) => act(cmd, name, 'pause'));

  rollout
    .command('resume')
    .description('continue a paused rollout; clears spec.paused and spec.abort (the current step is measured again from now)')
    .argument('<name>', 'the Rollout')
    .action((name: string, _o: unknown, cmd: Command) => act(cmd, name, 'resume'));

  rollout
    .command('abort')
    .description('roll back at once: every request to the stable backend (spec.abort: true)')
    .argument('<name>', 'the Rollout')
    .action((name: string, _o: unknown, cmd: Command) => act(cmd, name, 'abort'));
}
