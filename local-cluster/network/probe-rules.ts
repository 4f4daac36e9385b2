// The node's side of kubelet health probes as a pure function: the kubelet marks its
// probe sockets (SO_MARK PROBE_MARK, local-cluster/runtime/prober.ts) and the node
// SNATs marked traffic leaving toward its pods (cni0) to the probe source address,
// Istio's 169.254.7.127 (istio-cni's host rules do the same, matching the kubelet's
// traffic). The mesh's in-pod capture lets that source reach the app, so probes keep
// working under STRICT mTLS; everything else from the node is captured as before.
//
//   nat    POSTROUTING      -> AMB-PROBE-SNAT:  -o cni0, mark PROBE_MARK -> SNAT to the probe source
//   filter OUTPUT, FORWARD  -> AMB-PROBE-GUARD: any packet that already carries the probe
//                              source is dropped (a node process binding it with
//                              IP_FREEBIND, a pod forging it toward a neighbour): the
//                              source is only ever made by the SNAT above, after these
//                              chains.
//
// Only processes with CAP_NET_ADMIN can set SO_MARK, so only privileged node processes
// (the kubelet) get the exemption.

/** SO_MARK of probe sockets: a bit of its own (kube-proxy's masquerade bit is 0x4000,
 * the node agent's mark 0x539 lives inside pods). */
export const PROBE_MARK = 0x10000;

/**
 * The probe source addresses, the same as node-agent/capture/rules.ts
 * DEFAULT_PROBE_SOURCES (Istio's; a test checks that both agree).
 */
export const PROBE_SOURCE_V4 = '169.254.7.127';
export const PROBE_SOURCE_V6 = 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff';

export const PROBE_SNAT_CHAIN = 'AMB-PROBE-SNAT';
export const PROBE_GUARD_CHAIN = 'AMB-PROBE-GUARD';

export type Family = 4 | 6;

export interface ProbeJump {
  table: 'nat' | 'filter';
  chain: string;
  args: string[];
}

/** The interface toward the node's pods. */
export interface ProbeRulesInput {
  family: Family;
  podBridge: string;
}

/**
 * `iptables-restore --noflush` (or ip6tables-restore) input: declares (so flushes) and
 * refills our two chains; the jumps into them are probeJumps(), added once.
 */
export function probeRules(input: ProbeRulesInput): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(input.podBridge)) throw new Error(`invalid bridge name ${JSON.stringify(input.podBridge)}`);
  const source = input.family === 4 ? PROBE_SOURCE_V4 : PROBE_SOURCE_V6;
  const host = `${source}/${input.family === 4 ? 32 : 128}`;
  const mark = `0x${PROBE_MARK.toString(16)}/0x${PROBE_MARK.toString(16)}`;
  return [
    '*nat',
    `:${PROBE_SNAT_CHAIN} - [0:0]`,
    `-A ${PROBE_SNAT_CHAIN} -o ${input.podBridge} -m mark --mark ${mark} -m comment --comment "kubelet probes reach pods from the probe source" -j SNAT --to-source ${source}`,
    'COMMIT',
    '*filter',
    `:${PROBE_GUARD_CHAIN} - [0:0]`,
    `-A ${PROBE_GUARD_CHAIN} -s ${host} -m comment --comment "the probe source is made only by the probe SNAT" -j DROP`,
    'COMMIT',
    '',
  ].join('\n');
}

/** The jumps from the built-in chains, each inserted first (checked with -C before). */
export function probeJumps(): ProbeJump[] {
  return [
    { table: 'nat', chain: 'POSTROUTING', args: ['-j', PROBE_SNAT_CHAIN] },
    { table: 'filter', chain: 'OUTPUT', args: ['-j', PROBE_GUARD_CHAIN] },
    { table: 'filter', chain: 'FORWARD', args: ['-j', PROBE_GUARD_CHAIN] },
  ];
}
