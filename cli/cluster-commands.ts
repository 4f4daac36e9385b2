// `ambientctl cluster up|down|status|kubeconfig` and `ambientctl exec`.
import { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { clusterDown, clusterUp, localKubeConfig, requireRoot } from '../local-cluster/lifecycle.js';
import { DEFAULT_CLUSTER, kubeconfigPath, readRecord } from '../local-cluster/state.js';
import { nodeNetnsName, podNetnsName } from '../local-cluster/network/topology.js';
import { loadKubeConfig, namespaceOf } from './context.js';
import { OUTPUT_FORMATS, render, renderOne, type OutputFormat } from './output.js';
import { CliError } from './errors.js';

/** The local cluster a command acts on: the global --cluster option. */
const clusterName = (cmd: Command): string => (cmd.optsWithGlobals() as { cluster?: string }).cluster ?? DEFAULT_CLUSTER;

function needRecord(name: string) {
  const rec = readRecord(name);
  if (!rec) throw new CliError(`local cluster "${name}" is not up: run \`ambientctl cluster up\``);
  return rec;
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description('the local cluster: a small Kubernetes on this machine (needs root)');

  cluster
    .command('up')
    .description('start the local cluster (Redis, API server, controllers, N nodes)')
    .option('--nodes <n>', 'number of nodes', (v) => Number(v), 2)
    .option('--dual-stack', 'give nodes and pods IPv6 addresses too (fd00:10:244::/56 for pods)')
    .action(async (o: { nodes: number; dualStack?: boolean }, cmd: Command) => {
      const rec = await clusterUp({ name: clusterName(cmd), nodes: o.nodes, dualStack: o.dualStack === true, say: (l) => process.stdout.write(`${l}\n`) });
      process.stdout.write(`cluster "${rec.name}" is up: ${rec.nodes.length} nodes\nkubeconfig: ${kubeconfigPath(rec.name)}\n`);
    });

  cluster
    .command('down')
    .description('stop the local cluster and remove every namespace, process, rule and file it made')
    .action(async (_o: unknown, cmd: Command) => {
      const name = clusterName(cmd);
      const r = await clusterDown(name);
      process.stdout.write(`cluster "${name}" removed (${r.processes} processes stopped, ${r.namespaces} network namespaces deleted)\n`);
    });

  cluster
    .command('status')
    .description('nodes and pods of the local cluster')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .action(async (o: { output: OutputFormat }, cmd: Command) => {
      const name = clusterName(cmd);
      needRecord(name);
      const core = localKubeConfig(name)!.makeApiClient(CoreV1Api);
      const [nodes, pods] = await Promise.all([core.listNode(), core.listPodForAllNamespaces()]);
      const ready = (n: V1Node) => (n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady');
      const restarts = (p: V1Pod) => (p.status?.containerStatuses ?? []).reduce((s, c) => s + c.restartCount, 0);
      if (o.output !== 'table') {
        const data = {
          nodes: nodes.items.map((n) => ({ name: n.metadata?.name, status: ready(n), address: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, podCIDR: n.spec?.podCIDR })),
          pods: pods.items.map((p) => ({ namespace: p.metadata?.namespace, name: p.metadata?.name, node: p.spec?.nodeName, ip: p.status?.podIP, phase: p.status?.phase, reason: p.status?.reason, restarts: restarts(p) })),
        };
        process.stdout.write(renderOne(data, o.output));
        return;
      }
      process.stdout.write(
        render(nodes.items, [
          { header: 'node', value: (n) => n.metadata?.name ?? '' },
          { header: 'status', value: ready },
          { header: 'address', value: (n) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '' },
          { header: 'pod cidr', value: (n) => n.spec?.podCIDR ?? '' },
        ], 'table'),
      );
      process.stdout.write('\n');
      process.stdout.write(
        render(pods.items, [
          { header: 'namespace', value: (p) => p.metadata?.namespace ?? '' },
          { header: 'pod', value: (p) => p.metadata?.name ?? '' },
          { header: 'node', value: (p) => p.spec?.nodeName ?? '' },
          { header: 'ip', value: (p) => p.status?.podIP ?? '' },
          { header: 'phase', value: (p) => p.status?.reason ?? p.status?.phase ?? '' },
          { header: 'restarts', value: (p) => String(restarts(p)) },
        ], 'table'),
      );
    });

  cluster
    .command('kubeconfig')
    .description('print the path of the kubeconfig the local cluster wrote (use with kubectl --kubeconfig)')
    .action((_o: unknown, cmd: Command) => {
      const name = clusterName(cmd);
      needRecord(name);
      process.stdout.write(`${kubeconfigPath(name)}\n`);
    });
  return cluster;
}

export function execCommand(): Command {
  return new Command('exec')
    .description("run a command inside a local pod's (or node's) network namespace")
    .argument('[pod]', 'pod name')
    .argument('[command...]', 'the command, after --')
    .option('--node <node>', "run in a node's namespace instead of a pod's")
    .action(async (pod: string | undefined, command: string[], o: { node?: string }, cmd: Command) => {
      requireRoot();
      const name = clusterName(cmd);
      const rec = needRecord(name);
      // With --node there is no pod: the first word after `--` is the command's.
      if (o.node && pod !== undefined) command = [pod, ...command];
      if (command.length === 0) throw new CliError('nothing to run: ambientctl exec POD -- COMMAND [ARGS...]');
      let netns: string;
      if (o.node) {
        const index = rec.nodes.indexOf(o.node);
        if (index < 0) throw new CliError(`no node "${o.node}" in cluster "${name}" (nodes: ${rec.nodes.join(', ')})`);
        netns = nodeNetnsName(name, index + 1);
      } else {
        if (!pod) throw new CliError('name a pod, or --node NODE');
        const g = cmd.optsWithGlobals() as { namespace?: string };
        const kc = loadKubeConfig({ cluster: name });
        const ns = namespaceOf(kc, g.namespace);
        const p = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: pod, namespace: ns }).catch((err: { code?: number }) => {
          if (err.code === 404) throw new CliError(`pod "${pod}" not found in namespace "${ns}"`);
          throw err;
        });
        if (!p.status?.podIP) throw new CliError(`pod ${ns}/${pod} has no network yet (phase ${p.status?.phase ?? 'unknown'})`);
        // A hostNetwork pod lives in its node's namespace.
        const nodeIndex = rec.nodes.indexOf(p.spec?.nodeName ?? '');
        netns = p.spec?.hostNetwork && nodeIndex >= 0 ? nodeNetnsName(name, nodeIndex + 1) : podNetnsName(name, p.metadata!.uid!);
      }
      const child = spawn('ip', ['netns', 'exec', netns, ...command], { stdio: 'inherit' });
      const code = await new Promise<number>((resolve) => {
        child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
        child.on('error', () => resolve(127));
      });
      process.exitCode = code;
    });
}
