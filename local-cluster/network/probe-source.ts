// Applies probe-rules.ts inside a node's namespace: the SNAT that gives kubelet probes
// their link-local source, and the guard that keeps anyone else from using it. Only ever
// inside a namespace of ours, never the host's iptables.

import { NetworkError, NetworkErrorCodes } from './errors.js';
import { runChecked, runCommand } from './exec.js';
import { probeJumps, probeRules, type Family } from './probe-rules.js';
import { POD_BRIDGE } from './topology.js';

/**
 * Installs (or refreshes) the probe rules for IPv4 and, with `ipv6`, IPv6. Idempotent:
 * the chains are re-declared (so flushed and refilled) and each jump is inserted only
 * when `-C` does not find it.
 */
export async function installProbeRules(nodeNetns: string, opts: { ipv6?: boolean; podBridge?: string } = {}): Promise<void> {
  const families: Family[] = opts.ipv6 ? [4, 6] : [4];
  for (const family of families) {
    const [restore, tables] = family === 4 ? ['iptables-restore', 'iptables'] : ['ip6tables-restore', 'ip6tables'];
    await runChecked('ip', inNetns(nodeNetns, restore, '--noflush', '--wait=5'), { input: probeRules({ family, podBridge: opts.podBridge ?? POD_BRIDGE }) });
    for (const j of probeJumps()) {
      const check = await runCommand('ip', inNetns(nodeNetns, tables, '-w', '5', '-t', j.table, '-C', j.chain, ...j.args));
      if (check.code !== 0) await runChecked('ip', inNetns(nodeNetns, tables, '-w', '5', '-t', j.table, '-I', j.chain, '1', ...j.args));
    }
  }
}

function inNetns(netns: string, ...argv: string[]): string[] {
  if (!/^amb-[a-z0-9-]+$/.test(netns)) {
    throw new NetworkError(NetworkErrorCodes.INVALID, `refusing to change iptables outside a cluster namespace (got ${JSON.stringify(netns)})`);
  }
  return ['netns', 'exec', netns, ...argv];
}
