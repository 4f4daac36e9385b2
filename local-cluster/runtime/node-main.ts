// One node of the local cluster: the process that plays kubelet and kube-proxy. It runs
// inside the node's network namespace, as they would on a real node, and reaches the API
// server at the control-plane address on the cluster network.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { kubeConfigForServer } from '../../core/kube/config.js';
import { createLogger } from '../../core/log.js';
import { buildTopology, nodeOf } from '../network/topology.js';
import { podNetworkAdd, podNetworkDel } from '../network/cni.js';
import { Kubelet } from './kubelet.js';
import { startKubeProxy } from './kube-proxy.js';

export const NODE_HEARTBEAT_MS = 10_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function nodeObject(name: string, address: string, podCidr: string, ready: boolean, v6?: { address: string; podCidr: string }): V1Node {
  const now = new Date();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch } },
    spec: { podCIDR: podCidr, podCIDRs: [podCidr, ...(v6 ? [v6.podCidr] : [])] },
    status: {
      addresses: [{ type: 'InternalIP', address }, ...(v6 ? [{ type: 'InternalIP', address: v6.address }] : []), { type: 'Hostname', address: name }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'KubeletReady' : 'KubeletStopping', lastHeartbeatTime: now, lastTransitionTime: now }],
      nodeInfo: { kubeletVersion: 'ambient-local', osImage: 'ambient local cluster', operatingSystem: 'linux', architecture: process.arch, containerRuntimeVersion: 'netns://process', kernelVersion: '', kubeProxyVersion: 'ambient-local', machineID: '', systemUUID: '', bootID: '' },
    },
  };
}

async function main(): Promise<void> {
  const o = new Command('node')
    .requiredOption('--cluster <name>')
    .requiredOption('--nodes <n>', 'node count of the cluster', Number)
    .requiredOption('--index <i>', '1-based index of this node', Number)
    .requiredOption('--state-dir <dir>')
    .requiredOption('--api <url>')
    .requiredOption('--token-file <file>', 'bearer token for the API server (a ServiceAccount token, as a kubelet has)')
    .requiredOption('--ca-file <file>', "the cluster CA, to verify the API server's certificate")
    .requiredOption('--repo-root <dir>')
    .option('--dual-stack', 'IPv6 beside IPv4 for the node and its pods')
    .parse(process.argv)
    .opts<{ cluster: string; nodes: number; index: number; stateDir: string; api: string; tokenFile: string; caFile: string; repoRoot: string; dualStack?: boolean }>();
  const topology = buildTopology({ cluster: o.cluster, nodes: o.nodes, dualStack: o.dualStack === true });
  const me = nodeOf(topology, o.index);
  const log = createLogger(`node/${me.name}`);
  const kc = kubeConfigForServer(o.api, readFileSync(o.tokenFile, 'utf8').trim(), o.caFile);
  const core = kc.makeApiClient(CoreV1Api);

  const register = async (ready: boolean) => {
    const body = nodeObject(me.name, me.address, me.podCidr, ready, me.ipv6);
    try {
      await core.createNode({ body });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    await core.patchNodeStatus({ name: me.name, body: { status: body.status } }, MERGE);
  };
  // The API server may still be starting: bounded retries.
  for (let i = 0; ; i++) {
    try {
      await register(true);
      break;
    } catch (err) {
      if (i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const baseEnv: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', AMBIENT_CLUSTER: o.cluster };
  const kubelet = new Kubelet({
    kc,
    node: me.name,
    hostIP: me.address,
    nodeNetns: me.netns,
    apiServer: o.api,
    apiCaFile: o.caFile,
    stateDir: o.stateDir,
    repoRoot: o.repoRoot,
    baseEnv,
    logger: log,
    dualStack: topology.dualStack,
    network: {
      add: async (pod) => {
        const net = await podNetworkAdd({ stateDir: o.stateDir, topology, node: me.index, podUid: pod.uid, podName: pod.name, podNamespace: pod.namespace });
        return { netns: net.netns, ip: net.ip, ips: net.ips };
      },
      del: (pod) => podNetworkDel({ stateDir: o.stateDir, topology, node: me.index, podUid: pod.uid, podName: pod.name, podNamespace: pod.namespace }),
    },
  });
  const proxy = await startKubeProxy({ kc, netns: me.netns, logger: log });
  const heartbeat = setInterval(() => {
    register(true).catch((err) => log.warn({ err: (err as Error).message }, 'node heartbeat failed'));
  }, NODE_HEARTBEAT_MS);
  log.info({ node: me.name, address: me.address, podCidr: me.podCidr }, 'node ready');

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(heartbeat);
    log.info('node stopping: tearing down its pods');
    await register(false).catch(() => {});
    await Promise.all([kubelet.stop(), proxy.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((err) => {
  process.stderr.write(`node: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
