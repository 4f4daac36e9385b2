// What the agent does with a CNI ADD or DEL (pure; DESIGN.md section 7 "Decide, then
// act"). The request comes from root (the hand-off checked SO_PEERCRED), but what it
// claims is checked against the node itself, so that a forged or confused request can
// neither move an enrolled pod's identity (and certificate) into another netns nor
// remove a pod's capture:
//
//  ADD  enrol only when the mesh decided to (the config, or the API server for a pod the
//       config does not know yet); undecided (the API read failed) is a refusal, so the
//       kubelet retries rather than start the pod uncaptured. The netns must really hold
//       the addresses the runtime gave the pod, and no other netns on the node may still
//       hold the pod's known addresses (the pod is alive there: a second netns for it is
//       a forgery, a recreated sandbox is not, its old netns being gone).
//  DEL  release only the netns and container the agent recorded for the pod; anything
//       else is ignored (and answered OK: a failing DEL would only block the kubelet).
import type { Workload } from '../../core/config/model.js';
import { ErrorCodes, type ErrorCode } from '../../core/errors.js';
import { canonicalIp } from '../../core/ip.js';

export type AddressCheck = { ok: true } | { ok: false; missing: string[] };

/** Whether a netns with addresses `actual` holds every one of `expected`. Nothing expected is not a proof. */
export function verifyNetnsHoldsAddresses(expected: readonly string[], actual: readonly string[]): AddressCheck {
  if (expected.length === 0) return { ok: false, missing: [] };
  const have = new Set(actual.map(canonicalIp));
  const missing = expected.map(canonicalIp).filter((ip) => !have.has(ip));
  return missing.length === 0 ? { ok: true } : { ok: false, missing };
}

/** Whether the mesh enrols the pod: decided (the Workload to serve, or undefined: not enrolled), or not decided. */
export type EnrolmentVerdict = { decided: true; workload: Workload | undefined } | { decided: false; error: string };

export interface CniAddInput {
  pod: { uid: string; name: string; namespace: string; containerId: string; netnsPath: string; ips: readonly string[] };
  /** The netns's name under /var/run/netns; undefined when the path is elsewhere. */
  netns: string | undefined;
  enrolment: EnrolmentVerdict;
  /** The addresses inside `netns`; undefined when they could not be read. */
  actual: readonly string[] | undefined;
  /** Another netns on the node that holds the pod's known addresses (it lives there), if any. */
  elsewhere: string | undefined;
}

export type CniAddDecision =
  | { action: 'enrol'; workload: Workload; netns: string }
  | { action: 'pass'; why: string }
  | { action: 'refuse'; code: ErrorCode; reason: string };

export function decideCniAdd(input: CniAddInput): CniAddDecision {
  const { pod, netns } = input;
  const who = `pod ${pod.namespace}/${pod.name}`;
  if (!input.enrolment.decided) {
    return { action: 'refuse', code: ErrorCodes.CNI_UNDECIDED, reason: `cannot decide whether ${who} is enrolled (${input.enrolment.error}); the kubelet retries` };
  }
  const workload = input.enrolment.workload;
  if (workload === undefined) return { action: 'pass', why: `${who} is not enrolled` };
  const refuse = (reason: string): CniAddDecision => ({ action: 'refuse', code: ErrorCodes.CNI_NETNS_MISMATCH, reason });
  if (netns === undefined) return refuse(`the netns ${pod.netnsPath} of ${who} is not under /var/run/netns, where the agent enters pods' namespaces`);
  if (pod.ips.length === 0) return refuse(`the runtime's result (prevResult) gives ${who} no address: its netns cannot be verified`);
  if (input.actual === undefined) return refuse(`cannot list the addresses in netns ${netns} of ${who}`);
  const held = verifyNetnsHoldsAddresses(pod.ips, input.actual);
  if (!held.ok) return refuse(`netns ${netns} does not hold ${held.missing.join(', ')}, the address the runtime gave ${who}`);
  if (input.elsewhere !== undefined && input.elsewhere !== netns) {
    return refuse(`${who} lives in netns ${input.elsewhere}, which still holds its addresses; a hand-off naming it with netns ${netns} is refused`);
  }
  return { action: 'enrol', workload, netns };
}

/** What the agent recorded when it enrolled a pod. */
export interface CniRecord {
  netns: string;
  /** Known when the pod came through an ADD; a pod found by address has none. */
  containerId?: string;
}

export type CniDelDecision = { action: 'release' } | { action: 'ignore'; why: string };

/** DEL acts only on what was recorded: the same container id, or (none recorded) the same netns. */
export function decideCniDel(input: { containerId: string; netns: string | undefined; recorded: CniRecord | undefined }): CniDelDecision {
  const rec = input.recorded;
  if (rec === undefined) return { action: 'ignore', why: 'nothing is recorded for the pod' };
  if (rec.containerId !== undefined) {
    return rec.containerId === input.containerId ? { action: 'release' } : { action: 'ignore', why: `container id ${input.containerId} is not the recorded ${rec.containerId}` };
  }
  if (input.netns !== undefined && input.netns === rec.netns) return { action: 'release' };
  return { action: 'ignore', why: `netns ${input.netns ?? '(none)'} is not the recorded ${rec.netns}` };
}
