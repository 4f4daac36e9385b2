// ambientctl: the operator's command line.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { caCommand } from './ca.js';
import { clusterCommand, execCommand } from './cluster-commands.js';
import { objectCommands } from './objects.js';
import { readCommands } from './mesh/read-commands.js';
import { policyCommands } from './mesh/policy-commands.js';
import { waypointCommands } from './waypoint.js';
import { trafficCommands } from './traffic.js';
import { rolloutCommands } from './rollout.js';
import { dashboardCommand } from './dashboard.js';
import { installCommands } from './install/commands.js';
import { checkCommand } from './check/command.js';
import { isMeshError } from '../core/errors.js';
import { formatServerError, serverStatusOf } from './errors.js';
import { MESH_NAMESPACE_ENV, setMeshNamespace } from './mesh-namespace.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('ambientctl')
  .description('operate the ambient mesh: a local cluster, objects on it or on a real cluster, certificates')
  .version(pkg.version)
  .showHelpAfterError()
  .option('--kubeconfig <file>', 'kubeconfig to use (default: the local cluster when it is up, else KUBECONFIG or ~/.kube/config)')
  .option('--context <name>', 'kubeconfig context to use')
  .option('--cluster <name>', 'which local cluster (ambientctl cluster up --cluster NAME)', 'local')
  .option('-n, --namespace <ns>', 'namespace (default: the context\'s, else "default")')
  .option('--mesh-namespace <ns>', `the namespace the mesh is installed in (install --set rootNamespace): where ambientctl finds its controller, agents and settings (default: $${MESH_NAMESPACE_ENV}, else ambient-system)`)
  .hook('preAction', (root) => setMeshNamespace(root.opts<{ meshNamespace?: string }>().meshNamespace))
  .addCommand(clusterCommand())
  .addCommand(execCommand())
  .addCommand(caCommand());
objectCommands(program);
readCommands(program);
policyCommands(program);
waypointCommands(program);
trafficCommands(program);
rolloutCommands(program);
dashboardCommand(program);
installCommands(program);
checkCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Errors go to stderr with their stable code and a non-zero exit (docs/errors.md); an API
  // server's refusal as the message of its Status, as kubectl prints it.
  const status = serverStatusOf(err);
  if (status) process.stderr.write(`${formatServerError(status)}\n`);
  else process.stderr.write(`error: ${isMeshError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
  process.exitCode = 1;
}
