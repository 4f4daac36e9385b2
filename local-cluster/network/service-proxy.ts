// Applies service-rules.ts's text inside a node's namespace (the kube-proxy role of the
// local cluster). Only ever inside a namespace of ours: never the host's iptables.

import { NetworkError, NetworkErrorCodes } from './errors.js';
import { runChecked, runCommand } from './exec.js';
import { BASE_CHAINS, buildServiceRules, parseServiceChains, serviceJumps, type Service, type ServiceRules } from './service-rules.js';

/** One `iptables-restore --noflush` of a full resync, inside `nodeNetns`. */
export async function applyServiceRules(nodeNetns: string, rulesText: string): Promise<void> {
  await runChecked('ip', inNetns(nodeNetns, 'iptables-restore', '--noflush'), { input: rulesText });
}

/**
 * Creates the service chains (empty) if missing and the jumps into them from PREROUTING,
 * OUTPUT and POSTROUTING (nat) and FORWARD and OUTPUT (filter). Idempotent: each jump is
 * checked with -C before it is appended, and existing chains (and their rules) are kept.
 */
export async function installServiceJumps(nodeNetns: string): Promise<void> {
  for (const { table, chain } of BASE_CHAINS) {
    const listed = await runCommand('ip', inNetns(nodeNetns, 'iptables', '-w', '-t', table, '-S', chain));
    if (listed.code !== 0) await runChecked('ip', inNetns(nodeNetns, 'iptables', '-w', '-t', table, '-N', chain));
  }
  for (const j of serviceJumps()) {
    const check = await runCommand('ip', inNetns(nodeNetns, 'iptables', '-w', '-t', j.table, '-C', j.chain, ...j.args));
    if (check.code !== 0) await runChecked('ip', inNetns(nodeNetns, 'iptables', '-w', '-t', j.table, '-A', j.chain, ...j.args));
  }
}

/** The AMB-SVC-/AMB-SEP- chains present in the node's nat table now. */
export async function listServiceChains(nodeNetns: string): Promise<string[]> {
  const { stdout } = await runChecked('ip', inNetns(nodeNetns, 'iptables-save', '-t', 'nat'));
  return parseServiceChains(stdout);
}

/**
 * A full resync from what is there now: reads the existing service chains, builds the
 * rules (deleting the stale ones) and applies them in one restore. Returns what it applied.
 */
export async function syncServices(nodeNetns: string, services: readonly Service[]): Promise<ServiceRules> {
  const rules = buildServiceRules(services, { previousChains: await listServiceChains(nodeNetns) });
  await applyServiceRules(nodeNetns, rules.text);
  return rules;
}

function inNetns(netns: string, ...argv: string[]): string[] {
  // The guard for the safety rule: an empty or foreign name must never fall through to
  // the host's iptables.
  if (!/^amb-[a-z0-9-]+$/.test(netns)) {
    throw new NetworkError(NetworkErrorCodes.INVALID, `refusing to change iptables outside a cluster namespace (got ${JSON.stringify(netns)})`);
  }
  return ['netns', 'exec', netns, ...argv];
}
