// `ambientctl check [--pre]`: before install, can the mesh be installed here; after, is it
// healthy; once uninstalled, is anything of it left. Each check prints as √ (passed),
// ‼ (warning) or × (failed) with the reason and the fix; the exit code is 1 when any failed
// (docs/install.md, "Troubleshooting with ambientctl check").
import { Option, type Command } from 'commander';
import { apiFor } from '../api-client.js';
import { loadKubeConfig, type ContextOptions } from '../context.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../output.js';
import { gatherInstalled, gatherLeftovers, gatherPre, gatherPresence, gatherReachability } from './gather.js';
import { installedReport } from './installed-checks.js';
import { isInstalled, leftoverReport } from './leftover-checks.js';
import { preReport, unreachableReport } from './pre-checks.js';
import { exitCodeOf, renderReport, type CheckReport } from './report.js';

export async function runCheck(cmd: Command, o: { pre?: boolean }): Promise<CheckReport> {
  const kc = loadKubeConfig(cmd.optsWithGlobals() as ContextOptions);
  const reach = await gatherReachability(kc);
  if (!reach.version.ok) return unreachableReport(o.pre ? 'pre' : 'installed', reach);
  if (o.pre) return preReport(await gatherPre(kc, reach));
  const presence = await gatherPresence(kc);
  if (!isInstalled(presence)) return leftoverReport(await gatherLeftovers(kc));
  return installedReport(await gatherInstalled(kc, presence, () => apiFor(cmd)));
}

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description('check the mesh on the current cluster: with --pre, whether it can be installed; otherwise that every component is ready, or, when it is not installed, that nothing of it is left. Exit code 1 when a check fails')
    .option('--pre', 'check the cluster before install: version, permissions of the current user, CRDs, Gateway API, nodes')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .action(async (o: { pre?: boolean; output: OutputFormat }, cmd: Command) => {
      const report = await runCheck(cmd, o);
      process.stdout.write(renderReport(report, o.output));
      process.exitCode = exitCodeOf(report);
    });
}
